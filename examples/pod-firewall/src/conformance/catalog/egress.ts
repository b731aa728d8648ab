/**
 * Conformance scenarios on egress rules: peers by namespace and pod, named
 * ports resolved on the destination, endPort, matchExpressions.
 */
import { onXA, policy, type Scenario } from '../scenario.js';

export const egressRules: Scenario[] = [
  {
    name: 'egress-to-namespace',
    tags: ['egress', 'namespace-selector', 'upstream'],
    steps: [
      {
        apply: onXA(
          'egress-to-y',
          `
          policyTypes: [Egress]
          egress:
            - to: [{ namespaceSelector: { matchLabels: { ns: y } } }]`,
        ),
      },
    ],
  },
  {
    name: 'egress-named-port',
    tags: ['egress', 'ports', 'named-port', 'upstream'],
    // Named ports on egress resolve on the destination pod.
    steps: [{ apply: onXA('egress-serve-80-tcp', 'policyTypes: [Egress]\negress:\n  - ports: [{ port: serve-80-tcp }]') }],
  },
  {
    name: 'egress-to-pod-on-port',
    tags: ['egress', 'pod-selector', 'ports'],
    steps: [
      {
        apply: onXA(
          'egress-to-b-81',
          `
          policyTypes: [Egress]
          egress:
            - to: [{ podSelector: { matchLabels: { pod: b } } }]
              ports: [{ port: 81, protocol: UDP }]`,
        ),
      },
    ],
  },
  {
    name: 'egress-end-port-range',
    tags: ['egress', 'ports', 'end-port'],
    steps: [{ apply: onXA('egress-80-81-tcp', 'policyTypes: [Egress]\negress:\n  - ports: [{ port: 80, endPort: 81 }]') }],
  },
  {
    name: 'egress-namespace-expression-not-in',
    tags: ['egress', 'namespace-selector', 'match-expressions'],
    steps: [
      {
        apply: policy(
          'x',
          'egress-not-to-z',
          `
          podSelector: {}
          policyTypes: [Egress]
          egress:
            - to:
                - namespaceSelector:
                    matchExpressions: [{ key: ns, operator: NotIn, values: [z] }]`,
        ),
      },
    ],
  },
];

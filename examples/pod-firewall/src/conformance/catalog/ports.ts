/**
 * Conformance scenarios on ingress port rules: numbered and named ports,
 * protocols, endPort ranges, protocol-only rules.
 */
import { onXA, type Scenario } from '../scenario.js';

export const portRules: Scenario[] = [
  {
    name: 'ingress-port-80-tcp',
    tags: ['ingress', 'ports', 'upstream'],
    steps: [{ apply: onXA('allow-80-tcp', 'ingress:\n  - ports: [{ port: 80, protocol: TCP }]') }],
  },
  {
    name: 'ingress-port-81-default-protocol',
    tags: ['ingress', 'ports', 'protocol'],
    steps: [{ apply: onXA('allow-81', 'ingress:\n  - ports: [{ port: 81 }]') }],
  },
  {
    name: 'ingress-named-port',
    tags: ['ingress', 'ports', 'named-port', 'upstream'],
    steps: [{ apply: onXA('allow-serve-81-tcp', 'ingress:\n  - ports: [{ port: serve-81-tcp }]') }],
  },
  {
    name: 'ingress-named-port-udp',
    tags: ['ingress', 'ports', 'named-port', 'protocol', 'udp', 'upstream'],
    steps: [{ apply: onXA('allow-serve-80-udp', 'ingress:\n  - ports: [{ port: serve-80-udp, protocol: UDP }]') }],
  },
  {
    name: 'ingress-named-port-protocol-mismatch',
    tags: ['ingress', 'ports', 'named-port', 'protocol', 'cyclonus'],
    // The name exists only for UDP, the rule asks for TCP: matches nothing, so x/a is fully isolated.
    steps: [{ apply: onXA('allow-udp-name-over-tcp', 'ingress:\n  - ports: [{ port: serve-80-udp, protocol: TCP }]') }],
  },
  {
    name: 'ingress-udp-only-any-port',
    tags: ['ingress', 'ports', 'protocol', 'udp'],
    steps: [{ apply: onXA('allow-udp', 'ingress:\n  - ports: [{ protocol: UDP }]') }],
  },
  {
    name: 'ingress-udp-port-81',
    tags: ['ingress', 'ports', 'protocol', 'udp', 'upstream'],
    steps: [{ apply: onXA('allow-81-udp', 'ingress:\n  - ports: [{ port: 81, protocol: UDP }]') }],
  },
  {
    name: 'ingress-end-port-range-tcp',
    tags: ['ingress', 'ports', 'end-port', 'namespace-selector', 'upstream'],
    steps: [
      {
        apply: onXA(
          'allow-80-81-from-y',
          `
          ingress:
            - from: [{ namespaceSelector: { matchLabels: { ns: y } } }]
              ports: [{ port: 80, endPort: 81, protocol: TCP }]`,
        ),
      },
    ],
  },
  {
    name: 'ingress-end-port-range-udp',
    tags: ['ingress', 'ports', 'end-port', 'protocol', 'udp'],
    steps: [{ apply: onXA('allow-80-81-udp', 'ingress:\n  - ports: [{ port: 80, endPort: 81, protocol: UDP }]') }],
  },
  {
    name: 'ingress-end-port-single-port-range',
    tags: ['ingress', 'ports', 'end-port'],
    steps: [{ apply: onXA('allow-81-81', 'ingress:\n  - ports: [{ port: 81, endPort: 81 }]') }],
  },
  {
    name: 'ingress-multiple-ports-one-rule',
    tags: ['ingress', 'ports', 'protocol', 'namespace-selector'],
    steps: [
      {
        apply: onXA(
          'allow-80-tcp-81-udp-from-z',
          `
          ingress:
            - from: [{ namespaceSelector: { matchLabels: { ns: z } } }]
              ports: [{ port: 80, protocol: TCP }, { port: 81, protocol: UDP }]`,
        ),
      },
    ],
  },
  {
    name: 'ingress-two-rules-peers-and-ports',
    tags: ['ingress', 'ports', 'namespace-selector', 'upstream'],
    // Each rule pairs its own peers with its own ports; y may not use 81 via z's rule.
    steps: [
      {
        apply: onXA(
          'allow-y-80-z-81',
          `
          ingress:
            - from: [{ namespaceSelector: { matchLabels: { ns: y } } }]
              ports: [{ port: 80 }]
            - from: [{ namespaceSelector: { matchLabels: { ns: z } } }]
              ports: [{ port: 81 }]`,
        ),
      },
    ],
  },
];

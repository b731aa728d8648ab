/**
 * Conformance scenarios on several policies at once (additive; allow and
 * deny in conflict) and on policyTypes defaulting.
 */
import { denyEgress, denyIngress, docs, onXA, policy, type Scenario } from '../scenario.js';

export const stacked: Scenario[] = [
  {
    name: 'stacked-ingress-policies-union',
    tags: ['ingress', 'stacked', 'namespace-selector', 'upstream'],
    steps: [
      {
        apply: docs(
          onXA('allow-from-y', 'ingress:\n  - from: [{ namespaceSelector: { matchLabels: { ns: y } } }]'),
          onXA('allow-from-z', 'ingress:\n  - from: [{ namespaceSelector: { matchLabels: { ns: z } } }]'),
        ),
      },
    ],
  },
  {
    name: 'stacked-port-policies-union',
    tags: ['ingress', 'stacked', 'ports', 'protocol'],
    steps: [
      {
        apply: docs(
          onXA('allow-80-tcp', 'ingress:\n  - ports: [{ port: 80, protocol: TCP }]'),
          onXA(
            'allow-81-udp-from-y',
            `
            ingress:
              - from: [{ namespaceSelector: { matchLabels: { ns: y } } }]
                ports: [{ port: 81, protocol: UDP }]`,
          ),
        ),
      },
    ],
  },
  {
    name: 'stacked-ingress-only-and-egress-only',
    tags: ['ingress', 'egress', 'stacked', 'policy-types'],
    steps: [
      {
        apply: docs(
          onXA('deny-ingress-a', 'policyTypes: [Ingress]'),
          onXA('egress-a-to-z', 'policyTypes: [Egress]\negress:\n  - to: [{ namespaceSelector: { matchLabels: { ns: z } } }]'),
        ),
      },
    ],
  },
  {
    name: 'deny-all-ingress-plus-allow-some',
    tags: ['ingress', 'default-deny', 'stacked', 'conflict', 'cyclonus'],
    steps: [
      {
        apply: docs(
          denyIngress('x'),
          onXA(
            'allow-y-80',
            `
            ingress:
              - from: [{ namespaceSelector: { matchLabels: { ns: y } } }]
                ports: [{ port: 80, protocol: TCP }]`,
          ),
        ),
      },
    ],
  },
  {
    name: 'deny-all-egress-plus-allow-some',
    tags: ['egress', 'default-deny', 'stacked', 'conflict', 'cyclonus'],
    steps: [
      {
        apply: docs(
          denyEgress('x'),
          policy(
            'x',
            'allow-egress-z-udp',
            `
            podSelector: {}
            policyTypes: [Egress]
            egress:
              - to: [{ namespaceSelector: { matchLabels: { ns: z } } }]
                ports: [{ protocol: UDP }]`,
          ),
        ),
      },
    ],
  },
  {
    name: 'deny-all-plus-allow-within-namespace',
    tags: ['ingress', 'egress', 'default-deny', 'stacked', 'conflict', 'pod-selector', 'cyclonus'],
    steps: [
      {
        apply: docs(
          policy('x', 'deny-all', 'podSelector: {}\npolicyTypes: [Ingress, Egress]'),
          policy(
            'x',
            'allow-intra',
            `
            podSelector: {}
            ingress:
              - from: [{ podSelector: {} }]
            egress:
              - to: [{ podSelector: {} }]`,
          ),
        ),
      },
    ],
  },
];

export const policyTypes: Scenario[] = [
  {
    name: 'policy-types-default-with-egress-rules',
    tags: ['egress', 'ingress', 'policy-types', 'upstream'],
    // No policyTypes + egress rules defaults to [Ingress, Egress]: ingress to x/a is denied too.
    steps: [{ apply: onXA('egress-to-y-defaulted', 'egress:\n  - to: [{ namespaceSelector: { matchLabels: { ns: y } } }]') }],
  },
  {
    name: 'policy-types-default-ingress-only',
    tags: ['ingress', 'policy-types'],
    // No policyTypes, no egress rules: Ingress only, egress from x/a stays open.
    steps: [{ apply: onXA('ingress-from-z-defaulted', 'ingress:\n  - from: [{ namespaceSelector: { matchLabels: { ns: z } } }]') }],
  },
  {
    name: 'egress-only-policy-ignores-ingress-rules',
    tags: ['egress', 'policy-types', 'cyclonus'],
    steps: [
      {
        apply: onXA(
          'egress-only',
          `
          policyTypes: [Egress]
          ingress:
            - from: [{ namespaceSelector: { matchLabels: { ns: y } } }]
          egress:
            - to: [{ namespaceSelector: { matchLabels: { ns: y } } }]`,
        ),
      },
    ],
  },
  {
    name: 'ingress-only-policy-ignores-egress-rules',
    tags: ['ingress', 'policy-types', 'cyclonus'],
    steps: [
      {
        apply: onXA(
          'ingress-only',
          `
          policyTypes: [Ingress]
          ingress:
            - from: [{ podSelector: {} }]
          egress:
            - to: [{ podSelector: { matchLabels: { pod: nonexistent } } }]`,
        ),
      },
    ],
  },
];

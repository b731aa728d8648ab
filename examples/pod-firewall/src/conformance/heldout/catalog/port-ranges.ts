/**
 * Held-out scenarios on endPort ranges: up to 65535, the whole port space,
 * adjacent and overlapping ranges in one rule, in two rules with different
 * peers (a narrow range for one peer inside a wide one for another: an
 * "except"-like overlap), in two policies, in egress and to ipBlocks. The
 * probed ports (1, 80, 81, 443, 1023, 1024, 8080, 32767, 32768, 65535) sit
 * on both sides of every range end used here.
 */
import { docs } from '../../scenario.js';
import { on, type HeldoutScenario } from '../vocabulary.js';

export const portRanges: HeldoutScenario[] = [
  {
    name: 'range-81-to-65535-from-anywhere',
    tags: ['ingress', 'end-port', 'namespace-selector'],
    steps: [
      {
        apply: on(
          'shop',
          'app: db',
          'high-ports',
          `
          ingress:
            - from: [{ namespaceSelector: {} }]
              ports: [{ port: 81, endPort: 65535, protocol: TCP }]`,
        ),
      },
    ],
  },
  {
    name: 'range-whole-port-space-udp',
    tags: ['ingress', 'end-port', 'udp', 'namespace-selector'],
    steps: [
      {
        apply: on(
          'ops',
          'app: monitor',
          'all-udp-from-shop',
          `
          ingress:
            - from: [{ namespaceSelector: { matchLabels: { team: shop } } }]
              ports: [{ port: 1, endPort: 65535, protocol: UDP }]`,
        ),
      },
    ],
  },
  {
    name: 'range-many-overlapping-in-one-rule',
    tags: ['ingress', 'end-port', 'overlap'],
    steps: [
      {
        apply: on(
          'shop',
          'app: web',
          'overlapping',
          `
          ingress:
            - ports:
                - { port: 1, endPort: 100, protocol: TCP }
                - { port: 50, endPort: 443, protocol: TCP }
                - { port: 443, endPort: 443, protocol: TCP }
                - { port: 1000, endPort: 1023, protocol: UDP }
                - { port: 8000, endPort: 9000, protocol: TCP }
                - { port: 32767, endPort: 32768, protocol: UDP }
                - { port: 65000, endPort: 65535, protocol: UDP }`,
        ),
      },
    ],
  },
  {
    name: 'range-overlapping-rules-different-peers',
    tags: ['ingress', 'end-port', 'overlap', 'namespace-selector', 'pod-selector'],
    // shop's web pods get 443-1024; ops gets 1023-32768: both get 1023 and 1024, each keeps its own ends.
    steps: [
      {
        apply: on(
          'shop',
          'app: db',
          'two-ranges',
          `
          ingress:
            - from: [{ podSelector: { matchLabels: { app: web } } }]
              ports: [{ port: 443, endPort: 1024 }]
            - from: [{ namespaceSelector: { matchLabels: { team: ops } } }]
              ports: [{ port: 1023, endPort: 32768 }]`,
        ),
      },
    ],
  },
  {
    name: 'range-narrow-port-for-one-peer-inside-wide-range-for-another',
    tags: ['ingress', 'end-port', 'overlap', 'except-like'],
    // shop may use every TCP port; client only 8080, ops only 32768: the narrow rules must not shadow the wide one.
    steps: [
      {
        apply: on(
          'ops',
          'app: monitor',
          'wide-and-narrow',
          `
          ingress:
            - from: [{ namespaceSelector: { matchLabels: { team: shop } } }]
              ports: [{ port: 1, endPort: 65535, protocol: TCP }]
            - from: [{ namespaceSelector: {}, podSelector: { matchLabels: { app: client } } }]
              ports: [{ port: 8080, protocol: TCP }]
            - from: [{ podSelector: {} }]
              ports: [{ port: 32768, endPort: 32768, protocol: TCP }]`,
        ),
      },
    ],
  },
  {
    name: 'range-adjacent-in-two-policies',
    tags: ['ingress', 'end-port', 'stacked'],
    steps: [
      {
        apply: docs(
          on(
            'shop',
            'tier: front',
            'udp-low',
            'ingress:\n  - from: [{ namespaceSelector: { matchLabels: { team: ops } } }]\n    ports: [{ port: 1, endPort: 1023, protocol: UDP }]',
          ),
          on(
            'shop',
            'tier: front',
            'udp-high',
            'ingress:\n  - from: [{ namespaceSelector: { matchLabels: { team: dev } } }]\n    ports: [{ port: 1024, endPort: 65535, protocol: UDP }]',
          ),
        ),
      },
    ],
  },
  {
    name: 'range-egress-one-short-of-the-top',
    tags: ['egress', 'end-port'],
    // 65535 is left out on purpose; everything below it is allowed on TCP.
    steps: [
      {
        apply: on(
          'dev',
          'app: client',
          'egress-ranges',
          `
          policyTypes: [Egress]
          egress:
            - ports: [{ port: 1, endPort: 1023 }, { port: 1024, endPort: 65534 }]`,
        ),
      },
    ],
  },
  {
    name: 'range-egress-to-ip-block',
    tags: ['egress', 'end-port', 'ip-block'],
    steps: [
      {
        apply: on(
          'dev',
          'app: client',
          'egress-to-shop-ranges',
          `
          policyTypes: [Egress]
          egress:
            - to: [{ ipBlock: { cidr: 10.244.1.0/24 } }]
              ports: [{ port: 80, endPort: 8080, protocol: TCP }, { port: 32768, endPort: 65535, protocol: UDP }]`,
        ),
      },
    ],
  },
  {
    name: 'range-replaced-by-a-narrower-one-then-deleted',
    tags: ['ingress', 'end-port', 'update', 'delete', 'multi-step'],
    steps: [
      { apply: on('shop', 'app: web', 'web-range', 'ingress:\n  - ports: [{ port: 1, endPort: 65535 }]') },
      { apply: on('shop', 'app: web', 'web-range', 'ingress:\n  - ports: [{ port: 80, endPort: 81 }]') },
      { delete: ['shop/web-range'] },
    ],
  },
  {
    name: 'range-two-overlapping-policies-one-deleted',
    tags: ['ingress', 'end-port', 'stacked', 'delete', 'multi-step'],
    steps: [
      {
        apply: docs(
          on('ops', 'app: web', 'range-a', 'ingress:\n  - ports: [{ port: 443, endPort: 32767 }]'),
          on('ops', 'app: web', 'range-b', 'ingress:\n  - ports: [{ port: 1024, endPort: 65535 }]'),
        ),
      },
      { delete: ['ops/range-a'] },
      { delete: ['ops/range-b'] },
    ],
  },
];

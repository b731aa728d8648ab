/**
 * Held-out scenarios on ipBlock edges: a /25 boundary between two pods
 * (shop/web-1 at .127, shop/web-2 at .128), an except equal to its cidr, an
 * excepted range allowed again by another peer or another policy, nested
 * prefixes with different ports in two policies (a pod's /32 inside a /24),
 * 0.0.0.0/0 without the pod network, a cidr wider than the pod network, and
 * ipBlock ORed with selectors.
 */
import { docs } from '../../scenario.js';
import { on, type HeldoutScenario } from '../vocabulary.js';

export const ipBlockEdges: HeldoutScenario[] = [
  {
    name: 'ip-block-slash-25-boundary',
    tags: ['ingress', 'ip-block'],
    steps: [{ apply: on('ops', 'app: monitor', 'lower-half-of-shop', 'ingress:\n  - from: [{ ipBlock: { cidr: 10.244.1.0/25 } }]') }],
  },
  {
    name: 'ip-block-excepts-cover-the-whole-cidr',
    tags: ['ingress', 'ip-block', 'except'],
    // Two halves leave nothing of the block (an except equal to its cidr is refused, as the API server does).
    steps: [
      {
        apply: on('shop', 'app: web', 'empty-block', 'ingress:\n  - from: [{ ipBlock: { cidr: 10.244.2.0/24, except: [10.244.2.0/25, 10.244.2.128/25] } }]'),
      },
    ],
  },
  {
    name: 'ip-block-excepted-range-allowed-by-another-peer',
    tags: ['ingress', 'ip-block', 'except'],
    steps: [
      {
        apply: on(
          'dev',
          'app: client',
          'all-but-shop-then-upper-shop',
          `
          ingress:
            - from:
                - { ipBlock: { cidr: 10.244.0.0/16, except: [10.244.1.0/24] } }
                - { ipBlock: { cidr: 10.244.1.128/25 } }`,
        ),
      },
    ],
  },
  {
    name: 'ip-block-nested-prefixes-different-ports-two-policies',
    tags: ['ingress', 'ip-block', 'stacked', 'ports'],
    // ops/web gets TCP 80 through the /24; monitor, inside it, gets TCP 80 and its own UDP 81.
    steps: [
      {
        apply: docs(
          on('shop', 'app: db', 'ops-tcp-80', 'ingress:\n  - from: [{ ipBlock: { cidr: 10.244.2.0/24 } }]\n    ports: [{ port: 80 }]'),
          on('shop', 'app: db', 'monitor-udp-81', 'ingress:\n  - from: [{ ipBlock: { cidr: 10.244.2.12/32 } }]\n    ports: [{ port: 81, protocol: UDP }]'),
        ),
      },
    ],
  },
  {
    name: 'ip-block-excepted-pod-allowed-by-another-policy',
    tags: ['ingress', 'ip-block', 'except', 'stacked', 'protocol'],
    // web-1 is excepted from the TCP policy but allowed by the UDP one.
    steps: [
      {
        apply: docs(
          on(
            'ops',
            'app: web',
            'tcp-all-but-web-1',
            'ingress:\n  - from: [{ ipBlock: { cidr: 10.244.0.0/16, except: [10.244.1.127/32] } }]\n    ports: [{ protocol: TCP }]',
          ),
          on('ops', 'app: web', 'udp-from-shop', 'ingress:\n  - from: [{ ipBlock: { cidr: 10.244.1.0/24 } }]\n    ports: [{ protocol: UDP }]'),
        ),
      },
    ],
  },
  {
    name: 'ip-block-world-except-pod-network',
    tags: ['ingress', 'egress', 'ip-block', 'except'],
    // Only the world outside the pod network: no pod may reach db, and db reaches no pod.
    steps: [
      {
        apply: on(
          'shop',
          'app: db',
          'world-only',
          `
          policyTypes: [Ingress, Egress]
          ingress:
            - from: [{ ipBlock: { cidr: 0.0.0.0/0, except: [10.244.0.0/16] } }]
          egress:
            - to: [{ ipBlock: { cidr: 0.0.0.0/0, except: [10.244.0.0/16] } }]`,
        ),
      },
    ],
  },
  {
    name: 'ip-block-egress-wider-than-pod-network-with-except',
    tags: ['egress', 'ip-block', 'except'],
    // 10.244.0.0/15 covers the pod network; the /23 except removes ops and dev (client itself included).
    steps: [
      {
        apply: on(
          'dev',
          'app: client',
          'egress-shop-only',
          'policyTypes: [Egress]\negress:\n  - to: [{ ipBlock: { cidr: 10.244.0.0/15, except: [10.244.2.0/23] } }]',
        ),
      },
    ],
  },
  {
    name: 'ip-block-ored-with-selectors',
    tags: ['ingress', 'ip-block', 'pod-selector', 'namespace-selector'],
    steps: [
      {
        apply: on(
          'shop',
          'app: db',
          'block-or-selectors',
          `
          ingress:
            - from:
                - { ipBlock: { cidr: 10.244.1.127/32 } }
                - { namespaceSelector: { matchLabels: { team: dev } } }
              ports: [{ port: 443 }, { port: 32767, endPort: 32768, protocol: UDP }]`,
        ),
      },
    ],
  },
];

/**
 * Held-out scenarios on fragmented UDP: datagrams of 1,472 bytes (the
 * largest that fits a 1500-byte MTU whole: the control), 1,473 (a second
 * fragment of one byte) and 8,000 (six fragments) under ingress and egress
 * port policies, allowed and denied, port ranges, and a revoked allow. A
 * fragmented datagram must pass exactly when a small one to the same port
 * would; the ports of a pair are probed in order, allowed before denied and
 * the other way round, so an allowed datagram that leaves a door open for
 * the next one shows. Each starts on a fresh instance, so that what an
 * earlier scenario's datagrams left in conntrack cannot hide a drop.
 */
import { docs } from '../../scenario.js';
import { on, selectsNothing, type HeldoutScenario } from '../vocabulary.js';

const SIZES = [1472, 1473, 8000];
/** client isolated for ingress with nothing allowed: no datagram towards it (whose state could let its own through). */
const clientTakesNothing = on('dev', 'app: client', 'client-takes-nothing', 'policyTypes: [Ingress]');

export const fragments: HeldoutScenario[] = [
  {
    name: 'fragments-without-policies',
    tags: ['fragments', 'udp', 'baseline'],
    fresh: true,
    probes: { fragments: { ports: [80, 81], sizes: SIZES } },
    steps: [{ apply: selectsNothing }],
  },
  {
    name: 'fragments-ingress-port-allowed-and-denied',
    tags: ['fragments', 'udp', 'ingress', 'ports'],
    fresh: true,
    probes: { fragments: { ports: [80, 81], sizes: SIZES } },
    steps: [{ apply: on('shop', 'app: web', 'udp-80', 'ingress:\n  - from: [{ namespaceSelector: {} }]\n    ports: [{ port: 80, protocol: UDP }]') }],
  },
  {
    name: 'fragments-egress-port-allowed-and-denied',
    tags: ['fragments', 'udp', 'egress', 'ports'],
    // client takes nothing in, so no datagram towards it can leave conntrack state that its own could use.
    fresh: true,
    probes: { fragments: { ports: [81, 80], sizes: SIZES } },
    steps: [{ apply: on('dev', 'app: client', 'egress-udp-81', 'policyTypes: [Ingress, Egress]\negress:\n  - ports: [{ port: 81, protocol: UDP }]') }],
  },
  {
    name: 'fragments-protocol-only-rule',
    tags: ['fragments', 'udp', 'ingress', 'protocol'],
    fresh: true,
    probes: { fragments: { ports: [80, 81], sizes: SIZES } },
    steps: [
      {
        apply: on(
          'ops',
          'app: monitor',
          'any-udp-from-shop',
          'ingress:\n  - from: [{ namespaceSelector: { matchLabels: { team: shop } } }]\n    ports: [{ protocol: UDP }]',
        ),
      },
    ],
  },
  {
    name: 'fragments-port-range-edges',
    tags: ['fragments', 'udp', 'ingress', 'end-port'],
    fresh: true,
    probes: { fragments: { ports: [32768, 1023, 1024], sizes: SIZES } },
    // db sends nothing out, so its own datagrams cannot open a way in.
    steps: [
      { apply: on('shop', 'app: db', 'udp-high', 'policyTypes: [Ingress, Egress]\ningress:\n  - ports: [{ port: 1024, endPort: 65535, protocol: UDP }]') },
    ],
  },
  {
    name: 'fragments-after-the-allow-is-revoked',
    tags: ['fragments', 'udp', 'ingress', 'update', 'multi-step'],
    fresh: true,
    probes: { fragments: { ports: [80, 81], sizes: SIZES } },
    steps: [
      {
        apply: docs(
          clientTakesNothing,
          on(
            'shop',
            'app: web',
            'udp-from-dev',
            'ingress:\n  - from: [{ namespaceSelector: { matchLabels: { team: dev } } }]\n    ports: [{ port: 80, protocol: UDP }]',
          ),
        ),
      },
      {
        apply: on(
          'shop',
          'app: web',
          'udp-from-dev',
          'ingress:\n  - from: [{ namespaceSelector: { matchLabels: { team: dev } } }]\n    ports: [{ port: 81, protocol: UDP }]',
        ),
      },
      { delete: ['shop/udp-from-dev'] },
    ],
  },
  {
    name: 'fragments-ingress-and-egress-both-enforced',
    tags: ['fragments', 'udp', 'ingress', 'egress', 'named-port'],
    // client may send UDP 1023 and 1024 out; shop's front pods take only their own UDP "stats" (web-1: 1024, web-2: 1023).
    fresh: true,
    probes: { fragments: { ports: [1024, 1023], sizes: SIZES } },
    steps: [
      {
        apply: [
          on('dev', 'app: client', 'egress-udp', 'policyTypes: [Egress]\negress:\n  - ports: [{ port: 1023, endPort: 1024, protocol: UDP }]'),
          on('shop', 'tier: front', 'stats-in', 'ingress:\n  - ports: [{ port: stats, protocol: UDP }]'),
        ].join('---\n'),
      },
    ],
  },
];

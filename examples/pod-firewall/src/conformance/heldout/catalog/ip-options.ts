/**
 * Held-out scenarios on IPv4 headers longer than 20 bytes: raw TCP SYNs and
 * UDP datagrams with the sender's own address and one 4-byte IP option
 * whose last two bytes are a decoy port, where a reader that takes every
 * header as 20 bytes long finds the destination port. The decoy is the
 * allowed port on packets to a denied one (a wrong allow if the decoy is
 * believed) and the denied port on packets to an allowed one; both must be
 * judged on their true port, under ingress and under egress policies.
 */
import { on, selectsNothing, type HeldoutScenario } from '../vocabulary.js';

/** To 80 with 81 as the decoy and to 81 with 80, on TCP and UDP. */
const DECOYS = {
  ports: (['TCP', 'UDP'] as const).flatMap((protocol) => [
    { port: 80, protocol, decoy: 81 },
    { port: 81, protocol, decoy: 80 },
  ]),
};

export const ipOptions: HeldoutScenario[] = [
  {
    name: 'ip-options-without-policies',
    tags: ['ip-options', 'baseline'],
    probes: { ipOptions: DECOYS },
    steps: [{ apply: selectsNothing }],
  },
  {
    name: 'ip-options-decoy-port-under-ingress-port-policy',
    tags: ['ip-options', 'ingress', 'ports'],
    probes: { ipOptions: DECOYS },
    steps: [
      {
        apply: on(
          'shop',
          'app: web',
          'web-80-only',
          'ingress:\n  - from: [{ namespaceSelector: {} }]\n    ports: [{ port: 80, protocol: TCP }, { port: 80, protocol: UDP }]',
        ),
      },
    ],
  },
  {
    name: 'ip-options-decoy-port-under-egress-port-policy',
    tags: ['ip-options', 'egress', 'ports'],
    probes: { ipOptions: DECOYS },
    steps: [
      {
        apply: on(
          'ops',
          'app: monitor',
          'monitor-out-80-only',
          'policyTypes: [Egress]\negress:\n  - ports: [{ port: 80, protocol: TCP }, { port: 80, protocol: UDP }]',
        ),
      },
    ],
  },
  {
    name: 'ip-options-decoy-inside-an-allowed-range',
    tags: ['ip-options', 'ingress', 'end-port'],
    // db takes TCP and UDP 1-80 from ops: 81 with the decoy 80 is outside the range, 80 with the decoy 81 inside.
    probes: { ipOptions: DECOYS },
    steps: [
      {
        apply: on(
          'shop',
          'app: db',
          'db-low-ports-from-ops',
          `
          ingress:
            - from: [{ namespaceSelector: { matchLabels: { team: ops } } }]
              ports: [{ port: 1, endPort: 80, protocol: TCP }, { port: 1, endPort: 80, protocol: UDP }]`,
        ),
      },
    ],
  },
];

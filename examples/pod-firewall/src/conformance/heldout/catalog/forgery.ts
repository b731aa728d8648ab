/**
 * Held-out scenarios on forged source addresses: every pod sends raw TCP
 * SYNs and UDP datagrams to every other pod claiming the address of each
 * third pod and of addresses that are no pod's (one outside the pod network,
 * one free inside it), under ingress policies that allow exactly those
 * claimed peers. None may arrive, whatever the policies say about the
 * address claimed; the same packets with the sender's own address arrive as
 * the oracle says (the control that a raw packet can arrive at all).
 */
import { on, selectsNothing, type HeldoutScenario } from '../vocabulary.js';

const TCP_AND_UDP_80 = {
  ports: [
    { port: 80, protocol: 'TCP' as const },
    { port: 80, protocol: 'UDP' as const },
  ],
};

export const forgery: HeldoutScenario[] = [
  {
    name: 'forged-sources-without-policies',
    tags: ['spoofing', 'baseline'],
    probes: { forged: TCP_AND_UDP_80 },
    steps: [{ apply: selectsNothing }],
  },
  {
    name: 'forged-source-of-the-one-allowed-peer',
    tags: ['spoofing', 'ingress', 'pod-selector'],
    // db takes 80 from shop's web pods only; every other pod tries to pass as one of them.
    probes: { forged: TCP_AND_UDP_80 },
    steps: [
      {
        apply: on(
          'shop',
          'app: db',
          'db-from-web',
          'ingress:\n  - from: [{ podSelector: { matchLabels: { app: web } } }]\n    ports: [{ port: 80 }, { port: 80, protocol: UDP }]',
        ),
      },
    ],
  },
  {
    name: 'forged-source-allowed-by-ip-block',
    tags: ['spoofing', 'ingress', 'ip-block'],
    // monitor takes anything from outside the pod network and from client's /32.
    probes: { forged: TCP_AND_UDP_80 },
    steps: [
      {
        apply: on(
          'ops',
          'app: monitor',
          'from-outside-and-client',
          `
          ingress:
            - from:
                - { ipBlock: { cidr: 0.0.0.0/0, except: [10.244.0.0/16] } }
                - { ipBlock: { cidr: 10.244.3.11/32 } }`,
        ),
      },
    ],
  },
  {
    name: 'forged-source-with-the-sender-egress-enforced',
    tags: ['spoofing', 'egress', 'ingress'],
    // client may send only to shop; shop's pods take only ops. client forging an ops address must not reach shop.
    probes: { forged: TCP_AND_UDP_80 },
    steps: [
      {
        apply: [
          on('dev', 'app: client', 'client-to-shop', 'policyTypes: [Egress]\negress:\n  - to: [{ namespaceSelector: { matchLabels: { team: shop } } }]'),
          on('shop', 'tier: front', 'front-from-ops', 'ingress:\n  - from: [{ namespaceSelector: { matchLabels: { team: ops } } }]'),
        ].join('---\n'),
      },
    ],
  },
];

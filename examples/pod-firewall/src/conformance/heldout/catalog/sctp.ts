/**
 * Held-out scenarios on SCTP. This kernel has no SCTP sockets, so the probe
 * is a raw SCTP INIT from one pod's agent, looked for by the destination's:
 * the firewall judges a new flow on its first packet, which is enough to
 * test its verdict (not an association). Numbered, named ("sig": 81 on
 * shop/web-1, 1024 on shop/web-2) and ranged SCTP ports, and an SCTP rule
 * that must not open TCP or UDP.
 */
import { on, selectsNothing, type HeldoutScenario } from '../vocabulary.js';

const SCTP_PORTS = { ports: [80, 81, 1024] };

export const sctp: HeldoutScenario[] = [
  {
    name: 'sctp-without-policies',
    tags: ['sctp', 'baseline'],
    probes: { sctp: SCTP_PORTS },
    steps: [{ apply: selectsNothing }],
  },
  {
    name: 'sctp-numbered-port',
    tags: ['sctp', 'ingress', 'ports', 'protocol'],
    probes: { sctp: SCTP_PORTS },
    steps: [{ apply: on('shop', 'app: web', 'sctp-80', 'ingress:\n  - ports: [{ port: 80, protocol: SCTP }]') }],
  },
  {
    name: 'sctp-named-port-per-pod',
    tags: ['sctp', 'ingress', 'named-port', 'same-labels'],
    probes: { sctp: SCTP_PORTS },
    steps: [{ apply: on('shop', 'app: web', 'sctp-sig', 'ingress:\n  - from: [{ namespaceSelector: {} }]\n    ports: [{ port: sig, protocol: SCTP }]') }],
  },
  {
    name: 'sctp-port-range-egress',
    tags: ['sctp', 'egress', 'end-port'],
    probes: { sctp: SCTP_PORTS },
    steps: [{ apply: on('dev', 'app: client', 'sctp-out', 'policyTypes: [Egress]\negress:\n  - ports: [{ port: 81, endPort: 1024, protocol: SCTP }]') }],
  },
];

/**
 * What held-out scenarios are written in: the cluster they run on (six pods
 * in three namespaces, every pod serving the same ten port numbers on TCP and
 * UDP but naming different ones, two pods with identical labels, addresses
 * on a /25 boundary), the probe plans beyond the plain matrix (fragmented
 * datagrams, forged sources, SCTP, IP options), and the expected-failure
 * marks.
 *
 * Written from the NetworkPolicy specification and the oracle, blind to the
 * map compiler and the datapath: nothing here knows how rules become
 * entries.
 */
import type { Protocol } from '../../policy/model.js';
import { dedent, policy, type Scenario } from '../scenario.js';

/** Every pod serves each of these on TCP and UDP: the plain matrix probes all of them between every ordered pair. */
export const PROBED_PORTS = [1, 80, 81, 443, 1023, 1024, 8080, 32767, 32768, 65535] as const;

/*
 * Named ports: the same names map to different numbers on different pods.
 * shop/web-1 and shop/web-2 have identical labels (one identity) but
 * swapped numbers for http and admin; "stats" is UDP on most pods but TCP
 * on ops/monitor; "sig" is SCTP.
 */
const NAMES: Record<string, Record<string, string>> = {
  'web-1': { 'TCP/80': 'http', 'TCP/8080': 'admin', 'UDP/1024': 'stats', 'SCTP/81': 'sig' },
  'web-2': { 'TCP/8080': 'http', 'TCP/80': 'admin', 'UDP/1023': 'stats', 'SCTP/1024': 'sig' },
  db: { 'TCP/32768': 'sql', 'UDP/32767': 'stats' },
  web: { 'TCP/443': 'http', 'UDP/1024': 'stats' },
  monitor: { 'TCP/65535': 'http', 'TCP/81': 'stats' },
  client: {},
};

function portsOf(pod: string): string {
  const named = NAMES[pod]!;
  const line = (protocol: Protocol, port: number) => {
    const name = named[`${protocol}/${port}`];
    return `          - { port: ${port}, protocol: ${protocol}${name ? `, name: ${name}` : ''} }`;
  };
  const sctp = [80, ...Object.keys(named).flatMap((k) => (k.startsWith('SCTP/') ? [Number(k.slice(5))] : []))];
  return [...PROBED_PORTS.flatMap((p) => [line('TCP', p), line('UDP', p)]), ...sctp.map((p) => line('SCTP', p))].join('\n');
}

const pod = (name: string, ip: string, labels: string) =>
  `      - name: ${name}\n        ip: ${ip}\n        labels: ${labels}\n        ports:\n${portsOf(name)}`;

/**
 * The held-out cluster. Addresses are given so that ipBlock edges are
 * meaningful: web-1 (.127) and web-2 (.128) sit on either side of a /25
 * boundary of shop's /24.
 */
export const heldoutCluster = `podCidr: 10.244.0.0/16
namespaces:
  - name: shop
    labels: { team: shop, env: prod }
    pods:
${pod('web-1', '10.244.1.127', '{ app: web, tier: front }')}
${pod('web-2', '10.244.1.128', '{ app: web, tier: front }')}
${pod('db', '10.244.1.13', '{ app: db }')}
  - name: ops
    labels: { team: ops, env: prod }
    pods:
${pod('web', '10.244.2.11', '{ app: web, tier: front }')}
${pod('monitor', '10.244.2.12', '{ app: monitor }')}
  - name: dev
    labels: { team: dev }
    pods:
${pod('client', '10.244.3.11', '{ app: client }')}
`;

/** Sources a pod may forge that are no pod's: outside the pod network, and a free address inside it. */
export const FOREIGN_SOURCES = ['192.0.2.10', '10.244.1.200'] as const;

export interface ProbePlan {
  /**
   * UDP datagrams of each size (payload bytes; past 1,472 they leave in
   * fragments) to each port, for every ordered pod pair. A pair's ports are
   * probed one after the other in this order, so a port probed after an
   * allowed one shows whether the first left something open.
   */
  readonly fragments?: { readonly ports: readonly number[]; readonly sizes: readonly number[] };
  /**
   * Raw packets from every pod, to every other pod, on each of these, with
   * the source address of a third pod or of FOREIGN_SOURCES (forged: never
   * to arrive) and with its own (raw: as the oracle says, the control that
   * shows a raw packet can arrive at all).
   */
  readonly forged?: { readonly ports: readonly { readonly port: number; readonly protocol: 'TCP' | 'UDP' }[] };
  /** Raw SCTP INITs from every pod to every other pod on each of these ports (this kernel has no SCTP sockets). */
  readonly sctp?: { readonly ports: readonly number[] };
  /**
   * Raw packets from every pod to every other pod with the sender's own
   * address and a 24-byte IP header whose option holds `decoy` where a
   * 20-byte header would end: a reader that assumes 20 bytes takes the
   * decoy for the destination port. Judged on the true port, as the oracle.
   */
  readonly ipOptions?: { readonly ports: readonly { readonly port: number; readonly protocol: 'TCP' | 'UDP'; readonly decoy: number }[] };
}

/**
 * What a probed cell is: the plain TCP/UDP matrix, a fragmented datagram, a
 * forged or raw packet, an SCTP INIT, a raw packet with IP options;
 * `update`: a step the firewall refused.
 */
export type CellKind = 'plain' | 'fragment' | 'forged' | 'raw' | 'sctp' | 'options' | 'update';

export interface HeldoutScenario extends Scenario {
  /** Probes beyond the plain matrix, for every step. */
  readonly probes?: ProbePlan;
  /**
   * Run on a freshly brought-up instance: nothing an earlier scenario left in
   * the kernel (conntrack entries, say) can make a cell pass or fail.
   */
  readonly fresh?: boolean;
  /**
   * Expected to fail until the work of issue 15 lands: the runner then
   * requires at least one difference (and fails when there is none, so the
   * mark gets removed with the fix).
   */
  readonly known?: `issue ${number}: ${string}`;
  /** With `known`: the only kinds of cell allowed to differ (default: any), so a mark cannot hide other regressions. */
  readonly knownIn?: readonly CellKind[];
}

/** A policy selecting no pod: a step that changes nothing enforced, for scenarios probed on the plain cluster. */
export const selectsNothing = policy('dev', 'selects-nothing', 'podSelector: { matchLabels: { app: nobody } }\npolicyTypes: [Ingress, Egress]');

/** A policy on the pods of `namespace` matching `labels` (a flow-style matchLabels body, e.g. `app: web`). */
export const on = (namespace: string, labels: string, name: string, spec: string) =>
  policy(namespace, name, `podSelector: { matchLabels: { ${labels} } }\n${dedent(spec)}`);

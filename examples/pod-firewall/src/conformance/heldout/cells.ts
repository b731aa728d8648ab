/**
 * The cells of one held-out step and what each must observe, from the
 * oracle and the threat model alone: a plain probe, a fragmented datagram
 * and a raw packet with the true source (with IP options or without) pass
 * exactly when the oracle allows the flow (a fragmented datagram exactly
 * when an unfragmented one to the same port would); a packet with a forged
 * source address never arrives, whatever the policies say about the
 * address it claims. Pure.
 */
import { isAllowed } from '../../policy/oracle.js';
import { podKey, probeKey, type Cluster, type NetworkPolicy, type Pod, type Protocol } from '../../policy/model.js';
import { FOREIGN_SOURCES, PROBED_PORTS, type CellKind, type ProbePlan } from './vocabulary.js';

export interface Cell {
  readonly kind: Exclude<CellKind, 'update'>;
  /** Unique within a step; how a difference is reported. */
  readonly key: string;
  readonly from: Pod;
  readonly to: Pod;
  readonly protocol: Protocol;
  readonly port: number;
  /** Datagram size (fragment cells). */
  readonly size?: number;
  /** The source address the packet carries (raw, forged, SCTP and options cells), and whose it is. */
  readonly source?: { readonly ip: string; readonly owner: string };
  /** The number an IP option holds where a 20-byte header would end (options cells). */
  readonly decoy?: number;
  readonly expected: boolean;
}

/** Every ordered pair of distinct pods, in cluster order. */
export function podPairs(cluster: Cluster): [Pod, Pod][] {
  return cluster.pods.flatMap((from) => cluster.pods.filter((to) => podKey(to) !== podKey(from)).map((to): [Pod, Pod] => [from, to]));
}

export function cellsOf(cluster: Cluster, policies: readonly NetworkPolicy[], plan: ProbePlan = {}): Cell[] {
  const allowed = (from: Pod, to: Pod, protocol: Protocol, port: number) => isAllowed(cluster, policies, { from, to, protocol, port });
  const cells: Cell[] = [];
  for (const [from, to] of podPairs(cluster)) {
    const pair = (p: { port: number; protocol: string }) => probeKey(podKey(from), podKey(to), p);
    for (const protocol of ['TCP', 'UDP'] as const) {
      for (const port of PROBED_PORTS)
        cells.push({ kind: 'plain', key: pair({ port, protocol }), from, to, protocol, port, expected: allowed(from, to, protocol, port) });
    }
    for (const port of plan.fragments?.ports ?? []) {
      for (const size of plan.fragments!.sizes) {
        const expected = allowed(from, to, 'UDP', port);
        cells.push({ kind: 'fragment', key: `${pair({ port, protocol: 'UDP' })} ${size} B`, from, to, protocol: 'UDP', port, size, expected });
      }
    }
    for (const { port, protocol } of plan.forged?.ports ?? []) {
      const own = { ip: from.ip, owner: podKey(from) };
      cells.push({ kind: 'raw', key: `${pair({ port, protocol })} raw`, from, to, protocol, port, source: own, expected: allowed(from, to, protocol, port) });
      // Claiming the destination's own address is left out: its kernel drops that as a martian, firewall or not.
      const claimed = [
        ...cluster.pods.filter((p) => podKey(p) !== podKey(from) && podKey(p) !== podKey(to)).map((p) => ({ ip: p.ip, owner: podKey(p) })),
        ...FOREIGN_SOURCES.map((ip) => ({ ip, owner: ip })),
      ];
      for (const source of claimed) {
        cells.push({ kind: 'forged', key: `${pair({ port, protocol })} forged as ${source.owner}`, from, to, protocol, port, source, expected: false });
      }
    }
    for (const { port, protocol, decoy } of plan.ipOptions?.ports ?? []) {
      const source = { ip: from.ip, owner: podKey(from) };
      const key = `${pair({ port, protocol })} with an IP option holding ${decoy}`;
      cells.push({ kind: 'options', key, from, to, protocol, port, source, decoy, expected: allowed(from, to, protocol, port) });
    }
    for (const port of plan.sctp?.ports ?? []) {
      const source = { ip: from.ip, owner: podKey(from) };
      cells.push({ kind: 'sctp', key: pair({ port, protocol: 'SCTP' }), from, to, protocol: 'SCTP', port, source, expected: allowed(from, to, 'SCTP', port) });
    }
  }
  return cells;
}

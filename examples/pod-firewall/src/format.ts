/**
 * Text for people: the reachability matrix (as the Kubernetes e2e netpol
 * suite prints its truth tables), flow events (as `hubble observe` prints
 * them) and the status tables. Pure functions of their arguments, so the CLI
 * stays thin and every line it prints is unit-tested.
 */

import { probeKey } from './policy/model.js';
import { REASONS, VERDICTS, type FlowEvent } from './datapath/layout.js';
import type { PodFirewall } from './firewall.js';

export type Status = ReturnType<PodFirewall['status']>;

export interface PortProtocol {
  readonly port: number;
  readonly protocol: string;
}

/** Left-aligned columns two spaces apart; trailing blanks trimmed. */
export function table(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows
    .map((row) =>
      row
        .map((cell, i) => cell.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

// ---------------------------------------------------------------------------
// Reachability

/** '.' connected, 'X' blocked, '-' a pod to itself, '?' not probed (e.g. SCTP, which this kernel lacks). */
function cell(results: ReadonlyMap<string, boolean>, from: string, to: string, p: PortProtocol): string {
  if (from === to) return '-';
  const ok = results.get(probeKey(from, to, p));
  return ok === undefined ? '?' : ok ? '.' : 'X';
}

/**
 * One truth table per port: destinations across, sources down, like
 *
 *     TCP/80  x/a  x/b
 *     x/a     -    X
 *     x/b     .    -
 */
export function formatMatrix(pods: readonly string[], results: ReadonlyMap<string, boolean>, ports: readonly PortProtocol[]): string {
  return ports
    .map((p) => table([[`${p.protocol}/${p.port}`, ...pods], ...pods.map((from) => [from, ...pods.map((to) => cell(results, from, to, p))])]))
    .join('\n\n');
}

/**
 * All ports in one table, a character per port in each cell (in `ports`
 * order): four truth tables side by side would not fit a terminal, this does.
 *
 *     TO ->  x/a   x/b
 *     x/a    ----  ..X.
 *     x/b    ....  ----
 */
export function formatCombinedMatrix(pods: readonly string[], results: ReadonlyMap<string, boolean>, ports: readonly PortProtocol[]): string {
  const row = (from: string) => [from, ...pods.map((to) => ports.map((p) => cell(results, from, to, p)).join(''))];
  return table([['TO ->', ...pods], ...pods.map(row)]);
}

/** Probe results that failed, in key order: what the JSON output and the tests compare. */
export function deniedFlows(results: ReadonlyMap<string, boolean>): string[] {
  return [...results]
    .filter(([, ok]) => !ok)
    .map(([key]) => key)
    .sort();
}

/** `3 of 288 flows blocked`: the one-line summary under a matrix. */
export function summarizeProbe(results: ReadonlyMap<string, boolean>): string {
  const blocked = deniedFlows(results).length;
  return `${blocked} of ${results.size} flows blocked`;
}

// ---------------------------------------------------------------------------
// Flow events

/** What an event means needs the controller's names; passed in so formatting stays pure. */
export interface EventLookup {
  /** `ns/name` of the pod with this address, if it is one. */
  pod(ip: string): string | undefined;
  /** `ns/name` of the NetworkPolicy with this id. */
  policy(id: number): string | undefined;
  /** Wall-clock time of a `bpf_ktime_get_ns` (CLOCK_MONOTONIC) timestamp. */
  time(monotonicNs: bigint): Date;
}

const PROTOCOLS: Record<number, string> = { 1: 'ICMP', 6: 'TCP', 17: 'UDP', 132: 'SCTP' };
const protocolName = (proto: number) => PROTOCOLS[proto] ?? `proto-${proto}`;
/** Protocols whose ports the datapath parses; others carry zeros that mean nothing. */
const hasPorts = (proto: number) => proto === 6 || proto === 17 || proto === 132;

/** The datapath's direction is the endpoint's: 0 = traffic leaving it (its egress), 1 = entering it (its ingress). */
export const directionName = (dir: number) => (dir === 0 ? 'egress' : 'ingress');
export const verdictName = (verdict: number) => VERDICTS[verdict] ?? `verdict-${verdict}`;
export const reasonName = (reason: number) => REASONS[reason] ?? `reason-${reason}`;

/** `HH:MM:SS.mmm`, local time, as hubble prints it. */
export function clockTime(d: Date): string {
  const two = (n: number) => String(n).padStart(2, '0');
  return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}.${String(d.getMilliseconds()).padStart(3, '0')}`;
}

function endpoint(lookup: EventLookup, ip: string, port: number, proto: number): string {
  const pod = lookup.pod(ip);
  const address = hasPorts(proto) ? `${ip}:${port}` : ip;
  return pod ? `${pod} ${address}` : address;
}

/**
 * One line per event, like `hubble observe`:
 *
 *     12:03:04.005  x/a 10.244.1.11:43210 -> y/b 10.244.2.12:80 TCP  DENIED   ingress  deny-policy
 *     12:03:04.007  y/b 10.244.2.12:43211 -> x/a 10.244.1.11:80 TCP  ALLOWED  ingress  policy x/allow-web
 */
export function formatFlowEvent(event: FlowEvent, lookup: EventLookup): string {
  const flow = `${endpoint(lookup, event.saddr, event.sport, event.proto)} -> ${endpoint(lookup, event.daddr, event.dport, event.proto)} ${protocolName(event.proto)}`;
  const verdict = verdictName(event.verdict).padEnd(7);
  const why = event.policyId !== 0 ? `policy ${lookup.policy(event.policyId) ?? `#${event.policyId}`}` : reasonName(event.reason);
  return `${clockTime(lookup.time(event.timestampNs))}  ${flow}  ${verdict}  ${directionName(event.dir).padEnd(7)}  ${why}`;
}

export interface FlowEventJson {
  time: string;
  source: { pod?: string; ip: string; port?: number };
  destination: { pod?: string; ip: string; port?: number };
  protocol: string;
  verdict: string;
  direction: string;
  reason: string;
  policy?: string;
  /** The endpoint the decision was made for (the source on egress, the destination on ingress). */
  endpointId: number;
  endpointIdentity: number;
  peerIdentity: number;
}

/** The event as one JSON object (bigints and enum numbers resolved), for `observe --json`. */
export function flowEventJson(event: FlowEvent, lookup: EventLookup): FlowEventJson {
  const side = (ip: string, port: number) => {
    const pod = lookup.pod(ip);
    return { ...(pod ? { pod } : {}), ip, ...(hasPorts(event.proto) ? { port } : {}) };
  };
  const policy = event.policyId !== 0 ? (lookup.policy(event.policyId) ?? `#${event.policyId}`) : undefined;
  return {
    time: lookup.time(event.timestampNs).toISOString(),
    source: side(event.saddr, event.sport),
    destination: side(event.daddr, event.dport),
    protocol: protocolName(event.proto),
    verdict: verdictName(event.verdict),
    direction: directionName(event.dir),
    reason: reasonName(event.reason),
    ...(policy ? { policy } : {}),
    endpointId: event.endpointId,
    endpointIdentity: event.endpointIdentity,
    peerIdentity: event.peerIdentity,
  };
}

/**
 * A few events to show out of many, in their order, as varied as possible:
 * `kindOf` sorts them (say by verdict, direction and policy) and the picks go
 * round the kinds, so a kind that happened once is shown next to the
 * hundred-times one.
 */
export function pickEvents<T>(events: readonly T[], kindOf: (e: T) => string, count: number): T[] {
  const kinds = new Map<string, T[]>();
  for (const e of events) {
    const k = kindOf(e);
    const group = kinds.get(k);
    if (group) group.push(e);
    else kinds.set(k, [e]);
  }
  const chosen = new Set<T>();
  for (let round = 0; chosen.size < Math.min(count, events.length); round++) {
    for (const group of kinds.values()) {
      const e = group[round];
      if (e !== undefined && chosen.size < count) chosen.add(e);
    }
  }
  return events.filter((e) => chosen.has(e));
}

/**
 * Maps CLOCK_MONOTONIC nanoseconds to wall-clock time, anchored once: Node's
 * `process.hrtime` reads the same clock as `bpf_ktime_get_ns` on Linux.
 */
export function monotonicClock(nowMonotonicNs: bigint, nowWallMs: number): (ns: bigint) => Date {
  return (ns) => new Date(nowWallMs - Number(nowMonotonicNs - ns) / 1e6);
}

// ---------------------------------------------------------------------------
// Status

const yesNo = (enforced: boolean) => (enforced ? 'enforced' : '-');

/** Packets and bytes by datapath reason; reasons that never happened are left out. */
export function formatCounters(counters: Status['counters']): string {
  const rows = Object.entries(counters)
    .filter(([, c]) => c.packets > 0n)
    .map(([reason, c]) => [reason, String(c.packets), String(c.bytes)]);
  return rows.length === 0 ? 'no packets counted yet' : table([['REASON', 'PACKETS', 'BYTES'], ...rows]);
}

/** Endpoints, identities, policies and counters, as `pod-firewall status` prints them. */
export function formatStatus(status: Status): string {
  const policies = status.policies.length;
  const head = `${status.name}: ${status.endpoints.length} endpoints, ${policies} ${policies === 1 ? 'policy' : 'policies'} (${status.policyEntries} map entries), generation ${status.generation}`;
  const endpoints = table([
    ['ENDPOINT', 'IP', 'IDENTITY', 'INGRESS', 'EGRESS'],
    ...status.endpoints.map((e) => [e.pod, e.ip, String(e.identity), yesNo(e.ingress), yesNo(e.egress)]),
  ]);
  const identities = table([['IDENTITY', 'LABELS'], ...[...status.identities].sort((a, b) => a.id - b.id).map((i) => [String(i.id), i.labels])]);
  const policyList = policies === 0 ? 'no policies (everything is allowed)' : ['POLICY', ...status.policies].join('\n');
  return [head, formatDatapath(status.datapath), endpoints, identities, policyList, formatCounters(status.counters)].join('\n\n');
}

/** Which datapath runs: the pinned programs' ids and tags, and pods whose veths run something else. */
export function formatDatapath(d: Status['datapath']): string {
  const p = d.programs;
  const line = `datapath ${d.object}: from_pod id ${p.from_pod.id} tag ${p.from_pod.tag}, to_pod id ${p.to_pod.id} tag ${p.to_pod.tag}`;
  return d.onEveryPod ? `${line}; on every pod's veth` : `${line}; NOT on every pod's veth: ${d.elsewhere.join('; ')}`;
}

/** JSON.stringify that writes bigints as numbers (strings past 2^53, where a number would lose digits). */
export function toJson(value: unknown, indent?: number): string {
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? (v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : String(v)) : v), indent);
}

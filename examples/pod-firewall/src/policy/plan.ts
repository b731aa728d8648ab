import { parsePrefix, prefixWithin } from './cidr.js';
import { IDENTITY_WORLD, isRangeEntry, policyEntryKey, POLICY_MAP_CAPACITY, PORT_RANGE_MAP_CAPACITY, type CompiledState, type PolicyEntry } from './compile.js';
import { CompileError } from './errors.js';

/**
 * How the maps move from one policy state to the next without a window.
 *
 * Map updates land one entry at a time, and a flow is judged on two sides
 * (the source's egress, the destination's ingress): mixing entries of the old
 * and the new state could allow what both deny (old egress with new ingress).
 * So the datapath keeps two generations: endpoints and ipcache entries hold an
 * answer for each, policy keys carry one, and `config.generation` names the
 * live one. An update
 *
 *  1. writes the new state into the idle generation (the live one's answers
 *     unchanged: a new ipcache prefix gets, for the live generation, the answer
 *     its addresses already had),
 *  2. flips `config.generation` (one map write: every new flow after it is
 *     judged by the new policy alone, and each flow is judged in one go),
 *  3. removes what only the old state had.
 *
 * Established flows keep their conntrack entries throughout.
 */

export type Generation = 0 | 1;
export type PerGeneration = readonly [number, number];

export interface LiveEndpoint {
  readonly endpointId: number;
  /** The pod's address (not per generation: a pod keeps its address). */
  readonly ip: string;
  readonly identity: PerGeneration;
  readonly flags: PerGeneration;
}

export interface LiveIpcacheEntry {
  readonly identity: PerGeneration;
  readonly cidrIdentity: PerGeneration;
  /** 'ns/pod' for a pod's /32 (the controller writes its veth's ifindex). */
  readonly pod?: string;
}

export interface LivePolicyEntry extends PolicyEntry {
  readonly generation: Generation;
}

/** The maps' contents, as the controller keeps track of them. */
export interface LiveState {
  generation: Generation;
  readonly endpoints: Map<string, LiveEndpoint>;
  readonly ipcache: Map<string, LiveIpcacheEntry>;
  /** By `livePolicyKey`. */
  readonly policy: Map<string, LivePolicyEntry>;
}

export const livePolicyKey = (e: Omit<LivePolicyEntry, 'policyId'>) => `${e.generation}:${policyEntryKey(e)}`;

export interface MapOps {
  readonly endpointsSet: readonly (readonly [string, LiveEndpoint])[];
  readonly ipcacheSet: readonly (readonly [string, LiveIpcacheEntry])[];
  readonly policySet: readonly LivePolicyEntry[];
  readonly policyDelete: readonly LivePolicyEntry[];
  readonly ipcacheDelete: readonly string[];
  readonly endpointsDelete: readonly string[];
}

export interface UpdatePlan {
  /** Into the idle generation; the live generation's answers do not change. */
  readonly write: MapOps;
  /** The generation to make live. */
  readonly flip: Generation;
  /** What only the old state needed. */
  readonly cleanup: MapOps;
}

export const noOps: MapOps = { endpointsSet: [], ipcacheSet: [], policySet: [], policyDelete: [], ipcacheDelete: [], endpointsDelete: [] };

const pair = (gen: Generation, idle: number, live: number): PerGeneration => (gen === 0 ? [idle, live] : [live, idle]);
const at = (x: PerGeneration, gen: Generation) => x[gen];

/** A state with both generations equal to `state` (the first install). */
export function initialLive(state: CompiledState, generation: Generation = 0): LiveState {
  const live: LiveState = { generation, endpoints: new Map(), ipcache: new Map(), policy: new Map() };
  for (const [k, e] of state.endpoints)
    live.endpoints.set(k, { endpointId: e.endpointId, ip: e.ip, identity: [e.identity, e.identity], flags: [e.flags, e.flags] });
  for (const [k, e] of state.ipcache) {
    live.ipcache.set(k, { identity: [e.identity, e.identity], cidrIdentity: [e.cidrIdentity, e.cidrIdentity], ...(e.pod ? { pod: e.pod } : {}) });
  }
  for (const e of state.policy.values()) {
    const entry = { ...e, generation };
    live.policy.set(livePolicyKey(entry), entry);
  }
  return live;
}

/** The answer an LPM lookup of `key`'s addresses gives, from entries (other than `key` itself) that contain it. */
function containing<T>(entries: ReadonlyMap<string, T>, key: string): T | undefined {
  const p = parsePrefix(key);
  let best: { len: number; value: T } | undefined;
  for (const [k, v] of entries) {
    if (k === key) continue;
    const q = parsePrefix(k);
    if (prefixWithin(p, q) && (!best || q.len > best.len)) best = { len: q.len, value: v };
  }
  return best?.value;
}

/** How many entries the datapath's policy maps hold (their max_entries). */
export interface PolicyCapacity {
  /** The `policy` hash: exact ports, protocols, wildcards, named ports. */
  readonly policy: number;
  /** The `port_ranges` trie: endPort blocks. */
  readonly portRanges: number;
}

export const datapathCapacity: PolicyCapacity = { policy: POLICY_MAP_CAPACITY, portRanges: PORT_RANGE_MAP_CAPACITY };

/**
 * Refuses, before anything is written, a next state that does not fit beside the live one (the
 * idle generation is written while the live one still holds its entries). The error names the
 * policies that ask for the most entries, and the capacity.
 */
function checkCapacity(live: LiveState, next: CompiledState, capacity: PolicyCapacity): void {
  // One pass each (this runs on every update, over every entry).
  const kept = { hash: 0, ranges: 0 };
  for (const e of live.policy.values()) if (e.generation === live.generation) kept[isRangeEntry(e) ? 'ranges' : 'hash']++;
  const wanted = { hash: 0, ranges: 0 };
  for (const e of next.policy.values()) wanted[isRangeEntry(e) ? 'ranges' : 'hash']++;
  const over = (
    [
      ['policy', kept.hash, wanted.hash, capacity.policy],
      ['port_ranges', kept.ranges, wanted.ranges, capacity.portRanges],
    ] as const
  ).find(([, k, w, cap]) => k + w > cap);
  if (!over) return;
  const [map, k, w, cap] = over;
  const biggest = [...next.entriesByPolicy].sort((a, b) => b[1] - a[1]).slice(0, 3);
  const names = biggest.map(([name, n]) => `${name} (${n.toLocaleString('en-US')} entries)`).join(', ');
  throw new CompileError(
    'CAPACITY_EXCEEDED',
    `the policies need ${w.toLocaleString('en-US')} entries in the datapath's ${map} map, which holds ${cap.toLocaleString('en-US')} ` +
      `(${k.toLocaleString('en-US')} in use by the live policy until the update completes); the largest: ${names}. Nothing was changed`,
  );
}

export function planUpdate(live: LiveState, next: CompiledState, capacity: PolicyCapacity = datapathCapacity): UpdatePlan {
  const gen = live.generation;
  const idle: Generation = gen === 0 ? 1 : 0;
  checkCapacity(live, next, capacity);

  const endpointsSet: [string, LiveEndpoint][] = [];
  for (const [k, e] of next.endpoints) {
    const had = live.endpoints.get(k);
    // A pod the live state does not know: not isolated there (the live policy never named it).
    endpointsSet.push([
      k,
      {
        endpointId: e.endpointId,
        ip: e.ip,
        identity: pair(idle, e.identity, had ? at(had.identity, gen) : e.identity),
        flags: pair(idle, e.flags, had ? at(had.flags, gen) : 0),
      },
    ]);
  }
  for (const [k, had] of live.endpoints) {
    if (!next.endpoints.has(k)) endpointsSet.push([k, { ...had, identity: pair(idle, 0, at(had.identity, gen)), flags: pair(idle, 0, at(had.flags, gen)) }]);
  }

  const ipcacheSet: [string, LiveIpcacheEntry][] = [];
  const keys = new Set([...live.ipcache.keys(), ...next.ipcache.keys()]);
  for (const k of keys) {
    const had = live.ipcache.get(k);
    // The live generation's answer for a new key is what its addresses got before it existed.
    const liveAnswer = had ?? containing(live.ipcache, k);
    const liveIdentity = liveAnswer ? at(liveAnswer.identity, gen) : IDENTITY_WORLD;
    const liveCidr = liveAnswer ? at(liveAnswer.cidrIdentity, gen) : 0;
    // The idle generation's answer for a key the next state lacks is that of the next key containing it.
    const nextAnswer = next.ipcache.get(k) ?? containing(next.ipcache, k);
    const pod = next.ipcache.get(k)?.pod ?? had?.pod;
    ipcacheSet.push([
      k,
      {
        identity: pair(idle, nextAnswer?.identity ?? IDENTITY_WORLD, liveIdentity),
        cidrIdentity: pair(idle, nextAnswer?.cidrIdentity ?? 0, liveCidr),
        ...(pod ? { pod } : {}),
      },
    ]);
  }

  const policySet = [...next.policy.values()].map((e) => ({ ...e, generation: idle }));
  const wanted = new Set(policySet.map(livePolicyKey));
  // Left in the idle generation by an update that stopped half-way: harmless, but not ours.
  const stale = [...live.policy.values()].filter((e) => e.generation === idle && !wanted.has(livePolicyKey(e)));

  return {
    write: { ...noOps, endpointsSet, ipcacheSet, policySet, policyDelete: stale },
    flip: idle,
    cleanup: {
      ...noOps,
      policyDelete: [...live.policy.values()].filter((e) => e.generation === gen),
      ipcacheDelete: [...keys].filter((k) => !next.ipcache.has(k)),
      endpointsDelete: [...live.endpoints.keys()].filter((k) => !next.endpoints.has(k)),
    },
  };
}

/**
 * Applies operations to a tracked state in the controller's order: sets, then deletes, except that
 * policy entries are deleted before policy entries are set (in the write step those deletions are
 * stale entries of the idle generation, which no flow sees; freeing them first keeps the maps'
 * peak use at what `checkCapacity` counted).
 */
export function applyOps(state: LiveState, ops: MapOps): void {
  for (const [k, v] of ops.endpointsSet) state.endpoints.set(k, v);
  for (const [k, v] of ops.ipcacheSet) state.ipcache.set(k, v);
  for (const e of ops.policyDelete) state.policy.delete(livePolicyKey(e));
  for (const e of ops.policySet) state.policy.set(livePolicyKey(e), e);
  for (const k of ops.ipcacheDelete) state.ipcache.delete(k);
  for (const k of ops.endpointsDelete) state.endpoints.delete(k);
}

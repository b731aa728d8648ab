/**
 * The datapath's pinned maps as records: opened by pin, read back as a
 * LiveState (veth ifindexes turned into pods; policy entries from the `policy`
 * hash and the `port_ranges` trie), written from MapOps (pods turned into
 * ifindexes, endPort blocks into trie keys), the live generation flipped, the
 * per-CPU counters summed (flow events: flow-hub.ts). Nothing here decides what to write:
 * policy-control.ts does.
 */
import { join } from 'node:path';
import { BpfMap } from '@tsbpf/loader';
import { PerCpuMap, TypedMap, u32 } from '@tsbpf/maps';
import type { PodNetwork } from '../cluster/topology.js';
import { configValue, counterValue, endpointValue, ipcacheKey, ipcacheValue, policyKey, policyValue, portRangeKey, REASONS } from '../datapath/layout.js';
import { FirewallError } from '../errors.js';
import { isRangeEntry } from '../policy/compile.js';
import { livePolicyKey, noOps, type Generation, type LivePolicyEntry, type LiveState, type MapOps } from '../policy/plan.js';

/** The bits of a `port_ranges` key before the port: endpoint, peer, direction and generation, protocol. */
const RANGE_KEY_FIXED_BITS = 80;

export type Counters = Record<string, { packets: bigint; bytes: bigint }>;

export class PinnedMaps implements Disposable {
  private readonly endpoints: TypedMap<number, ReturnType<typeof endpointValue.decode>>;
  private readonly ipcache: TypedMap<string, ReturnType<typeof ipcacheValue.decode>>;
  private readonly policy: TypedMap<ReturnType<typeof policyKey.decode>, ReturnType<typeof policyValue.decode>>;
  private readonly portRanges: TypedMap<ReturnType<typeof portRangeKey.decode>, ReturnType<typeof policyValue.decode>>;
  private readonly config: TypedMap<number, ReturnType<typeof configValue.decode>>;
  private readonly counters: PerCpuMap<number, ReturnType<typeof counterValue.decode>>;
  private readonly podByIfindex: ReadonlyMap<number, string>;
  private readonly ifindexByPod: ReadonlyMap<string, number>;

  /** The maps pinned under `pins`; `pods` are the veths the endpoints and the pods' ipcache entries name. */
  constructor(
    private readonly pins: string,
    pods: readonly PodNetwork[],
  ) {
    const pin = (m: string) => BpfMap.fromPin(join(pins, m));
    this.endpoints = new TypedMap(pin('endpoints'), u32, endpointValue);
    this.ipcache = new TypedMap(pin('ipcache'), ipcacheKey, ipcacheValue);
    this.policy = new TypedMap(pin('policy'), policyKey, policyValue);
    this.portRanges = new TypedMap(pin('port_ranges'), portRangeKey, policyValue);
    this.config = new TypedMap(pin('config'), u32, configValue);
    this.counters = new PerCpuMap(pin('counters'), u32, counterValue);
    this.podByIfindex = new Map(pods.map((p) => [p.ifindex, p.pod]));
    this.ifindexByPod = new Map(pods.map((p) => [p.pod, p.ifindex]));
  }

  /** The maps' contents, read back (the truth, also after a crash). */
  readLive(): LiveState {
    const live: LiveState = {
      generation: ((this.config.get(0)?.generation ?? 0) & 1) as Generation,
      endpoints: new Map(),
      ipcache: new Map(),
      policy: new Map(),
    };
    for (const [ifindex, e] of this.endpoints) {
      const pod = this.podByIfindex.get(ifindex);
      if (pod) live.endpoints.set(pod, { endpointId: e.endpointId, ip: e.addr, identity: [e.identity[0]!, e.identity[1]!], flags: [e.flags[0]!, e.flags[1]!] });
    }
    for (const [cidr, v] of this.ipcache) {
      const pod = this.podByIfindex.get(v.ifindex);
      live.ipcache.set(cidr, { identity: [v.identity[0]!, v.identity[1]!], cidrIdentity: [v.cidrIdentity[0]!, v.cidrIdentity[1]!], ...(pod ? { pod } : {}) });
    }
    const add = (k: { endpointId: number; peer: number; proto: number; dirGen: number }, port: number, portBits: number, policyId: number) => {
      const e = {
        endpointId: k.endpointId,
        peer: k.peer,
        port,
        portBits,
        proto: k.proto,
        dir: (k.dirGen & 1) as 0 | 1,
        generation: (k.dirGen >> 1) as Generation,
        policyId,
      };
      live.policy.set(livePolicyKey(e), e);
    };
    for (const [k, v] of this.policy) add(k, k.port, k.port === 0 ? 0 : 16, v.policyId);
    for (const [k, v] of this.portRanges) add(k, k.port, k.prefixlen - RANGE_KEY_FIXED_BITS, v.policyId);
    return live;
  }

  /** Makes `gen` the live generation: one map write, which every new flow after it sees. */
  setGeneration(gen: Generation): void {
    this.config.set(0, { generation: gen });
  }

  /** Writes a whole state into empty maps (the first install). */
  install(live: LiveState): void {
    this.setGeneration(live.generation);
    this.execute({ ...noOps, endpointsSet: [...live.endpoints], ipcacheSet: [...live.ipcache], policySet: [...live.policy.values()] });
  }

  /** Sets, then deletes, in the order the update planner assumes (applyOps in plan.ts). */
  execute(ops: MapOps): void {
    const ifindexOf = (pod: string) => {
      const i = this.ifindexByPod.get(pod);
      if (i === undefined) throw new FirewallError('STATE_INVALID', `pod ${pod} has no veth in the saved state`);
      return i;
    };
    const u32s = (x: readonly number[]) => Uint32Array.from(x);
    this.endpoints.setMany(
      ops.endpointsSet.map(
        ([pod, e]) => [ifindexOf(pod), { endpointId: e.endpointId, identity: u32s(e.identity), flags: Uint16Array.from(e.flags), addr: e.ip }] as const,
      ),
    );
    for (const [cidr, v] of ops.ipcacheSet) {
      // LPM tries have no batch update: one by one (a few hundred at most).
      this.ipcache.set(cidr, { identity: u32s(v.identity), cidrIdentity: u32s(v.cidrIdentity), ifindex: v.pod ? (this.ifindexByPod.get(v.pod) ?? 0) : 0 });
    }
    const key = (e: LivePolicyEntry) => ({ endpointId: e.endpointId, peer: e.peer, port: e.port, proto: e.proto, dirGen: e.dir | (e.generation << 1) });
    const rangeKey = (e: LivePolicyEntry) => ({ ...key(e), prefixlen: RANGE_KEY_FIXED_BITS + e.portBits });
    // Policy deletions first: in the write step they are stale idle entries, and freeing them keeps
    // the maps' peak use at what the planner checked against their capacity.
    this.policy.deleteMany(ops.policyDelete.filter((e) => !isRangeEntry(e)).map(key));
    // LPM tries have no batch operations: one by one (an endPort range is at most 30 blocks).
    for (const e of ops.policyDelete) if (isRangeEntry(e)) this.portRanges.delete(rangeKey(e));
    this.policy.setMany(ops.policySet.filter((e) => !isRangeEntry(e)).map((e) => [key(e), { policyId: e.policyId }] as const));
    for (const e of ops.policySet) if (isRangeEntry(e)) this.portRanges.set(rangeKey(e), { policyId: e.policyId });
    for (const cidr of ops.ipcacheDelete) this.ipcache.delete(cidr);
    this.endpoints.deleteMany(ops.endpointsDelete.flatMap((pod) => (this.ifindexByPod.has(pod) ? [this.ifindexByPod.get(pod)!] : [])));
  }

  /** Packets and bytes by datapath reason, summed over the CPUs. */
  countersByReason(): Counters {
    const out: Counters = {};
    REASONS.forEach((reason, i) => {
      const perCpu = this.counters.get(i) ?? [];
      out[reason] = perCpu.reduce((a, c) => ({ packets: a.packets + c.packets, bytes: a.bytes + c.bytes }), { packets: 0n, bytes: 0n });
    });
    return out;
  }

  close(): void {
    for (const m of [this.endpoints, this.ipcache, this.policy, this.portRanges, this.config, this.counters]) m.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

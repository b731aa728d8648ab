import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { compile as compileC } from '@tsbpf/compiler';
import { BpfMap, Link, attachTcx, loadCollection, withNetns } from '@tsbpf/loader';
import { PerCpuMap, RingBuffer, TypedMap, u32 } from '@tsbpf/maps';
import { parseCollectionSpec } from '@tsbpf/object';
import { AgentClient, agentSocket, packageDir, startAgent, waitForSockets } from './cluster/agents.js';
import { createTopology, destroyTopology, netnsPath, nodeNetns, type PodNetwork } from './cluster/topology.js';
import {
  configValue,
  counterValue,
  endpointValue,
  flowEvent,
  ipcacheKey,
  ipcacheValue,
  policyKey,
  policyValue,
  REASONS,
  type FlowEvent,
} from './datapath/layout.js';
import { EP_ENFORCE_EGRESS, EP_ENFORCE_INGRESS, allocate, compile, emptyAllocations, policyPrefixes, type Allocations } from './policy/compile.js';
import { podKey, relabelCluster, type Cluster, type LabelChange, type NetworkPolicy, type Pod, type Protocol } from './policy/model.js';
import { initialLive, livePolicyKey, noOps, planUpdate, type Generation, type LivePolicyEntry, type LiveState, type MapOps } from './policy/plan.js';

/**
 * The control plane: creates the cluster's namespaces, loads the datapath
 * once (maps pinned by name, tcx links pinned per veth, so enforcement
 * outlives this process), and turns NetworkPolicy changes into map updates
 * through the generation flip of `planUpdate`. A later process adopts the
 * pinned maps and the saved cluster.
 */

export interface FirewallOptions {
  /** Prefix of every namespace, pin and file this instance makes (default `pf`). */
  readonly name?: string;
  readonly bpffs?: string;
  readonly runRoot?: string;
}

interface Saved {
  readonly cluster: Cluster;
  readonly policies: readonly NetworkPolicy[];
  readonly alloc: Allocations;
  readonly pods: readonly PodNetwork[];
}

export interface ApplyResult {
  /** Policy entries in the new state. */
  readonly entries: number;
  readonly milliseconds: number;
}

export interface ProbePort {
  readonly port: number;
  readonly protocol: Protocol;
}

const paths = (o: FirewallOptions) => {
  const name = o.name ?? 'pf';
  return { name, pins: join(o.bpffs ?? '/sys/fs/bpf', name), run: join(o.runRoot ?? '/run', name) };
};

export class PodFirewall implements Disposable {
  private readonly endpoints: TypedMap<number, ReturnType<typeof endpointValue.decode>>;
  private readonly ipcache: TypedMap<string, ReturnType<typeof ipcacheValue.decode>>;
  private readonly policy: TypedMap<ReturnType<typeof policyKey.decode>, ReturnType<typeof policyValue.decode>>;
  private readonly config: TypedMap<number, ReturnType<typeof configValue.decode>>;
  private readonly counters: PerCpuMap<number, ReturnType<typeof counterValue.decode>>;

  private constructor(
    readonly name: string,
    private readonly dirs: ReturnType<typeof paths>,
    private saved: Saved,
  ) {
    const pin = (m: string) => BpfMap.fromPin(join(dirs.pins, m));
    this.endpoints = new TypedMap(pin('endpoints'), u32, endpointValue);
    this.ipcache = new TypedMap(pin('ipcache'), ipcacheKey, ipcacheValue);
    this.policy = new TypedMap(pin('policy'), policyKey, policyValue);
    this.config = new TypedMap(pin('config'), u32, configValue);
    this.counters = new PerCpuMap(pin('counters'), u32, counterValue);
  }

  get cluster(): Cluster {
    return this.saved.cluster;
  }

  get policies(): readonly NetworkPolicy[] {
    return this.saved.policies;
  }

  /**
   * Creates the namespaces, veths and agents of `cluster`, loads and attaches
   * the datapath with no policy (everything allowed), and returns the
   * controller. Whatever a previous run under this name left is removed first.
   */
  static async up(cluster: Cluster, options: FirewallOptions = {}): Promise<PodFirewall> {
    const dirs = paths(options);
    PodFirewall.down(options);
    mkdirSync(join(dirs.run, 'agents'), { recursive: true });
    mkdirSync(join(dirs.pins, 'links'), { recursive: true });
    try {
      const pods = createTopology(dirs.name, cluster);
      await attachDatapath(dirs, pods);
      const alloc = allocate(emptyAllocations(), cluster, [], []);
      const saved: Saved = { cluster, policies: [], alloc, pods };
      const fw = new PodFirewall(dirs.name, dirs, saved);
      fw.install(initialLive(compile(cluster, [], alloc), 0));
      fw.save();
      for (const p of pods) startAgent(dirs.run, p.netns, podOf(cluster, p.pod));
      await waitForSockets(pods.map((p) => agentSocket(dirs.run, p.netns)));
      return fw;
    } catch (e) {
      PodFirewall.down(options);
      throw e;
    }
  }

  /** Adopts what `up` left pinned and saved. */
  static open(options: FirewallOptions = {}): PodFirewall {
    const dirs = paths(options);
    const file = join(dirs.run, 'state.json');
    if (!existsSync(file) || !existsSync(join(dirs.pins, 'policy'))) {
      throw new Error(`pod-firewall: no cluster named ${dirs.name} is up (run pod-firewall up CLUSTER.yaml)`);
    }
    return new PodFirewall(dirs.name, dirs, JSON.parse(readFileSync(file, 'utf8')) as Saved);
  }

  /** Removes every namespace, process, pin and file of this name, also after a crash. */
  static down(options: FirewallOptions = {}): void {
    const dirs = paths(options);
    destroyTopology(dirs.name);
    rmSync(dirs.pins, { recursive: true, force: true });
    rmSync(dirs.run, { recursive: true, force: true });
  }

  /** Creates or replaces policies (by namespace/name). Nothing changes if compiling fails. */
  apply(policies: readonly NetworkPolicy[]): ApplyResult {
    const key = (p: NetworkPolicy) => `${p.metadata.namespace}/${p.metadata.name}`;
    const merged = new Map(this.saved.policies.map((p) => [key(p), p]));
    for (const p of policies) merged.set(key(p), p);
    return this.update(this.saved.cluster, [...merged.values()]);
  }

  /** Deletes policies by 'namespace/name'; returns how many existed. */
  delete(names: readonly string[]): number {
    const gone = new Set(names);
    const kept = this.saved.policies.filter((p) => !gone.has(`${p.metadata.namespace}/${p.metadata.name}`));
    const removed = this.saved.policies.length - kept.length;
    this.update(this.saved.cluster, kept);
    return removed;
  }

  /** Replaces pod and namespace labels (identities follow; maps only). */
  relabel(change: LabelChange): void {
    this.update(relabelCluster(this.saved.cluster, change), this.saved.policies);
  }

  private update(cluster: Cluster, policies: readonly NetworkPolicy[]): ApplyResult {
    const started = performance.now();
    const alloc = allocate(this.saved.alloc, cluster, policies, policyPrefixes(policies));
    const next = compile(cluster, policies, alloc);
    const plan = planUpdate(this.readLive(), next);
    // Saved first: if we die half-way, the next run plans from the maps towards this intent.
    this.saved = { ...this.saved, cluster, policies, alloc };
    this.save();
    this.execute(plan.write);
    this.config.set(0, { generation: plan.flip });
    this.execute(plan.cleanup);
    return { entries: next.policy.size, milliseconds: performance.now() - started };
  }

  /** The maps' contents, read back (the truth, also after a crash). */
  readLive(): LiveState {
    const podByIfindex = new Map(this.saved.pods.map((p) => [p.ifindex, p.pod]));
    const live: LiveState = {
      generation: ((this.config.get(0)?.generation ?? 0) & 1) as Generation,
      endpoints: new Map(),
      ipcache: new Map(),
      policy: new Map(),
    };
    for (const [ifindex, e] of this.endpoints) {
      const pod = podByIfindex.get(ifindex);
      if (pod) live.endpoints.set(pod, { endpointId: e.endpointId, identity: [e.identity[0]!, e.identity[1]!], flags: [e.flags[0]!, e.flags[1]!] });
    }
    for (const [cidr, v] of this.ipcache) {
      const pod = podByIfindex.get(v.ifindex);
      live.ipcache.set(cidr, { identity: [v.identity[0]!, v.identity[1]!], cidrIdentity: [v.cidrIdentity[0]!, v.cidrIdentity[1]!], ...(pod ? { pod } : {}) });
    }
    for (const [k, v] of this.policy) {
      const e = { endpointId: k.endpointId, peer: k.peer, port: k.port, proto: k.proto, dir: (k.dirGen & 1) as 0 | 1, generation: (k.dirGen >> 1) as Generation, policyId: v.policyId };
      live.policy.set(livePolicyKey(e), e);
    }
    return live;
  }

  private install(live: LiveState): void {
    this.config.set(0, { generation: live.generation });
    this.execute({ ...noOps, endpointsSet: [...live.endpoints], ipcacheSet: [...live.ipcache], policySet: [...live.policy.values()] });
  }

  private execute(ops: MapOps): void {
    const ifindexOf = new Map(this.saved.pods.map((p) => [p.pod, p.ifindex]));
    const need = (pod: string) => {
      const i = ifindexOf.get(pod);
      if (i === undefined) throw new Error(`pod-firewall: pod ${pod} has no veth`);
      return i;
    };
    const u32s = (x: readonly number[]) => Uint32Array.from(x);
    this.endpoints.setMany(ops.endpointsSet.map(([pod, e]) => [need(pod), { endpointId: e.endpointId, identity: u32s(e.identity), flags: Uint8Array.from(e.flags), pad: 0 }] as const));
    for (const [cidr, v] of ops.ipcacheSet) {
      // LPM tries have no batch update: one by one (a few hundred at most).
      this.ipcache.set(cidr, { identity: u32s(v.identity), cidrIdentity: u32s(v.cidrIdentity), ifindex: v.pod ? (ifindexOf.get(v.pod) ?? 0) : 0 });
    }
    const key = (e: LivePolicyEntry) => ({ endpointId: e.endpointId, peer: e.peer, port: e.port, proto: e.proto, dirGen: e.dir | (e.generation << 1) });
    this.policy.setMany(ops.policySet.map((e) => [key(e), { policyId: e.policyId }] as const));
    this.policy.deleteMany(ops.policyDelete.map(key));
    for (const cidr of ops.ipcacheDelete) this.ipcache.delete(cidr);
    this.endpoints.deleteMany(ops.endpointsDelete.flatMap((pod) => (ifindexOf.has(pod) ? [ifindexOf.get(pod)!] : [])));
  }

  private save(): void {
    writeFileSync(join(this.dirs.run, 'state.json'), JSON.stringify(this.saved));
  }

  /** Endpoints, identities and counters. */
  status() {
    const live = this.readLive();
    const gen = live.generation;
    const endpoints = this.saved.cluster.pods.map((p) => {
      const e = live.endpoints.get(podKey(p));
      return {
        pod: podKey(p),
        ip: p.ip,
        identity: e?.identity[gen] ?? 0,
        ingress: e ? Boolean(e.flags[gen]! & EP_ENFORCE_INGRESS) : false,
        egress: e ? Boolean(e.flags[gen]! & EP_ENFORCE_EGRESS) : false,
        labels: p.labels,
      };
    });
    const counters: Record<string, { packets: bigint; bytes: bigint }> = {};
    REASONS.forEach((reason, i) => {
      const perCpu = this.counters.get(i) ?? [];
      counters[reason] = perCpu.reduce((a, c) => ({ packets: a.packets + c.packets, bytes: a.bytes + c.bytes }), { packets: 0n, bytes: 0n });
    });
    const identities = Object.entries(this.saved.alloc.identities).map(([labels, id]) => ({ id, labels }));
    return { name: this.name, generation: gen, endpoints, identities, policies: this.saved.policies.map((p) => `${p.metadata.namespace}/${p.metadata.name}`), policyEntries: [...live.policy.values()].filter((e) => e.generation === gen).length, counters };
  }

  /** Flow events from the datapath's ring buffer, live. */
  observe(signal?: AbortSignal): RingBuffer<FlowEvent> {
    return new RingBuffer(BpfMap.fromPin(join(this.dirs.pins, 'events')), flowEvent, { signal, pollMs: 50 });
  }

  /** The pod whose address is `ip`, for printing events. */
  podByIp(ip: string): string | undefined {
    const p = this.saved.cluster.pods.find((x) => x.ip === ip);
    return p ? podKey(p) : undefined;
  }

  policyName(id: number): string | undefined {
    return Object.entries(this.saved.alloc.policies).find(([, v]) => v === id)?.[0];
  }

  /**
   * Real connections from every pod to every other pod on each port: true
   * where it connected (TCP) or got its echo back (UDP). Keys are
   * `from->to:PROTO/port`; a pod to itself is not probed (never filtered).
   */
  async probe(ports: readonly ProbePort[] = this.servedPorts(), timeoutMs = 700): Promise<Map<string, boolean>> {
    const out = new Map<string, boolean>();
    const pods = this.saved.cluster.pods;
    const clients = await Promise.all(this.saved.pods.map((p) => AgentClient.open(agentSocket(this.dirs.run, p.netns))));
    try {
      const jobs: Promise<void>[] = [];
      pods.forEach((from, i) => {
        for (const to of pods) {
          if (podKey(to) === podKey(from)) continue;
          for (const { port, protocol } of ports) {
            if (protocol === 'SCTP') continue; // this kernel has no SCTP
            jobs.push(clients[i]!.probe(to.ip, port, protocol, timeoutMs).then((ok) => void out.set(`${podKey(from)}->${podKey(to)}:${protocol}/${port}`, ok)));
          }
        }
      });
      await Promise.all(jobs);
    } finally {
      for (const c of clients) c.close();
    }
    return out;
  }

  servedPorts(): ProbePort[] {
    const seen = new Map<string, ProbePort>();
    for (const p of this.saved.cluster.pods) for (const c of p.ports) seen.set(`${c.protocol}/${c.port}`, { port: c.port, protocol: c.protocol });
    return [...seen.values()].sort((a, b) => a.port - b.port || a.protocol.localeCompare(b.protocol));
  }

  close(): void {
    for (const m of [this.endpoints, this.ipcache, this.policy, this.config, this.counters]) m.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

function podOf(cluster: Cluster, key: string): Pod {
  const p = cluster.pods.find((x) => podKey(x) === key);
  if (!p) throw new Error(`pod-firewall: no pod ${key}`);
  return p;
}

/** Compiles (cached) and loads the datapath with its maps pinned, and pins a tcx link on both hooks of every host veth. */
async function attachDatapath(dirs: ReturnType<typeof paths>, pods: readonly PodNetwork[]): Promise<void> {
  const { object } = await compileC({ source: join(packageDir(), 'bpf', 'firewall.bpf.c') });
  const spec = parseCollectionSpec(object);
  using collection = loadCollection(spec, { pinRoot: dirs.pins });
  const fromPod = collection.programs.from_pod!;
  const toPod = collection.programs.to_pod!;
  withNetns(netnsPath(nodeNetns(dirs.name)), () => {
    for (const p of pods) {
      const links: Link[] = [attachTcx(fromPod, p.ifindex, 'ingress'), attachTcx(toPod, p.ifindex, 'egress')];
      try {
        links[0]!.pin(join(dirs.pins, 'links', `${p.hostVeth}-ingress`));
        links[1]!.pin(join(dirs.pins, 'links', `${p.hostVeth}-egress`));
      } finally {
        for (const l of links) l.close();
      }
    }
  });
}

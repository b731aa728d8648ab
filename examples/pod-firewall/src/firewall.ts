/**
 * PodFirewall, the controller of one instance as its users see it: it ties
 * the rooms of controller/ together (lifecycle.ts: up, down; session.ts: the
 * instance lock and the enforced state; policy-control.ts: apply, delete,
 * relabel as map updates; pod-control.ts: pods and cluster changes;
 * verify.ts: what the maps enforce; probe.ts: real connections) and answers
 * what the instance holds (status, flow events, names). Every change reads
 * the enforced state under the exclusive lock and writes it back before
 * letting go, so changes from several processes serialise.
 */
import { instanceDirs, stateSaved, type FirewallOptions, type InstanceDirs, type SavedState } from './controller/instance.js';
import { fastPathDefault, fastPathOn, syncFastPath } from './controller/fast-path.js';
import { keepObject, reloadForFastPath } from './controller/fast-path-switch.js';
import { FlowStream } from './controller/flow-hub.js';
import { bringUp, takeDown } from './controller/lifecycle.js';
import { InstanceLock } from './controller/lock.js';
import { PinnedMaps } from './controller/map-records.js';
import { changeCluster, reconcileMachine, type ClusterChange, type MachineRepair } from './controller/pod-control.js';
import { withPolicies, withoutPolicies, type ApplyResult, type Target } from './controller/policy-control.js';
import { probePods, servedPorts, type ProbePort, type ProbeReport } from './controller/probe.js';
import { Session } from './controller/session.js';
import { differences } from './controller/verify.js';
import { datapathSpec, datapathStatus, defaultObject, swapDatapath, type UpgradeResult } from './controller/upgrade.js';
import { FirewallError } from './errors.js';
import { addPodToCluster, checkLabels, type PodSpec } from './policy/cluster-file.js';
import { EP_ENFORCE_EGRESS, EP_ENFORCE_INGRESS } from './policy/compile.js';
import { podKey, policyKey, relabelCluster, type Cluster, type LabelChange, type Labels, type NetworkPolicy, type Pod } from './policy/model.js';
import type { LiveState } from './policy/plan.js';

export type { ApplyResult, ClusterChange, FirewallOptions, MachineRepair, PodSpec, ProbePort, ProbeReport, UpgradeResult };

/** The podCidr of a cluster given in code, when the caller names none (the cluster file's default). */
const DEFAULT_POD_CIDR = '10.244.0.0/16';

/** The cluster to reconcile to, worked out from the running one (undefined when nothing runs), and its podCidr. */
export type ClusterFor = (running?: Cluster) => { cluster: Cluster; podCidr?: string };

/** What `up` (and `reconcile`) take besides the instance's names. */
export interface UpOptions extends FirewallOptions {
  /** Where new pods get their addresses. */
  readonly podCidr?: string;
  /**
   * The local fast path: from_pod delivers what it allowed between two pods of
   * the node straight into the destination pod, skipping to_pod and the
   * node's routing (and its netfilter). Default: on (POD_FIREWALL_FAST_PATH=off
   * turns the default off); `reconcile` keeps the running instance's setting
   * unless this is given. The programs are loaded with it (off, they have no
   * `local_pods` lookup at all), so switching a running instance loads them
   * again and moves every link, as `upgrade` does.
   */
  readonly fastPath?: boolean;
}

export interface ReconcileResult {
  readonly fw: PodFirewall;
  /** False: nothing was up, the cluster was made from scratch. */
  readonly wasUp: boolean;
  readonly change?: ClusterChange;
  readonly repair?: MachineRepair;
  /** Policies of namespaces the new cluster no longer has, deleted with them (as Kubernetes does). */
  readonly policiesDeleted: string[];
}

export class PodFirewall implements Disposable {
  readonly name: string;

  private constructor(
    private readonly dirs: InstanceDirs,
    private readonly options: FirewallOptions,
    private saved: SavedState,
  ) {
    this.name = dirs.name;
  }

  /**
   * Creates the namespaces, veths and agents of `cluster`, loads and attaches
   * the datapath with no policy (everything allowed), and returns the
   * controller. Whatever a previous run under this name left is removed first.
   */
  static async up(cluster: Cluster, options: UpOptions = {}): Promise<PodFirewall> {
    const dirs = instanceDirs(options);
    using _lock = InstanceLock.acquire(dirs, 'exclusive', { create: true, timeoutMs: options.lockTimeoutMs, holder: 'up' });
    const saved = await bringUp(dirs, cluster, options.podCidr ?? DEFAULT_POD_CIDR, fastPathDefault(options.fastPath));
    return new PodFirewall(dirs, options, saved);
  }

  /**
   * `up` for an instance that may be running: when it is, the machine is
   * first brought in line with the enforced state (dead agents restarted,
   * what a crashed command left removed), then moved to `cluster` (pods
   * added, removed, relabelled) in one map update that keeps every policy
   * (but those of namespaces that are gone): nothing opens on the way.
   * When it is not, as `up`.
   */
  static async reconcile(target: Cluster | ClusterFor, options: UpOptions = {}): Promise<ReconcileResult> {
    const dirs = instanceDirs(options);
    const wanted = (running?: Cluster) => (typeof target === 'function' ? target(running) : { cluster: target, podCidr: options.podCidr });
    const lock = InstanceLock.acquire(dirs, 'exclusive', { create: true, timeoutMs: options.lockTimeoutMs, holder: 'up' });
    if (!stateSaved(dirs)) {
      try {
        const { cluster, podCidr } = wanted();
        const saved = await bringUp(dirs, cluster, podCidr ?? DEFAULT_POD_CIDR, fastPathDefault(options.fastPath));
        return { fw: new PodFirewall(dirs, options, saved), wasUp: false, policiesDeleted: [] };
      } finally {
        lock.release();
      }
    }
    const session = Session.withLock(dirs, 'exclusive', lock);
    using s = session;
    const repair = reconcileMachine(s);
    // Switched only when asked: the programs loaded again with it (all links or none), then changeCluster below fills or empties the map.
    if (options.fastPath !== undefined && options.fastPath !== fastPathOn(s.stateFile)) {
      reloadForFastPath(s, options.fastPath);
      s.recordFastPath(options.fastPath);
    }
    const enforced = s.enforced;
    // Read under the lock: the running pods keep their addresses where the file gives none.
    const { cluster, podCidr } = wanted(enforced.cluster);
    const namespaces = new Set(cluster.namespaces.map((n) => n.name));
    const policies = enforced.policies.filter((p) => namespaces.has(p.metadata.namespace));
    const policiesDeleted = enforced.policies.filter((p) => !namespaces.has(p.metadata.namespace)).map(policyKey);
    const { saved, change } = changeCluster(s, cluster, policies, new Set(), podCidr);
    return { fw: new PodFirewall(dirs, options, saved), wasUp: true, change, repair, policiesDeleted };
  }

  /** Adopts what `up` left pinned and saved (a FirewallError NOT_UP when nothing is). */
  static open(options: FirewallOptions = {}): PodFirewall {
    const dirs = instanceDirs(options);
    using s = Session.open(dirs, 'shared', { timeoutMs: options.lockTimeoutMs });
    return new PodFirewall(dirs, options, s.enforced);
  }

  /** Removes every namespace, process, pin and file of this name, also after a crash (after a running command ends). */
  static down(options: FirewallOptions = {}): void {
    takeDown(instanceDirs(options), options.lockTimeoutMs);
  }

  /** The cluster as of this object's last look (every call that reads or changes the instance looks again). */
  get cluster(): Cluster {
    return this.saved.cluster;
  }

  get policies(): readonly NetworkPolicy[] {
    return this.saved.policies;
  }

  get podCidr(): string {
    return this.saved.podCidr;
  }

  /** Reads the enforced state again (another process may have changed it). */
  refresh(): void {
    using s = this.session('shared');
    this.saved = s.enforced;
  }

  /** Creates or replaces policies (by namespace/name). Nothing changes if compiling fails. */
  apply(policies: readonly NetworkPolicy[]): ApplyResult {
    return this.change('apply', (now) => ({ cluster: now.cluster, policies: withPolicies(now.policies, policies) })).result;
  }

  /** Deletes policies by 'namespace/name'; returns how many existed. */
  delete(names: readonly string[]): number {
    return this.remove(names).deleted.length;
  }

  /** Deletes the policies named ('namespace/name') that exist, and says which did and which did not. */
  remove(names: readonly string[]): { deleted: string[]; missing: string[] } {
    let deleted: string[] = [];
    let missing: string[] = [];
    this.change('delete', (now) => {
      const have = new Set(now.policies.map(policyKey));
      deleted = names.filter((n) => have.has(n));
      missing = names.filter((n) => !have.has(n));
      return { cluster: now.cluster, policies: withoutPolicies(now.policies, deleted) };
    });
    return { deleted, missing };
  }

  /** Replaces pod and namespace labels (identities follow; maps only). Pods and namespaces not in the cluster are NOT_FOUND. */
  relabel(change: LabelChange): void {
    this.change('label', (now) => {
      const pods = new Set(now.cluster.pods.map(podKey));
      const namespaces = new Set(now.cluster.namespaces.map((n) => n.name));
      const unknown = [
        ...Object.keys(change.pods ?? {})
          .filter((k) => !pods.has(k))
          .map((k) => `pod ${k}`),
        ...Object.keys(change.namespaces ?? {})
          .filter((k) => !namespaces.has(k))
          .map((k) => `namespace ${k}`),
      ];
      if (unknown.length > 0) throw new FirewallError('NOT_FOUND', `no ${unknown.join(', ')} in cluster ${this.name}`);
      return { cluster: relabelCluster(now.cluster, change), policies: now.policies };
    });
  }

  /**
   * Labels of one pod ('ns/name') or namespace, changed as `kubectl label`
   * does: `set` adds or (with `overwrite`) replaces keys, `remove` drops them.
   * Returns the labels now in force.
   */
  label(kind: 'pod' | 'namespace', name: string, set: Labels, remove: readonly string[] = [], overwrite = false): Labels {
    let labels: Labels = {};
    this.change('label', (now) => {
      const current = kind === 'pod' ? now.cluster.pods.find((p) => podKey(p) === name)?.labels : now.cluster.namespaces.find((n) => n.name === name)?.labels;
      if (!current) throw new FirewallError('NOT_FOUND', `no ${kind} ${name} in cluster ${this.name}`);
      const clash = Object.keys(set).filter((k) => k in current && current[k] !== set[k]);
      if (clash.length > 0 && !overwrite) {
        throw new FirewallError('LABEL_REFUSED', `${kind} ${name} already has ${clash.map((k) => `${k}=${current[k]}`).join(', ')} (--overwrite to change)`);
      }
      if (kind === 'namespace' && [...Object.keys(set), ...remove].includes('kubernetes.io/metadata.name')) {
        throw new FirewallError('LABEL_REFUSED', `the kubernetes.io/metadata.name label of namespace ${name} cannot change`);
      }
      const next: Record<string, string> = { ...current, ...checkLabels(`${kind} ${name}`, set) };
      for (const k of remove) delete next[k];
      labels = next;
      const change: LabelChange = kind === 'pod' ? { pods: { [name]: next } } : { namespaces: { [name]: next } };
      return { cluster: relabelCluster(now.cluster, change), policies: now.policies };
    });
    return labels;
  }

  /** Adds a pod (its namespace too, when new): made cut off, its policy in the maps, then connected. Returns it with its address. */
  addPod(spec: PodSpec, namespaceLabels: Labels = {}): Pod {
    using s = this.session('exclusive', 'pod add');
    if (s.stateFile.machineChanging) reconcileMachine(s);
    const now = s.enforced;
    const cluster = addPodToCluster(now.cluster, now.podCidr, spec, checkLabels(`namespace ${spec.namespace}`, namespaceLabels));
    const { saved } = changeCluster(s, cluster, now.policies);
    this.saved = saved;
    return saved.cluster.pods.find((p) => p.namespace === spec.namespace && p.name === spec.name)!;
  }

  /** Deletes a pod ('ns/name'): cut off first, then gone from the maps, then its namespace, veth and agent. */
  deletePod(key: string): void {
    using s = this.session('exclusive', 'pod delete');
    if (s.stateFile.machineChanging) reconcileMachine(s);
    const now = s.enforced;
    if (!now.cluster.pods.some((p) => podKey(p) === key)) throw new FirewallError('NOT_FOUND', `no pod ${key} in cluster ${this.name}`);
    const cluster: Cluster = { namespaces: now.cluster.namespaces, pods: now.cluster.pods.filter((p) => podKey(p) !== key) };
    this.saved = changeCluster(s, cluster, now.policies).saved;
  }

  /**
   * Replaces the datapath programs on every pod's veth with those of a new
   * object (default: `bpf/firewall.bpf.c` compiled now), on the same pinned
   * maps, with no moment where a veth runs none: DATAPATH_INCOMPATIBLE (before
   * anything changes) when its maps differ from the pinned ones,
   * UPGRADE_FAILED (the links already moved moved back) when a link cannot
   * be moved. Policies, conntrack and counters carry over.
   */
  async upgrade(o: { object?: Uint8Array; source?: string } = {}): Promise<UpgradeResult> {
    const { object, source } = o.object ? { object: o.object, source: o.source ?? 'the given object' } : await defaultObject();
    const spec = datapathSpec(object, source);
    using s = this.session('exclusive', 'upgrade');
    if (s.stateFile.machineChanging) reconcileMachine(s);
    const result = swapDatapath(this.dirs, s.enforced.pods, spec, source, s.stateFile.datapath?.object, fastPathOn(s.stateFile));
    s.recordDatapath(result.after);
    keepObject(this.dirs, object);
    // A datapath that brought `local_pods` with it finds it filled (one that has none ignores it).
    syncFastPath(this.dirs, fastPathOn(s.stateFile), s.enforced.cluster, s.enforced.pods, s.enforced.localPods);
    this.saved = s.enforced;
    return result;
  }

  private session(mode: 'exclusive' | 'shared', holder?: string): Session {
    return Session.open(this.dirs, mode, { timeoutMs: this.options.lockTimeoutMs, holder });
  }

  /** One change under the exclusive lock: `next` sees the enforced state as of now, not as of this object's last look. */
  private change(holder: string, next: (now: SavedState) => Target): { saved: SavedState; result: ApplyResult } {
    using s = this.session('exclusive', holder);
    if (s.stateFile.machineChanging) reconcileMachine(s);
    const out = s.update(next(s.enforced));
    this.saved = out.saved;
    return out;
  }

  /** The maps' contents, read back (the truth, also after a crash). */
  readLive(): LiveState {
    using s = this.session('shared');
    this.saved = s.enforced;
    return s.pinned.readLive();
  }

  /** Endpoints, identities, policies and counters, as the live generation of the maps has them. */
  status() {
    using s = this.session('shared');
    const saved = (this.saved = s.enforced);
    const live = s.pinned.readLive();
    const gen = live.generation;
    // A node of several (kubernetes/): its own pods only.
    const local = saved.localPods && new Set(saved.localPods);
    const pods = local ? saved.cluster.pods.filter((p) => local.has(podKey(p))) : saved.cluster.pods;
    const endpoints = pods.map((p) => {
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
    const identities = Object.entries(saved.alloc.identities).map(([labels, id]) => ({ id, labels }));
    const mismatches = differences(saved, live);
    return {
      name: this.name,
      generation: gen,
      endpoints,
      identities,
      policies: saved.policies.map(policyKey),
      policyEntries: [...live.policy.values()].filter((e) => e.generation === gen).length,
      /** Whether the live generation holds exactly what these policies and labels compile to. */
      enforced: mismatches.length === 0,
      mismatches,
      /** A command that changed pods died half-way; the next command that changes anything repairs it. */
      interrupted: s.stateFile.machineChanging?.what,
      /** The programs pinned as the datapath, and whether every pod's veth runs them. */
      datapath: datapathStatus(this.dirs, saved.pods, s.stateFile.datapath),
      counters: s.pinned.countersByReason(),
    };
  }

  /**
   * Flow events from the datapath, live, for as many readers in as many
   * processes as want them (one reads the ring buffer and relays: flow-hub.ts).
   */
  observe(signal?: AbortSignal, onJoin?: (readsRing: boolean) => void): FlowStream {
    return FlowStream.open(this.dirs, signal, onJoin);
  }

  /** The pod whose address is `ip`, for printing events. */
  podByIp(ip: string): string | undefined {
    const p = this.saved.cluster.pods.find((x) => x.ip === ip);
    return p ? podKey(p) : undefined;
  }

  /** The 'namespace/name' of the policy numbered `id` (flow events carry the number). */
  policyName(id: number): string | undefined {
    return Object.entries(this.saved.alloc.policies).find(([, v]) => v === id)?.[0];
  }

  /**
   * Real connections from every pod to every other pod on each port: true
   * where it connected (TCP) or got its echo back (UDP). Keys are
   * `from->to:PROTO/port` (`probeKey`); a pod to itself is not probed (never
   * filtered). A pod whose agent does not answer is an AGENT_FAILED naming it
   * (`probeReport` reports it and measures the rest).
   */
  async probe(ports?: readonly ProbePort[], timeoutMs = 700): Promise<Map<string, boolean>> {
    const report = await this.probeReport(ports, timeoutMs);
    if (report.failedAgents.size > 0) {
      const which = [...report.failedAgents].map(([pod, why]) => `${pod} (${why})`).join('; ');
      throw new FirewallError('AGENT_FAILED', `agents not answering: ${which}`);
    }
    return report.results;
  }

  /** The probe with the pods whose agents did not answer listed, and their flows left out. */
  probeReport(ports?: readonly ProbePort[], timeoutMs = 700): Promise<ProbeReport> {
    this.refresh();
    return probePods(this.dirs.run, this.saved.cluster, this.saved.pods, ports ?? this.servedPorts(), timeoutMs);
  }

  servedPorts(): ProbePort[] {
    return servedPorts(this.saved.cluster);
  }

  /** Nothing is held open between calls; kept so callers can dispose of the controller as before. */
  close(): void {}

  [Symbol.dispose](): void {
    this.close();
  }
}

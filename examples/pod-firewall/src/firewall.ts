/**
 * PodFirewall, the controller of one instance as its users see it: it ties
 * the rooms of controller/ together (lifecycle.ts: up, open, down;
 * policy-control.ts: apply, delete, relabel; map-records.ts: the pinned
 * maps; probe.ts: real connections) and answers what the instance holds
 * (status, flow events, names).
 */
import type { RingBuffer } from '@tsbpf/maps';
import type { FlowEvent } from './datapath/layout.js';
import { instanceDirs, type FirewallOptions, type InstanceDirs, type SavedState } from './controller/instance.js';
import { adopt, bringUp, takeDown } from './controller/lifecycle.js';
import type { PinnedMaps } from './controller/map-records.js';
import { updateMaps, withPolicies, withoutPolicies, type ApplyResult } from './controller/policy-control.js';
import { probePods, servedPorts, type ProbePort } from './controller/probe.js';
import { EP_ENFORCE_EGRESS, EP_ENFORCE_INGRESS } from './policy/compile.js';
import { podKey, policyKey, relabelCluster, type Cluster, type LabelChange, type NetworkPolicy } from './policy/model.js';
import type { LiveState } from './policy/plan.js';

export type { ApplyResult, FirewallOptions, ProbePort };

export class PodFirewall implements Disposable {
  readonly name: string;

  private constructor(
    private readonly dirs: InstanceDirs,
    private readonly maps: PinnedMaps,
    private saved: SavedState,
  ) {
    this.name = dirs.name;
  }

  /**
   * Creates the namespaces, veths and agents of `cluster`, loads and attaches
   * the datapath with no policy (everything allowed), and returns the
   * controller. Whatever a previous run under this name left is removed first.
   */
  static async up(cluster: Cluster, options: FirewallOptions = {}): Promise<PodFirewall> {
    const dirs = instanceDirs(options);
    const { saved, maps } = await bringUp(dirs, cluster);
    return new PodFirewall(dirs, maps, saved);
  }

  /** Adopts what `up` left pinned and saved (a FirewallError NOT_UP when nothing is). */
  static open(options: FirewallOptions = {}): PodFirewall {
    const dirs = instanceDirs(options);
    const { saved, maps } = adopt(dirs);
    return new PodFirewall(dirs, maps, saved);
  }

  /** Removes every namespace, process, pin and file of this name, also after a crash. */
  static down(options: FirewallOptions = {}): void {
    takeDown(instanceDirs(options));
  }

  get cluster(): Cluster {
    return this.saved.cluster;
  }

  get policies(): readonly NetworkPolicy[] {
    return this.saved.policies;
  }

  /** Creates or replaces policies (by namespace/name). Nothing changes if compiling fails. */
  apply(policies: readonly NetworkPolicy[]): ApplyResult {
    return this.update(this.saved.cluster, withPolicies(this.saved.policies, policies));
  }

  /** Deletes policies by 'namespace/name'; returns how many existed. */
  delete(names: readonly string[]): number {
    const kept = withoutPolicies(this.saved.policies, names);
    const removed = this.saved.policies.length - kept.length;
    this.update(this.saved.cluster, kept);
    return removed;
  }

  /** Replaces pod and namespace labels (identities follow; maps only). */
  relabel(change: LabelChange): void {
    this.update(relabelCluster(this.saved.cluster, change), this.saved.policies);
  }

  private update(cluster: Cluster, policies: readonly NetworkPolicy[]): ApplyResult {
    const { saved, result } = updateMaps(this.maps, this.dirs, this.saved, cluster, policies);
    this.saved = saved;
    return result;
  }

  /** The maps' contents, read back (the truth, also after a crash). */
  readLive(): LiveState {
    return this.maps.readLive();
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
    const identities = Object.entries(this.saved.alloc.identities).map(([labels, id]) => ({ id, labels }));
    return {
      name: this.name,
      generation: gen,
      endpoints,
      identities,
      policies: this.saved.policies.map(policyKey),
      policyEntries: [...live.policy.values()].filter((e) => e.generation === gen).length,
      counters: this.maps.countersByReason(),
    };
  }

  /** Flow events from the datapath's ring buffer, live. */
  observe(signal?: AbortSignal): RingBuffer<FlowEvent> {
    return this.maps.events(signal);
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
   * `from->to:PROTO/port` (`probeKey`); a pod to itself is not probed (never filtered).
   */
  probe(ports: readonly ProbePort[] = this.servedPorts(), timeoutMs = 700): Promise<Map<string, boolean>> {
    return probePods(this.dirs.run, this.saved.cluster, this.saved.pods, ports, timeoutMs);
  }

  servedPorts(): ProbePort[] {
    return servedPorts(this.saved.cluster);
  }

  close(): void {
    this.maps.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/**
 * One node's datapath programmed from NodeSnapshots: loaded and pinned once
 * per node instance (a restart adopts the pins, which kept enforcing), every
 * pod of the cluster in the ipcache with its cluster-wide identity, only the
 * node's own pods as endpoints, each found by its pod IP in the node's
 * routing table (its /32 route to a veth) and attached with tcx. Each
 * snapshot is one generation-based map update (controller/session.ts: the
 * instance lock, state.json per generation, the flip as the commit).
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { ip, nodeNetns, type PodNetwork } from '../cluster/topology.js';
import { instanceDirs, privateDir, stateSaved, writeStateFile, type FirewallOptions, type InstanceDirs, type SavedState } from '../controller/instance.js';
import { attachPod, loadDatapath, pinnedVeths, unpinPod } from '../controller/lifecycle.js';
import { InstanceLock } from '../controller/lock.js';
import { PinnedMaps } from '../controller/map-records.js';
import { Session } from '../controller/session.js';
import { DEFAULT_SOURCE, pinnedDatapath } from '../controller/upgrade.js';
import { FirewallError } from '../errors.js';
import { compile, emptyAllocations, labelSetKey } from '../policy/compile.js';
import { podKey, type Cluster } from '../policy/model.js';
import { initialLive } from '../policy/plan.js';
import type { NodeSnapshot } from './snapshot.js';

export interface NodeDatapathOptions extends FirewallOptions {
  /** The node's name (`spec.nodeName`); snapshots for another node are refused. */
  readonly node: string;
  /**
   * The pods' veths are in this process's own network namespace (an agent
   * running in the node's: a DaemonSet with hostNetwork), not in the node
   * namespace `cluster/topology.ts` names after the instance (the default).
   */
  readonly ownNetns?: boolean;
}

/** What one snapshot changed on the node. */
export interface NodeChange {
  /** False: the snapshot asked for what was already enforced; nothing was written. */
  readonly applied: boolean;
  readonly generation: number;
  /** The node's pods that are endpoints now. */
  readonly endpoints: readonly string[];
  readonly added: readonly string[];
  readonly removed: readonly string[];
  /** Pods of this node whose veth is not there yet (no /32 route to a veth): not endpoints, retried. */
  readonly pending: readonly string[];
  readonly pods: number;
  readonly policies: number;
}

const EMPTY: Cluster = { namespaces: [], pods: [] };
const sameJson = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

export class NodeDatapath implements Disposable {
  private closed = false;

  private constructor(
    readonly dirs: InstanceDirs,
    readonly node: string,
    private readonly lockTimeoutMs: number | undefined,
    /** `ip` arguments that reach the node's namespace. */
    private readonly where: readonly string[],
  ) {}

  /**
   * The node's datapath: loaded, pinned and enforcing nothing when the
   * instance has no state yet; otherwise adopted as it is (the maps keep
   * enforcing the last state; nothing is written until the first snapshot).
   * Link pins a crashed agent left for veths the enforced state does not
   * name are removed. The node namespace must exist.
   */
  static async open(o: NodeDatapathOptions): Promise<NodeDatapath> {
    // A node's name is a DNS subdomain (RFC 1123), as the API server checks.
    if (o.node.length > 253 || !/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/.test(o.node)) {
      throw new FirewallError('SNAPSHOT_INVALID', `node name ${JSON.stringify(o.node)} is not a DNS subdomain (lowercase letters, digits, '-' and '.')`);
    }
    const dirs = instanceDirs(o);
    const lock = InstanceLock.acquire(dirs, 'exclusive', { create: true, timeoutMs: o.lockTimeoutMs, holder: 'node agent' });
    try {
      if (!stateSaved(dirs)) await install(dirs);
    } finally {
      lock.release();
    }
    using s = Session.open(dirs, 'exclusive', { timeoutMs: o.lockTimeoutMs, holder: 'node agent' });
    const own = new Set(s.stateFile.generations.flatMap((g) => (g?.pods ?? []).map((n) => n.hostVeth)));
    for (const veth of pinnedVeths(dirs)) if (!own.has(veth)) unpinPod(dirs, veth);
    return new NodeDatapath(dirs, o.node, o.lockTimeoutMs, o.ownNetns ? [] : ['-n', nodeNetns(dirs.name)]);
  }

  /** What the live generation enforces. */
  enforced(): SavedState {
    this.check();
    using s = Session.open(this.dirs, 'shared', { timeoutMs: this.lockTimeoutMs });
    return s.enforced;
  }

  /**
   * Moves the node to `snapshot`: one update (two when endpoints leave:
   * leaving pods first, then arriving ones, each a complete state). Pods
   * that left the cluster are cut off (veth down) before the maps forget
   * them; arriving pods' veths get the programs before the maps know them.
   * SNAPSHOT_INVALID, and nothing changes, for a snapshot that is not whole.
   */
  apply(snapshot: NodeSnapshot): NodeChange {
    this.check();
    checkSnapshot(snapshot, this.node);
    using s = Session.open(this.dirs, 'exclusive', { timeoutMs: this.lockTimeoutMs, holder: 'node agent' });
    const enforced = s.enforced;
    const links = nodeLinks(this.where);
    const found = findVeths(this.where, snapshot, links);
    const local = new Set(snapshot.localPods);
    const alive = (n: PodNetwork) => links.get(n.hostVeth)?.ifindex === n.ifindex;
    // A pod of this node keeps its endpoint while its veth lives, also when its route is missing for a moment.
    const kept = enforced.pods.filter((n) => local.has(n.pod) && alive(n) && (found.get(n.pod)?.ifindex ?? n.ifindex) === n.ifindex);
    const keptKeys = new Set(kept.map((n) => n.pod));
    const arriving = [...found.values()].filter((n) => !keptKeys.has(n.pod));
    const leaving = enforced.pods.filter((n) => !keptKeys.has(n.pod));
    const pending = snapshot.localPods.filter((k) => !keptKeys.has(k) && !found.has(k));
    const target = (nets: readonly PodNetwork[]) => ({
      cluster: snapshot.cluster,
      policies: snapshot.policies,
      pods: nets,
      localPods: nets.map((n) => n.pod),
      identities: snapshot.identities,
    });
    const all = [...kept, ...arriving];
    const same =
      leaving.length === 0 &&
      arriving.length === 0 &&
      sameJson(enforced.cluster, snapshot.cluster) &&
      sameJson(enforced.policies, snapshot.policies) &&
      sameJson(enforced.alloc.identities, snapshot.identities) &&
      sameJson(
        enforced.localPods,
        all.map((n) => n.pod),
      );
    if (!same) {
      if (leaving.length > 0) {
        // A pod deleted from the cluster whose veth still lives is cut off first: never unjudged.
        for (const n of leaving) if (!local.has(n.pod) && alive(n)) cutOff(this.where, n);
        s.update(target(kept));
        for (const n of leaving) if (!all.some((a) => a.hostVeth === n.hostVeth)) unpinPod(this.dirs, n.hostVeth);
      }
      for (const n of arriving) {
        unpinPod(this.dirs, n.hostVeth); // links of a veth of that name an interrupted run attached
        attachPod(this.dirs, n, this.where.length === 0);
      }
      s.update(target(all));
    }
    return {
      applied: !same,
      generation: s.generation,
      endpoints: all.map((n) => n.pod),
      added: arriving.map((n) => n.pod),
      removed: leaving.map((n) => n.pod).filter((k) => !all.some((n) => n.pod === k)),
      pending,
      pods: snapshot.cluster.pods.length,
      policies: snapshot.policies.length,
    };
  }

  private check(): void {
    if (this.closed) throw new FirewallError('CLOSED', `node datapath ${this.dirs.name} is closed`);
  }

  /** Holds nothing open between calls; the datapath stays pinned and enforcing. */
  close(): void {
    this.closed = true;
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/** Loads and pins the datapath with nothing enforced (no endpoints: every veth unmanaged). */
async function install(dirs: InstanceDirs): Promise<void> {
  rmSync(dirs.pins, { recursive: true, force: true }); // a half-made instance
  privateDir(dirs.pins);
  privateDir(join(dirs.pins, 'links'));
  privateDir(join(dirs.pins, 'progs'));
  await loadDatapath(dirs, false); // the agent does not fill local_pods: the lookup is compiled out
  const saved: SavedState = { cluster: EMPTY, policies: [], alloc: emptyAllocations(), pods: [], podCidr: '0.0.0.0/0', localPods: [] };
  {
    using maps = new PinnedMaps(dirs.pins, []);
    maps.install(initialLive(compile(EMPTY, [], saved.alloc, undefined, new Set()), 0));
  }
  writeStateFile(dirs, { version: 2, generations: [saved, saved], datapath: pinnedDatapath(dirs, DEFAULT_SOURCE) });
}

/** A snapshot the node can enforce: for this node, every pod with an identity, every local pod in the cluster. */
export function checkSnapshot(s: NodeSnapshot, node: string): void {
  const bad = (why: string) => new FirewallError('SNAPSHOT_INVALID', `snapshot for node ${s.node}: ${why}; the node keeps enforcing its last state`);
  if (s.node !== node) throw bad(`this is node ${node}`);
  const pods = new Set(s.cluster.pods.map(podKey));
  const missing = s.localPods.filter((k) => !pods.has(k));
  if (missing.length > 0) throw bad(`local pods not in the cluster: ${missing.slice(0, 5).join(', ')}`);
  const noIdentity = s.cluster.pods.filter((p) => !Number.isInteger(s.identities[labelSetKey(s.cluster, p)]));
  if (noIdentity.length > 0) throw bad(`no cluster-wide identity for ${noIdentity.slice(0, 5).map(podKey).join(', ')}`);
  for (const id of Object.values(s.identities)) {
    // Label identities live below the CIDR identities' flag bit (compile.ts: 256 ≤ id < 2^24).
    if (!Number.isInteger(id) || id < 256 || id >= 2 ** 24) throw bad(`identity ${id} is outside 256..16777215`);
  }
}

interface Link {
  readonly ifindex: number;
  readonly kind?: string;
  readonly up: boolean;
}

/** The links of the node's namespace (`where`: `ip` arguments that reach it), by name. */
function nodeLinks(where: readonly string[]): Map<string, Link> {
  const links = JSON.parse(ip([...where, '-j', '-d', 'link', 'show'])) as {
    ifname: string;
    ifindex: number;
    flags?: string[];
    linkinfo?: { info_kind?: string };
  }[];
  return new Map(links.map((l) => [l.ifname, { ifindex: l.ifindex, kind: l.linkinfo?.info_kind, up: (l.flags ?? []).includes('UP') }]));
}

/**
 * The host veth of each of the snapshot's local pods, found as a kubelet's
 * CNI leaves it: a /32 route (no gateway) to the pod IP through a veth in
 * the node's namespace. Pods without one are not there yet.
 */
function findVeths(where: readonly string[], s: NodeSnapshot, links: ReadonlyMap<string, Link>): Map<string, PodNetwork> {
  const routes = JSON.parse(ip([...where, '-j', '-4', 'route', 'show', 'table', 'main'])) as { dst: string; dev?: string; gateway?: string }[];
  const devOf = new Map<string, string>();
  for (const r of routes) if (r.dev && !r.gateway) devOf.set(r.dst.replace(/\/32$/, ''), r.dev);
  const ipOf = new Map(s.cluster.pods.map((p) => [podKey(p), p.ip]));
  const out = new Map<string, PodNetwork>();
  for (const k of s.localPods) {
    const dev = devOf.get(ipOf.get(k)!);
    const link = dev === undefined ? undefined : links.get(dev);
    if (!dev || !link || link.kind !== 'veth') continue;
    out.set(k, { pod: k, netns: '', hostVeth: dev, ifindex: link.ifindex });
  }
  return out;
}

/** A leaving pod's veth down: from here on nothing reaches or leaves it. */
function cutOff(where: readonly string[], n: PodNetwork): void {
  try {
    ip([...where, 'link', 'set', n.hostVeth, 'down']);
  } catch {
    // gone meanwhile
  }
}

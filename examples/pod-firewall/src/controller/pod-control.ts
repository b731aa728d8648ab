/**
 * Pods coming and going on a live instance, in an order that never opens
 * anything: a pod that leaves is cut off (veth down) before the maps forget
 * it; a pod that arrives gets its namespace and veth made down, the datapath
 * attached, and the maps updated (its endpoint, identity, policy entries)
 * before its veth comes up; the whole cluster change (pods, labels, ports)
 * is one map update, one flip. While the machine changes, state.json says so;
 * a command that finds that mark (its writer died) first brings the machine
 * in line with the enforced state (`reconcileMachine`).
 */
import { existsSync } from 'node:fs';
import { agentPid, agentSocket, startAgent, stopAgent, waitForSockets } from '../cluster/agents.js';
import {
  activatePod,
  createNode,
  createPod,
  deactivatePod,
  destroyNetns,
  existingNetns,
  hostVeths,
  netnsPath,
  nodeNetns,
  type PodNetwork,
} from '../cluster/topology.js';
import { podKey, type Cluster, type NetworkPolicy, type Pod } from '../policy/model.js';
import type { SavedState } from './instance.js';
import { attachPod, pinnedVeths, unpinPod } from './lifecycle.js';
import { crashPoint } from './failpoint.js';
import { fastPathOn, forgetFastPath, syncFastPath } from './fast-path.js';
import type { ApplyResult } from './policy-control.js';
import type { Session } from './session.js';

export interface ClusterChange {
  readonly added: string[];
  readonly removed: string[];
  /** Pods made anew: a new address, or their namespace or veth had gone. */
  readonly recreated: string[];
  readonly relabeled: string[];
  /** Pods whose container ports changed (their agents restarted). */
  readonly portsChanged: string[];
  readonly namespacesRelabeled: string[];
}

const sameJson = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** What moving from `from` to `to` changes, pod by pod. */
export function diffClusters(from: Cluster, to: Cluster, recreate: ReadonlySet<string> = new Set()): ClusterChange {
  const before = new Map(from.pods.map((p) => [podKey(p), p]));
  const after = new Map(to.pods.map((p) => [podKey(p), p]));
  const kept = [...after.keys()].filter((k) => before.has(k));
  const recreated = kept.filter((k) => recreate.has(k) || before.get(k)!.ip !== after.get(k)!.ip);
  const stays = kept.filter((k) => !recreated.includes(k));
  const nsBefore = new Map(from.namespaces.map((n) => [n.name, n.labels]));
  return {
    added: [...after.keys()].filter((k) => !before.has(k)),
    removed: [...before.keys()].filter((k) => !after.has(k)),
    recreated,
    relabeled: stays.filter((k) => !sameJson(before.get(k)!.labels, after.get(k)!.labels)),
    portsChanged: stays.filter((k) => !sameJson(before.get(k)!.ports, after.get(k)!.ports)),
    namespacesRelabeled: to.namespaces.filter((n) => nsBefore.has(n.name) && !sameJson(nsBefore.get(n.name), n.labels)).map((n) => n.name),
  };
}

/**
 * Moves a live instance to `target` under `policies` without a moment in
 * which a flow is judged by neither the old nor the new state, and without
 * a pod sending before its policy holds. The caller holds the session
 * exclusively. `recreate` names pods to make anew even if unchanged.
 */
export function changeCluster(
  session: Session,
  target: Cluster,
  policies: readonly NetworkPolicy[],
  recreate: ReadonlySet<string> = new Set(),
  podCidr?: string,
): { saved: SavedState; change: ClusterChange; result: ApplyResult } {
  const name = session.dirs.name;
  const run = session.dirs.run;
  const enforced = session.enforced;
  const change = diffClusters(enforced.cluster, target, recreate);
  const netOf = new Map(enforced.pods.map((n) => [n.pod, n]));
  const podOf = new Map(target.pods.map((p) => [podKey(p), p]));
  const leaving = [...change.removed, ...change.recreated];
  const arriving = [...change.added, ...change.recreated];
  session.machineChanging(`pods: +${arriving.join(',')} -${leaving.join(',')}`);

  // 1. Leaving pods are cut off first: nothing reaches or leaves them from here on (the fast path first).
  const oldPod = new Map(enforced.cluster.pods.map((p) => [podKey(p), p]));
  forgetFastPath(
    session.dirs,
    leaving.flatMap((k) => (oldPod.has(k) ? [oldPod.get(k)!.ip] : [])),
  );
  for (const k of leaving) {
    const net = netOf.get(k)!;
    stopAgent(run, net.netns);
    try {
      deactivatePod(name, net);
    } catch {
      // its veth is gone already
    }
  }
  crashPoint('pod-unlinked');

  // 2. Pods made anew leave the maps under their old veth before their new one comes.
  if (change.recreated.length > 0) {
    const gone = new Set(change.recreated);
    const interim: Cluster = { namespaces: enforced.cluster.namespaces, pods: enforced.cluster.pods.filter((p) => !gone.has(podKey(p))) };
    session.update({ cluster: interim, policies: enforced.policies, pods: enforced.pods.filter((n) => !gone.has(n.pod)) });
    for (const k of change.recreated) retire(session, netOf.get(k)!);
  }

  // 3. Arriving pods: namespace and veth made down, the datapath attached.
  const made = new Map<string, PodNetwork>();
  for (const k of arriving) {
    const net = createPod(name, podOf.get(k)!);
    made.set(k, net);
    attachPod(session.dirs, net);
  }
  crashPoint('pod-made');

  // 4. One update, one flip: the new pods, the new labels, the policies.
  const pods = target.pods.map((p) => made.get(podKey(p)) ?? netOf.get(podKey(p))!);
  const { saved, result } = session.update({ cluster: target, policies, pods, ...(podCidr ? { podCidr } : {}) });

  // 5. Now the arriving pods may send; the agents follow their pods; the leaving pods go.
  for (const k of arriving) activatePod(name, podOf.get(k)!, made.get(k)!);
  for (const k of [...arriving, ...change.portsChanged]) {
    const net = made.get(k) ?? netOf.get(k)!;
    stopAgent(run, net.netns);
    startAgent(run, net.netns, podOf.get(k)!);
  }
  for (const k of change.removed) retire(session, netOf.get(k)!);
  syncFastPath(session.dirs, fastPathOn(session.stateFile), saved.cluster, saved.pods, saved.localPods);
  waitForSockets([...arriving, ...change.portsChanged].map((k) => agentSocket(run, (made.get(k) ?? netOf.get(k)!).netns)));
  session.machineChanging(undefined);
  return { saved, change, result };
}

/** A pod's namespace, veth, agent and link pins, gone. */
function retire(session: Session, net: PodNetwork): void {
  stopAgent(session.dirs.run, net.netns);
  destroyNetns(net.netns);
  unpinPod(session.dirs, net.hostVeth);
}

export interface MachineRepair {
  /** Namespaces of pods no state names (a command died making or removing them), removed. */
  readonly strays: string[];
  /** Pods whose veth was down (cut off by a command that died), brought back. */
  readonly reactivated: string[];
  /** Pods whose agent was not running, restarted. */
  readonly agentsRestarted: string[];
  /** Pods whose namespace or veth had gone, made anew. */
  readonly recreated: string[];
}

/**
 * Brings the machine in line with the enforced state: our namespaces that
 * no enforced pod owns go, enforced pods whose veth is down come back up,
 * dead agents are restarted, and pods whose veth vanished are made anew. The
 * caller holds the session exclusively.
 */
export function reconcileMachine(session: Session): MachineRepair {
  const { name, run } = session.dirs;
  const enforced = session.enforced;
  const wanted = new Set(enforced.pods.map((n) => n.netns));
  const strays = existingNetns(name).filter((ns) => ns !== nodeNetns(name) && !wanted.has(ns));
  if (strays.length > 0 || session.stateFile.machineChanging) session.machineChanging('repair');
  for (const ns of strays) {
    stopAgent(run, ns);
    destroyNetns(ns);
  }
  const ownVeths = new Set(enforced.pods.map((n) => n.hostVeth));
  for (const veth of pinnedVeths(session.dirs)) if (!ownVeths.has(veth)) unpinPod(session.dirs, veth);
  if (!existsSync(netnsPath(nodeNetns(name)))) createNode(name);

  const veths = hostVeths(name);
  const podOf = new Map(enforced.cluster.pods.map((p) => [podKey(p), p]));
  const recreated = enforced.pods.filter((n) => veths.get(n.hostVeth)?.ifindex !== n.ifindex || !existsSync(netnsPath(n.netns))).map((n) => n.pod);
  const reactivated: string[] = [];
  const agentsRestarted: string[] = [];
  for (const net of enforced.pods) {
    if (recreated.includes(net.pod)) continue;
    const pod: Pod = podOf.get(net.pod)!;
    if (!veths.get(net.hostVeth)!.up) {
      activatePod(name, pod, net);
      reactivated.push(net.pod);
    }
    if (agentPid(run, net.netns) === undefined) {
      stopAgent(run, net.netns);
      startAgent(run, net.netns, pod);
      agentsRestarted.push(net.pod);
    }
  }
  if (recreated.length > 0) changeCluster(session, enforced.cluster, enforced.policies, new Set(recreated));
  const now = session.enforced;
  syncFastPath(session.dirs, fastPathOn(session.stateFile), now.cluster, now.pods, now.localPods);
  waitForSockets(enforced.pods.filter((n) => agentsRestarted.includes(n.pod)).map((n) => agentSocket(run, n.netns)));
  if (session.stateFile.machineChanging) session.machineChanging(undefined);
  return { strays, reactivated, agentsRestarted, recreated };
}

/**
 * An instance's birth and death: `bringUp` makes the node, loads the
 * datapath once (maps pinned by name, programs pinned under `progs/`, a tcx
 * link pinned per veth hook, so enforcement outlives this process), makes the
 * pods with their veths down, installs the no-policy state, and only then
 * lets traffic through (and, with the fast path on, fills `local_pods`) and starts the agents; `takeDown` removes everything
 * of the name, also after a crash. Attaching one pod's veth is here too: a
 * pod added later gets the programs `up` pinned.
 */
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { attachTcx, loadCollection, Program, withNetns, type Link } from '@tsbpf/loader';
import { parseCollectionSpec } from '@tsbpf/object';
import { agentSocket, startAgent, waitForSockets } from '../cluster/agents.js';
import { activatePod, createNode, createPod, destroyTopology, netnsPath, nodeNetns, type PodNetwork } from '../cluster/topology.js';
import { FirewallError } from '../errors.js';
import { allocate, compile, emptyAllocations } from '../policy/compile.js';
import type { Cluster } from '../policy/model.js';
import { initialLive } from '../policy/plan.js';
import { fastPathConstants, syncFastPath } from './fast-path.js';
import { keepObject } from './fast-path-switch.js';
import { privateDir, writeStateFile, type InstanceDirs, type SavedState } from './instance.js';
import { InstanceLock, lockFile } from './lock.js';
import { PinnedMaps } from './map-records.js';
import { DEFAULT_SOURCE, defaultObject, linkPin, pinnedDatapath, PROGRAMS } from './upgrade.js';

/**
 * Creates the namespaces, veths and agents of `cluster` and loads and
 * attaches the datapath with no policy (everything allowed). Whatever a
 * previous run under this name left is removed first, and so is what this
 * one made if it fails. The caller holds the instance lock.
 */
export async function bringUp(dirs: InstanceDirs, cluster: Cluster, podCidr: string, fastPath = false): Promise<SavedState> {
  clearInstance(dirs);
  privateDir(dirs.pins);
  privateDir(join(dirs.run, 'agents'));
  privateDir(join(dirs.pins, 'links'));
  privateDir(join(dirs.pins, 'progs'));
  try {
    createNode(dirs.name);
    // Veths down until the datapath is attached and the maps hold the pods.
    const pods = cluster.pods.map((p) => createPod(dirs.name, p));
    await loadDatapath(dirs, fastPath);
    for (const p of pods) attachPod(dirs, p);
    const alloc = allocate(emptyAllocations(), cluster, [], []);
    const saved: SavedState = { cluster, policies: [], alloc, pods, podCidr };
    {
      using maps = new PinnedMaps(dirs.pins, pods);
      maps.install(initialLive(compile(cluster, [], alloc), 0));
    }
    writeStateFile(dirs, { version: 2, generations: [saved, saved], datapath: pinnedDatapath(dirs, DEFAULT_SOURCE), fastPath });
    cluster.pods.forEach((pod, i) => activatePod(dirs.name, pod, pods[i]!));
    syncFastPath(dirs, fastPath, cluster, pods);
    cluster.pods.forEach((pod, i) => startAgent(dirs.run, pods[i]!.netns, pod));
    waitForSockets(pods.map((p) => agentSocket(dirs.run, p.netns)));
    return saved;
  } catch (e) {
    clearInstance(dirs);
    throw e;
  }
}

/**
 * Removes every namespace, process, pin and file of this name; waits for a
 * command that is still running on it first (unless it is this process).
 */
export function takeDown(dirs: InstanceDirs, timeoutMs?: number): void {
  let lock: InstanceLock | undefined;
  if (!InstanceLock.heldByThisProcess(dirs)) {
    try {
      lock = InstanceLock.acquire(dirs, 'exclusive', { timeoutMs, holder: 'down' });
    } catch (e) {
      // No run directory: nothing to wait for (a half-made instance is cleaned all the same).
      if (!(e instanceof FirewallError && e.code === 'NOT_UP')) throw e;
    }
  }
  try {
    clearInstance(dirs);
    // The lock file last, while held: a waiter then finds its lock on a removed file and gives up.
    rmSync(dirs.run, { recursive: true, force: true });
  } finally {
    lock?.release();
  }
}

/** Everything of the instance but its lock file (held by the caller). */
function clearInstance(dirs: InstanceDirs): void {
  destroyTopology(dirs.name);
  rmSync(dirs.pins, { recursive: true, force: true });
  let entries: string[] = [];
  try {
    entries = readdirSync(dirs.run);
  } catch {
    // no run directory
  }
  const lock = lockFile(dirs);
  for (const e of entries) if (join(dirs.run, e) !== lock) rmSync(join(dirs.run, e), { recursive: true, force: true });
}

/**
 * Compiles (cached) and loads the datapath with its maps pinned and its fast
 * path switch at `fastPath`, pins its two programs for pods added later, and
 * keeps the object (for a later switch).
 */
export async function loadDatapath(dirs: InstanceDirs, fastPath: boolean): Promise<void> {
  const { object } = await defaultObject();
  const spec = parseCollectionSpec(object);
  using collection = loadCollection(spec, { pinRoot: dirs.pins, constants: fastPathConstants(spec, fastPath) });
  keepObject(dirs, object);
  collection.programs[PROGRAMS.fromPod]!.pin(join(dirs.pins, 'progs', PROGRAMS.fromPod));
  collection.programs[PROGRAMS.toPod]!.pin(join(dirs.pins, 'progs', PROGRAMS.toPod));
}

/**
 * Attaches the pinned programs with tcx on both hooks of a pod's host veth and pins the links.
 * The veth is in the instance's node namespace, or (`ownNetns`) in this process's own.
 */
export function attachPod(dirs: InstanceDirs, pod: PodNetwork, ownNetns = false): void {
  using fromPod = Program.fromPin(join(dirs.pins, 'progs', PROGRAMS.fromPod));
  using toPod = Program.fromPin(join(dirs.pins, 'progs', PROGRAMS.toPod));
  const inNode = (f: () => void) => (ownNetns ? f() : withNetns(netnsPath(nodeNetns(dirs.name)), f));
  inNode(() => {
    const links: Link[] = [attachTcx(fromPod, pod.ifindex, 'ingress'), attachTcx(toPod, pod.ifindex, 'egress')];
    try {
      links[0]!.pin(linkPin(dirs, pod.hostVeth, 'ingress'));
      links[1]!.pin(linkPin(dirs, pod.hostVeth, 'egress'));
    } finally {
      for (const l of links) l.close();
    }
  });
}

/** Removes a pod's link pins (the links die with the veth, or here when it still exists). */
export function unpinPod(dirs: InstanceDirs, hostVeth: string): void {
  for (const hook of ['ingress', 'egress'] as const) rmSync(linkPin(dirs, hostVeth, hook), { force: true });
}

/** The host veths that have link pins (also those of pods a crashed command left behind). */
export function pinnedVeths(dirs: InstanceDirs): string[] {
  try {
    return [...new Set(readdirSync(join(dirs.pins, 'links')).map((f) => f.replace(/-(ingress|egress)$/, '')))];
  } catch {
    return [];
  }
}

/**
 * An instance's life: `bringUp` makes the namespaces and veths, loads the
 * datapath once (maps pinned by name, tcx links pinned per veth, so
 * enforcement outlives this process), installs the no-policy state and
 * starts the agents; `adopt` opens what an earlier process left; `takeDown`
 * removes everything of the name, also after a crash.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { compile as compileC } from '@tsbpf/compiler';
import { attachTcx, loadCollection, withNetns, type Link } from '@tsbpf/loader';
import { parseCollectionSpec } from '@tsbpf/object';
import { agentSocket, packageDir, startAgent, waitForSockets } from '../cluster/agents.js';
import { createTopology, destroyTopology, netnsPath, nodeNetns, type PodNetwork } from '../cluster/topology.js';
import { allocate, compile, emptyAllocations } from '../policy/compile.js';
import type { Cluster } from '../policy/model.js';
import { initialLive } from '../policy/plan.js';
import { readState, writeState, type InstanceDirs, type SavedState } from './instance.js';
import { PinnedMaps } from './map-records.js';

export interface Opened {
  readonly saved: SavedState;
  readonly maps: PinnedMaps;
}

/**
 * Creates the namespaces, veths and agents of `cluster` and loads and
 * attaches the datapath with no policy (everything allowed). Whatever a
 * previous run under this name left is removed first, and so is what this
 * one made if it fails.
 */
export async function bringUp(dirs: InstanceDirs, cluster: Cluster): Promise<Opened> {
  takeDown(dirs);
  mkdirSync(join(dirs.run, 'agents'), { recursive: true });
  mkdirSync(join(dirs.pins, 'links'), { recursive: true });
  let maps: PinnedMaps | undefined;
  try {
    const pods = createTopology(dirs.name, cluster);
    await attachDatapath(dirs, pods);
    const alloc = allocate(emptyAllocations(), cluster, [], []);
    const saved: SavedState = { cluster, policies: [], alloc, pods };
    maps = new PinnedMaps(dirs.pins, pods);
    maps.install(initialLive(compile(cluster, [], alloc), 0));
    writeState(dirs, saved);
    // createTopology returns the pods' networks in the cluster's order.
    cluster.pods.forEach((pod, i) => startAgent(dirs.run, pods[i]!.netns, pod));
    await waitForSockets(pods.map((p) => agentSocket(dirs.run, p.netns)));
    return { saved, maps };
  } catch (e) {
    maps?.close();
    takeDown(dirs);
    throw e;
  }
}

/** Opens what `bringUp` left pinned and saved (NOT_UP when nothing is). */
export function adopt(dirs: InstanceDirs): Opened {
  const saved = readState(dirs);
  return { saved, maps: new PinnedMaps(dirs.pins, saved.pods) };
}

/** Removes every namespace, process, pin and file of this name. */
export function takeDown(dirs: InstanceDirs): void {
  destroyTopology(dirs.name);
  rmSync(dirs.pins, { recursive: true, force: true });
  rmSync(dirs.run, { recursive: true, force: true });
}

/** Compiles (cached) and loads the datapath with its maps pinned, and pins a tcx link on both hooks of every host veth. */
async function attachDatapath(dirs: InstanceDirs, pods: readonly PodNetwork[]): Promise<void> {
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

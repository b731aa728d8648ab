/**
 * Where one firewall instance lives and what it remembers: the directory of
 * its pins on bpffs, its run directory, and the state it saves there
 * (state.json: the cluster, the policies, the numbering, the pods' veths).
 * The maps hold the truth of what is enforced; this file holds the intent.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PodNetwork } from '../cluster/topology.js';
import { FirewallError } from '../errors.js';
import type { Allocations } from '../policy/compile.js';
import type { Cluster, NetworkPolicy } from '../policy/model.js';

export interface FirewallOptions {
  /** Prefix of every namespace, pin and file this instance makes (default `pf`). */
  readonly name?: string;
  readonly bpffs?: string;
  readonly runRoot?: string;
}

export interface InstanceDirs {
  readonly name: string;
  /** The maps pinned by name, and `links/`. */
  readonly pins: string;
  /** state.json and `agents/` (the agents' control sockets). */
  readonly run: string;
}

export interface SavedState {
  readonly cluster: Cluster;
  readonly policies: readonly NetworkPolicy[];
  readonly alloc: Allocations;
  /** In the order of `cluster.pods`. */
  readonly pods: readonly PodNetwork[];
}

export function instanceDirs(o: FirewallOptions): InstanceDirs {
  const name = o.name ?? 'pf';
  return { name, pins: join(o.bpffs ?? '/sys/fs/bpf', name), run: join(o.runRoot ?? '/run', name) };
}

const stateFile = (dirs: InstanceDirs) => join(dirs.run, 'state.json');

/** The saved state of an instance that is up (its maps pinned): NOT_UP when there is none. */
export function readState(dirs: InstanceDirs): SavedState {
  const file = stateFile(dirs);
  if (!existsSync(file) || !existsSync(join(dirs.pins, 'policy'))) {
    throw new FirewallError('NOT_UP', `no cluster named ${dirs.name} is up (run pod-firewall up CLUSTER.yaml)`);
  }
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as SavedState;
  } catch (e) {
    throw new FirewallError('STATE_INVALID', `${file}: not a saved state (${(e as Error).message}); pod-firewall down removes it`, { cause: e });
  }
}

export function writeState(dirs: InstanceDirs, state: SavedState): void {
  writeFileSync(stateFile(dirs), JSON.stringify(state));
}

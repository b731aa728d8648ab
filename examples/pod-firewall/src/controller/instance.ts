/**
 * Where one firewall instance lives and what it remembers: the directory of
 * its pins on bpffs, its run directory (0700), and the state it saves there
 * (state.json, 0600: the cluster, the policies, the numbering, the pods'
 * veths). The state is kept per map generation, as the maps keep their
 * answers: the slot of the generation the `config` map names live is what
 * the datapath enforces; the other slot is what an update is writing (or
 * wrote, or gave up on). So the kernel, not this file, says which state is
 * in force, also after a crash between two writes.
 */
import { chmodSync, closeSync, existsSync, fchmodSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { PodNetwork } from '../cluster/topology.js';
import { FirewallError } from '../errors.js';
import type { Allocations } from '../policy/compile.js';
import type { Cluster, NetworkPolicy } from '../policy/model.js';
import type { Generation } from '../policy/plan.js';
import type { DatapathRecord } from './upgrade.js';

export interface FirewallOptions {
  /** Prefix of every namespace, pin and file this instance makes (default `pf`). */
  readonly name?: string;
  readonly bpffs?: string;
  readonly runRoot?: string;
  /** How long a command waits for another one on the same instance to finish (default 120 s). */
  readonly lockTimeoutMs?: number;
}

export interface InstanceDirs {
  readonly name: string;
  /** The maps pinned by name, `links/` and `progs/`. */
  readonly pins: string;
  /** state.json, `lock` and `agents/` (the agents' control sockets). */
  readonly run: string;
}

export interface SavedState {
  readonly cluster: Cluster;
  readonly policies: readonly NetworkPolicy[];
  readonly alloc: Allocations;
  /** In the order of `cluster.pods`. */
  readonly pods: readonly PodNetwork[];
  /** Where new pods get their addresses (the cluster file's `podCidr`). */
  readonly podCidr: string;
  /** A node of several (kubernetes/): the pods that are this node's endpoints; absent, every pod is. */
  readonly localPods?: readonly string[];
}

/** What state.json holds. */
export interface StateFile {
  readonly version: 2;
  /** The state each map generation holds; the live one is what is enforced. */
  readonly generations: readonly [SavedState | null, SavedState | null];
  /**
   * Set while a command changes the machine (namespaces, veths, agents), cleared when it is done:
   * a command that finds it set first brings the machine in line with the enforced state.
   */
  readonly machineChanging?: { readonly pid: number; readonly what: string };
  /** The datapath's programs as `up` or the last `upgrade` pinned them (absent in states saved before upgrades existed). */
  readonly datapath?: DatapathRecord;
  /** Whether from_pod delivers between this node's pods itself (fast-path.ts); absent: off. */
  readonly fastPath?: boolean;
}

export function instanceDirs(o: FirewallOptions): InstanceDirs {
  const name = o.name ?? 'pf';
  return { name, pins: join(o.bpffs ?? '/sys/fs/bpf', name), run: join(o.runRoot ?? '/run', name) };
}

const stateFile = (dirs: InstanceDirs) => join(dirs.run, 'state.json');

/** Makes a directory only root can enter (and tightens one that exists). */
export function privateDir(path: string): void {
  mkdirSync(path, { recursive: true, mode: 0o700 });
  chmodSync(path, 0o700);
}

/** Whether an instance of this name has saved state and pinned maps (it is up, or a command is making it). */
export function stateSaved(dirs: InstanceDirs): boolean {
  return existsSync(stateFile(dirs)) && existsSync(join(dirs.pins, 'policy'));
}

/** The saved state file of an instance that is up (its maps pinned): NOT_UP when there is none. */
export function readStateFile(dirs: InstanceDirs): StateFile {
  const file = stateFile(dirs);
  if (!stateSaved(dirs)) {
    throw new FirewallError('NOT_UP', `no cluster named ${dirs.name} is up (run pod-firewall up CLUSTER.yaml)`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new FirewallError('STATE_INVALID', `${file}: not a saved state (${(e as Error).message}); pod-firewall down removes it`, { cause: e });
  }
  const s = parsed as Partial<StateFile>;
  if (s.version !== 2 || !Array.isArray(s.generations) || s.generations.length !== 2) {
    throw new FirewallError('STATE_INVALID', `${file}: not a saved state of this version; pod-firewall down removes it`);
  }
  return s as StateFile;
}

/** The state the live generation holds: what the datapath enforces. */
export function enforcedState(dirs: InstanceDirs, file: StateFile, live: Generation): SavedState {
  const s = file.generations[live];
  if (!s) throw new FirewallError('STATE_INVALID', `${stateFile(dirs)}: nothing saved for the live generation ${live}; pod-firewall down removes it`);
  return s;
}

/**
 * Replaces state.json in one step (a new file renamed over it: a reader or a
 * crash sees the old file or the new one, never half of one), readable by root only.
 */
export function writeStateFile(dirs: InstanceDirs, state: StateFile): void {
  const file = stateFile(dirs);
  const next = `${file}.new`; // one writer at a time: the instance lock
  const fd = openSync(next, 'w', 0o600);
  try {
    fchmodSync(fd, 0o600);
    writeSync(fd, JSON.stringify(state));
  } finally {
    closeSync(fd);
  }
  renameSync(next, file);
}

/** The file with `state` saved for `gen` (the other generation's slot kept). */
export function withGeneration(file: StateFile, gen: Generation, state: SavedState): StateFile {
  const generations: [SavedState | null, SavedState | null] = [...file.generations];
  generations[gen] = state;
  return { ...file, generations };
}

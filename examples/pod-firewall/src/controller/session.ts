/**
 * One command's hold on an instance: the instance lock (exclusive to change
 * it, shared to read it), the pinned maps, and the state the live map
 * generation holds, read under the lock. Changes go through `update`, which
 * saves the idle generation's state, writes the maps and flips; nothing else
 * writes state.json's generations.
 */
import { join } from 'node:path';
import { BpfMap } from '@tsbpf/loader';
import { TypedMap, u32 } from '@tsbpf/maps';
import { configValue } from '../datapath/layout.js';
import type { PodNetwork } from '../cluster/topology.js';
import type { Generation } from '../policy/plan.js';
import { enforcedState, readStateFile, withGeneration, writeStateFile, type InstanceDirs, type SavedState, type StateFile } from './instance.js';
import { InstanceLock, type LockMode } from './lock.js';
import { PinnedMaps } from './map-records.js';
import { updateMaps, type ApplyResult, type Target } from './policy-control.js';
import type { DatapathRecord } from './upgrade.js';

export class Session implements Disposable {
  private maps: PinnedMaps;
  private closed = false;

  private constructor(
    readonly dirs: InstanceDirs,
    readonly mode: LockMode,
    private readonly lock: InstanceLock,
    private file: StateFile,
  ) {
    this.maps = this.openMaps([]);
  }

  /** Takes the lock and reads the state (NOT_UP when there is none). */
  static open(dirs: InstanceDirs, mode: LockMode, o: { timeoutMs?: number; holder?: string } = {}): Session {
    return Session.withLock(dirs, mode, InstanceLock.acquire(dirs, mode, o));
  }

  /** Reads the state under a lock already held; the session releases it when closed (also when this throws). */
  static withLock(dirs: InstanceDirs, mode: LockMode, lock: InstanceLock): Session {
    try {
      return new Session(dirs, mode, lock, readStateFile(dirs));
    } catch (e) {
      lock.release();
      throw e;
    }
  }

  /**
   * The maps, opened for every pod either generation's state (or `extra`)
   * names, so stale entries of either are seen; where both name a pod, the
   * live generation's veth wins (the other may be one a crashed command made).
   */
  private openMaps(extra: readonly PodNetwork[]): PinnedMaps {
    const live = liveGeneration(this.dirs);
    const pods = new Map<string, PodNetwork>();
    for (const p of this.file.generations[live === 0 ? 1 : 0]?.pods ?? []) pods.set(p.pod, p);
    for (const p of this.file.generations[live]?.pods ?? []) pods.set(p.pod, p);
    for (const p of extra) pods.set(p.pod, p);
    return new PinnedMaps(this.dirs.pins, [...pods.values()]);
  }

  get pinned(): PinnedMaps {
    return this.maps;
  }

  /** The live generation, as the kernel has it. */
  get generation(): Generation {
    return liveGeneration(this.dirs);
  }

  /** What the datapath enforces: the state saved for the live generation. */
  get enforced(): SavedState {
    return enforcedState(this.dirs, this.file, this.generation);
  }

  get stateFile(): StateFile {
    return this.file;
  }

  /** Moves the maps to `target` (the commit is the flip); returns the state now enforced. */
  update(target: Target): { saved: SavedState; result: ApplyResult } {
    if (target.pods) {
      this.maps.close();
      this.maps = this.openMaps(target.pods);
    }
    return updateMaps(this.maps, this.enforced, target, (gen, state) => {
      this.file = withGeneration(this.file, gen, state);
      writeStateFile(this.dirs, this.file);
    });
  }

  /** Marks (what: a description) or clears (undefined) a change of the machine in progress. */
  machineChanging(what: string | undefined): void {
    const { machineChanging: _, ...rest } = this.file;
    this.file = what === undefined ? rest : { ...rest, machineChanging: { pid: process.pid, what } };
    writeStateFile(this.dirs, this.file);
  }

  /** Records whether the local fast path is on (fast-path.ts fills or empties its map). */
  recordFastPath(fastPath: boolean): void {
    this.file = { ...this.file, fastPath };
    writeStateFile(this.dirs, this.file);
  }

  /** Records the datapath now running (after an upgrade). */
  recordDatapath(datapath: DatapathRecord): void {
    this.file = { ...this.file, datapath };
    writeStateFile(this.dirs, this.file);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.maps.close();
    this.lock.release();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/** The live generation from the `config` map alone (PinnedMaps.readLive reads every map). */
export function liveGeneration(dirs: InstanceDirs): Generation {
  using config = new TypedMap(BpfMap.fromPin(join(dirs.pins, 'config')), u32, configValue);
  return ((config.get(0)?.generation ?? 0) & 1) as Generation;
}

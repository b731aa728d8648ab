/**
 * Pin-by-name across processes: the pin root's lock (flock(2) on its bpffs
 * directory, held for a whole load), adopting a pinned map, pinning a new
 * one (or adopting the pin that beat it), and the rollback that takes back
 * only pins this load made and that still hold its maps.
 *
 * Why one lock for the whole load. Adopting a pin and taking one back both
 * decide which map is *the* map of a name. Without a lock, loader A pins a
 * map, B adopts it, A fails later (a program the verifier refuses) and
 * unpins it: B now writes into a map nobody can find, and C, coming next,
 * creates a second one. A rollback cannot tell whether another process has
 * opened a pin (the kernel keeps no count user space can read), so the pins
 * a load makes must stay invisible to other loaders until the load is done:
 * the lock makes "look for pins, create, pin, load the programs, commit or
 * take back" one critical section per pin root. Loads into one root wait for
 * each other; loads into different roots do not.
 *
 * Alternatives weighed: pinning under a temporary name and renaming on
 * commit (the programs are already relocated against this load's map fds, so
 * losing the rename means loading them again, and rename(2) on bpffs
 * silently replaces the target); never unpinning on failure (a failed load
 * nobody shares would leave its pins behind). libbpf and cilium/ebpf take no
 * lock and unpin on failure, so they have this race.
 *
 * Why flock on the directory: bpffs holds only BPF objects (no lock file can
 * be made there), but a directory fd can be locked; the kernel drops the lock
 * when the fd closes, at exit at the latest, so a crashed loader never leaves
 * it held. It is advisory: a loader that does not take it (libbpf, bpftool)
 * is not serialised, so against those every step stands on its own too: a
 * map is pinned only once fully written (initial values, frozen), so whoever
 * adopts it never sees it half made; a pin that appears between the check
 * and our pin (EEXIST) is adopted, not an error; and a rollback removes a
 * pin only while it still holds this load's map (same map id).
 */
import { closeSync, openSync, constants as fsConstants } from 'node:fs';
import type { MapSpec } from '@tsbpf/object';
import { LoaderError, MapIncompatibleError } from './errors.js';
import { BpfMap } from './map.js';
import { unpin } from './pin.js';
import { readInfo } from './sys/bpf.js';
import { SyscallError } from './sys/errors.js';
import { LOCK_EX, LOCK_NB, LOCK_UN, flock } from './sys/ffi.js';
import { mapInfo } from './sys/layouts.generated.js';

/** How long a load waits for another process's load into the same pin root, by default. */
export const DEFAULT_PIN_LOCK_TIMEOUT_MS = 60_000;

const EINTR = 4;
const EWOULDBLOCK = 11;
const sleeper = new Int32Array(new SharedArrayBuffer(4));

/**
 * Runs `fn` holding the pin root's lock: an exclusive flock(2) on the
 * directory, waited for up to `timeoutMs` (polled: loadCollection is
 * synchronous, so a blocking wait would be no worse, but could not time out).
 */
export function withPinRootLock<T>(root: string, timeoutMs: number, fn: () => T): T {
  let fd: number;
  try {
    fd = openSync(root, fsConstants.O_RDONLY | fsConstants.O_DIRECTORY);
  } catch (e) {
    const errno = Math.abs((e as NodeJS.ErrnoException).errno ?? 2);
    throw new SyscallError('open', errno, `pinRoot ${root}`, 'pinRoot must be an existing directory on bpffs', { cause: e });
  }
  try {
    const deadline = Date.now() + timeoutMs;
    for (let wait = 1; ; wait = Math.min(wait * 2, 50)) {
      const r = flock(fd, LOCK_EX | LOCK_NB);
      if (r === 0) break;
      if (r !== -EWOULDBLOCK && r !== -EINTR) throw new SyscallError('flock', -r, `pinRoot ${root}`);
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new LoaderError(
          'PIN_ROOT_BUSY',
          `pinRoot ${root}: another process has been loading into it for over ${timeoutMs} ms (it holds the directory's lock; \`lslocks\` shows which); wait longer with pinLockTimeout`,
        );
      }
      Atomics.wait(sleeper, 0, 0, Math.min(wait, left));
    }
    try {
      return fn();
    } finally {
      flock(fd, LOCK_UN);
    }
  } finally {
    closeSync(fd);
  }
}

/** The kernel's id of a map (bpf_map_info.id): two fds with one id are one map. */
export function mapId(map: BpfMap): number {
  return readInfo(map.fd, { id: mapInfo.id }, (info) => info.number(mapInfo.id), `map ${map.name}`);
}

/** What a pinned map must match to be adopted: the spec's definition as the map would be created. */
export interface PinnedDefinition {
  readonly type: number;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
  readonly flags: number;
}

function isErrno(e: unknown, name: string): boolean {
  return e instanceof SyscallError && e.errnoName === name;
}

/** The map pinned at `path`, if there is one and it matches; undefined if nothing is pinned there; throws if it differs. */
export function adoptPinned(m: MapSpec, path: string, want: PinnedDefinition): BpfMap | undefined {
  let pinned: BpfMap;
  try {
    pinned = BpfMap.fromPin(path);
  } catch (e) {
    if (isErrno(e, 'ENOENT')) return undefined;
    throw e;
  }
  const same =
    pinned.type === want.type &&
    pinned.keySize === want.keySize &&
    pinned.valueSize === want.valueSize &&
    pinned.maxEntries === want.maxEntries &&
    pinned.flags === want.flags;
  if (!same) {
    pinned.close();
    throw new MapIncompatibleError(
      `map ${m.name}: the map pinned at ${path} differs from the object's definition (type ${m.typeName}, key ${want.keySize}, value ${want.valueSize}, max ${want.maxEntries}, flags 0x${want.flags.toString(16)})`,
    );
  }
  return pinned;
}

/**
 * Pins a newly made map at `path`; if another pin got there first (a loader
 * that does not take the lock), adopts that one instead and closes `map`.
 * `pinned` says whether the pin is this load's to take back.
 */
export function pinOrAdopt(map: BpfMap, m: MapSpec, path: string, want: PinnedDefinition): { map: BpfMap; pinned: boolean } {
  for (let attempt = 0; ; attempt++) {
    try {
      map.pin(path);
      return { map, pinned: true };
    } catch (e) {
      if (!isErrno(e, 'EEXIST') || attempt === 3) throw e;
    }
    const other = adoptPinned(m, path, want);
    if (other) {
      map.close();
      return { map: other, pinned: false };
    }
    // Unpinned again before we could open it: try to pin ours once more.
  }
}

/** A pin a load made, and the id of the map it pinned. */
export interface PinMade {
  readonly path: string;
  readonly mapId: number;
}

/**
 * A failed load's rollback: removes each pin it made, but only while that
 * pin still holds the map this load pinned there (with the lock held no
 * tsbpf loader can have replaced it; another loader might have).
 */
export function takeBackPins(pins: readonly PinMade[]): void {
  for (const { path, mapId: id } of pins) {
    try {
      const now = BpfMap.fromPin(path);
      let same: boolean;
      try {
        same = mapId(now) === id;
      } finally {
        now.close();
      }
      if (same) unpin(path);
    } catch {
      // already gone, or no longer a map: nothing of ours to take back
    }
  }
}

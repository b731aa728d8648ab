/**
 * The instance lock: every command that changes an instance holds it
 * exclusively, every command that reads one holds it shared, so concurrent
 * commands serialise. It is a kernel lock on `/run/<name>/lock` (an OFD
 * lock, through fs-native-extensions: owned by the open file, released by
 * the kernel when the process ends, also by `kill -9`), never a file whose
 * mere existence means "locked", which a crash would leave behind.
 */
import { closeSync, fchmodSync, fstatSync, ftruncateSync, mkdirSync, openSync, statSync, writeSync, readFileSync, chmodSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { FirewallError } from '../errors.js';
import type { InstanceDirs } from './instance.js';

interface FsNativeExtensions {
  tryLock(fd: number, opts?: { shared?: boolean }): boolean;
  unlock(fd: number): void;
}
// A CommonJS addon with prebuilt binaries (N-API, so any Node version).
const fsx = createRequire(import.meta.url)('fs-native-extensions') as FsNativeExtensions;

export type LockMode = 'exclusive' | 'shared';

export interface LockOptions {
  /** `up` makes the run directory; every other command finds it or the instance is not up. */
  readonly create?: boolean;
  /** How long to wait for another command to finish (default 120 s). */
  readonly timeoutMs?: number;
  /** Written into the lock file while held exclusively, for the BUSY message. */
  readonly holder?: string;
}

export const lockFile = (dirs: InstanceDirs) => join(dirs.run, 'lock');

/** Paths this process holds: a second acquisition in the same process would wait for itself. */
const heldHere = new Set<string>();

const sleepSync = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

export class InstanceLock implements Disposable {
  private constructor(
    private readonly path: string,
    private fd: number | undefined,
  ) {}

  /** Waits (synchronously) for the lock; NOT_UP when the instance has no run directory and `create` is not set. */
  static acquire(dirs: InstanceDirs, mode: LockMode, o: LockOptions = {}): InstanceLock {
    const path = lockFile(dirs);
    if (heldHere.has(path)) {
      throw new FirewallError('BUSY', `${dirs.name}: this process already holds ${path} (an operation on the instance is still running in it)`);
    }
    const deadline = Date.now() + (o.timeoutMs ?? 120_000);
    for (let wait = 1; ; wait = Math.min(wait * 2, 50)) {
      const fd = InstanceLock.tryOnce(dirs, mode, o);
      if (fd !== undefined) {
        heldHere.add(path);
        return new InstanceLock(path, fd);
      }
      if (Date.now() > deadline) throw busy(dirs, path, o.timeoutMs ?? 120_000);
      sleepSync(wait);
    }
  }

  /** Whether this process holds the instance's lock (an operation of its own is running). */
  static heldByThisProcess(dirs: InstanceDirs): boolean {
    return heldHere.has(lockFile(dirs));
  }

  /** One attempt: the lock on the file that `path` names now, or undefined when another process holds it. */
  private static tryOnce(dirs: InstanceDirs, mode: LockMode, o: LockOptions): number | undefined {
    const path = lockFile(dirs);
    if (o.create) {
      mkdirSync(dirs.run, { recursive: true, mode: 0o700 });
      chmodSync(dirs.run, 0o700);
    }
    let fd: number;
    try {
      fd = openSync(path, 'a+', 0o600);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw notUp(dirs);
      throw new FirewallError('STATE_INVALID', `${path}: ${(e as Error).message}`, { cause: e });
    }
    let keep = false;
    try {
      if (!fsx.tryLock(fd, { shared: mode === 'shared' })) return undefined;
      // `down` removes the run directory, lock file included, while holding the lock: a waiter
      // that then gets the lock holds it on a file no one else will open. Then try again.
      if (!sameFile(fd, path)) {
        if (!o.create) throw notUp(dirs);
        return undefined;
      }
      fchmodSync(fd, 0o600);
      if (mode === 'exclusive') {
        ftruncateSync(fd, 0);
        writeSync(fd, `${process.pid} ${o.holder ?? 'pod-firewall'}\n`);
      }
      keep = true;
      return fd;
    } finally {
      if (!keep) closeQuiet(fd);
    }
  }

  /** Releases the lock (the kernel would at exit anyway). */
  release(): void {
    if (this.fd === undefined) return;
    closeQuiet(this.fd); // closing the only descriptor of the open file drops its lock
    this.fd = undefined;
    heldHere.delete(this.path);
  }

  [Symbol.dispose](): void {
    this.release();
  }
}

function sameFile(fd: number, path: string): boolean {
  const held = fstatSync(fd);
  try {
    const now = statSync(path);
    return held.nlink > 0 && now.ino === held.ino && now.dev === held.dev;
  } catch {
    return false;
  }
}

function closeQuiet(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // already closed
  }
}

const notUp = (dirs: InstanceDirs) => new FirewallError('NOT_UP', `no cluster named ${dirs.name} is up (run pod-firewall up CLUSTER.yaml)`);

function busy(dirs: InstanceDirs, path: string, timeoutMs: number): FirewallError {
  let holder = '';
  try {
    holder = readFileSync(path, 'utf8').trim();
  } catch {
    // gone meanwhile
  }
  const who = holder ? ` (held by pid ${holder.replace(' ', ': ')})` : '';
  return new FirewallError('BUSY', `${dirs.name}: another command holds ${path}${who}; gave up after ${timeoutMs / 1000} s`);
}

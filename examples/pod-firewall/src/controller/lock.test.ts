import { afterEach, beforeEach, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FirewallError } from '../errors.js';
import { instanceDirs, type InstanceDirs } from './instance.js';
import { InstanceLock, lockFile } from './lock.js';

/**
 * The instance lock against another process holding it: excluded while it
 * lives, BUSY (naming it) after the wait, free the moment it is killed with
 * SIGKILL, and a waiter that outlives `down` (which removes the lock file)
 * finds the instance gone rather than a lock no one else sees.
 */

const addon = createRequire(import.meta.url).resolve('fs-native-extensions');
let root: string;
let dirs: InstanceDirs;
let holder: ChildProcess | undefined;

/** Another process that takes the lock file's lock (exclusive) and keeps it until killed. */
async function holdInAnotherProcess(): Promise<ChildProcess> {
  const script = `
    const fs = require('fs'); const fsx = require(${JSON.stringify(addon)});
    const fd = fs.openSync(${JSON.stringify(lockFile(dirs))}, 'a+');
    if (!fsx.tryLock(fd)) process.exit(3);
    fs.ftruncateSync(fd, 0); fs.writeSync(fd, process.pid + ' apply\\n');
    console.log('held'); setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`holder exited ${code}`)));
  });
  return child;
}

const exited = (child: ChildProcess) => new Promise((resolve) => child.once('exit', resolve));

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'pod-firewall-lock-'));
  dirs = instanceDirs({ name: 'pfk', runRoot: root, bpffs: root });
});
afterEach(() => {
  holder?.kill('SIGKILL');
  holder = undefined;
  rmSync(root, { recursive: true, force: true });
});

it('excludes another process, gives up with BUSY naming it, and is free once that process is killed', async () => {
  InstanceLock.acquire(dirs, 'exclusive', { create: true }).release();
  expect(statSync(dirs.run).mode & 0o777).toBe(0o700);
  expect(statSync(lockFile(dirs)).mode & 0o777).toBe(0o600);
  holder = await holdInAnotherProcess();
  let busy: unknown;
  try {
    InstanceLock.acquire(dirs, 'exclusive', { timeoutMs: 300 });
  } catch (e) {
    busy = e;
  }
  expect(busy).toBeInstanceOf(FirewallError);
  expect((busy as FirewallError).code).toBe('BUSY');
  expect((busy as FirewallError).message).toContain(`held by pid ${holder.pid}: apply`);
  expect(() => InstanceLock.acquire(dirs, 'shared', { timeoutMs: 100 })).toThrow(/another command holds/);
  const gone = exited(holder);
  holder.kill('SIGKILL');
  await gone;
  holder = undefined;
  using lock = InstanceLock.acquire(dirs, 'exclusive', { timeoutMs: 5000 });
  expect(InstanceLock.heldByThisProcess(dirs)).toBe(true);
});

it('a second acquisition in the same process is refused (BUSY), not a wait for itself', () => {
  using held = InstanceLock.acquire(dirs, 'shared', { create: true });
  expect(() => InstanceLock.acquire(dirs, 'shared', { timeoutMs: 100 })).toThrow(/this process already holds/);
  held.release();
  expect(InstanceLock.heldByThisProcess(dirs)).toBe(false);
});

it('without a run directory the instance is NOT_UP (nothing is created)', () => {
  expect(() => InstanceLock.acquire(dirs, 'shared')).toThrow(expect.objectContaining({ code: 'NOT_UP' }));
  expect(existsSync(dirs.run)).toBe(false);
});

it('a waiter that gets the lock after down removed the file sees the instance gone', async () => {
  InstanceLock.acquire(dirs, 'exclusive', { create: true }).release();
  holder = await holdInAnotherProcess();
  // down, in the other process's place: the run directory goes while the lock is held.
  rmSync(dirs.run, { recursive: true, force: true });
  const gone = exited(holder);
  holder.kill('SIGKILL');
  await gone;
  holder = undefined;
  expect(() => InstanceLock.acquire(dirs, 'exclusive', { timeoutMs: 1000 })).toThrow(expect.objectContaining({ code: 'NOT_UP' }));
  // up makes it anew.
  using lock = InstanceLock.acquire(dirs, 'exclusive', { create: true, timeoutMs: 1000 });
  expect(existsSync(lockFile(dirs))).toBe(true);
});

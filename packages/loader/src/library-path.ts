/**
 * The file a uprobe, uprobe.multi or USDT target names: a path as given, a
 * bare library name (`libc.so.6`) found in a process's /proc/PID/maps or
 * through /etc/ld.so.cache (then the usual library directories), a bare
 * program name through PATH.
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { LD_CACHE_ABI, findInLdSoCache, parseLdSoCache } from '@tsbpf/object';
import { LoaderError } from './errors.js';

const LIBRARY_DIRS = ['/lib64', '/usr/lib64', '/lib', '/usr/lib', `/lib/${process.arch === 'x64' ? 'x86_64' : 'aarch64'}-linux-gnu`];

/**
 * The path of `target`: unchanged when it has a `/`; else a shared library
 * (a name with `.so`) that process `pid` has mapped, or that ld.so.cache (or
 * LD_LIBRARY_PATH, or the library directories) names; else a program on PATH.
 */
export function resolveProbeTarget(target: string, pid?: number, options: { ldCache?: string } = {}): string {
  if (typeof target !== 'string' || target === '') throw new LoaderError('INVALID_ARGUMENT', `a binary path or library name, not ${JSON.stringify(target)}`);
  if (target.includes('/')) return target;
  const fail = (where: string) => new LoaderError('ATTACH_TARGET', `no ${target} found ${where}`);
  if (target.includes('.so')) {
    if (pid !== undefined) {
      const mapped = mappedLibrary(pid, target);
      if (mapped) return mapped;
    }
    for (const dir of (process.env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean)) {
      if (existsSync(join(dir, target))) return join(dir, target);
    }
    const cached = fromLdCache(target, options.ldCache ?? '/etc/ld.so.cache');
    if (cached) return cached;
    for (const dir of LIBRARY_DIRS) if (existsSync(join(dir, target))) return join(dir, target);
    throw fail(`in ${pid !== undefined ? `the maps of process ${pid}, ` : ''}LD_LIBRARY_PATH, /etc/ld.so.cache or ${LIBRARY_DIRS.join(', ')}`);
  }
  for (const dir of (process.env.PATH ?? '').split(':').filter(Boolean)) {
    if (existsSync(join(dir, target))) return join(dir, target);
  }
  throw fail('on PATH');
}

/** A file process `pid` maps whose name is `name` or starts with `name` followed by `.` or `-` (`libc` finds libc.so.6). */
export function mappedLibrary(pid: number, name: string): string | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/maps`, 'utf8');
  } catch (e) {
    throw new LoaderError('ATTACH_TARGET', `cannot read /proc/${pid}/maps (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  for (const line of text.split('\n')) {
    const path = line.split(/\s+/)[5];
    if (!path?.startsWith('/')) continue;
    const file = basename(path);
    if (file === name || file.startsWith(`${name}.`) || file.startsWith(`${name}-`)) return path;
  }
  return undefined;
}

function fromLdCache(name: string, path: string): string | undefined {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch {
    return undefined; // no cache (musl, a container without ldconfig): the directories decide
  }
  return findInLdSoCache(parseLdSoCache(bytes), name, LD_CACHE_ABI[process.arch]);
}

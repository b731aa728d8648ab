import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCollectionSpec } from '@tsbpf/object';
import { compile } from '@tsbpf/compiler';
import { loadCollection, type Collection } from './collection.js';
import { RingBufferReader } from './ring-reader.js';
import { attach } from './link.js';
import { resolveProbeTarget, mappedLibrary } from './library-path.js';
import { attachUprobeMulti, globToRegExp, hasUprobeMulti, uprobeMultiTargets } from './uprobe-multi.js';
import { describeNeeds, hasCommand, hasFile, isRoot } from '../../../test/support/env.js';

const work = mkdtempSync(join(tmpdir(), 'tsbpf-uprobe-multi-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

// Calls libc functions a known number of times (none of them runs at start-up).
const CHILD_C = `#include <unistd.h>
int main(void) {
  getppid();
  for (int i = 0; i < 2; i++) getpgrp();
  for (int i = 0; i < 3; i++) getsid(0);
  return 0;
}
`;

const PROGRAM_C = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
struct event { unsigned int pid, ret; unsigned long long cookie; };
struct { __uint(type, BPF_MAP_TYPE_RINGBUF); __uint(max_entries, 1 << 16); } events SEC(".maps");
static int record(void *ctx, unsigned int ret) {
  struct event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
  if (!e) return 0;
  e->pid = bpf_get_current_pid_tgid() >> 32;
  e->ret = ret;
  e->cookie = bpf_get_attach_cookie(ctx);
  bpf_ringbuf_submit(e, 0);
  return 0;
}
SEC("uprobe.multi") int on_call(void *ctx) { return record(ctx, 0); }
SEC("uretprobe.multi") int on_return(void *ctx) { return record(ctx, 1); }
SEC("uprobe.multi/libc.so.6:getsi?") int by_section(void *ctx) { return record(ctx, 2); }
char LICENSE[] SEC("license") = "GPL";
`;

/** cookie → calls seen in process `pid`, per kind (0 entry, 1 return, 2 by section). */
function counts(c: Collection, pid: number): Record<string, number> {
  const out: Record<string, number> = {};
  using ring = new RingBufferReader(c.maps.events!);
  ring.consume((r) => {
    const v = new DataView(r.buffer, r.byteOffset, r.byteLength);
    if (v.getUint32(0, true) !== pid) return;
    const key = `${v.getUint32(4, true)}:${v.getBigUint64(8, true)}`;
    out[key] = (out[key] ?? 0) + 1;
  });
  return out;
}

function tracefsEvents(): string {
  for (const dir of ['/sys/kernel/tracing', '/sys/kernel/debug/tracing']) {
    if (existsSync(join(dir, 'uprobe_events'))) return readFileSync(join(dir, 'uprobe_events'), 'utf8');
  }
  return '';
}

describe('library search', () => {
  it('globs as libbpf: * and ? only, everything else literal', () => {
    expect(globToRegExp('get*').test('getpid')).toBe(true);
    expect(globToRegExp('get?id').test('getpid')).toBe(true);
    expect(globToRegExp('get?id').test('getppid')).toBe(false);
    expect(globToRegExp('a.b').test('axb')).toBe(false);
    expect(globToRegExp('*').test('')).toBe(true);
  });

  it.runIf(process.platform === 'linux' && existsSync('/etc/ld.so.cache'))("finds libc.so.6 by name through ld.so.cache and in this process's maps", () => {
    const libc = resolveProbeTarget('libc.so.6');
    expect(libc).toMatch(/^\/.*\/libc\.so\.6$/);
    expect(existsSync(libc)).toBe(true);
    expect(mappedLibrary(process.pid, 'libc')).toMatch(/\/libc\.so\.6$/);
    expect(resolveProbeTarget('libc.so.6', process.pid)).toMatch(/\/libc\.so\.6$/);
    expect(resolveProbeTarget('/some/path')).toBe('/some/path');
    expect(resolveProbeTarget('sh')).toMatch(/\/sh$/);
    expect(() => resolveProbeTarget('libtsbpf-none.so.9')).toThrow(expect.objectContaining({ code: 'ATTACH_TARGET' }));
    expect(() => resolveProbeTarget('')).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => mappedLibrary(2 ** 22 + 12345, 'libc')).toThrow(expect.objectContaining({ code: 'ATTACH_TARGET' }));
  });
});

describeNeeds([isRoot(), hasCommand('cc'), hasCommand('clang'), hasFile('/etc/ld.so.cache')], 'uprobe.multi', () => {
  let child: string;
  let object: Uint8Array;
  beforeAll(async () => {
    child = join(work, 'child');
    writeFileSync(join(work, 'child.c'), CHILD_C);
    const cc = spawnSync('cc', ['-O1', '-o', child, join(work, 'child.c')]);
    if (cc.status !== 0) throw new Error(String(cc.stderr));
    writeFileSync(join(work, 'multi.bpf.c'), PROGRAM_C);
    object = (await compile({ source: join(work, 'multi.bpf.c'), cache: false })).object;
  });

  it('this kernel has uprobe.multi links (Linux 6.6+)', () => {
    const [major, minor] = kernelRelease();
    expect(hasUprobeMulti()).toBe(major! > 6 || (major === 6 && minor! >= 6));
  });

  it('attaches several libc functions in one link with distinct cookies, entry and return, and leaves nothing behind', () => {
    if (!hasUprobeMulti()) return;
    const fdsBefore = readdirSync('/proc/self/fd').length;
    const eventsBefore = tracefsEvents();
    using c = loadCollection(parseCollectionSpec(object));
    const functions = ['getppid', 'getpgrp', 'getsid', 'getpid'];
    const cookies = [0x11n, 0x22n, 0x33n, 0x44n];
    let pid: number;
    {
      using entry = attachUprobeMulti(c.programs.on_call!, 'libc.so.6', functions, { cookies });
      using ret = attachUprobeMulti(c.programs.on_return!, 'libc.so.6', functions, { cookies: cookies.map((x) => x + 0x100n), retprobe: true });
      expect(entry.fd).toBeGreaterThan(0);
      expect(ret.fd).toBeGreaterThan(0);
      const r = spawnSync(child);
      expect(r.status).toBe(0);
      pid = r.pid!;
    }
    expect(counts(c, pid)).toEqual({ '0:17': 1, '0:34': 2, '0:51': 3, '1:273': 1, '1:290': 2, '1:307': 3 });
    const again = spawnSync(child); // detached: nothing more
    expect(counts(c, again.pid!)).toEqual({});
    c.close();
    expect(readdirSync('/proc/self/fd').length).toBe(fdsBefore);
    expect(tracefsEvents()).toBe(eventsBefore);
  });

  it('globs over the library symbols, sorted by name, cookies in that order; SEC("uprobe.multi/lib:glob") attaches by itself', () => {
    if (!hasUprobeMulti()) return;
    using c = loadCollection(parseCollectionSpec(object));
    const libc = resolveProbeTarget('libc.so.6');
    const targets = uprobeMultiTargets(libc, 'get?grp');
    expect(targets.map((t) => t.name)).toEqual(['getpgrp']);
    const many = uprobeMultiTargets(libc, 'getp*');
    expect(many.map((t) => t.name)).toEqual([...many.map((t) => t.name)].sort());
    expect(many.map((t) => t.name)).toEqual(expect.arrayContaining(['getpgrp', 'getpid', 'getppid']));
    let pid: number;
    {
      using _glob = attachUprobeMulti(c.programs.on_call!, libc, 'getp*', { cookies: many.map((_, i) => BigInt(i)) });
      using _section = attach(c.programs.by_section!, parseCollectionSpec(object).programs.by_section!);
      pid = spawnSync(child).pid!;
    }
    const seen = counts(c, pid);
    expect(seen[`0:${many.findIndex((t) => t.name === 'getppid')}`]).toBe(1);
    expect(seen[`0:${many.findIndex((t) => t.name === 'getpgrp')}`]).toBe(2);
    expect(seen['2:0']).toBe(3);
  });

  it('refuses bad targets and options with typed errors, leaving no fd', () => {
    using c = loadCollection(parseCollectionSpec(object));
    const p = c.programs.on_call!;
    const fdsBefore = readdirSync('/proc/self/fd').length;
    const code = (fn: () => unknown) => {
      try {
        fn();
      } catch (e) {
        return (e as { code?: string }).code;
      }
      return 'no error';
    };
    expect(code(() => attachUprobeMulti(p, 'libc.so.6', ['no_such_function_here']))).toBe('ATTACH_TARGET');
    expect(code(() => attachUprobeMulti(p, 'libc.so.6', 'zz_no_match_*'))).toBe('ATTACH_TARGET');
    expect(code(() => attachUprobeMulti(p, 'libc.so.6', []))).toBe('INVALID_ARGUMENT');
    expect(code(() => attachUprobeMulti(p, 'libc.so.6', ['getpid'], { cookies: [1n, 2n] }))).toBe('INVALID_ARGUMENT');
    expect(code(() => attachUprobeMulti(p, 'libc.so.6', ['getpid'], { cookies: [-1n] }))).toBe('INVALID_ARGUMENT');
    expect(code(() => attachUprobeMulti(p, 'libc.so.6', ['getpid'], { pid: -2 }))).toBe('INVALID_ARGUMENT');
    expect(code(() => attachUprobeMulti(p, 'libc.so.6', [1.5]))).toBe('INVALID_ARGUMENT');
    expect(code(() => attachUprobeMulti(p, join(work, 'child.c'), ['main']))).toBe('ELF_INVALID');
    // no such process: the kernel's answer
    if (hasUprobeMulti()) expect(code(() => attachUprobeMulti(p, resolveProbeTarget('libc.so.6'), ['getpid'], { pid: 99999999 }))).toBe('SYSCALL_FAILED');
    expect(readdirSync('/proc/self/fd').length).toBe(fdsBefore);
  });
});

function kernelRelease(): [number, number] {
  const m = /^(\d+)\.(\d+)/.exec(readFileSync('/proc/sys/kernel/osrelease', 'utf8'))!;
  return [Number(m[1]), Number(m[2])];
}

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { parseCollectionSpec } from '@tsbpf/object';
import { compile } from '@tsbpf/compiler';
import { loadCollection, type Collection } from './collection.js';
import { attach, attachUprobe } from './link.js';
import { attachKprobe, attachKsyscall, kallsymsHasSyscallWrapper, ksyscallSymbol, syscallSymbol } from './kprobe.js';
import { attachKprobeMulti } from './kprobe-multi.js';
import { attachProbeTracefs, liveProbeEvents, tracefsRootFor } from './tracefs-probe.js';
import { SyscallError } from './sys/errors.js';
import { describeNeeds, hasCommand, isRoot } from '../../../test/support/env.js';
import { itByKernel } from '../../../test/support/kernel-features.js';

const work = mkdtempSync(join(tmpdir(), 'tsbpf-kprobe-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const u32 = (n: number) => new Uint8Array(new Uint32Array([n]).buffer);
const openFds = () => readdirSync('/proc/self/fd').length;
/** The probe events this process made, as tracefs lists them (`p:uprobes/tsbpf_<pid>_<n> ...`). */
const tracefsEvents = (kind: 'kprobe' | 'uprobe') => {
  const root = tracefsRootFor(kind);
  if (!root) return [];
  return readFileSync(`${root}/${kind}_events`, 'utf8')
    .split('\n')
    .filter((l) => l.includes(`/tsbpf_${process.pid}_`));
};

const SOURCE = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
unsigned long long entries, returns, unlinks;
SEC("uprobe") int on_entry(void *ctx) { __sync_fetch_and_add(&entries, 1); return 0; }
SEC("uretprobe") int on_return(void *ctx) { __sync_fetch_and_add(&returns, 1); return 0; }
SEC("kprobe/do_unlinkat") int on_unlink(void *ctx) { __sync_fetch_and_add(&unlinks, 1); return 0; }
SEC("kretprobe/do_unlinkat") int on_unlink_ret(void *ctx) { __sync_fetch_and_add(&unlinks, 1); return 0; }
SEC("ksyscall/unlinkat") int on_unlinkat(void *ctx) { __sync_fetch_and_add(&unlinks, 1); return 0; }
SEC("kprobe.multi/do_unlinkat") int on_unlink_multi(void *ctx) { __sync_fetch_and_add(&unlinks, 1); return 0; }
char LICENSE[] SEC("license") = "GPL";
`;

let built: { target: string; object: Uint8Array } | undefined;
async function fixture(): Promise<{ target: string; object: Uint8Array }> {
  if (built) return built;
  const target = join(work, 'target');
  writeFileSync(
    join(work, 'target.c'),
    `__attribute__((noinline)) int tsbpf_probe_target(int x) { __asm__ volatile(""); return x + 1; }
int main(void) { int s = 0; for (int i = 0; i < 5; i++) s += tsbpf_probe_target(i); return s == 15 ? 0 : 1; }
`,
  );
  execFileSync('cc', ['-O1', '-o', target, join(work, 'target.c')]);
  writeFileSync(join(work, 'probes.bpf.c'), SOURCE);
  const { object } = await compile({ source: join(work, 'probes.bpf.c'), cache: false });
  built = { target, object };
  return built;
}

function counters(c: Collection) {
  const bss = new DataView(c.maps['.bss']!.lookup(u32(0))!.buffer);
  return { entries: bss.getBigUint64(0, true), returns: bss.getBigUint64(8, true), unlinks: bss.getBigUint64(16, true) };
}

function unlinkFiles(times: number): void {
  const file = join(work, 'unlink-me');
  for (let i = 0; i < times; i++) {
    writeFileSync(file, '');
    unlinkSync(file);
  }
}

describeNeeds([isRoot(), hasCommand('cc'), hasCommand('clang')], 'the kprobe family in the kernel', () => {
  itByKernel(
    'uprobe events',
    'uprobes through tracefs count real calls, and closing leaves no event and no fd; without uprobe_events the error says so',
    {
      async supported() {
        const { target, object } = await fixture();
        using c = loadCollection(parseCollectionSpec(object), { programs: ['on_entry', 'on_return'] });
        const fdsBefore = openFds();
        {
          using _entry = attachUprobe(c.programs.on_entry!, target, 'tsbpf_probe_target', { legacy: true });
          using _return = attachUprobe(c.programs.on_return!, target, 'tsbpf_probe_target', { legacy: true, retprobe: true });
          // Both events are in uprobe_events while attached, as entry and return probes.
          const lines = tracefsEvents('uprobe');
          expect(lines).toHaveLength(2);
          expect(lines.some((l) => l.startsWith('p:uprobes/'))).toBe(true);
          expect(lines.some((l) => l.startsWith('r:uprobes/'))).toBe(true);
          expect(liveProbeEvents()).toHaveLength(2);
          execFileSync(target);
          execFileSync(target);
        }
        expect(counters(c)).toMatchObject({ entries: 10n, returns: 10n });
        // Closed: the events are gone from tracefs, the perf events and links too.
        expect(tracefsEvents('uprobe')).toEqual([]);
        expect(liveProbeEvents()).toEqual([]);
        expect(openFds()).toBe(fdsBefore);
        execFileSync(target);
        expect(counters(c)).toMatchObject({ entries: 10n, returns: 10n });
      },
      async unsupported() {
        const { target, object } = await fixture();
        using c = loadCollection(parseCollectionSpec(object), { programs: ['on_entry'] });
        expect(() => attachUprobe(c.programs.on_entry!, target, 'tsbpf_probe_target', { legacy: true })).toThrow(
          expect.objectContaining({ code: 'NOT_SUPPORTED', message: expect.stringMatching(/no uprobe_events in tracefs/) }),
        );
      },
    },
    60_000,
  );

  it('a refused tracefs uprobe attach makes no event and keeps no fd (a bad cookie, a closed program)', async () => {
    const { target, object } = await fixture();
    using c = loadCollection(parseCollectionSpec(object), { programs: ['on_entry'] });
    const fdsBefore = openFds();
    // A cookie the program gets as a u64 is fine; a cookie that is no u64 is refused before tracefs is touched.
    expect(() => attachUprobe(c.programs.on_entry!, target, 'tsbpf_probe_target', { legacy: true, cookie: -1n })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
    // A closed program: CLOSED, nothing made.
    const p = loadCollection(parseCollectionSpec(object), { programs: ['on_entry'] });
    const prog = p.programs.on_entry!;
    p.close();
    expect(() => attachUprobe(prog, target, 'tsbpf_probe_target', { legacy: true })).toThrow(expect.objectContaining({ code: 'CLOSED' }));
    // A file tracefs cannot probe: the write to uprobe_events is refused (a SyscallError naming the line), or there is no uprobe_events.
    const missing = join(work, 'no-such-binary');
    expect(() => attachProbeTracefs(c.programs.on_entry!, { kind: 'uprobe', binary: missing, offset: 0x10 })).toThrow(
      tracefsRootFor('uprobe')
        ? expect.objectContaining({ code: 'SYSCALL_FAILED', message: expect.stringContaining(`${missing}:0x10`) })
        : expect.objectContaining({ code: 'NOT_SUPPORTED' }),
    );
    expect(liveProbeEvents()).toEqual([]);
    expect(tracefsEvents('uprobe')).toEqual([]);
    expect(openFds()).toBe(fdsBefore);
  }, 60_000);

  itByKernel(
    'kprobe events',
    'kprobes through tracefs (maxactive too) and by section count real unlinkat calls, and leave nothing behind; without kprobe_events the error says so',
    {
      async supported() {
        const { object } = await fixture();
        const spec = parseCollectionSpec(object);
        using c = loadCollection(spec, { programs: ['on_unlink', 'on_unlink_ret', 'on_unlinkat'] });
        // Where kprobes open, the wrapper probe and the symbol table agree on the ksyscall symbol.
        const wrapper = kallsymsHasSyscallWrapper(readFileSync('/proc/kallsyms', 'latin1'), process.arch);
        expect(ksyscallSymbol('unlinkat')).toBe(syscallSymbol('unlinkat', process.arch, wrapper));
        const fdsBefore = openFds();
        const before = counters(c).unlinks;
        {
          using _a = attachKprobe(c.programs.on_unlink!, 'do_unlinkat', { legacy: true });
          using _b = attachKprobe(c.programs.on_unlink_ret!, 'do_unlinkat', { retprobe: true, maxactive: 16 });
          using _c = attach(c.programs.on_unlinkat!, spec.programs.on_unlinkat!);
          expect(tracefsEvents('kprobe').some((l) => l.startsWith('r16:kprobes/'))).toBe(true);
          unlinkFiles(3);
        }
        expect(counters(c).unlinks - before).toBeGreaterThanOrEqual(9n);
        expect(tracefsEvents('kprobe')).toEqual([]);
        expect(openFds()).toBe(fdsBefore);
      },
      async unsupported() {
        const { object } = await fixture();
        const spec = parseCollectionSpec(object);
        using c = loadCollection(spec, { programs: ['on_unlink'] });
        const fdsBefore = openFds();
        expect(() => attachKprobe(c.programs.on_unlink!, 'do_unlinkat', { legacy: true })).toThrow(
          expect.objectContaining({ code: 'NOT_SUPPORTED', message: expect.stringMatching(/no kprobe_events in tracefs|no kprobe support/) }),
        );
        expect(() => attachKprobe(c.programs.on_unlink!, 'do_unlinkat', { retprobe: true, maxactive: 8 })).toThrow(
          expect.objectContaining({ code: 'NOT_SUPPORTED' }),
        );
        // Without kprobes the kernel reports no syscall wrappers (as to libbpf): ksyscall aims at sys_<name>, and is refused the same way.
        expect(ksyscallSymbol('unlinkat')).toMatch(/^(sys_|__\w+_sys_)unlinkat$/);
        expect(() => attachKsyscall(c.programs.on_unlink!, 'unlinkat')).toThrow(expect.objectContaining({ code: 'NOT_SUPPORTED' }));
        expect(() => attach(c.programs.on_unlink!, spec.programs.on_unlink!)).toThrow(expect.objectContaining({ code: 'NOT_SUPPORTED' }));
        expect(openFds()).toBe(fdsBefore);
      },
    },
    60_000,
  );

  itByKernel('kprobe', 'kprobe.multi counts real unlinkat calls where the kernel has kprobes; without, the kernel refuses the link', {
    async supported(ctx) {
      const { object } = await fixture();
      using c = loadCollection(parseCollectionSpec(object), { programs: ['on_unlink_multi'] });
      const before = counters(c).unlinks;
      let link;
      try {
        link = attachKprobeMulti(c.programs.on_unlink_multi!, { symbols: ['do_unlinkat'], cookies: [7n] });
      } catch (e) {
        // kprobes without fprobe (CONFIG_FPROBE): the kernel has no multi links; that must be its errno, nothing else.
        expect(e).toMatchObject({ errnoName: expect.stringMatching(/^(EOPNOTSUPP|ENOTSUPP)$/) });
        await ctx.annotate('kprobes, but no kprobe.multi (no CONFIG_FPROBE)');
        return;
      }
      using _l = link;
      unlinkFiles(3);
      _l.close();
      expect(counters(c).unlinks - before).toBeGreaterThanOrEqual(3n);
    },
    async unsupported() {
      const { object } = await fixture();
      using c = loadCollection(parseCollectionSpec(object), { programs: ['on_unlink_multi'] });
      const fdsBefore = openFds();
      let err: unknown;
      try {
        attachKprobeMulti(c.programs.on_unlink_multi!, { symbols: ['do_unlinkat'] }).close();
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(SyscallError);
      expect((err as SyscallError).syscall).toBe('BPF_LINK_CREATE');
      expect(openFds()).toBe(fdsBefore);
    },
  });
});

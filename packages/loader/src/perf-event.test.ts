import { existsSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { AttachType, parseCollectionSpec } from '@tsbpf/object';
import { compile } from '@tsbpf/compiler';
import { loadCollection, type Collection } from './collection.js';
import { LoaderError, NotSupportedError } from './errors.js';
import { kernelVersionCode } from './kconfig.js';
import { attachRawTracepoint, attachTracepoint, attachTracing, attachUprobe } from './link.js';
import { attachPerfEvent, onlineCpus } from './perf-event.js';
import { kernelDoor, setBpfDoor } from './sys/door.js';
import { bpfCmd } from './sys/layouts.generated.js';
import { describeNeeds, hasCommand, hasFile, isRoot } from '../../../test/support/env.js';

const SOURCE = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
struct {
  unsigned long long samples, cookie_a, cookie_b, cookie_other, perf_cookie;
  unsigned long long per_cpu[64];
  unsigned long long uprobe_cookie;
} counts;
SEC("perf_event") int on_sample(void *ctx) {
  __sync_fetch_and_add(&counts.samples, 1);
  __u32 cpu = bpf_get_smp_processor_id();
  if (cpu < 64) __sync_fetch_and_add(&counts.per_cpu[cpu], 1);
  return 0;
}
SEC("perf_event") int on_sample_cookie(void *ctx) {
  counts.perf_cookie = bpf_get_attach_cookie(ctx);
  return 0;
}
SEC("tracepoint") int on_getppid(void *ctx) {
  __u64 c = bpf_get_attach_cookie(ctx);
  if (c == 0x1111) __sync_fetch_and_add(&counts.cookie_a, 1);
  else if (c == 0x2222) __sync_fetch_and_add(&counts.cookie_b, 1);
  else __sync_fetch_and_add(&counts.cookie_other, 1);
  return 0;
}
SEC("uprobe") int on_libc_getppid(void *ctx) {
  counts.uprobe_cookie = bpf_get_attach_cookie(ctx);
  return 0;
}
char LICENSE[] SEC("license") = "GPL";
`;

const work = mkdtempSync(join(tmpdir(), 'tsbpf-perf-event-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const u32 = (n: number) => new Uint8Array(new Uint32Array([n]).buffer);
const fdCount = () => readdirSync('/proc/self/fd').length;
/** The thread running this test (vitest may run it in a worker thread, whose id is not process.pid). */
const tid = () => Number(readlinkSync('/proc/thread-self').split('/').pop());

/** Spins this thread until `done()` or 10 s pass (a bound, not an assertion). */
function spinUntil(done: () => boolean, minMs = 0): void {
  const start = Date.now();
  for (;;) {
    const t = Date.now() - start;
    if ((t >= minMs && done()) || t > 10_000) return;
  }
}

/** Spins this thread for `ms` (CPU time a sampling event would see). */
const spinFor = (ms: number) => spinUntil(() => true, ms);

describeNeeds([isRoot(), hasCommand('clang'), hasFile('/sys/kernel/tracing/events/syscalls/sys_enter_getppid')], 'perf events and cookies', () => {
  let c: Collection;
  beforeAll(async () => {
    writeFileSync(join(work, 'perf.bpf.c'), SOURCE);
    const { object } = await compile({ source: join(work, 'perf.bpf.c'), cache: false });
    c = loadCollection(parseCollectionSpec(object));
    return () => c.close();
  });
  const counts = () => {
    const v = new DataView(c.maps['.bss']!.lookup(u32(0))!.buffer);
    const at = (i: number) => v.getBigUint64(i * 8, true);
    return { samples: at(0), a: at(1), b: at(2), other: at(3), perfCookie: at(4), perCpu: (cpu: number) => at(5 + cpu) };
  };

  it('counts cpu-clock samples of a busy loop in this thread at 1000 Hz, and none after close', () => {
    const before = counts().samples;
    const fds = fdCount();
    {
      using link = attachPerfEvent(c.programs.on_sample!, { event: 'cpu-clock', frequency: 1000, pid: tid() });
      expect(link.events.map((e) => e.cpu)).toEqual([-1]);
      expect(link.legacy).toBe(false);
      expect(fdCount()).toBe(fds + 2); // the perf event and its link
      spinUntil(() => counts().samples > before, 200);
    }
    expect(fdCount()).toBe(fds);
    const after = counts().samples;
    expect(after).toBeGreaterThan(before);
    spinFor(200);
    expect(counts().samples).toBe(after);
  });

  it('opens one event per online CPU and samples on each of them', () => {
    const cpus = onlineCpus();
    const fds = fdCount();
    const before = cpus.map((cpu) => counts().perCpu(cpu));
    const link = attachPerfEvent(c.programs.on_sample!, { frequency: 1000 });
    try {
      expect(link.events.map((e) => e.cpu)).toEqual(cpus);
      expect(new Set(link.events.flatMap((e) => [e.perfFd, e.linkFd])).size).toBe(2 * cpus.length);
      expect(fdCount()).toBe(fds + 2 * cpus.length);
      spinUntil(() => cpus.every((cpu, i) => counts().perCpu(cpu) > before[i]!));
      for (const [i, cpu] of cpus.entries()) expect(counts().perCpu(cpu), `CPU ${cpu}`).toBeGreaterThan(before[i]!);
    } finally {
      link.close();
    }
    expect(fdCount()).toBe(fds);
    expect(() => link.events).toThrow(expect.objectContaining({ code: 'CLOSED' }));
  });

  it('attaches with PERF_EVENT_IOC_SET_BPF when asked (the path of kernels without perf links)', () => {
    const fds = fdCount();
    const before = counts().samples;
    {
      using link = attachPerfEvent(c.programs.on_sample!, { period: 1_000_000, pid: tid(), legacy: true }); // every ms of CPU time
      expect(link.legacy).toBe(true);
      expect(link.events).toHaveLength(1);
      expect(link.events[0]!.linkFd).toBeUndefined();
      expect(fdCount()).toBe(fds + 1); // only the perf event
      spinUntil(() => counts().samples > before, 200);
    }
    expect(fdCount()).toBe(fds);
    const after = counts().samples;
    expect(after).toBeGreaterThan(before);
    spinFor(100);
    expect(counts().samples).toBe(after);
    expect(() => attachPerfEvent(c.programs.on_sample!, { pid: tid(), legacy: true, cookie: 1n })).toThrow(NotSupportedError);
    expect(fdCount()).toBe(fds);
  });

  it('falls back to the ioctl by itself where BPF_LINK_CREATE does not know perf links (EINVAL)', () => {
    // The real kernel behind a door that answers BPF_LINK_CREATE as a kernel before 5.15 does.
    const restore = setBpfDoor({ bpf: (cmd, attr, size) => (cmd === bpfCmd.LINK_CREATE ? -22 : kernelDoor.bpf(cmd, attr, size)), close: kernelDoor.close });
    const fds = fdCount();
    try {
      const before = counts().samples;
      {
        using link = attachPerfEvent(c.programs.on_sample!, { frequency: 1000, pid: tid() });
        expect(link.legacy).toBe(true);
        expect(link.description).toMatch(/\(ioctl\)$/);
        spinUntil(() => counts().samples > before, 50);
      }
      expect(counts().samples).toBeGreaterThan(before);
      // A cookie needs the link: a typed NOT_SUPPORTED that says what BPF_LINK_CREATE answered.
      expect(() => attachPerfEvent(c.programs.on_sample!, { pid: tid(), cookie: 5n })).toThrow(
        expect.objectContaining({ code: 'NOT_SUPPORTED', message: expect.stringMatching(/needs a BPF_PERF_EVENT link.*answered EINVAL/) }),
      );
      // Both ways refused (a tracepoint program on a cpu-clock event): the ioctl's error, naming the link's too.
      expect(() => attachPerfEvent(c.programs.on_getppid!, { pid: tid() })).toThrow(
        expect.objectContaining({
          syscall: 'ioctl(PERF_EVENT_IOC_SET_BPF)',
          message: expect.stringMatching(/ioctl\(PERF_EVENT_IOC_SET_BPF\): EINVAL \(after BPF_LINK_CREATE: BPF_LINK_CREATE: EINVAL/),
        }),
      );
    } finally {
      restore();
    }
    expect(fdCount()).toBe(fds);
  });

  it('closes what it opened when the last CPU is refused (EPERM is not a reason to fall back)', () => {
    const cpus = onlineCpus();
    let creates = 0;
    const restore = setBpfDoor({
      bpf: (cmd, attr, size) => (cmd === bpfCmd.LINK_CREATE && ++creates === cpus.length ? -1 : kernelDoor.bpf(cmd, attr, size)),
      close: kernelDoor.close,
    });
    const fds = fdCount();
    try {
      expect(() => attachPerfEvent(c.programs.on_sample!, { frequency: 100 })).toThrow(
        expect.objectContaining({ syscall: 'BPF_LINK_CREATE', errnoName: 'EPERM', context: [expect.stringMatching(new RegExp(`cpu ${cpus.at(-1)}$`))] }),
      );
    } finally {
      restore();
    }
    expect(creates).toBe(cpus.length);
    expect(fdCount()).toBe(fds);
  });

  it('refuses a closed program with CLOSED, opening nothing', async () => {
    const { object } = await compile({ source: join(work, 'perf.bpf.c'), cache: false });
    const other = loadCollection(parseCollectionSpec(object), { programs: ['on_sample'] });
    const p = other.programs.on_sample!;
    other.close();
    const fds = fdCount();
    expect(() => attachPerfEvent(p, { pid: tid() })).toThrow(expect.objectContaining({ code: 'CLOSED' }));
    expect(fdCount()).toBe(fds);
  });

  it('gives a perf_event program its cookie', () => {
    using _ = attachPerfEvent(c.programs.on_sample_cookie!, { frequency: 1000, pid: tid(), cookie: 0xfeed_0000_0000_0077n });
    spinUntil(() => counts().perfCookie !== 0n, 50);
    expect(counts().perfCookie).toBe(0xfeed_0000_0000_0077n);
  });

  it('gives two tracepoint links of one program their own cookies', () => {
    const start = counts();
    const fds = fdCount();
    const a = attachTracepoint(c.programs.on_getppid!, 'syscalls', 'sys_enter_getppid', { cookie: 0x1111n });
    try {
      // The kernel holds a program once per tracepoint (EEXIST): the second link is on the syscall's exit.
      using _b = attachTracepoint(c.programs.on_getppid!, 'syscalls', 'sys_exit_getppid', { cookie: 0x2222n });
      for (let i = 0; i < 5; i++) void process.ppid; // getppid(2) each time
      const both = counts();
      expect(both.a - start.a).toBeGreaterThanOrEqual(5n);
      expect(both.b - start.b).toBeGreaterThanOrEqual(5n);
      expect(both.other).toBe(start.other);
      a.close();
      for (let i = 0; i < 5; i++) void process.ppid;
      const onlyB = counts();
      expect(onlyB.b - both.b).toBeGreaterThanOrEqual(5n);
      expect(onlyB.a).toBe(both.a);
    } finally {
      a.close();
    }
    expect(fdCount()).toBe(fds);
  });

  // Tracing links carry a cookie since 6.0 (fentry, fexit, lsm), tp_btf and raw_tp links since 6.10; this kernel refuses fentry, so tp_btf shows it.
  it.runIf(kernelVersionCode() >= (6 << 16) + (10 << 8))('gives tp_btf and raw_tp links their cookies (Linux 6.10+)', async () => {
    writeFileSync(
      join(work, 'tp_btf.bpf.c'),
      `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
unsigned long long seen, seen_raw;
SEC("tp_btf/sys_enter") int on_enter(unsigned long long *ctx) { seen = bpf_get_attach_cookie(ctx); return 0; }
SEC("raw_tp/sys_enter") int on_raw(void *ctx) { seen_raw = bpf_get_attach_cookie(ctx); return 0; }
char LICENSE[] SEC("license") = "GPL";
`,
    );
    const { object } = await compile({ source: join(work, 'tp_btf.bpf.c'), cache: false });
    using t = loadCollection(parseCollectionSpec(object));
    const bss = () => new DataView(t.maps['.bss']!.lookup(u32(0))!.buffer);
    const seen = () => bss().getBigUint64(0, true);
    {
      using _ = attachTracing(t.programs.on_enter!, AttachType.trace_raw_tp, { cookie: 0xc0ffee_0000_0001n });
      using _raw = attachRawTracepoint(t.programs.on_raw!, 'sys_enter', { cookie: 0xc0ffee_0000_0002n });
      for (let i = 0; i < 3; i++) void process.ppid; // syscalls of our own
    }
    expect(seen()).toBe(0xc0ffee_0000_0001n);
    expect(bss().getBigUint64(8, true)).toBe(0xc0ffee_0000_0002n);
    expect(() => attachTracing(t.programs.on_enter!, AttachType.trace_raw_tp, { cookie: -2n })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });

  it.runIf(existsSync('/sys/bus/event_source/devices/uprobe/type'))('gives a uprobe link its cookie', () => {
    // The libc this process runs (process.ppid calls its getppid each time).
    const libc = readFileSync('/proc/self/maps', 'utf8')
      .split('\n')
      .map((l) => l.split(/\s+/)[5])
      .find((f) => f !== undefined && /\/libc\.so\.6$/.test(f));
    expect(libc).toBeDefined();
    const fds = fdCount();
    {
      using _ = attachUprobe(c.programs.on_libc_getppid!, libc!, 'getppid', { pid: process.pid, cookie: 0x3333n });
      void process.ppid;
    }
    expect(fdCount()).toBe(fds);
    expect(new DataView(c.maps['.bss']!.lookup(u32(0))!.buffer).getBigUint64(69 * 8, true)).toBe(0x3333n);
  });

  it('opens hardware events where the machine has a PMU, and says so where it has none', () => {
    const hasPmu = existsSync('/sys/bus/event_source/devices/cpu');
    const fds = fdCount();
    if (hasPmu) {
      using link = attachPerfEvent(c.programs.on_sample!, { event: 'cycles', period: 1_000_000, pid: tid() });
      expect(link.events).toHaveLength(1);
    } else {
      expect(() => attachPerfEvent(c.programs.on_sample!, { event: 'cycles', period: 1_000_000, pid: tid() })).toThrow(NotSupportedError);
    }
    expect(fdCount()).toBe(fds);
  });

  it('refuses bad arguments with INVALID_ARGUMENT and opens nothing', () => {
    const p = c.programs.on_sample!;
    const fds = fdCount();
    const bad = [
      { frequency: 0 },
      { frequency: 1.5 },
      { period: 0 },
      { frequency: 10, period: 10 },
      { pid: -1 },
      { pid: -5 },
      { cpus: [9999] },
      { cpus: [-1] },
      { cpus: [] },
      { cpus: [0, 0] },
      { cookie: -1n },
      { cookie: 1 as unknown as bigint },
      { event: 'no-such-event' as 'cycles' },
      { event: { type: 1, config: -1 } },
    ];
    for (const options of bad) {
      expect(
        () => attachPerfEvent(p, options),
        JSON.stringify(options, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v)),
      ).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    }
    expect(() => attachTracepoint(c.programs.on_getppid!, 'syscalls', 'sys_enter_getppid', { cookie: 1n << 64n })).toThrow(LoaderError);
    expect(fdCount()).toBe(fds);
  });
});

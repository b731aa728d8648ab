import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, rmdirSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AttachType, MapType, ProgramType, asm, encodeInstructions, parseCollectionSpec } from '@tsbpf/object';
import { readFixture } from '@tsbpf/fixtures';
import { loadCollection } from './collection.js';
import { LegacyAttachment, attach, attachCgroup, attachNetfilter, attachTracing, attachXdp } from './link.js';
import { attachKprobe } from './kprobe.js';
import { attachTcx } from './tcx.js';
import { runningKernelBtf } from './kernel-btf.js';
import { BpfMap } from './map.js';
import { FakeKernel, fakeProgram } from './testing/fake-kernel.js';
import { withNetns } from './netns.js';
import { Program, type ProgramOptions } from './program.js';
import { describeNeeds, hasCommand, hasFile, isRoot } from '../../../test/support/env.js';
import { cgroup2Root, itByKernel, itWhenKernel } from '../../../test/support/kernel-features.js';
import { vethPair } from '../../../test/support/netns.js';

const spec = (name: string) => parseCollectionSpec(readFixture(name));
const u32 = (n: number) => new Uint8Array(new Uint32Array([n]).buffer);
const links = () => JSON.parse(execFileSync('bpftool', ['-j', 'link', 'show'], { encoding: 'utf8' })) as { type: string; prog_id: number }[];

describeNeeds([isRoot(), hasFile('/sys/kernel/tracing/events/syscalls'), hasCommand('bpftool')], 'tracepoints', () => {
  it('a tracepoint program counts real openat calls', () => {
    using c = loadCollection(spec('global_data.bpf.o'));
    const hits = () => new DataView(c.maps['.data']!.lookup(u32(0))!.buffer).getInt32(0, true);
    const before = hits();
    {
      using _link = attach(c.programs.count_openat!, spec('global_data.bpf.o').programs.count_openat!);
      for (let i = 0; i < 5; i++) closeSync(openSync('/proc/self/status', 'r'));
    }
    const after = hits();
    expect(after - before).toBeGreaterThanOrEqual(5);
    // Detached: more opens do not count.
    for (let i = 0; i < 5; i++) closeSync(openSync('/proc/self/status', 'r'));
    expect(hits()).toBe(after);
  });

  it('CO-RE against this kernel: the relocated reads see real task_struct values, bit-field included', () => {
    const s = spec('core.bpf.o');
    using c = loadCollection(s);
    {
      using _link = attach(c.programs.trace_exec!, s.programs.trace_exec!);
      execFileSync('/bin/true');
    }
    const bss = c.maps['.bss']!.lookup(u32(0))!;
    const view = new DataView(bss.buffer, bss.byteOffset);
    const read = (name: string) => {
      const v = s.maps['.bss']!.variables.find((x) => x.name === name);
      if (!v) throw new Error(`${name} not in .bss`);
      return view.getInt32(v.offset, true);
    };
    // Values this kernel's BTF dictates, and one only a correct bit-field relocation yields:
    // in_execve is 1 while execve runs (sched_process_exec fires inside it).
    expect({
      pidSet: read('seen_pid') > 0,
      ppidSet: read('seen_ppid') > 0,
      has_flags: read('has_flags'),
      flags_size: read('flags_size'),
      has_type: read('has_type'),
      tgid_value: read('tgid_value'),
      in_execve: read('in_execve'),
    }).toEqual({ pidSet: true, ppidSet: true, has_flags: 1, flags_size: 4, has_type: 0, tgid_value: 1, in_execve: 1 });
  });

  it('raw_tp and tp_btf programs attach, and the kernel lists their links until closed', () => {
    const s = spec('prog_types.bpf.o');
    using c = loadCollection(s, { programs: ['raw_tp_prog', 'tp_btf_prog'] });
    for (const name of ['raw_tp_prog', 'tp_btf_prog']) {
      const p = c.programs[name]!;
      const id = p.id();
      const link = attach(p, s.programs[name]!);
      try {
        expect(links().some((l) => l.prog_id === id)).toBe(true);
        if (name === 'raw_tp_prog') {
          // Not a link BPF_LINK_DETACH can detach: the error says which link, and what to do.
          expect(() => link.detach()).toThrow(
            /^raw_tp sched_switch: BPF_LINK_DETACH: EOPNOTSUPP \(this kind of link cannot be detached \(close it instead\)\)/,
          );
        }
      } finally {
        link.close();
      }
      expect(links().some((l) => l.prog_id === id)).toBe(false);
      expect(() => link.fd).toThrow(expect.objectContaining({ code: 'CLOSED' }));
    }
  });
});

const XDP_DROP = 1;
const dropAll = () =>
  Program.load({
    type: ProgramType.xdp,
    expectedAttachType: AttachType.xdp,
    name: 'drop_all',
    license: 'GPL',
    instructions: encodeInstructions([asm.mov64Imm(0, XDP_DROP), asm.exit()], 'little'),
  });

describeNeeds([isRoot(), hasCommand('ip'), hasCommand('ping')], 'XDP and tcx on a veth between namespaces, with real packets', () => {
  it('an XDP drop program stops pings into a namespace until it is detached', () => {
    using pair = vethPair('xdp');
    const ping = () => pair.exec('a', ['ping', '-c', '1', '-W', '1', pair.b.addr]);
    expect(ping()).toBe(0);
    using prog = dropAll();
    const ifindex = pair.ifindex('b');
    const link = withNetns(pair.b.path, () => attachXdp(prog, ifindex, 'generic'));
    try {
      expect(ping()).not.toBe(0);
    } finally {
      link.close();
    }
    expect(ping()).toBe(0);
  });

  it('a tcx ingress program attaches to the interface and detaches on close', () => {
    using pair = vethPair('tcx');
    const s = spec('prog_types_new.bpf.o');
    using c = loadCollection(s, { programs: ['tcx_in'] });
    const id = c.programs.tcx_in!.id();
    const ifindex = pair.ifindex('b');
    {
      using _link = withNetns(pair.b.path, () => attachTcx(c.programs.tcx_in!, ifindex, 'ingress'));
      expect(links().some((l) => l.prog_id === id)).toBe(true); // bpftool 7.1 predates tcx: it does not name the link type
      // tcx_in returns 0 (TC_ACT_OK): traffic still flows.
      expect(pair.exec('a', ['ping', '-c', '1', '-W', '1', pair.b.addr])).toBe(0);
    }
    expect(links().some((l) => l.prog_id === id)).toBe(false);
  });
});

describeNeeds([isRoot(), hasCommand('ip'), hasCommand('ping'), hasCommand('bpftool')], 'netfilter links', () => {
  it('a netfilter program attaches to local_in in a namespace; traffic still flows (it accepts)', () => {
    using pair = vethPair('nf');
    const s = spec('prog_types_new.bpf.o');
    using c = loadCollection(s, { programs: ['nf_prog'] });
    const id = c.programs.nf_prog!.id();
    {
      using _link = withNetns(pair.b.path, () => attachNetfilter(c.programs.nf_prog!, { family: 'ipv4', hook: 'local_in', priority: -128 }));
      expect(links().some((l) => l.prog_id === id)).toBe(true);
      expect(pair.exec('a', ['ping', '-c', '1', '-W', '1', pair.b.addr])).toBe(0);
    }
    expect(links().some((l) => l.prog_id === id)).toBe(false);
  });
});

/** An array map of one u64 and a program of `type` that adds 1 to it per run. */
function counter(type: number, load: Partial<ProgramOptions> = {}) {
  const map = BpfMap.create({ type: MapType.array, keySize: 4, valueSize: 8, maxEntries: 1 });
  const insns = [asm.ldMapValue(1, map.fd, 0), asm.mov64Imm(2, 1), asm.atomicAdd(8, 1, 2, 0), asm.mov64Imm(0, 0), asm.exit()];
  const prog = Program.load({ type, name: 'count', license: 'GPL', instructions: encodeInstructions(insns, 'little'), ...load });
  return {
    prog,
    count: () => new DataView(map.lookup(u32(0))!.buffer).getBigUint64(0, true),
    [Symbol.dispose]: () => (prog.close(), map.close()),
  };
}

/** unlink(2) `times` times: each call passes through the kernel's do_unlinkat. */
function unlinkFiles(times: number): void {
  const file = join(tmpdir(), `tsbpf-unlink-${process.pid}`);
  for (let i = 0; i < times; i++) {
    writeFileSync(file, '');
    unlinkSync(file);
  }
}

describeNeeds([isRoot()], 'kprobes and fentry, as the kernel has them', () => {
  itByKernel('kprobe', 'a kprobe and a kretprobe count real unlinkat calls; without kprobes the error says so', {
    supported() {
      for (const retprobe of [false, true]) {
        using c = counter(ProgramType.kprobe);
        {
          using _link = attachKprobe(c.prog, 'do_unlinkat', { retprobe });
          unlinkFiles(3);
        }
        expect(c.count(), retprobe ? 'kretprobe' : 'kprobe').toBeGreaterThanOrEqual(3n);
      }
      // And by section name, as the fixture declares it.
      const s = spec('prog_types.bpf.o');
      using c = loadCollection(s, { programs: ['kprobe_prog', 'kretprobe_prog'] });
      attach(c.programs.kprobe_prog!, s.programs.kprobe_prog!).close();
      attach(c.programs.kretprobe_prog!, s.programs.kretprobe_prog!).close();
    },
    unsupported() {
      const s = spec('prog_types.bpf.o');
      using c = loadCollection(s, { programs: ['socket_prog'] });
      expect(() => attachKprobe(c.programs.socket_prog!, 'do_unlinkat')).toThrow(/no kprobe support in this kernel/);
    },
  });

  // Where the kernel refuses fentry, prog_types in collection.test.ts checks the refusal names the program.
  itWhenKernel('fentry', 'a fentry program counts real unlinkat calls', () => {
    const target = runningKernelBtf().findByName('do_unlinkat', 'func')!;
    using c = counter(ProgramType.tracing, { expectedAttachType: AttachType.trace_fentry, attachBtfId: target.id });
    {
      using _link = attachTracing(c.prog, AttachType.trace_fentry);
      unlinkFiles(3);
    }
    expect(c.count()).toBeGreaterThanOrEqual(3n);
  });
});

const cgroup2 = cgroup2Root();
describeNeeds([isRoot(), cgroup2, hasCommand('bpftool')], 'cgroup attach', () => {
  it('a cgroup_skb program attaches to a cgroup of our own and detaches on close', () => {
    const dir = `${cgroup2.path}/tsbpf-test-${process.pid}`;
    mkdirSync(dir);
    try {
      const s = spec('prog_types.bpf.o');
      using c = loadCollection(s, { programs: ['cgroup_skb_egress'] });
      const p = c.programs.cgroup_skb_egress!;
      const show = () => JSON.parse(execFileSync('bpftool', ['-j', 'cgroup', 'show', dir], { encoding: 'utf8' }).trim() || '[]') as { id: number }[];
      {
        using _link = attachCgroup(p, dir, s.programs.cgroup_skb_egress!.attachType!);
        expect(show().map((x) => x.id)).toContain(p.id());
      }
      expect(show()).toEqual([]);
      // The pre-link path, as older kernels need it.
      {
        using _legacy = attachCgroup(p, dir, s.programs.cgroup_skb_egress!.attachType!, { legacy: true });
        expect(show().map((x) => x.id)).toContain(p.id());
      }
      expect(show()).toEqual([]);
    } finally {
      rmdirSync(dir);
    }
  });
});

describe('attach errors and the legacy cgroup path above a fake bpf() door (no root)', () => {
  const kernel = new FakeKernel();
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tsbpf-cgroup-')); // stands in for a cgroup: attachCgroup only opens it
    return kernel.reset().install();
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const program = () => fakeProgram(kernel, ProgramType.xdp, 'drop_all');

  it("tcx refused with EINVAL says tcx needs Linux 6.6, keeping the errno and the kernel's error as cause", () => {
    using p = program();
    kernel.answer = (cmd) => (cmd === 'LINK_CREATE' ? -22 : undefined);
    let err: unknown;
    try {
      attachTcx(p, 7, 'ingress');
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({
      name: 'SyscallError',
      code: 'SYSCALL_FAILED',
      errnoName: 'EINVAL',
      context: ['program drop_all: attach tcx/ingress to ifindex 7'],
    });
    expect((err as Error).message).toMatch(
      /^program drop_all: attach tcx\/ingress to ifindex 7: BPF_LINK_CREATE: EINVAL \(.*; tcx needs Linux 6\.6 or later\)$/,
    );
    expect((err as Error).cause).toMatchObject({ errnoName: 'EINVAL' });
  });

  it('cgroups without links fall back to BPF_PROG_ATTACH, and closing detaches with BPF_PROG_DETACH', () => {
    using p = program();
    kernel.answer = (cmd) => (cmd === 'LINK_CREATE' ? -95 : cmd === 'PROG_ATTACH' || cmd === 'PROG_DETACH' ? 0 : undefined);
    const a = attachCgroup(p, dir, AttachType.cgroup_inet_egress);
    expect(a).toBeInstanceOf(LegacyAttachment);
    a.close();
    a.close();
    expect(kernel.commands().slice(-3)).toEqual(['LINK_CREATE', 'PROG_ATTACH', 'PROG_DETACH']);
  });

  it('both ways refused: the error is the PROG_ATTACH one, and says what BPF_LINK_CREATE answered', () => {
    using p = program();
    kernel.answer = (cmd) => (cmd === 'LINK_CREATE' ? -22 : cmd === 'PROG_ATTACH' ? -1 : undefined);
    expect(() => attachCgroup(p, dir, AttachType.cgroup_inet_egress)).toThrow(
      expect.objectContaining({
        syscall: 'BPF_PROG_ATTACH',
        errnoName: 'EPERM',
        message: expect.stringMatching(/BPF_PROG_ATTACH: EPERM \(.*; after BPF_LINK_CREATE: BPF_LINK_CREATE: EINVAL/),
      }),
    );
  });
});

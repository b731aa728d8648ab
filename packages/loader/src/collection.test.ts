import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { expect, it } from 'vitest';
import { parseCollectionSpec } from '@tsbpf/object';
import { readFixture } from '@tsbpf/fixtures';
import { loadCollection } from './collection.js';
import { VerifierError } from './program.js';
import { MapIncompatibleError } from './errors.js';
import { attach } from './link.js';
import { BpfMap } from './map.js';
import { programInfoByFd } from './info.js';
import { MapType, asm, encodeInstructions } from '@tsbpf/object';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { release } from 'node:os';
import { describeNeeds, isRoot } from '../../../test/support/env.js';
import { kernelHas, type KernelFeature } from '../../../test/support/kernel-features.js';

const spec = (name: string) => parseCollectionSpec(readFixture(name));
const u32 = (n: number) => new Uint8Array(new Uint32Array([n]).buffer);
const XDP_PASS = 2;
const XDP_DROP = 1;

describeNeeds([isRoot()], 'loadCollection against the kernel', () => {
  it('minimal: loads and runs', () => {
    using c = loadCollection(spec('minimal.bpf.o'));
    expect(c.programs.xdp_pass!.testRun({ data: new Uint8Array(64) }).retval).toBe(XDP_PASS);
  });

  it('maps_btf: every kind of map, map-in-map and prog-array initial values, relocated programs', () => {
    using c = loadCollection(spec('maps_btf.bpf.o'));
    expect(Object.keys(c.maps).sort()).toEqual(
      ['.rodata.cst16', 'by_size', 'cidrs', 'counters', 'events', 'flows', 'inner_a', 'inner_b', 'jumps', 'outer_array', 'outer_hash', 'pinned'].sort(),
    );
    expect(c.maps.cidrs!.typeName).toBe('lpm_trie');
    // The outer maps hold the inner maps the object named (lookups from user space give map ids).
    expect(c.maps.outer_array!.lookup(u32(0))).toBeDefined();
    expect(c.maps.outer_hash!.lookup(u32(3))).toBeDefined();
    expect(c.maps.outer_hash!.lookup(u32(0))).toBeUndefined();
    // use_maps tail-calls jumps[1] only when outer_hash[0] exists: not yet, so it passes...
    expect(c.programs.use_maps!.testRun({ data: new Uint8Array(64) }).retval).toBe(XDP_PASS);
    // ...and once user space puts an inner map there, the prog array's initial slot (tail_target) runs.
    c.maps.outer_hash!.update(u32(0), u32(c.maps.inner_a!.fd));
    expect(c.programs.use_maps!.testRun({ data: new Uint8Array(64) }).retval).toBe(XDP_DROP);
    expect(c.programs.tail_target!.testRun({ data: new Uint8Array(64) }).retval).toBe(XDP_DROP);
  });

  it('global_data: .data/.rodata/.bss hold their initial values and .rodata is frozen', () => {
    using c = loadCollection(spec('global_data.bpf.o'));
    const data = c.maps['.data']!.lookup(u32(0))!;
    expect(new DataView(data.buffer).getInt32(0, true)).toBe(1); // int hits = 1
    const rodata = c.maps['.rodata']!.lookup(u32(0))!;
    expect(new TextDecoder().decode(rodata).includes('hello')).toBe(true);
    expect(() => c.maps['.rodata']!.update(u32(0), rodata)).toThrow(expect.objectContaining({ errnoName: 'EPERM' }));
    expect(new DataView(c.maps['.data.custom']!.lookup(u32(0))!.buffer).getInt32(0, true)).toBe(7);
  });

  it('subprogs: BPF-to-BPF calls, global functions and callbacks load with func_info', () => {
    using c = loadCollection(spec('subprogs.bpf.o'));
    // first: sum_of_squares(ingress_ifindex, 2) > 100 ? DROP : PASS — test-run ifindex is 0 here.
    expect(c.programs.first!.testRun({ data: new Uint8Array(64) }).retval).toBe(XDP_PASS);
    expect([XDP_PASS, XDP_DROP]).toContain(c.programs.second!.testRun({ data: new Uint8Array(64) }).retval);
  });

  it('prog_types: the programs the kernel accepts (its probes say which) load; the others fail naming the program', () => {
    const s = spec('prog_types.bpf.o');
    const probed: Record<string, KernelFeature> = {
      kprobe_prog: 'kprobe programs',
      kretprobe_prog: 'kprobe programs',
      uprobe_prog: 'kprobe programs',
      uretprobe_prog: 'kprobe programs',
      fentry_prog: 'fentry',
      fexit_prog: 'fexit',
      fentry_sleepable: 'fentry.s',
      lsm_prog: 'lsm',
    };
    const accepted = Object.keys(s.programs).filter((n) => !(n in probed) || kernelHas(probed[n]!).supported);
    using c = loadCollection(s, { programs: accepted });
    expect(Object.keys(c.programs).sort()).toEqual(accepted.sort());
    for (const n of Object.keys(s.programs).filter((n) => !accepted.includes(n))) {
      const answer = kernelHas(probed[n]!);
      // Refused as root (fentry/fexit/lsm on this VM): the error says the kernel forbids it, not "needs root".
      const clearly =
        answer.errno === 1
          ? new RegExp(`program ${n}: BPF_PROG_LOAD: EPERM \\(refused although running as root: this kernel forbids it`)
          : new RegExp(`program ${n}\\b`);
      expect(() => loadCollection(s, { programs: [n] }), `${n}: ${answer.why}`).toThrow(clearly);
    }
  });

  it('externs: .kconfig values from the running kernel, typed ksyms and kfuncs resolved against its BTF', () => {
    using c = loadCollection(spec('externs.bpf.o'));
    expect(Object.keys(c.programs)).toEqual(['on_newtask']);
    const kconfig = c.maps['.kconfig']!.lookup(u32(0))!;
    expect(kconfig.length).toBeGreaterThanOrEqual(5);
    // LINUX_KERNEL_VERSION, 4 bytes at the front (largest alignment first).
    const [major, minor] = release().split('.').map(Number);
    expect(new DataView(kconfig.buffer).getUint32(0, true) >> 8).toBe((major! << 8) + minor!);
    expect(kconfig[4]).toBe(1); // CONFIG_BPF_SYSCALL=y
  });

  it('weak kfuncs: a present one is called, an absent one reads as 0 and its guarded call is poisoned, so the program loads and runs', () => {
    const s = spec('externs_weak.bpf.o');
    using c = loadCollection(s);
    {
      using _link = attach(c.programs.on_newtask!, s.programs.on_newtask!);
      execFileSync('/bin/true'); // a new task
    }
    const data = c.maps['.data']!.lookup(u32(0))!; // initialised to -1: .data
    const read = (name: string) => new DataView(data.buffer, data.byteOffset).getInt32(s.maps['.data']!.variables.find((v) => v.name === name)!.offset, true);
    expect({ has_acquire: read('has_acquire'), has_missing: read('has_missing') }).toEqual({ has_acquire: 1, has_missing: 0 });
  });

  it('typeless ksyms: the address /proc/kallsyms gives, and NULL for an absent weak one (as libbpf)', () => {
    const s = spec('ksyms_typeless.bpf.o');
    using c = loadCollection(s);
    c.programs.where!.testRun({ data: new Uint8Array(64) });
    const bss = c.maps['.bss']!.lookup(u32(0))!;
    const read = (name: string) => new DataView(bss.buffer, bss.byteOffset).getBigUint64(s.maps['.bss']!.variables.find((v) => v.name === name)!.offset, true);
    const listed = readFileSync('/proc/kallsyms', 'latin1')
      .split('\n')
      .filter((l) => l.split(' ')[2] === 'schedule');
    expect(listed.length).toBe(1);
    expect(read('schedule_addr')).toBe(BigInt(`0x${listed[0]!.split(' ')[0]}`));
    expect(read('schedule_addr')).not.toBe(0n);
    expect(read('missing_addr')).toBe(0n);
  });

  it('constants and map overrides apply before load, without touching the spec', () => {
    const s = spec('global_data.bpf.o');
    const before = s.maps['.rodata']!.initialValue!.slice();
    using c = loadCollection(s, { constants: { threshold: 7, custom_limit: 1234 }, mapOverrides: { '.bss': { flags: 0 } } });
    const rodata = c.maps['.rodata']!.lookup(u32(0))!;
    const threshold = s.maps['.rodata']!.variables.find((v) => v.name === 'threshold')!;
    expect(new DataView(rodata.buffer).getInt32(threshold.offset, true)).toBe(7);
    expect(new DataView(c.maps['.rodata.custom']!.lookup(u32(0))!.buffer).getInt32(0, true)).toBe(1234);
    expect(c.maps['.bss']!.flags).toBe(0);
    expect(s.maps['.rodata']!.initialValue).toEqual(before);
    expect(() => loadCollection(s, { constants: { nope: 1 } })).toThrow(/no const volatile global named nope/);
    expect(() => loadCollection(s, { constants: { threshold: 2n ** 40n } })).toThrow(expect.objectContaining({ name: 'LinkError', code: 'CONSTANT_INVALID' }));
  });

  it('pinRoot: BY_NAME maps are pinned, reused by the next load, and refused when the pin differs', () => {
    const root = `/sys/fs/bpf/tsbpf-pinroot-${process.pid}`;
    mkdirSync(root, { recursive: true });
    try {
      const s = spec('maps_btf.bpf.o');
      {
        using first = loadCollection(s, { pinRoot: root });
        first.maps.pinned!.update(u32(5), u32(55));
      }
      expect(existsSync(`${root}/pinned`)).toBe(true);
      {
        using second = loadCollection(s, { pinRoot: root });
        expect(second.maps.pinned!.lookup(u32(5))).toEqual(u32(55));
      }
      rmSync(`${root}/pinned`);
      {
        using other = BpfMap.create({ type: MapType.hash, keySize: 4, valueSize: 8, maxEntries: 64 });
        other.pin(`${root}/pinned`);
      }
      expect(() => loadCollection(s, { pinRoot: root })).toThrow(MapIncompatibleError);

      // A load that fails after pinning takes back the pins it made (as libbpf), not those it found.
      rmSync(`${root}/pinned`);
      expect(() => loadCollection(s, { pinRoot: root, programs: ['nope'] })).toThrow(expect.objectContaining({ name: 'LoaderError', code: 'LOAD_OPTIONS' }));
      expect(readdirSync(root)).toEqual([]);
      {
        using kept = loadCollection(s, { pinRoot: root });
        kept.maps.pinned!.update(u32(1), u32(11));
      }
      expect(() => loadCollection(s, { pinRoot: root, programs: ['nope'] })).toThrow(/no program named nope/);
      expect(readdirSync(root)).toEqual(['pinned']);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('a reached CO-RE poison is explained as the relocation that failed, as libbpf rewrites the log', () => {
    // Against a "kernel" whose BTF has no task_struct (minimal.bpf.o's own), every access is poisoned.
    const other = spec('minimal.bpf.o').btf!;
    let err: unknown;
    try {
      loadCollection(spec('core.bpf.o'), { kernelBtf: other }).close();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(VerifierError);
    const v = err as VerifierError;
    expect(v.log).toMatch(/invalid func unknown#195896080/);
    expect(v.explanation).toMatch(
      /^CO-RE relocation \(\w+\) at instruction \d+ failed: task_struct\.\w+ is not in the target BTF; the poisoned instruction was reached$/,
    );
    expect(v.message).toContain(v.explanation!);
  });

  it('CO-RE: the task_struct accesses in the object are relocated against this kernel and load', () => {
    using c = loadCollection(spec('core.bpf.o'));
    expect(Object.keys(c.programs)).toEqual(['trace_exec']);
  });

  it('holds no fd for the BTF after the load: the programs and maps keep it in the kernel', () => {
    const fds = () => readdirSync('/proc/self/fd').length;
    const s = spec('maps_btf.bpf.o');
    loadCollection(s).close(); // warm: lazily opened files (kernel BTF, kallsyms) stay out of the count
    const before = fds();
    using c = loadCollection(s);
    expect(fds() - before).toBe(Object.keys(c.programs).length + Object.keys(c.maps).length);
    for (const p of Object.values(c.programs)) expect(programInfoByFd(p.fd).btfId).toBeGreaterThan(0);
  });

  it('a failing program closes what was opened and names the program', () => {
    const fds = () => readdirSync('/proc/self/fd').length;
    const before = fds();
    const s = spec('prog_types.bpf.o');
    // tracepoint_prog made to read an uninitialised register: every kernel's verifier refuses it, after socket_prog loaded.
    const broken = encodeInstructions([asm.ldxMem(8, 0, 9, 0), asm.exit()], 'little');
    expect(s.programs.tracepoint_prog!.instructions.length).toBe(broken.length); // its func/line info still fit
    const doomed = { ...s, programs: { ...s.programs, tracepoint_prog: { ...s.programs.tracepoint_prog!, instructions: broken } } };
    expect(() => loadCollection(doomed, { programs: ['socket_prog', 'tracepoint_prog'] })).toThrow(/program tracepoint_prog: .*R9 !read_ok/);
    expect(fds()).toBe(before);
  });

  it('loads 3,000 times back to back (the kernel answers EAGAIN under RCU pressure; it is retried)', () => {
    const s = spec('minimal.bpf.o');
    for (let i = 0; i < 3000; i++) loadCollection(s).close();
  }, 120_000);

  it('loads and closes a collection 1,000 times without the fd count growing', () => {
    const fds = () => readdirSync('/proc/self/fd').length;
    const s = spec('maps_btf.bpf.o');
    loadCollection(s).close();
    const before = fds();
    for (let i = 0; i < 1000; i++) loadCollection(s).close();
    expect(fds()).toBe(before);
  }, 120_000);
});

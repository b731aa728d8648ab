import { beforeEach, describe, expect, it } from 'vitest';
import { AttachType, ProgramType } from '@tsbpf/object';
import { attachKprobeMulti, globMatch, resolveKprobePattern } from './kprobe-multi.js';
import { parseKprobeSection } from './kprobe-sections.js';
import { kallsymsHasSyscallWrapper, syscallSymbol } from './kprobe.js';
import { probeEventLine, probeEventName, removeEventLine } from './tracefs-probe.js';
import { FakeKernel, fakeProgram } from './testing/fake-kernel.js';
import { memoryAt } from './sys/ffi.js';
import { getField } from './sys/fields.js';
import { linkCreateAttr as C } from './sys/layouts.generated.js';

/** A kallsyms fixture: text and data symbols, a module's, the ftrace placeholder, a wrapper. */
const KALLSYMS = `ffffffff81000000 T _stext
ffffffff81234560 T tcp_v4_connect
ffffffff81234600 t tcp_v4_init_sock
ffffffff81234700 T tcp_v6_connect
ffffffff81234800 D tcp_v4_data
ffffffff81234900 t tcp_v4_connect.cold
ffffffff81300000 T __x64_sys_bpf
ffffffff81300100 T __ia32_sys_bpf
ffffffff81400000 t __ftrace_invalid_address___64
ffffffffc0001000 t tcp_v4_mod_probe\t[nf_conntrack]
`;

/** available_filter_functions: what ftrace can probe (the placeholder is listed too). */
const FILTER_FUNCTIONS = `tcp_v4_connect
tcp_v6_connect
__ftrace_invalid_address___64
tcp_v4_mod_probe [nf_conntrack]
tcp_v4_connect
`;

describe('kprobe-family sections, as libbpf reads them', () => {
  it('single probes: function, offset (hex or decimal), return probes', () => {
    expect(parseKprobeSection('kprobe/do_unlinkat')).toEqual({ kind: 'kprobe', func: 'do_unlinkat', offset: 0, retprobe: false });
    expect(parseKprobeSection('kprobe/tcp_v4_connect+0x10')).toEqual({ kind: 'kprobe', func: 'tcp_v4_connect', offset: 16, retprobe: false });
    expect(parseKprobeSection('kprobe/foo.isra.0+8')).toEqual({ kind: 'kprobe', func: 'foo.isra.0', offset: 8, retprobe: false });
    expect(parseKprobeSection('kretprobe/do_unlinkat')).toEqual({ kind: 'kprobe', func: 'do_unlinkat', offset: 0, retprobe: true });
  });

  it('syscalls, multi and session links', () => {
    expect(parseKprobeSection('ksyscall/openat')).toEqual({ kind: 'ksyscall', syscall: 'openat', retprobe: false });
    expect(parseKprobeSection('kretsyscall/execve')).toEqual({ kind: 'ksyscall', syscall: 'execve', retprobe: true });
    expect(parseKprobeSection('kprobe.multi/tcp_*')).toEqual({ kind: 'multi', pattern: 'tcp_*', retprobe: false, session: false });
    expect(parseKprobeSection('kretprobe.multi/tcp_v?_connect')).toEqual({ kind: 'multi', pattern: 'tcp_v?_connect', retprobe: true, session: false });
    expect(parseKprobeSection('kprobe.session/bpf_fentry_test*')).toEqual({ kind: 'multi', pattern: 'bpf_fentry_test*', retprobe: false, session: true });
  });

  it('other families are not ours; a family section without a target, or one that does not parse, is ATTACH_TARGET', () => {
    expect(parseKprobeSection('uprobe//bin/true:main')).toBeUndefined();
    expect(parseKprobeSection('usdt/x')).toBeUndefined();
    expect(parseKprobeSection('kprobex/foo')).toBeUndefined();
    for (const s of ['kprobe', 'kretprobe', 'ksyscall', 'kprobe.multi'])
      expect(() => parseKprobeSection(s), s).toThrow(expect.objectContaining({ code: 'ATTACH_TARGET', message: expect.stringMatching(/names no target/) }));
    for (const s of ['kretprobe/foo+0x10', 'kprobe/foo+bar', 'ksyscall/Open At', 'kprobe/foo+0x100000000'])
      expect(() => parseKprobeSection(s), s).toThrow(expect.objectContaining({ code: 'ATTACH_TARGET' }));
  });
});

describe('tracefs probe events', () => {
  it('kprobe lines: entry with offset, return, return with maxactive', () => {
    const name = probeEventName(1234, 0);
    expect(name).toBe('tsbpf_1234_0');
    expect(probeEventLine({ kind: 'kprobe', name, func: 'do_unlinkat' })).toBe('p:kprobes/tsbpf_1234_0 do_unlinkat');
    expect(probeEventLine({ kind: 'kprobe', name, func: 'tcp_v4_connect', offset: 16 })).toBe('p:kprobes/tsbpf_1234_0 tcp_v4_connect+0x10');
    expect(probeEventLine({ kind: 'kprobe', name, func: 'do_unlinkat', retprobe: true })).toBe('r:kprobes/tsbpf_1234_0 do_unlinkat');
    expect(probeEventLine({ kind: 'kprobe', name, func: 'do_unlinkat', retprobe: true, maxactive: 64 })).toBe('r64:kprobes/tsbpf_1234_0 do_unlinkat');
    expect(removeEventLine('kprobe', name)).toBe('-:kprobes/tsbpf_1234_0');
  });

  it('uprobe lines: a path and a file offset in hex', () => {
    expect(probeEventLine({ kind: 'uprobe', name: 'tsbpf_1_2', binary: '/usr/bin/true', offset: 0x1130 })).toBe('p:uprobes/tsbpf_1_2 /usr/bin/true:0x1130');
    expect(probeEventLine({ kind: 'uprobe', name: 'tsbpf_1_2', binary: '/lib/libc.so.6', offset: 0, retprobe: true })).toBe(
      'r:uprobes/tsbpf_1_2 /lib/libc.so.6:0x0',
    );
    expect(removeEventLine('uprobe', 'tsbpf_1_2')).toBe('-:uprobes/tsbpf_1_2');
  });

  it('refuses what tracefs would misread, with INVALID_ARGUMENT', () => {
    const bad = [
      { kind: 'kprobe', name: 'tsbpf_1_0', func: 'do unlinkat' },
      { kind: 'kprobe', name: 'tsbpf_1_0', func: 'x:y' },
      { kind: 'kprobe', name: 'bad-name', func: 'do_unlinkat' },
      { kind: 'kprobe', name: 'tsbpf_1_0', func: 'do_unlinkat', maxactive: 8 }, // not a retprobe
      { kind: 'kprobe', name: 'tsbpf_1_0', func: 'do_unlinkat', retprobe: true, maxactive: 0 },
      { kind: 'kprobe', name: 'tsbpf_1_0', func: 'do_unlinkat', retprobe: true, maxactive: 4097 },
      { kind: 'kprobe', name: 'tsbpf_1_0', func: 'do_unlinkat', offset: -1 },
      { kind: 'uprobe', name: 'tsbpf_1_0', binary: 'relative/path', offset: 0 },
      { kind: 'uprobe', name: 'tsbpf_1_0', binary: '/with space', offset: 0 },
      { kind: 'uprobe', name: 'tsbpf_1_0', binary: '/bin/true', offset: 1.5 },
    ] as const;
    for (const e of bad) expect(() => probeEventLine(e), JSON.stringify(e)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });
});

describe('symbols: syscall wrappers and glob patterns against fixture listings', () => {
  it('the ksyscall symbol follows the wrapper answer and the architecture', () => {
    expect(syscallSymbol('openat', 'x64', true)).toBe('__x64_sys_openat');
    expect(syscallSymbol('openat', 'arm64', true)).toBe('__arm64_sys_openat');
    expect(syscallSymbol('openat', 'riscv64', true)).toBe('__riscv_sys_openat');
    expect(syscallSymbol('openat', 'x64', false)).toBe('sys_openat');
    expect(() => syscallSymbol('openat', 'vax', true)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => syscallSymbol('Open', 'x64', true)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });

  it('kallsyms shows the wrapper of the architecture asked about, and only as a text symbol', () => {
    expect(kallsymsHasSyscallWrapper(KALLSYMS, 'x64')).toBe(true);
    expect(kallsymsHasSyscallWrapper(KALLSYMS, 'arm64')).toBe(false);
    expect(kallsymsHasSyscallWrapper('ffffffff81300000 T sys_bpf\n', 'x64')).toBe(false);
    expect(kallsymsHasSyscallWrapper('ffffffff81300000 D __x64_sys_bpf\n', 'x64')).toBe(false);
  });

  it('globMatch: * and ? as libbpf matches them', () => {
    expect(globMatch('tcp_*', 'tcp_v4_connect')).toBe(true);
    expect(globMatch('tcp_v?_connect', 'tcp_v6_connect')).toBe(true);
    expect(globMatch('tcp_v?_connect', 'tcp_v46_connect')).toBe(false);
    expect(globMatch('*connect', 'tcp_v4_connect')).toBe(true);
    expect(globMatch('*_v4_*', 'tcp_v4_init_sock')).toBe(true);
    expect(globMatch('tcp', 'tcp_v4')).toBe(false);
    expect(globMatch('*', '')).toBe(true);
    expect(globMatch('a*b*c', 'aXbYbZc')).toBe(true);
    expect(globMatch('a*b*c', 'aXbYbZ')).toBe(false);
  });

  it('available_filter_functions wins: each name once, module suffix dropped, the ftrace placeholder skipped', () => {
    expect(resolveKprobePattern('tcp_v4_*', { filterFunctions: FILTER_FUNCTIONS, kallsyms: KALLSYMS })).toEqual(['tcp_v4_connect', 'tcp_v4_mod_probe']);
    expect(resolveKprobePattern('__ftrace*', { filterFunctions: FILTER_FUNCTIONS })).toEqual([]);
  });

  it('without it, the text symbols of kallsyms (t and T; no data; names with suffixes as listed)', () => {
    expect(resolveKprobePattern('tcp_v4_*', { kallsyms: KALLSYMS })).toEqual(['tcp_v4_connect', 'tcp_v4_init_sock', 'tcp_v4_connect.cold', 'tcp_v4_mod_probe']);
    expect(resolveKprobePattern('*_sys_bpf', { kallsyms: KALLSYMS })).toEqual(['__x64_sys_bpf', '__ia32_sys_bpf']);
    expect(resolveKprobePattern('nothing*', { kallsyms: KALLSYMS })).toEqual([]);
  });
});

describe('kprobe.multi links above a fake bpf() door (no root)', () => {
  const kernel = new FakeKernel();
  beforeEach(() => kernel.reset().install());
  const program = () => fakeProgram(kernel, ProgramType.kprobe, 'multi');
  /** What LINK_CREATE was given: read while the call is made (the arrays are freed after it). */
  const capture = () =>
    kernel.record('LINK_CREATE', ({ view: v }) => {
      const cnt = getField(v, C['kprobe_multi.cnt']);
      const u64s = (field: keyof typeof C) => {
        const address = v.getBigUint64(C[field].offset, true);
        if (address === 0n) return undefined;
        const bytes = memoryAt(address, cnt * 8);
        return Array.from({ length: cnt }, (_, i) => new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(i * 8, true));
      };
      const cString = (address: bigint) => {
        const bytes = memoryAt(address, 64);
        return new TextDecoder().decode(bytes.subarray(0, bytes.indexOf(0)));
      };
      return {
        attachType: getField(v, C.attach_type),
        flags: getField(v, C['kprobe_multi.flags']),
        cnt,
        syms: u64s('kprobe_multi.syms')?.map(cString),
        addrs: u64s('kprobe_multi.addrs'),
        cookies: u64s('kprobe_multi.cookies'),
      };
    });

  it('symbols with cookies, a return probe, a session, addresses: the attr the kernel reads', () => {
    using p = program();
    const seen = capture();
    attachKprobeMulti(p, { symbols: ['tcp_v4_connect', 'tcp_v6_connect'], cookies: [1n, 2n ** 64n - 1n] }).close();
    attachKprobeMulti(p, { symbols: ['do_unlinkat'], retprobe: true }).close();
    attachKprobeMulti(p, { symbols: ['do_unlinkat'], session: true }).close();
    attachKprobeMulti(p, { addresses: [0xffffffff81234560n, 0xffffffff81234700n] }).close();
    expect(seen).toEqual([
      {
        attachType: AttachType.trace_kprobe_multi,
        flags: 0,
        cnt: 2,
        syms: ['tcp_v4_connect', 'tcp_v6_connect'],
        addrs: undefined,
        cookies: [1n, 2n ** 64n - 1n],
      },
      { attachType: AttachType.trace_kprobe_multi, flags: 1, cnt: 1, syms: ['do_unlinkat'], addrs: undefined, cookies: undefined },
      { attachType: AttachType.trace_kprobe_session, flags: 0, cnt: 1, syms: ['do_unlinkat'], addrs: undefined, cookies: undefined },
      { attachType: AttachType.trace_kprobe_multi, flags: 0, cnt: 2, syms: undefined, addrs: [0xffffffff81234560n, 0xffffffff81234700n], cookies: undefined },
    ]);
  });

  it('bad options are INVALID_ARGUMENT before the kernel is asked', () => {
    using p = program();
    const seen = capture();
    const bad: object[] = [
      {},
      { symbols: ['a'], addresses: [1n] },
      { symbols: [] },
      { symbols: ['a', ''] },
      { symbols: ['a'], cookies: [1n, 2n] },
      { symbols: ['a'], cookies: [-1n] },
      { addresses: [0n] },
      { addresses: [1] },
      { symbols: ['a'], session: true, retprobe: true },
      { pattern: '' },
    ];
    for (const o of bad)
      expect(
        () => attachKprobeMulti(p, o),
        JSON.stringify(o, (_, v) => (typeof v === 'bigint' ? `${v}n` : v)),
      ).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(seen).toEqual([]);
  });

  it('a closed program is CLOSED', () => {
    const p = program();
    p.close();
    expect(() => attachKprobeMulti(p, { symbols: ['a'] })).toThrow(expect.objectContaining({ code: 'CLOSED' }));
  });
});

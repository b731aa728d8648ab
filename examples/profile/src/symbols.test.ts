import { expect, it, describe } from 'vitest';
import { parseKallsymsTable } from './kernel-symbols.js';
import { parsePerfMap } from './perf-map.js';
import { findMapping, isFileMapping, parseProcMaps } from './proc-maps.js';
import { SymbolTable } from './symbol-table.js';
import { symbolizeKernel, symbolizeUser, type UserSymbolSources } from './symbolize.js';
import type { ElfSymbols } from './elf-symbols.js';
import { demangleAll } from './demangle.js';
import { describeNeeds, hasCommand } from '../../../test/support/env.js';

describe('SymbolTable', () => {
  const t = new SymbolTable([
    { start: 0x2000n, size: 0x10n, name: 'b' },
    { start: 0x1000n, size: 0x100n, name: 'a' },
    { start: 0x1010n, size: 0x8n, name: 'a_inner' },
    { start: 0x3000n, name: 'sizeless' },
    { start: 0x4000n, size: 0n, name: 'zero' },
  ]);
  it('finds the symbol covering an address, with the offset, whatever the input order', () => {
    expect(t.lookup(0x1000n)).toEqual({ name: 'a', offset: 0n });
    expect(t.lookup(0x10ffn)).toEqual({ name: 'a', offset: 0xffn });
    expect(t.lookup(0x200fn)).toEqual({ name: 'b', offset: 0xfn });
  });
  it('prefers the innermost (nearest) of nested symbols, and finds the outer one past the inner end', () => {
    expect(t.lookup(0x1014n)?.name).toBe('a_inner');
    expect(t.lookup(0x1018n)?.name).toBe('a');
  });
  it('has nothing before the first symbol nor in a gap after a sized one', () => {
    expect(t.lookup(0xfffn)).toBeUndefined();
    expect(t.lookup(0x1100n)).toBeUndefined();
    expect(t.lookup(0x2010n)).toBeUndefined();
  });
  it('runs a sizeless (or zero-size) symbol up to the next start', () => {
    expect(t.lookup(0x3fffn)).toEqual({ name: 'sizeless', offset: 0xfffn });
    expect(t.lookup(0x5000n)?.name).toBe('zero');
  });
  it('an empty table names nothing', () => {
    expect(new SymbolTable([]).lookup(1n)).toBeUndefined();
  });
});

const MAPS = `00400000-00401000 r--p 00000000 08:01 1234                               /usr/bin/node
00401000-02000000 r-xp 00001000 08:01 1234                               /usr/bin/node
0b4c4000-0b4e5000 rw-p 00000000 00:00 0                                  [heap]
7f1c2a000000-7f1c2a040000 rwxp 00000000 00:00 0 
7f1c2b228000-7f1c2b3b0000 r-xp 00028000 08:01 5678                       /usr/lib/x86_64-linux-gnu/libc.so.6
7f1c2c000000-7f1c2c001000 r-xp 00000000 08:01 999                        /tmp/gone (deleted)
7ffd2d3e1000-7ffd2d3e3000 r-xp 00000000 00:00 0                          [vdso]
not a line
`;

describe('parseProcMaps', () => {
  const maps = parseProcMaps(MAPS);
  it('reads range, permissions, offset, device, inode and path of every line, sorted', () => {
    expect(maps).toHaveLength(7);
    expect(maps[1]).toEqual({ start: 0x401000n, end: 0x2000000n, perms: 'r-xp', offset: 0x1000n, dev: '08:01', inode: 1234, path: '/usr/bin/node' });
    expect(maps[3]!.path).toBe('');
    expect(maps[5]!.path).toBe('/tmp/gone (deleted)');
  });
  it('finds the mapping of an address (end exclusive), and none between mappings', () => {
    expect(findMapping(maps, 0x7f1c2b228000n)?.path).toContain('libc.so.6');
    expect(findMapping(maps, 0x7f1c2b3affffn)?.path).toContain('libc.so.6');
    expect(findMapping(maps, 0x7f1c2b3b0000n)).toBeUndefined();
    expect(findMapping(maps, 0x10n)).toBeUndefined();
  });
  it('tells file mappings from anonymous and pseudo ones', () => {
    expect(maps.map(isFileMapping)).toEqual([true, true, false, false, true, true, false]);
  });
});

describe('parsePerfMap', () => {
  it("names JIT code by node --perf-basic-prof's lines; a later line wins where code was replaced", () => {
    const t = parsePerfMap(
      [
        '18c4000 300 Builtin:DeoptimizationEntry_Eager',
        '7fcc20006080 288 JS:*hotSpinner /tmp/hot.js:1:20',
        'garbage',
        '7fcc20006080 100 JS:*newer /tmp/hot.js:9:1',
        '',
      ].join('\n'),
    );
    expect(t.size).toBe(3);
    expect(t.lookup(0x18c42ffn)?.name).toBe('Builtin:DeoptimizationEntry_Eager');
    expect(t.lookup(0x18c4300n)).toBeUndefined();
    expect(t.lookup(0x7fcc20006090n)?.name).toBe('JS:*newer /tmp/hot.js:9:1');
    // Past the newer, shorter code: the older entry still covers it.
    expect(t.lookup(0x7fcc20006200n)?.name).toBe('JS:*hotSpinner /tmp/hot.js:1:20');
  });
});

describe('parseKallsymsTable', () => {
  const text = [
    'ffffffff81000000 T _stext',
    'ffffffff81001000 t do_one',
    'ffffffff81002000 D some_data',
    'ffffffff81003000 T do_two',
    'ffffffffc0001000 t nf_hook_thing\t[nf_tables]',
    '0000000000000000 T hidden',
  ].join('\n');
  it('keeps text symbols only, sizeless up to the next, with module names', () => {
    const t = parseKallsymsTable(text);
    expect(t.size).toBe(4);
    expect(t.lookup(0xffffffff81001234n)?.name).toBe('do_one');
    // some_data is not text: do_one runs on to do_two.
    expect(t.lookup(0xffffffff81002800n)?.name).toBe('do_one');
    expect(t.lookup(0xffffffffc0001010n)?.name).toBe('nf_hook_thing [nf_tables]');
  });
  it('drops the zero addresses kptr_restrict shows', () => {
    expect(parseKallsymsTable('0000000000000000 T a\n0000000000000000 T b\n').size).toBe(0);
  });
});

describe('symbolizeUser and symbolizeKernel', () => {
  // A PIE library mapped at 0x7f0000001000 from file offset 0x1000, whose text segment has vaddr = offset + 0x200000.
  const elf: ElfSymbols = {
    segments: [{ offset: 0x1000n, vaddr: 0x201000n, filesz: 0x1000n }],
    symbols: new SymbolTable([
      { start: 0x201100n, size: 0x40n, name: 'libfn' },
      { start: 0x201140n, size: 0x40n, name: 'next_fn' },
    ]),
  };
  const sources: UserSymbolSources = {
    mappings: parseProcMaps(
      ['7f0000001000-7f0000002000 r-xp 00001000 08:01 7 /usr/lib/libx.so', '7f0000010000-7f0000020000 rwxp 00000000 00:00 0', ''].join('\n'),
    ),
    perfMap: parsePerfMap('7f0000010100 80 JS:*hot /app.js:1:1\n'),
    elf: (m) => (m.path === '/usr/lib/libx.so' ? elf : undefined),
  };
  it('translates an address through the mapping offset and the load segment to the symbol', () => {
    expect(symbolizeUser(0x7f0000001110n, false, sources)).toEqual({ name: 'libfn', kind: 'user', module: 'libx.so', address: 0x7f0000001110n });
  });
  it('looks up a return address one byte earlier (a call at the end of a function)', () => {
    expect(symbolizeUser(0x7f0000001140n, false, sources).name).toBe('next_fn');
    expect(symbolizeUser(0x7f0000001140n, true, sources).name).toBe('libfn');
  });
  it('names JIT code from the perf map', () => {
    expect(symbolizeUser(0x7f0000010120n, false, sources)).toMatchObject({ name: 'JS:*hot /app.js:1:1', kind: 'jit' });
  });
  it('calls what nothing names [unknown], with its module', () => {
    expect(symbolizeUser(0x7f0000001800n, false, sources)).toMatchObject({ name: '[unknown] (libx.so)', kind: 'unknown', module: 'libx.so' });
    expect(symbolizeUser(0x7f0000010400n, false, sources)).toMatchObject({ name: '[unknown] ([anon])', kind: 'unknown' });
    expect(symbolizeUser(0x1n, false, sources)).toMatchObject({ name: '[unknown] ([unmapped])', kind: 'unknown' });
  });
  it('names kernel frames through kallsyms, with their module', () => {
    const k = parseKallsymsTable('ffffffff81000000 T schedule\nffffffffc0000000 t x_fn\t[xmod]\n');
    expect(symbolizeKernel(0xffffffff81000010n, k)).toMatchObject({ name: 'schedule', kind: 'kernel', module: 'vmlinux' });
    expect(symbolizeKernel(0xffffffffc0000010n, k)).toMatchObject({ name: 'x_fn [xmod]', module: 'xmod' });
    expect(symbolizeKernel(0x10n, k)).toMatchObject({ name: '[unknown] (kernel)', kind: 'unknown' });
    expect(symbolizeKernel(0xffffffff81000010n, undefined).kind).toBe('unknown');
  });
});

describeNeeds([hasCommand('c++filt')], 'demangleAll', () => {
  it('demangles C++ names through c++filt and leaves the others alone, in order', () => {
    expect(demangleAll(['main', '_ZN4node5StartEiPPc', 'JS:*f a.js:1', '_ZN4node5StartEiPPc'])).toEqual([
      'main',
      'node::Start(int, char**)',
      'JS:*f a.js:1',
      'node::Start(int, char**)',
    ]);
    expect(demangleAll([])).toEqual([]);
  });
});

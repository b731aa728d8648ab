import { describe, expect, it } from 'vitest';
import { BtfBuilder } from '../testing/btf-builder.js';
import { Btf } from './btf.js';
import { btfCTagNames, formatBtfC } from './format-c.js';

const body = (b: BtfBuilder) => {
  const text = formatBtfC(Btf.parse(b.build()), { preserveAccessIndex: false, guard: 'G' });
  return text
    .replace(/^#ifndef G\n#define G\n\n/, '')
    .replace(/#endif \/\* G \*\/\n$/, '')
    .trim();
};

describe('formatBtfC', () => {
  it('forward-declares, then defines in dependency order, with bit-fields', () => {
    const b = new BtfBuilder();
    const int = b.int('int', 4, { signed: true });
    const uint = b.int('unsigned int', 4);
    const next = b.ref('ptr', 4); // struct node, defined next: a self-reference
    const node = b.composite('struct', 'node', 16, [
      { name: 'value', type: int, bitOffset: 0 },
      { name: 'flags', type: uint, bitOffset: 32, bitfieldSize: 3 },
      { name: 'next', type: next, bitOffset: 64 },
    ]);
    expect(node).toBe(4);
    const text = body(b);
    expect(text).toContain('struct node;');
    expect(text).toContain('struct node {\n\tint value;\n\tunsigned int flags: 3;\n\tstruct node *next;\n};');
  });

  it('prints function pointers as C: no prototype as (void), a trailing void as ..., as libbpf does', () => {
    const b = new BtfBuilder();
    const int = b.int('int', 4, { signed: true });
    const unprototyped = b.ref('ptr', b.funcProto(int, [['', 0]]));
    const none = b.ref('ptr', b.funcProto(int, []));
    const variadic = b.ref(
      'ptr',
      b.funcProto(int, [
        ['fmt', int],
        ['', 0],
      ]),
    );
    b.composite('struct', 'ops', 24, [
      { name: 'f', type: unprototyped, bitOffset: 0 },
      { name: 'g', type: none, bitOffset: 64 },
      { name: 'h', type: variadic, bitOffset: 128 },
    ]);
    const text = body(b);
    expect(text).toContain('int (*f)(void);');
    expect(text).toContain('int (*g)(void);');
    expect(text).toContain('int (*h)(int, ...);');
  });

  it('packs a struct whose offsets natural alignment cannot give, and pads explicitly', () => {
    const b = new BtfBuilder();
    const u8 = b.int('unsigned char', 1);
    const u32 = b.int('unsigned int', 4);
    b.composite('struct', 'wire', 5, [
      { name: 'kind', type: u8, bitOffset: 0 },
      { name: 'len', type: u32, bitOffset: 8 },
    ]);
    b.composite('struct', 'gap', 16, [
      { name: 'a', type: u32, bitOffset: 0 },
      { name: 'b', type: u32, bitOffset: 64 },
    ]);
    const text = body(b);
    expect(text).toContain('struct wire {\n\tunsigned char kind;\n\tunsigned int len;\n} __attribute__((packed));');
    expect(text).toContain('struct gap {\n\tunsigned int a;\n\tint: 32;\n\tunsigned int b;\n\tint: 32;\n};');
  });

  it('pads with unnamed bit-fields as bpftool does, and a gap no real type has with one array', () => {
    const b = new BtfBuilder();
    const u32 = b.int('unsigned int', 4);
    // A cacheline-aligned member: 60 bytes of padding before it.
    b.composite('struct', 'aligned', 128, [
      { name: 'a', type: u32, bitOffset: 0 },
      { name: 'b', type: u32, bitOffset: 64 * 8 },
    ]);
    // Hostile: 2 GiB of nothing after one member (a text of `long: 64;` lines would be gigabytes).
    b.composite('struct', 'huge', 0x7fff_fff0, [{ name: 'a', type: u32, bitOffset: 0 }]);
    const text = body(b);
    const aligned = /struct aligned \{[^}]*\}/.exec(text)![0];
    expect(aligned).not.toContain('__pad_');
    expect(aligned.match(/long: 64;/g)).toHaveLength(7 + 7);
    expect(aligned).toContain('\tint: 32;\n\tlong: 64;');
    const huge = /struct huge \{[^}]*\}/.exec(text)![0];
    expect(huge.length).toBeLessThan(200);
    expect(huge).toMatch(/unsigned char __pad_\d+_0\[2147483628\];/);
  });

  it('inlines anonymous unions, spells function pointers and typedefs', () => {
    const b = new BtfBuilder();
    const int = b.int('int', 4, { signed: true });
    const char = b.int('char', 1, { char: true });
    const u = b.composite('union', '', 4, [
      { name: 'i', type: int, bitOffset: 0 },
      { name: 'c', type: char, bitOffset: 0 },
    ]);
    const charp = b.ref('ptr', char);
    const proto = b.funcProto(int, [
      ['', int],
      ['', charp],
    ]);
    const fnp = b.ref('ptr', proto);
    const cb = b.ref('typedef', fnp, 'callback_t');
    b.composite('struct', 'ops', 16, [
      { name: '', type: u, bitOffset: 0 },
      { name: 'cb', type: cb, bitOffset: 64 },
    ]);
    const text = body(b);
    expect(text).toContain('typedef int (*callback_t)(int, char *);');
    expect(text).toContain('struct ops {\n\tunion {\n\t\tint i;\n\t\tchar c;\n\t};\n\tcallback_t cb;\n};');
    expect(text.indexOf('typedef int (*callback_t)')).toBeLessThan(text.indexOf('struct ops {'));
  });

  it('declares enums, renames clashes libbpf-style, and keeps CO-RE pragmas', () => {
    const b = new BtfBuilder();
    const int = b.int('int', 4, { signed: true });
    b.enum('mode', 4, [
      ['MODE_A', 0],
      ['MODE_B', 7],
    ]);
    b.enum('', 4, [['ANON_X', 1]]);
    b.composite('struct', 'dup', 4, [{ name: 'a', type: int, bitOffset: 0 }]);
    b.composite('struct', 'dup', 8, [
      { name: 'a', type: int, bitOffset: 0 },
      { name: 'b', type: int, bitOffset: 32 },
    ]);
    b.enum64('big', [['HUGE', 1n << 40n]]);
    const btf = Btf.parse(b.build());
    const text = formatBtfC(btf);
    expect(text).toContain('enum mode {\n\tMODE_A = 0,\n\tMODE_B = 7,\n};');
    expect(text).toContain('enum {\n\tANON_X = 1,\n};');
    expect(text).toContain('struct dup___2 {');
    expect(text).toContain('HUGE = 1099511627776ULL,');
    expect(text).toMatch(/^#ifndef __VMLINUX_H__\n#define __VMLINUX_H__\n/);
    expect(text).toContain('#pragma clang attribute push (__attribute__((preserve_access_index)), apply_to = record)');
    expect(text.trimEnd().endsWith('#endif /* __VMLINUX_H__ */')).toBe(true);
    expect([...btfCTagNames(btf).values()]).toEqual(['mode', 'dup', 'dup___2', 'big']);
  });
});

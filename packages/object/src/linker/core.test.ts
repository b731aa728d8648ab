import { describe, expect, it } from 'vitest';
import { Btf } from '../btf/btf.js';
import { BtfBuilder } from '../testing/btf-builder.js';
import { applyCoreRelos } from './core-apply.js';
import { calculateCoreRelos } from './core-calculate.js';
import { asm } from '../asm/builders.js';
import { encodeInstructions } from '../asm/encode.js';
import { decodeInstructions } from '../asm/decode.js';

/** Local: what the program was compiled against. struct task___local { int pid; int tgid; u64 flags; } */
function local() {
  const b = new BtfBuilder();
  const int = b.int('int', 4, { signed: true }); // 1
  const u64 = b.int('long long unsigned int', 8); // 2
  const task = b.composite('struct', 'task___local', 16, [
    { name: 'pid', type: int, bitOffset: 0 },
    { name: 'tgid', type: int, bitOffset: 32 },
    { name: 'flags', type: u64, bitOffset: 64 },
  ]); // 3
  const mode = b.enum('mode', 4, [
    ['MODE_A', 0],
    ['MODE_B', 1],
  ]); // 4
  const gone = b.composite('struct', 'gone', 4, [{ name: 'x', type: int, bitOffset: 0 }]); // 5
  return { btf: Btf.parse(b.build()), task, mode, gone };
}

/** Target: the "kernel": fields moved, one inside an anonymous union, the enum renumbered, `gone` absent. */
function target() {
  const b = new BtfBuilder();
  const int = b.int('int', 4, { signed: true }); // 1
  const u64 = b.int('long long unsigned int', 8); // 2
  const u = b.composite('union', '', 8, [{ name: 'flags', type: u64, bitOffset: 0 }]); // 3
  b.composite('struct', 'task', 32, [
    { name: 'state', type: u64, bitOffset: 0 },
    { name: '', type: u, bitOffset: 64 },
    { name: 'tgid', type: int, bitOffset: 128 },
    { name: 'pid', type: int, bitOffset: 160 },
  ]); // 4
  b.enum('mode', 4, [
    ['MODE_B', 7],
    ['MODE_A', 9],
  ]); // 5
  return Btf.parse(b.build());
}

describe('CO-RE relocations against a different "kernel"', () => {
  const l = local();
  const t = target();
  const relo = (kindName: string, typeId: number, accessStr: string) => ({ insn: 0, typeId, accessStr, kindName });

  it('field offsets follow moved fields, through anonymous unions, ignoring ___flavors', () => {
    const [pid, tgid, flags] = calculateCoreRelos(l.btf, t, [
      relo('field_byte_offset', l.task, '0:0'),
      relo('field_byte_offset', l.task, '0:1'),
      relo('field_byte_offset', l.task, '0:2'),
    ]);
    expect(pid).toMatchObject({ value: 20, original: 0 });
    expect(tgid).toMatchObject({ value: 16, original: 4 });
    expect(flags).toMatchObject({ value: 8, original: 8 });
  });

  it('sizes, existence, signedness; missing types and fields', () => {
    const r = calculateCoreRelos(l.btf, t, [
      relo('field_byte_size', l.task, '0:2'),
      relo('field_exists', l.task, '0:1'),
      relo('field_signed', l.task, '0:0'),
      relo('type_exists', l.task, '0'),
      relo('type_size', l.task, '0'),
      relo('type_exists', l.gone, '0'),
      relo('field_exists', l.gone, '0:0'),
      relo('field_byte_offset', l.gone, '0:0'),
    ]);
    expect(r.map((x) => ('value' in x ? x.value : 'poison'))).toEqual([8, 1, 1, 1, 32, 0, 0, 'poison']);
  });

  it('enum values are looked up by name in the target', () => {
    const r = calculateCoreRelos(l.btf, t, [relo('enumval_value', l.mode, '1'), relo('enumval_exists', l.mode, '0')]);
    expect(r).toMatchObject([{ value: 7n, original: 1n }, { value: 1 }]);
  });

  it('patches offsets, immediates and ld_imm64, checks what it replaces, and poisons what cannot be relocated', () => {
    const insns = encodeInstructions([asm.ldxMem(4, 0, 1, 4), asm.alu64Imm('add', 1, 4), asm.ldImm64(2, 1n), asm.exit()], 'little');
    const results = calculateCoreRelos(l.btf, t, [
      { insn: 0, typeId: l.task, accessStr: '0:1', kindName: 'field_byte_offset' },
      { insn: 1, typeId: l.task, accessStr: '0:1', kindName: 'field_byte_offset' },
      { insn: 2, typeId: l.mode, accessStr: '1', kindName: 'enumval_value' },
      { insn: 4, typeId: l.gone, accessStr: '0:0', kindName: 'field_byte_offset' },
    ]);
    const out = decodeInstructions(applyCoreRelos(insns, results), 'little');
    expect(out[0]).toMatchObject({ opcode: 0x61, offset: 16 });
    expect(out[1]).toMatchObject({ opcode: 0x07, imm: 16 });
    expect(out[2]).toMatchObject({ opcode: 0x18, imm: 7 });
    expect(out[3]).toMatchObject({ opcode: 0x85, imm: 0xbad2310 });
    const wrong = [{ insn: 0, kind: 'field_byte_offset', value: 16, original: 99, validate: true }] as const;
    expect(() => applyCoreRelos(insns, wrong)).toThrow(/offset 4 is not the expected 99/);
  });
});

describe('CO-RE bit-fields and resized fields', () => {
  // Local: struct s { u32 a; u32 lo : 3; u32 bit : 1; s32 n; u16 w; }   (12 bytes)
  function localBtf() {
    return { btf: Btf.parse(localBtfBytes('little')), s: 4 };
  }
  function localBtfBytes(order: 'little' | 'big') {
    const b = new BtfBuilder();
    const u32 = b.int('unsigned int', 4); // 1
    const s32 = b.int('int', 4, { signed: true }); // 2
    const u16 = b.int('short unsigned int', 2); // 3
    const s = b.composite('struct', 's', 12, [
      { name: 'a', type: u32, bitOffset: 0 },
      { name: 'lo', type: u32, bitOffset: 32, bitfieldSize: 3 },
      { name: 'bit', type: u32, bitOffset: 35, bitfieldSize: 1 },
      { name: 'n', type: s32, bitOffset: 64 },
      { name: 'w', type: u16, bitOffset: 80 },
    ]);
    if (s !== 4) throw new Error('type ids moved');
    return b.build(order);
  }
  // Target: `bit` moved to bit 70 of a u64 storage unit; `n` became s64; `w` became u64.
  function targetBtf() {
    const b = new BtfBuilder();
    const u64 = b.int('long long unsigned int', 8); // 1
    const s64 = b.int('long long int', 8, { signed: true }); // 2
    b.composite('struct', 's', 32, [
      { name: 'a', type: u64, bitOffset: 0 },
      { name: 'bit', type: u64, bitOffset: 70, bitfieldSize: 1 },
      { name: 'n', type: s64, bitOffset: 128 },
      { name: 'w', type: u64, bitOffset: 192 },
    ]);
    return Btf.parse(b.build());
  }
  const l = localBtf();
  const t = targetBtf();
  const relo = (kindName: string, accessStr: string, insn = 0) => ({ insn, typeId: l.s, accessStr, kindName });

  it('computes byte offset, byte size and shifts of a bit-field as libbpf does, without validating the immediate', () => {
    const r = calculateCoreRelos(l.btf, t, [
      relo('field_byte_offset', '0:2'),
      relo('field_byte_size', '0:2'),
      relo('field_lshift_u64', '0:2'),
      relo('field_rshift_u64', '0:2'),
    ]);
    // Locally: bit 35 in the u32 at byte 4: lshift 64-(35+1-32)=60, rshift 63.
    // Target: bit 70 in the u64 at byte 8: lshift 64-(70+1-64)=57.
    expect(r).toMatchObject([
      { value: 8, original: 4, validate: false },
      { value: 8, original: 4, validate: false },
      { value: 57, original: 60, validate: false },
      { value: 63, original: 63, validate: false },
    ]);
    // Big-endian: the field's first bit is counted from the top of the storage unit.
    const bigLocal = Btf.parse(localBtfBytes('big'));
    const [lshiftBig] = calculateCoreRelos(bigLocal, bigLocal, [relo('field_lshift_u64', '0:2')]);
    expect(lshiftBig).toMatchObject({ value: 32 + 3 });
    // clang may have chosen another load unit than libbpf's formula: the immediate is not checked.
    const insns = encodeInstructions([asm.alu64Imm('add', 1, 0), asm.exit()], 'little');
    expect(decodeInstructions(applyCoreRelos(insns, [r[0]!]), 'little')[0]).toMatchObject({ imm: 8 });
  });

  it('widens the load of an unsigned field that grew, poisons one whose sign would be lost', () => {
    const insns = encodeInstructions([asm.ldxMem(2, 0, 1, 10), asm.ldxMem(4, 0, 1, 8), asm.exit()], 'little');
    const r = calculateCoreRelos(l.btf, t, [relo('field_byte_offset', '0:4', 0), relo('field_byte_offset', '0:3', 1)]);
    expect(r[0]).toMatchObject({ value: 24, memSize: { original: 2, value: 8, adjustable: true } });
    expect(r[1]).toMatchObject({ value: 16, memSize: { original: 4, value: 8, adjustable: false } });
    const out = decodeInstructions(applyCoreRelos(insns, r), 'little');
    expect(out[0]).toMatchObject({ opcode: 0x79, offset: 24 }); // ldxdw
    expect(out[1]).toMatchObject({ opcode: 0x85, imm: 0xbad2310 });
    // An access narrower than the field it claims to read is refused, not silently widened.
    const narrow = encodeInstructions([asm.ldxMem(1, 0, 1, 10), asm.exit()], 'little');
    expect(() => applyCoreRelos(narrow, [r[0]!])).toThrow(/a 1-byte access to a 2-byte field/);
  });

  it('poisons both slots of an ld_imm64', () => {
    const insns = encodeInstructions([asm.ldImm64(1, 5n), asm.exit()], 'little');
    const out = decodeInstructions(applyCoreRelos(insns, [{ insn: 0, kind: 'enumval_value', poison: 'gone' }]), 'little');
    expect(out[0]).toMatchObject({ opcode: 0x85, imm: 0xbad2310 });
    expect(out[1]).toMatchObject({ opcode: 0x85, imm: 0xbad2310 });
  });
});

describe('CO-RE candidates beyond vmlinux, and disagreement', () => {
  const l = local();
  it('searches module BTF (split on vmlinux) when vmlinux has no candidate', () => {
    const vmlinux = target();
    const mod = new BtfBuilder({ types: vmlinux.length, strLen: vmlinux.stringsEnd });
    mod.composite('struct', 'gone', 8, [{ name: 'x', type: 1, bitOffset: 32 }]);
    const module = Btf.parse(mod.build(), { base: vmlinux });
    const [withModules] = calculateCoreRelos(l.btf, vmlinux, [{ insn: 0, typeId: l.gone, accessStr: '0:0', kindName: 'field_byte_offset' }], {
      modules: () => [module],
    });
    expect(withModules).toMatchObject({ value: 4 });
    const [without] = calculateCoreRelos(l.btf, vmlinux, [{ insn: 0, typeId: l.gone, accessStr: '0:0', kindName: 'field_byte_offset' }]);
    expect(without).toMatchObject({ poison: expect.any(String) });
  });

  it('refuses candidates that disagree', () => {
    const b = new BtfBuilder();
    const int = b.int('int', 4, { signed: true });
    b.composite('struct', 'task', 8, [{ name: 'pid', type: int, bitOffset: 0 }]);
    b.composite('struct', 'task', 8, [{ name: 'pid', type: int, bitOffset: 32 }]);
    expect(() => calculateCoreRelos(l.btf, Btf.parse(b.build()), [{ insn: 0, typeId: l.task, accessStr: '0:0', kindName: 'field_byte_offset' }])).toThrow(
      /candidates disagree \(0, 4\)/,
    );
  });
});

describe('CO-RE type relations: compatible (exists/size/id) and matches', () => {
  // Local types the program was built with.
  function localTypes() {
    const b = new BtfBuilder();
    const int = b.int('int', 4, { signed: true }); // 1
    const uint = b.int('unsigned int', 4); // 2
    const node = b.composite('struct', 'node', 8, [{ name: 'v', type: int, bitOffset: 0 }]); // 3
    const nodePtr = b.ref('ptr', node); // 4
    const pair = b.composite('struct', 'pair___v1', 16, [
      { name: 'a', type: int, bitOffset: 0 },
      { name: 'b', type: uint, bitOffset: 32 },
      { name: 'next', type: nodePtr, bitOffset: 64 },
    ]); // 5
    const color = b.enum('color', 4, [
      ['RED', 0],
      ['GREEN', 1],
    ]); // 6
    const arr = b.array(int, int, 4); // 7
    const holder = b.composite('struct', 'holder', 16, [{ name: 'xs', type: arr, bitOffset: 0 }]); // 8
    const anon = b.composite('struct', '', 4, [{ name: 'x', type: int, bitOffset: 0 }]); // 9
    const anonT = b.ref('typedef', anon, 'anon_t'); // 10
    return { btf: Btf.parse(b.build()), pair, color, holder, anonT, node };
  }
  // A "kernel": pair grew a member and points to a forward-declared node;
  // `pair` has a twin with a signed `b`; the enum grew; the array is longer.
  function targetTypes(variant: 'same' | 'signed' | 'wide-enum' | 'long-array') {
    const b = new BtfBuilder();
    const int = b.int('int', 4, { signed: true }); // 1
    const uint = b.int('unsigned int', 4); // 2
    const fwd = b.fwd('node'); // 3
    const fwdPtr = b.ref('ptr', fwd); // 4
    b.composite('struct', 'pair', 24, [
      { name: 'next', type: fwdPtr, bitOffset: 0 },
      { name: 'b', type: variant === 'signed' ? int : uint, bitOffset: 64 },
      { name: 'a', type: int, bitOffset: 96 },
      { name: 'extra', type: int, bitOffset: 128 },
    ]); // 5
    b.enum('color', variant === 'wide-enum' ? 8 : 4, [
      ['BLUE', 5],
      ['GREEN', 7],
      ['RED', 9],
    ]); // 6
    const arr = b.array(int, int, variant === 'long-array' ? 8 : 4); // 7
    b.composite('struct', 'holder', 32, [{ name: 'xs', type: arr, bitOffset: 0 }]); // 8
    const anon = b.composite('struct', '', 8, [
      { name: 'y', type: int, bitOffset: 0 },
      { name: 'x', type: int, bitOffset: 32 },
    ]); // 9
    b.ref('typedef', anon, 'anon_t'); // 10
    return Btf.parse(b.build());
  }
  const l = localTypes();
  const ask = (kindName: string, typeId: number, target: Btf, accessStr = '0') =>
    calculateCoreRelos(l.btf, target, [{ insn: 0, typeId, accessStr, kindName }])[0]!;
  const value = (r: ReturnType<typeof ask>) => ('value' in r ? r.value : 'poison');

  it('type_matches: members by name and type, pointers to forward declarations, grown enums; not signedness or lengths', () => {
    expect(value(ask('type_matches', l.pair, targetTypes('same')))).toBe(1);
    expect(value(ask('type_matches', l.color, targetTypes('same')))).toBe(1);
    expect(value(ask('type_matches', l.holder, targetTypes('same')))).toBe(1);
    expect(value(ask('type_matches', l.pair, targetTypes('signed')))).toBe(0);
    expect(value(ask('type_matches', l.color, targetTypes('wide-enum')))).toBe(0);
    expect(value(ask('type_matches', l.holder, targetTypes('long-array')))).toBe(0);
  });

  it('type_exists stays lenient where type_matches is strict (as libbpf)', () => {
    expect(value(ask('type_exists', l.pair, targetTypes('signed')))).toBe(1);
    expect(value(ask('type_exists', l.color, targetTypes('wide-enum')))).toBe(1);
    expect(value(ask('type_size', l.holder, targetTypes('long-array')))).toBe(32);
    expect(value(ask('type_id_target', l.pair, targetTypes('same')))).toBe(5);
  });

  it('a typedef of an anonymous struct is found by the typedef name, for type and field relocations', () => {
    const t = targetTypes('same');
    expect(value(ask('type_exists', l.anonT, t))).toBe(1);
    expect(value(ask('type_size', l.anonT, t))).toBe(8);
    expect(ask('field_byte_offset', l.anonT, t, '0:0')).toMatchObject({ value: 4, original: 0 });
  });
});

describe('CO-RE as libbpf computes it at the edges', () => {
  /** Local: enum e32 { NEG = -5 (unsigned encoding), POS = 1 }, enum64 big { HUGE = 2^63 + 5 }, struct only_here, struct dup. */
  function pair() {
    const lb = new BtfBuilder();
    const int = lb.int('int', 4, { signed: true });
    const e32 = lb.enum('e32', 4, [
      ['NEG', 0xfffffffb],
      ['POS', 1],
    ]);
    const big = lb.enum64('big', [['HUGE', 1n]]);
    const onlyHere = lb.composite('struct', 'only_here', 4, [{ name: 'x', type: int, bitOffset: 0 }]);
    const dup = lb.composite('struct', 'dup', 4, [{ name: 'x', type: int, bitOffset: 0 }]);
    const tb = new BtfBuilder();
    const tint = tb.int('int', 4, { signed: true });
    tb.enum(
      'e32',
      4,
      [
        ['POS', 2],
        ['NEG', -5],
      ],
      true,
    );
    tb.enum64('big', [['HUGE', (1n << 63n) + 5n]]);
    // Two flavours of dup with different sizes: libbpf reports the ambiguity rather than pick one.
    tb.composite('struct', 'dup___v1', 4, [{ name: 'x', type: tint, bitOffset: 0 }]);
    tb.composite('struct', 'dup___v2', 8, [
      { name: 'y', type: tint, bitOffset: 0 },
      { name: 'x', type: tint, bitOffset: 32 },
    ]);
    return { local: Btf.parse(lb.build()), target: Btf.parse(tb.build()), e32, big, onlyHere, dup };
  }
  const p = pair();
  const ask = (kindName: string, typeId: number, accessStr = '0') => calculateCoreRelos(p.local, p.target, [{ insn: 0, typeId, accessStr, kindName }])[0]!;

  it('a 64-bit enum value keeps all its bits, into both halves of ld_imm64', () => {
    const r = ask('enumval_value', p.big);
    expect(r).toMatchObject({ value: (1n << 63n) + 5n, original: 1n });
    const out = decodeInstructions(applyCoreRelos(encodeInstructions([asm.ldImm64(1, 1n), asm.exit()], 'little'), [r]), 'little');
    expect(out[0]!.imm64).toBe((1n << 63n) + 5n);
  });

  it('a negative 32-bit enum value is sign-extended into ld_imm64, as libbpf does', () => {
    const r = ask('enumval_value', p.e32, '0');
    expect(r).toMatchObject({ value: 0xfffffffffffffffbn, original: 0xfffffffffffffffbn });
    const insns = encodeInstructions([asm.ldImm64(1, 0xfffffffffffffffbn), asm.exit()], 'little');
    const out = decodeInstructions(applyCoreRelos(insns, [r]), 'little');
    expect(out[0]!.imm64).toBe(0xfffffffffffffffbn);
    // An ld_imm64 holding only the low half (zero-extended) is not what the object was compiled with.
    expect(() => applyCoreRelos(encodeInstructions([asm.ldImm64(1, 0xfffffffbn), asm.exit()], 'little'), [r])).toThrow(/not the expected/);
  });

  it('type-based relocations of a type the target lacks are 0, never poisoned', () => {
    for (const kind of ['type_id_target', 'type_size', 'type_exists', 'type_matches']) {
      expect(ask(kind, p.onlyHere)).toMatchObject({ value: 0 });
    }
  });

  it('flavoured target names are candidates too, so disagreeing ones are an error', () => {
    expect(() => ask('type_size', p.dup)).toThrow(/candidates disagree/);
    expect(() => ask('field_byte_offset', p.dup, '0:0')).toThrow(/candidates disagree/);
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ObjectParseError } from '../errors.js';
import { BtfBuilder } from '../testing/btf-builder.js';
import { Btf } from './btf.js';
import { formatBtfJson, formatBtfRaw } from './format-raw.js';

/** One of every kind, with the shapes clang and pahole emit. */
function everyKind(): BtfBuilder {
  const b = new BtfBuilder();
  const int = b.int('int', 4, { signed: true }); // 1
  const u8 = b.int('unsigned char', 1); // 2
  const ptr = b.ref('ptr', int); // 3
  const arr = b.array(u8, int, 16); // 4
  const s = b.composite('struct', 'sample', 24, [
    { name: 'a', type: int, bitOffset: 0 },
    { name: 'flags', type: int, bitOffset: 32, bitfieldSize: 3 },
    { name: 'p', type: ptr, bitOffset: 64 },
    { name: 'buf', type: arr, bitOffset: 128 },
  ]); // 5
  b.composite('union', '', 4, [{ name: 'x', type: int, bitOffset: 0 }]); // 6
  b.enum('color', 4, [
    ['RED', 0],
    ['BIG', 0xfffffffe],
  ]); // 7
  b.enum('delta', 4, [['NEG', -2]], true); // 8
  b.fwd('later'); // 9
  const td = b.ref('typedef', s, 'sample_t'); // 10
  b.ref('volatile', td); // 11
  const c = b.ref('const', 11); // 12
  b.ref('restrict', ptr); // 13
  const proto = b.funcProto(int, [
    ['ctx', ptr],
    ['', 0],
  ]); // 14
  b.func('handler', proto, 1); // 15
  const v = b.variable('counter', int, 1); // 16
  b.datasec('.data', 4, [{ type: v, offset: 0, size: 4 }]); // 17
  b.float('double', 8); // 18
  b.declTag('kfunc', 15, -1); // 19
  b.ref('type_tag', int, 'user'); // 20
  b.enum64(
    'wide',
    [
      ['HUGE', 1n << 40n],
      ['MINUS', -1n],
    ],
    true,
  ); // 21
  b.enum64('uwide', [['MAX', (1n << 64n) - 1n]]); // 22
  b.fwd('maybe', true); // 23
  void c;
  return b;
}

describe('Btf', () => {
  it('decodes every kind', () => {
    const btf = Btf.parse(everyKind().build());
    expect(btf.length).toBe(24);
    expect(btf.type(1)).toEqual({ kind: 'int', id: 1, name: 'int', size: 4, encoding: 1, signed: true, bitOffset: 0, bits: 32 });
    expect(btf.type(5)).toMatchObject({
      kind: 'struct',
      name: 'sample',
      size: 24,
      members: [
        { name: 'a', type: 1, bitOffset: 0, bitfieldSize: 0 },
        { name: 'flags', type: 1, bitOffset: 32, bitfieldSize: 3 },
        { name: 'p', type: 3, bitOffset: 64, bitfieldSize: 0 },
        { name: 'buf', type: 4, bitOffset: 128, bitfieldSize: 0 },
      ],
    });
    expect(btf.type(6)).toMatchObject({ kind: 'union', name: '' });
    expect(btf.type(7)).toMatchObject({
      kind: 'enum',
      signed: false,
      values: [
        { name: 'RED', value: 0 },
        { name: 'BIG', value: 0xfffffffe },
      ],
    });
    expect(btf.type(8)).toMatchObject({ kind: 'enum', signed: true, values: [{ name: 'NEG', value: -2 }] });
    expect(btf.type(9)).toMatchObject({ kind: 'fwd', fwdKind: 'struct' });
    expect(btf.type(23)).toMatchObject({ kind: 'fwd', fwdKind: 'union' });
    expect(btf.type(14)).toMatchObject({
      kind: 'func_proto',
      returnType: 1,
      params: [
        { name: 'ctx', type: 3 },
        { name: '', type: 0 },
      ],
    });
    expect(btf.type(15)).toMatchObject({ kind: 'func', type: 14, linkage: 1 });
    expect(btf.type(16)).toMatchObject({ kind: 'var', type: 1, linkage: 1 });
    expect(btf.type(17)).toMatchObject({ kind: 'datasec', name: '.data', vars: [{ type: 16, offset: 0, size: 4 }] });
    expect(btf.type(18)).toMatchObject({ kind: 'float', size: 8 });
    expect(btf.type(19)).toMatchObject({ kind: 'decl_tag', type: 15, componentIdx: -1 });
    expect(btf.type(20)).toMatchObject({ kind: 'type_tag', name: 'user', type: 1 });
    expect(btf.type(21)).toMatchObject({
      kind: 'enum64',
      signed: true,
      values: [
        { name: 'HUGE', value: 1n << 40n },
        { name: 'MINUS', value: -1n },
      ],
    });
    expect(btf.type(22)).toMatchObject({ kind: 'enum64', signed: false, values: [{ name: 'MAX', value: (1n << 64n) - 1n }] });
    expect(btf.type(0)).toMatchObject({ kind: 'void' });
  });

  it('decodes big-endian BTF to the same types', () => {
    const little = Btf.parse(everyKind().build('little'));
    const big = Btf.parse(everyKind().build('big'));
    expect(big.byteOrder).toBe('big');
    expect([...big.types()]).toEqual([...little.types()]);
    expect(formatBtfRaw(big)).toBe(formatBtfRaw(little));
  });

  it('types() yields what type(id) gives, keeping nothing itself, and what type(id) kept', () => {
    const btf = Btf.parse(everyKind().build());
    const first = [...btf.types()]; // nothing decoded yet: decoded as met
    const ids = first.map((t) => t.id);
    expect(ids).toEqual(Array.from({ length: btf.length - 1 }, (_, i) => i + 1));
    expect(btf.types().next().value).not.toBe(first[0]); // its own decodes are not kept
    expect(first).toEqual(ids.map((id) => btf.type(id)));
    const again = [...btf.types()];
    expect(again.every((t) => t === btf.type(t.id))).toBe(true); // once type() kept them, types() gives those objects
  });

  it('hands out its bytes as raw, or a copy made once when they are read-only', () => {
    const bytes = everyKind().build();
    const given = Btf.parse(bytes);
    expect(given.raw).toBe(bytes);
    const before = Uint8Array.from(bytes);
    const readOnly = Btf.parse(bytes, { readOnly: true });
    const raw = readOnly.raw;
    expect(raw).not.toBe(bytes);
    expect(raw).toEqual(bytes);
    expect(readOnly.raw).toBe(raw); // made once
    raw.fill(0xff); // the caller's copy: the Btf reads its own bytes
    expect(bytes).toEqual(before);
    expect([...readOnly.types()]).toEqual([...given.types()]);
  });

  it('dumps in bpftool raw format', () => {
    const lines = formatBtfRaw(Btf.parse(everyKind().build())).split('\n');
    expect(lines).toContain("[1] INT 'int' size=4 bits_offset=0 nr_bits=32 encoding=SIGNED");
    expect(lines).toContain("[2] INT 'unsigned char' size=1 bits_offset=0 nr_bits=8 encoding=(none)");
    expect(lines).toContain("[4] ARRAY '(anon)' type_id=2 index_type_id=1 nr_elems=16");
    expect(lines).toContain("\t'flags' type_id=1 bits_offset=32 bitfield_size=3");
    expect(lines).toContain("[7] ENUM 'color' encoding=UNSIGNED size=4 vlen=2");
    expect(lines).toContain("\t'BIG' val=4294967294");
    expect(lines).toContain("\t'NEG' val=-2");
    expect(lines).toContain("[9] FWD 'later' fwd_kind=struct");
    expect(lines).toContain("[14] FUNC_PROTO '(anon)' ret_type_id=1 vlen=2");
    expect(lines).toContain("\t'(anon)' type_id=0");
    expect(lines).toContain("[15] FUNC 'handler' type_id=14 linkage=global");
    expect(lines).toContain("[16] VAR 'counter' type_id=1, linkage=global");
    expect(lines).toContain("\ttype_id=16 offset=0 size=4 (VAR 'counter')");
    expect(lines).toContain("[18] FLOAT 'double' size=8");
    expect(lines).toContain("[19] DECL_TAG 'kfunc' type_id=15 component_idx=-1");
    expect(lines).toContain("[20] TYPE_TAG 'user' type_id=1");
    expect(lines).toContain("\t'MINUS' val=-1LL");
    expect(lines).toContain("\t'MAX' val=18446744073709551615ULL");
  });

  it('dumps JSON with exact 64-bit values', () => {
    const text = formatBtfJson(Btf.parse(everyKind().build()));
    expect(text).toContain('"val":18446744073709551615');
    const json = JSON.parse(text) as { types: { id: number; kind: string }[] };
    expect(json.types).toHaveLength(23);
    expect(json.types[4]).toMatchObject({ id: 5, kind: 'STRUCT', name: 'sample', size: 24, vlen: 4 });
  });

  it('finds types by name and kind', () => {
    const btf = Btf.parse(everyKind().build());
    expect(btf.findByName('sample', 'struct')?.id).toBe(5);
    expect(btf.findByName('sample', 'union')).toBeUndefined();
    expect(btf.findByName('sample_t')?.id).toBe(10);
    expect(btf.findByName('sampl')).toBeUndefined();
    expect(btf.findByName('samplex')).toBeUndefined();
    expect(btf.findByName('void')?.kind).toBe('void');
    expect(btf.findByName('')).toBeUndefined();
    expect(btf.findAllByName('int').map((t) => t.id)).toEqual([1]);
    expect(btf.kindOf(5)).toBe('struct');
  });

  it('resolves modifiers and computes sizes and alignment', () => {
    const btf = Btf.parse(everyKind().build());
    expect(btf.resolve(12)).toMatchObject({ kind: 'struct', id: 5 });
    expect(btf.sizeof(12)).toBe(24);
    expect(btf.sizeof(4)).toBe(16);
    expect(btf.sizeof(3)).toBe(8);
    expect(btf.sizeof(16)).toBe(4);
    expect(btf.alignof(5)).toBe(8);
    expect(btf.alignof(4)).toBe(1);
    expect(btf.members(10).map((m) => m.name)).toEqual(['a', 'flags', 'p', 'buf']);
    expect(btf.typeName(12)).toBe('const volatile sample_t');
    expect(btf.typeName(3)).toBe('int *');
    expect(() => btf.sizeof(15)).toThrow(ObjectParseError);
    expect(() => btf.type(99)).toThrow(expect.objectContaining({ code: 'BTF_NOT_FOUND' }));
  });

  it('treats a struct with a misaligned member as packed', () => {
    const b = new BtfBuilder();
    const u8 = b.int('u8', 1);
    const u32 = b.int('u32', 4);
    b.composite('struct', 'packed', 5, [
      { name: 'a', type: u8, bitOffset: 0 },
      { name: 'b', type: u32, bitOffset: 8 },
    ]);
    expect(Btf.parse(b.build()).alignof(3)).toBe(1);
  });

  it('parses split BTF on top of a base', () => {
    const baseBuilder = everyKind();
    const base = Btf.parse(baseBuilder.build());
    const split = new BtfBuilder({ types: base.length, strLen: baseBuilder.strLen });
    const id = split.composite('struct', 'module_thing', 8, [
      { name: 'a', type: 1, bitOffset: 0 },
      { name: 'p', type: 3, bitOffset: 32 },
    ]);
    expect(id).toBe(24);
    const btf = Btf.parse(split.build(), { base });
    expect(btf.firstTypeId).toBe(24);
    expect(btf.length).toBe(25);
    expect(btf.type(24)).toMatchObject({ name: 'module_thing', members: [{ name: 'a' }, { name: 'p' }] });
    expect(btf.type(5).name).toBe('sample');
    expect(btf.findByName('sample', 'struct')?.id).toBe(5);
    expect(btf.findByName('module_thing', 'struct')?.id).toBe(24);
    expect(formatBtfRaw(btf)).toBe("[24] STRUCT 'module_thing' size=8 vlen=2\n\t'a' type_id=1 bits_offset=0\n\t'p' type_id=3 bits_offset=32\n");
  });
});

describe('Btf rejects malformed input with typed errors', () => {
  const expectCode = (bytes: Uint8Array, code: string) => {
    let error: unknown;
    try {
      const btf = Btf.parse(bytes);
      for (const _ of btf.types()) void _;
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ObjectParseError);
    expect((error as ObjectParseError).code).toBe(code);
  };

  it('bad magic, short header, bad version', () => {
    const good = everyKind().build();
    expectCode(good.slice(0, 10), 'BTF_INVALID');
    const badMagic = good.slice();
    badMagic[0] = 0;
    expectCode(badMagic, 'BTF_INVALID');
    const badVersion = good.slice();
    badVersion[2] = 2;
    expectCode(badVersion, 'BTF_INVALID');
  });

  it('sections that run past the end', () => {
    const good = everyKind().build();
    expectCode(good.slice(0, good.length - 3), 'BTF_INVALID');
  });

  it('unknown kinds, records past the end, strings and references out of range', () => {
    const unknownKind = new BtfBuilder();
    unknownKind.raw('x', 25, 0, false, 0);
    expectCode(unknownKind.build(), 'BTF_INVALID');

    const pastEnd = new BtfBuilder();
    pastEnd.raw('s', 'struct', 5, false, 4, [0, 0, 0]);
    expectCode(pastEnd.build(), 'BTF_INVALID');

    const danglingRef = new BtfBuilder();
    danglingRef.ref('ptr', 7);
    expectCode(danglingRef.build(), 'BTF_INVALID');

    const danglingMember = new BtfBuilder();
    danglingMember.composite('struct', 's', 4, [{ name: 'a', type: 9, bitOffset: 0 }]);
    expectCode(danglingMember.build(), 'BTF_INVALID');

    const badName = new BtfBuilder();
    badName.int('int', 4);
    const bytes = badName.build();
    new DataView(bytes.buffer).setUint32(24, 9999, true);
    expectCode(bytes, 'BTF_INVALID');
  });

  it('a modifier cycle', () => {
    const b = new BtfBuilder();
    b.ref('typedef', 2, 'a');
    b.ref('const', 1);
    const btf = Btf.parse(b.build());
    expect(() => btf.resolve(1)).toThrow(expect.objectContaining({ code: 'BTF_INVALID' }));
    expect(() => btf.sizeof(1)).toThrow(expect.objectContaining({ code: 'BTF_INVALID' }));
  });

  it('any mutation gives a BTF or an ObjectParseError, never another exception', () => {
    const original = everyKind().build();
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(original.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }),
        fc.nat(original.length),
        (flips, cut) => {
          const bytes = original.slice(0, Math.max(cut, 1));
          for (const [at, v] of flips) if (at < bytes.length) bytes[at] = v;
          try {
            const btf = Btf.parse(bytes);
            for (const t of btf.types()) {
              if (t.kind !== 'void') btf.typeName(t.id);
            }
            formatBtfRaw(btf);
            formatBtfJson(btf);
          } catch (e) {
            if (!(e instanceof ObjectParseError)) throw e;
          }
        },
      ),
      { numRuns: 2000, seed: 42 },
    );
  });
});

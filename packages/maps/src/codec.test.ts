import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Btf, parseCollectionSpec } from '@tsbpf/object';
import { readFixture } from '@tsbpf/fixtures';
import { decode, encode, withWords, type Codec } from './codec.js';
import { CodecError } from './errors.js';
import { array, enumOf, struct } from './composite.js';
import { codecFromBtf } from './from-btf.js';
import { be16, be32, bool, cstring, f32, f64, i16, i32, i64, i8, ipv4, ipv6, u16, u32, u64, u8 } from './primitives.js';
import { BtfBuilder } from '../../object/src/testing/btf-builder.js';

describe('primitive codecs', () => {
  it('round-trip and refuse what does not fit', () => {
    expect(decode(u32, encode(u32, 0xdeadbeef))).toBe(0xdeadbeef);
    expect(decode(i32, encode(i32, -5))).toBe(-5);
    expect(decode(u64, encode(u64, 2n ** 64n - 1n))).toBe(2n ** 64n - 1n);
    expect(() => encode(u8, 256)).toThrow(CodecError);
    expect(() => encode(u32, 1.5)).toThrow(CodecError);
    expect(() => encode(u64, 2n ** 64n)).toThrow(CodecError);
    expect([...encode(be16, 8080)]).toEqual([0x1f, 0x90]);
    expect(decode(bool, encode(bool, true))).toBe(true);
    expect(decode(bool, encode(bool, 0 as unknown as boolean))).toBe(false); // a C bool's 0/1
    expect(() => encode(bool, 'no' as unknown as boolean)).toThrow(CodecError); // truthy, but not a boolean
    expect(decode(f64, encode(f64, 0.1))).toBe(0.1);
    expect(decode(f32, encode(f32, 0.5))).toBe(0.5);
    expect(() => encode(f32, '1' as unknown as number)).toThrow(/f32: 1 is not a number/);
  });

  it('strings, addresses', () => {
    expect(decode(cstring(8), encode(cstring(8), 'hello'))).toBe('hello');
    expect(() => encode(cstring(4), 'toolong')).toThrow(/needs 8 bytes/);
    expect([...encode(ipv4, '10.1.2.3')]).toEqual([10, 1, 2, 3]);
    expect(decode(ipv4, new Uint8Array([192, 168, 0, 1]))).toBe('192.168.0.1');
    expect(() => encode(ipv4, '300.1.1.1')).toThrow(CodecError);
    expect(decode(ipv6, encode(ipv6, 'fd00::1'))).toBe('fd00::1');
    expect(decode(ipv6, encode(ipv6, '2001:db8:0:0:1:0:0:1'))).toBe('2001:db8::1:0:0:1');
    expect(decode(ipv6, encode(ipv6, '::'))).toBe('::');
  });
});

describe('struct encoders skip zeroing only when members tile the struct', () => {
  it('writes every byte of a gapless struct and zeroes the padding of one with gaps, over garbage', () => {
    const dense = struct({ packets: u64, bytes: u64, ifindex: u32, flags: u32 }); // 24 bytes, no padding
    const padded = struct({ a: u32, b: u8, c: u16 }); // one padding byte after b
    for (const [codec, value, want] of [
      [dense, { packets: 1n, bytes: 2n, ifindex: 3, flags: 4 }, [1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0]],
      [padded, { a: 1, b: 2, c: 3 }, [1, 0, 0, 0, 2, 0, 3, 0]],
    ] as const) {
      const buf = new Uint8Array(codec.size).fill(0xff);
      (codec as ReturnType<typeof struct>).encode(value as never, new DataView(buf.buffer), 0);
      expect([...buf]).toEqual(want);
    }
  });
});

describe('struct decoders read numeric members in place', () => {
  it('decode every built-in numeric kind at any offset as its own codec does, from random bytes, with words or without', () => {
    // Packed: members at odd offsets. The generated decoder writes each
    // member's DataView read inline (no codec call); it must agree with
    // the member codec's decode byte for byte.
    const members = { a: u8, b: i8, c: u16, d: i16, e: u32, f: i32, g: be16, h: be32, i: u64, j: i64, k: f32, l: f64, m: bool };
    const packed = struct(members, { packed: true });
    const aligned = struct(members);
    fc.assert(
      fc.property(fc.uint8Array({ minLength: aligned.size + 16, maxLength: aligned.size + 16 }), fc.nat(15), (bytes, at) => {
        const view = new DataView(bytes.buffer);
        // The same bytes through a view with words attached, starting 8 bytes in: 64-bit
        // members come from the words where the struct sits 8-aligned (at 0 or 8), from the
        // DataView elsewhere.
        const worded = withWords(new DataView(bytes.buffer, 8));
        for (const codec of [packed, aligned]) {
          if (at + codec.size > bytes.length) continue;
          const got = codec.decode(view, at) as Record<string, unknown>;
          if (at >= 8) expect(codec.decode(worded, at - 8)).toEqual(got);
          let offset = at;
          for (const [name, member] of Object.entries(members) as [string, Codec<unknown>][]) {
            if (codec === aligned) offset = Math.ceil((offset - at) / member.align) * member.align + at;
            expect(Object.is(got[name], member.decode(view, offset)), `${codec.name}.${name}`).toBe(true);
            offset += member.size;
          }
        }
      }),
      { numRuns: 200 },
    );
  });
});

describe('a view with words', () => {
  it('still refuses a struct that does not fit in it, as the DataView does', () => {
    const s = struct({ a: u64, b: i64 });
    const view = withWords(new DataView(new ArrayBuffer(32), 8, 16)); // a window on the middle of the buffer
    s.encode({ a: 1n, b: -2n }, view, 0);
    expect(s.decode(view, 0)).toEqual({ a: 1n, b: -2n });
    expect(new BigInt64Array(view.buffer)[1]).toBe(1n); // written through the words, where the window starts
    expect(() => s.decode(view, 8)).toThrow(RangeError); // as the DataView: the struct runs past the window
    expect(() => s.encode({ a: 1n, b: 1n }, view, 8)).toThrow(RangeError);
    expect(() => s.decode(view, -8)).toThrow(RangeError);
  });

  it('a detached buffer throws as the DataView does; a resizable one gets no words and follows its length', () => {
    const s = struct({ a: u64, b: i64 }); // every member a word: nothing else would throw
    const buffer = new ArrayBuffer(16);
    const view = withWords(new DataView(buffer));
    s.encode({ a: 1n, b: -2n }, view, 0);
    expect(s.decode(view, 0)).toEqual({ a: 1n, b: -2n });
    structuredClone(buffer, { transfer: [buffer] }); // detaches it
    expect(() => s.decode(view, 0)).toThrow(TypeError);
    expect(() => s.encode({ a: 1n, b: 1n }, view, 0)).toThrow(TypeError);
    const Resizable = ArrayBuffer as unknown as new (length: number, options: { maxByteLength: number }) => ArrayBuffer & { resize(n: number): void };
    const rab = new Resizable(16, { maxByteLength: 32 });
    const tracking = withWords(new DataView(rab)); // its length follows the buffer's
    expect(Object.getOwnPropertySymbols(tracking)).toEqual([]); // no words attached
    s.encode({ a: 3n, b: 4n }, tracking, 0);
    expect(s.decode(tracking, 0)).toEqual({ a: 3n, b: 4n });
    rab.resize(8);
    expect(() => s.decode(tracking, 0)).toThrow(RangeError);
  });
});

describe('struct encoders write numeric members in place', () => {
  it('write the bytes and throw the errors each member codec would, with words or without, for any values', () => {
    const members = { a: u8, b: i8, c: u16, d: i16, e: u32, f: i32, g: be16, h: be32, i: u64, j: i64, k: f32, l: f64, m: bool };
    // Wrong types, non-integers, and each integer kind's first values out of range (fine for wider kinds).
    const wrong = fc.constantFrom<unknown>(
      undefined,
      null,
      'x',
      1.5,
      NaN,
      {},
      1n,
      1,
      -1,
      256,
      -129,
      128,
      0x8000,
      -0x8001,
      0x10000,
      2 ** 31,
      -(2 ** 31) - 1,
      2 ** 32,
      2 ** 53,
      2n ** 63n,
      2n ** 64n,
      -(2n ** 63n) - 1n,
    );
    const valueOf: Record<string, fc.Arbitrary<unknown>> = {
      a: fc.integer({ min: 0, max: 255 }),
      b: fc.integer({ min: -128, max: 127 }),
      c: fc.integer({ min: 0, max: 0xffff }),
      d: fc.integer({ min: -0x8000, max: 0x7fff }),
      e: fc.integer({ min: 0, max: 0xffffffff }),
      f: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
      g: fc.integer({ min: 0, max: 0xffff }),
      h: fc.integer({ min: 0, max: 0xffffffff }),
      i: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
      j: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
      k: fc.float({ noNaN: true }).map(Math.fround),
      l: fc.double(),
      m: fc.boolean(),
    };
    // Mostly valid members, now and then a wrong one.
    const record = fc.record(
      Object.fromEntries(Object.entries(valueOf).map(([k, a]) => [k, fc.oneof({ weight: 12, arbitrary: a }, { weight: 1, arbitrary: wrong })])),
    );
    for (const packed of [false, true]) {
      const codec = struct(members, { packed });
      fc.assert(
        fc.property(record, fc.constantFrom(0, 8, 3), (value, at) => {
          // What the member codecs write, one by one, and the first error they throw.
          const want = new Uint8Array(codec.size + 16);
          const wantView = new DataView(want.buffer, at);
          let error: string | undefined;
          let offset = 0;
          for (const [name, member] of Object.entries(members) as [string, Codec<unknown>][]) {
            if (!packed) offset = Math.ceil(offset / member.align) * member.align;
            try {
              if (error === undefined) member.encode((value as Record<string, unknown>)[name], wantView, offset);
            } catch (e) {
              error = `${codec.name}.${name}: ${(e as Error).message}`;
            }
            offset += member.size;
          }
          for (const worded of [false, true]) {
            const got = new Uint8Array(codec.size + 16);
            const view = new DataView(got.buffer, at);
            if (worded) withWords(view);
            if (error !== undefined) {
              expect(() => codec.encode(value as never, view, 0)).toThrow(error);
              continue;
            }
            codec.encode(value as never, view, 0);
            expect([...got]).toEqual([...want]);
          }
        }),
        { numRuns: 300 },
      );
    }
  });
});

describe('composite codecs', () => {
  it('lay structs out as C does, packed on request, with zeroed padding', () => {
    const key = struct({ saddr: u32, proto: u8, port: u16 });
    expect(key.size).toBe(8);
    const bytes = encode(key, { saddr: 1, proto: 6, port: 80 });
    expect([...bytes]).toEqual([1, 0, 0, 0, 6, 0, 80, 0]);
    expect(decode(key, bytes)).toEqual({ saddr: 1, proto: 6, port: 80 });
    expect(struct({ a: u8, b: u32 }, { packed: true }).size).toBe(5);
    expect(() => encode(key, { saddr: 1, proto: 6 } as never)).toThrow(/missing member port/);
    // Errors name the member, also through nested structs; padding is zero even over stale bytes.
    const outer = struct({ id: u32, key }, { name: 'struct outer' });
    expect(() => encode(outer, { id: 1, key: { saddr: 1, proto: 300, port: 80 } })).toThrow(/^struct outer\.key: struct \{saddr, proto, port\}\.proto: /);
    expect(() => encode(outer, null as never)).toThrow(/struct outer: null is not an object/);
    const stale = new DataView(new Uint8Array(12).fill(0xff).buffer);
    outer.encode({ id: 2, key: { saddr: 3, proto: 4, port: 5 } }, stale, 0);
    expect([...new Uint8Array(stale.buffer)]).toEqual([2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 5, 0]);
  });

  it('numeric arrays are typed arrays; enums are names', () => {
    const a = array(u32, 3);
    expect(decode(a, encode(a, [1, 2, 3]))).toEqual(new Uint32Array([1, 2, 3]));
    const e = enumOf('enum color', u32, { RED: 0, BLUE: 6 });
    expect(decode(e, encode(e, 'BLUE'))).toBe('BLUE');
    expect(decode(e, encode(e, 9))).toBe(9);
    expect(() => encode(e, 'GREEN')).toThrow(/no enumerator GREEN/);
  });

  it('any struct of random integers round-trips', () => {
    const c = struct({ a: u8, b: u32, c: u16, d: u64, e: i32 });
    fc.assert(
      fc.property(
        fc.record({
          a: fc.nat(255),
          b: fc.nat(0xffffffff),
          c: fc.nat(0xffff),
          d: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
          e: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
        }),
        (v) => {
          expect(decode(c, encode(c, v))).toEqual(v);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('codecs from BTF', () => {
  const btf = (name: string) => parseCollectionSpec(readFixture(name)).btf!;

  it('struct flow_key / flow_stats from maps_btf', () => {
    const b = btf('maps_btf.bpf.o');
    const key = codecFromBtf(b, b.findByName('flow_key', 'struct')!.id);
    const value = codecFromBtf(b, b.findByName('flow_stats', 'struct')!.id);
    expect(key.size).toBe(16);
    const k = { saddr: 0x0a000001, daddr: 0x0a000002, sport: 1234, dport: 80, proto: 6 };
    expect(decode(key, encode(key, k))).toEqual(k);
    expect(decode(value, encode(value, { packets: 3n, bytes: 1500n }))).toEqual({ packets: 3n, bytes: 1500n });
  });

  it('bit-fields, anonymous unions, enums and char arrays from btf_kinds', () => {
    const b = btf('btf_kinds.bpf.o');
    const sample = codecFromBtf(b, b.findByName('sample', 'struct')!.id) as ReturnType<typeof struct>;
    const t = b.findByName('sample', 'struct')!;
    const value = decode(sample, new Uint8Array(t.size)) as Record<string, unknown>;
    Object.assign(value, { a: 7, flags: 5, mode: 3, c: -1, ok: true, name: 'tsbpf', as_u32: 0x01020304, color: 'BLUE', delta: 'MINUS_TWO' });
    const bytes = encode(sample, value as never); // changed in place: the union writes as_u32, the member that changed
    const flagsByte = b.members(t.id).find((m) => m.name === 'flags')!.bitOffset / 8;
    expect(bytes[flagsByte]).toBe(5 | (3 << 3)); // flags:3 then mode:5, as clang laid them out
    const back = decode(sample, bytes) as Record<string, unknown>;
    expect(back).toMatchObject({ a: 7, flags: 5, mode: 3, c: -1, ok: true, name: 'tsbpf', color: 'BLUE', delta: 'MINUS_TWO' });
    expect(back.as_u32).toBe(0x01020304);
    expect(back.as_bytes).toEqual(new Uint8Array([4, 3, 2, 1]));

    // The other member changed: it is the one written (it used to be dropped for the first member).
    back.as_bytes = new Uint8Array([9, 8, 7, 6]);
    expect((decode(sample, encode(sample, back as never)) as Record<string, unknown>).as_u32).toBe(0x06070809);
    // Both changed: refused, not guessed.
    Object.assign(back, { as_u32: 1, as_bytes: new Uint8Array([2, 0, 0, 0]) });
    expect(() => encode(sample, back as never)).toThrow(/as_u32 and as_bytes both changed/);
    // A copy (not decoded by tsbpf) whose members disagree: refused with what to do.
    const copy = { ...back, as_u32: 5, as_bytes: new Uint8Array(4) };
    expect(() => encode(sample, copy as never)).toThrow(/disagree, and this object is not one tsbpf decoded/);
    // A copy with one member: fine.
    const { as_bytes: _drop, ...one } = copy;
    expect((decode(sample, encode(sample, one as never)) as Record<string, unknown>).as_u32).toBe(5);
  });

  it('a named union writes the member changed since the decode, or $bytes', () => {
    // union addr { __u32 v4; __u8 v6[16]; } (built: no fixture has a named union with members)
    const bb = new BtfBuilder();
    const u32t = bb.int('unsigned int', 4);
    const u8t = bb.int('unsigned char', 1);
    const idx = bb.int('int', 4, { signed: true });
    const v6t = bb.array(u8t, idx, 16);
    const id = bb.composite('union', 'addr', 16, [
      { name: 'v4', type: u32t, bitOffset: 0 },
      { name: 'v6', type: v6t, bitOffset: 0 },
    ]);
    const u = codecFromBtf(Btf.parse(bb.build()), id) as Codec<Record<string, unknown>>;
    const v = decode(u, new Uint8Array(16).fill(1));
    expect(v.v4).toBe(0x01010101);
    v.v6 = new Uint8Array(16).fill(7); // the second member changed: written, not dropped for v4
    expect([...(decode(u, encode(u, v)).$bytes as Uint8Array)]).toEqual(new Array(16).fill(7));
    const w = decode(u, new Uint8Array(16));
    w.v4 = 0x0a000001; // the first member changed: written over the bytes as they were
    expect([...(decode(u, encode(u, w)).$bytes as Uint8Array)].slice(0, 5)).toEqual([1, 0, 0, 10, 0]);
    const x = decode(u, new Uint8Array(16));
    x.$bytes = new Uint8Array(16).fill(3); // the bytes themselves
    expect(decode(u, encode(u, x)).v4).toBe(0x03030303);
    expect(decode(u, encode(u, { v4: 2 })).v4).toBe(2); // built by hand, one member
    expect(() => encode(u, {})).toThrow(/give one of \$bytes, v4, v6/);
  });

  it('an anonymous union inside a union adds its members: the one changed is written, whichever level it is at', () => {
    // union value { __u32 all; union { __u32 word; __u8 first; }; }
    const bb = new BtfBuilder();
    const u8t = bb.int('unsigned char', 1);
    const u32t = bb.int('unsigned int', 4);
    const inner = bb.composite('union', '', 4, [
      { name: 'word', type: u32t, bitOffset: 0 },
      { name: 'first', type: u8t, bitOffset: 0 },
    ]);
    const id = bb.composite('union', 'value', 4, [
      { name: 'all', type: u32t, bitOffset: 0 },
      { name: '', type: inner, bitOffset: 0 },
    ]);
    const u = codecFromBtf(Btf.parse(bb.build()), id) as Codec<Record<string, unknown>>;
    const v = decode(u, new Uint8Array([1, 2, 3, 4]));
    expect(v).toMatchObject({ all: 0x04030201, word: 0x04030201, first: 1 });
    v.word = 0x0a0b0c0d; // a member of the inner union: written (its sibling `first` must not write its old byte back)
    expect(decode(u, encode(u, v)).all).toBe(0x0a0b0c0d);
    const w = decode(u, new Uint8Array([1, 2, 3, 4]));
    w.first = 9; // the inner union's other member: one byte, the rest as they were
    expect(decode(u, encode(u, w)).all).toBe(0x04030209);
    const x = decode(u, new Uint8Array(4));
    Object.assign(x, { all: 1, word: 2 });
    expect(() => encode(u, x)).toThrow(/all and word both changed/);
    expect(decode(u, encode(u, { first: 7 })).all).toBe(7); // built by hand
  });
  it('an anonymous struct inside a union is one member: its fields change and are written together', () => {
    // union halves { struct { __u16 lo; __u16 hi; }; __u32 all; }
    const bb = new BtfBuilder();
    const u16t = bb.int('unsigned short', 2);
    const u32t = bb.int('unsigned int', 4);
    const pair = bb.composite('struct', '', 4, [
      { name: 'lo', type: u16t, bitOffset: 0 },
      { name: 'hi', type: u16t, bitOffset: 16 },
    ]);
    const id = bb.composite('union', 'halves', 4, [
      { name: '', type: pair, bitOffset: 0 },
      { name: 'all', type: u32t, bitOffset: 0 },
    ]);
    const u = codecFromBtf(Btf.parse(bb.build()), id) as Codec<Record<string, unknown>>;
    const v = decode(u, new Uint8Array([1, 0, 2, 0]));
    expect(v).toMatchObject({ lo: 1, hi: 2, all: 0x00020001 });
    Object.assign(v, { lo: 3, hi: 4 }); // both fields of the one struct member
    expect(decode(u, encode(u, v)).all).toBe(0x00040003);
    const w = decode(u, new Uint8Array(4));
    Object.assign(w, { lo: 5, all: 6 }); // two members
    expect(() => encode(u, w)).toThrow(/\{ lo, hi \} and all both changed/);
  });
});

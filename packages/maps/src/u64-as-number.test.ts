// u64AsNumber and i64AsNumber as struct members: read and written in place (two 32-bit halves), exact within 2^53 - 1, CODEC_RANGE past it.
import { describe, expect, it } from 'vitest';
import { decode, encode } from './codec.js';
import { CodecError } from './errors.js';
import { struct } from './composite.js';
import { i64, i64AsNumber, u32, u64, u64AsNumber } from './primitives.js';

const rec = struct({ seq: u64AsNumber, len: u32 });
const raw = struct({ seq: u64, len: u32 });

describe('u64AsNumber in a struct', () => {
  it('decodes each value as the bigint codec reads it, up to 2^53 - 1', () => {
    for (const x of [0n, 1n, 0xffffffffn, 0x100000000n, 0x123456789abcn, 2n ** 53n - 1n]) {
      const bytes = encode(raw, { seq: x, len: 7 });
      expect(decode(rec, bytes)).toEqual({ seq: Number(x), len: 7 });
    }
  });

  it('throws CODEC_RANGE from 2^53 on (the high half past 0x1fffff), as the codec alone does', () => {
    for (const x of [2n ** 53n, 2n ** 64n - 1n, 0xffffffff00000000n]) {
      const bytes = encode(raw, { seq: x, len: 0 });
      expect(() => decode(rec, bytes)).toThrow(CodecError);
      expect(() => decode(rec, bytes)).toThrow(/not a safe integer/);
      expect(() => decode(u64AsNumber, bytes)).toThrow(/not a safe integer/);
    }
  });

  it('encodes what it decodes, and refuses unsafe or negative numbers', () => {
    for (const x of [0, 1, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1]) {
      const bytes = encode(rec, { seq: x, len: 1 });
      expect(decode(raw, bytes).seq).toBe(BigInt(x));
    }
    for (const bad of [-1, 2 ** 53, 1.5, NaN]) {
      expect(() => encode(rec, { seq: bad, len: 1 })).toThrow(CodecError);
    }
  });
});

const srec = struct({ v: i64AsNumber });
const sraw = struct({ v: i64 });
const safe = 2n ** 53n - 1n;

describe('i64AsNumber in a struct', () => {
  it('decodes each value as the bigint codec reads it, within ±(2^53 - 1)', () => {
    for (const x of [0n, 1n, -1n, 0xffffffffn, -0x100000000n, -0x100000001n, safe, -safe, -(2n ** 52n), 0x1fffff00000000n]) {
      expect(decode(srec, encode(sraw, { v: x }))).toEqual({ v: Number(x) });
    }
  });

  it('throws CODEC_RANGE past it, as the codec alone does', () => {
    for (const x of [safe + 1n, -safe - 1n, 2n ** 63n - 1n, -(2n ** 63n)]) {
      const bytes = encode(sraw, { v: x });
      expect(() => decode(srec, bytes)).toThrow(/not a safe integer/);
      expect(() => decode(i64AsNumber, bytes)).toThrow(/not a safe integer/);
    }
  });

  it('encodes what it decodes, and refuses unsafe numbers', () => {
    for (const x of [0, -1, 1, -(2 ** 32), 2 ** 32 + 5, -(2 ** 53 - 1), 2 ** 53 - 1, -123456789012345]) {
      expect(decode(sraw, encode(srec, { v: x })).v).toBe(BigInt(x));
    }
    for (const bad of [2 ** 53, -(2 ** 53), 0.5, NaN]) {
      expect(() => encode(srec, { v: bad })).toThrow(CodecError);
    }
  });
});

import { expect, it } from 'vitest';
import { getField, setField, setName } from './fields.js';
import { perfEventAttr as P } from './layouts.generated.js';

it('writes a bit-field without touching the other bits of its storage unit', () => {
  const bytes = new Uint8Array(128).fill(0xa5);
  const view = new DataView(bytes.buffer);
  expect(P.freq).toMatchObject({ offset: 40, size: 8, bit: 10, bits: 1 });
  setField(view, P.freq, 1);
  expect([...bytes.subarray(40, 48)]).toEqual([0xa5, 0xa5 | 0x04, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5]);
  setField(view, P.disabled, 0);
  expect([...bytes.subarray(40, 48)]).toEqual([0xa4, 0xa5 | 0x04, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5]);
  setField(view, P.freq, 0);
  expect([...bytes.subarray(40, 48)]).toEqual([0xa4, 0xa1, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5]);
  setField(view, P.freq, 3); // wider than the field: only its bit is written
  expect(bytes[41]).toBe(0xa5);
  expect(bytes[39]).toBe(0xa5);
  expect(bytes[48]).toBe(0xa5);
  // A whole field next to it is unaffected (sample_type is at 24, wakeup_events at 48).
  setField(view, P.wakeup_events, 7);
  expect(getField(view, P.wakeup_events)).toBe(7);
  expect(bytes[41]).toBe(0xa5);
});

it('writes an 8-byte field from a number as from a bigint, and names ASCII or not as UTF-8, NUL-padded and cut', () => {
  const a = new DataView(new ArrayBuffer(16));
  const b = new DataView(new ArrayBuffer(16));
  const f = { offset: 8, size: 8 };
  for (const v of [0, 1, 0xffffffff, 2 ** 32, 2 ** 47 + 12345, Number.MAX_SAFE_INTEGER]) {
    setField(a, f, v);
    setField(b, f, BigInt(v));
    expect(a.getBigUint64(8, true)).toBe(BigInt(v));
    expect(new Uint8Array(a.buffer)).toEqual(new Uint8Array(b.buffer));
  }
  setField(a, f, -1); // as before: the two's complement bits
  expect(a.getBigUint64(8, true)).toBe(2n ** 64n - 1n);
  const name = { offset: 2, size: 16 };
  const enc = new TextEncoder();
  for (const s of ['xdp_prog', 'a_name_longer_than_fifteen', 'prog_é', 'ééééééééé', '']) {
    const bytes = new Uint8Array(20).fill(0xaa);
    setName(bytes, name, s);
    const want = new Uint8Array(16);
    want.set(enc.encode(s).subarray(0, 15));
    expect(bytes.subarray(2, 18)).toEqual(want);
    expect(bytes[1]).toBe(0xaa);
    expect(bytes[18]).toBe(0xaa);
  }
});

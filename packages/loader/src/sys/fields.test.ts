import { expect, it } from 'vitest';
import { getField, setField } from './fields.js';
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

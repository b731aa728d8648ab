import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cString, elfName } from './bytes.js';

/** elfName keeps the names it decoded (by a hash of their bytes): it answers what cString answers, hit or miss. */
describe('elfName', () => {
  it('is cString for any bytes and offset, asked once or again', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 24 }), fc.nat(30), (bytes, at) => {
        const offset = Math.min(at, bytes.length);
        const expected = cString(bytes, offset);
        expect(elfName(bytes, offset)).toBe(expected);
        expect(elfName(bytes, offset)).toBe(expected);
      }),
      { numRuns: 3000, seed: 0x19 },
    );
  });

  it('tells apart names of the same length and keeps answering past its size bound', () => {
    const enc = new TextEncoder();
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 9000; i++) {
        const name = `n${i.toString(36)}`;
        expect(elfName(enc.encode(`${name}\0tail`), 0)).toBe(name);
      }
    }
    expect(elfName(enc.encode('ab'), 0)).toBe('ab');
    expect(elfName(enc.encode('ba'), 0)).toBe('ba');
    expect(elfName(enc.encode('\0ab'), 0)).toBe('');
    expect(elfName(enc.encode('xé\0'), 0)).toBe('xé');
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { indexKeys, type KeyIndex } from './key-index.js';

/** What an index must answer for `ids`: each identity's first position, -1 for any other, repeats in order. */
function expectIndexOf(index: KeyIndex, ids: ArrayLike<number | string>, repeats: number[], absent: readonly (number | string)[]): void {
  const first = new Map<number | string, number>();
  const again: number[] = [];
  for (let i = 0; i < ids.length; i++) {
    if (first.has(ids[i]!)) again.push(i);
    else first.set(ids[i]!, i);
  }
  expect(index.size).toBe(first.size);
  for (const [id, at] of first) expect(index.get(id)).toBe(at);
  for (const id of absent) if (!first.has(id)) expect(index.get(id), String(id)).toBe(-1);
  expect(repeats).toEqual(again);
}

describe('indexKeys (getMany by walk)', () => {
  it('dense small keys take the direct table; sparse ones the hash table; long keys a Map', () => {
    const kind = (keySize: number, ids: ArrayLike<number | string>) => indexKeys(keySize, ids, []).constructor.name;
    expect(
      kind(
        4,
        Uint32Array.from({ length: 1000 }, (_, i) => i),
      ),
    ).toBe('DirectKeyIndex');
    expect(
      kind(
        4,
        Uint32Array.from({ length: 1000 }, (_, i) => 3999 - i),
      ),
    ).toBe('DirectKeyIndex'); // largest below 4 × count
    expect(
      kind(
        4,
        Uint32Array.from({ length: 1000 }, (_, i) => (i === 0 ? 4000 : i)),
      ),
    ).toBe('SmallKeyIndex');
    expect(kind(4, Uint32Array.of(0xffffffff, 1, 2))).toBe('SmallKeyIndex');
    expect(kind(2, Uint32Array.of(65535, 1, 2))).toBe('SmallKeyIndex');
    expect(kind(8, [1, 2, 'a:b'])).toBe('MapKeyIndex');
  });

  it('the direct table: positions, repeats, and -1 for keys past its end or never asked for', () => {
    const ids = Uint32Array.of(5, 0, 7, 5, 2, 0, 7, 3);
    const repeats: number[] = [];
    const index = indexKeys(4, ids, repeats);
    expect(index.constructor.name).toBe('DirectKeyIndex');
    expectIndexOf(index, ids, repeats, [1, 4, 6, 8, 9, 100, 0xffffffff]);
    expect(repeats).toEqual([3, 5, 6]);
    // One key, zero: a table of one slot.
    const zero = indexKeys(4, Uint32Array.of(0, 0), []);
    expect([zero.get(0), zero.get(1), zero.get(0xffffffff)]).toEqual([0, -1, -1]);
  });

  it('answers as a Map of first positions would, for any identities and key size', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(1, 2, 4),
        fc.array(fc.oneof(fc.nat(300), fc.integer({ min: 0, max: 0xffffffff })), { maxLength: 400 }),
        fc.array(fc.integer({ min: 0, max: 0xffffffff }), { maxLength: 50 }),
        (keySize, raw, absent) => {
          const ids = Uint32Array.from(raw);
          const repeats: number[] = [];
          expectIndexOf(indexKeys(keySize, ids, repeats), ids, repeats, [...absent, ...Array.from({ length: 20 }, (_, i) => i * 50)]);
        },
      ),
    );
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.nat(2 ** 40), fc.string({ maxLength: 6 })), { maxLength: 200 }), (ids) => {
        const repeats: number[] = [];
        expectIndexOf(indexKeys(12, ids, repeats), ids, repeats, [-1, 'zz', 2 ** 41]);
      }),
    );
  });
});

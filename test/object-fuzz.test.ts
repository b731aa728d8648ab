/**
 * Property test: whatever bytes we are given, parsing either succeeds or
 * throws ObjectParseError — never a TypeError/RangeError, never a hang. Each
 * run mutates a real fixture (byte flips, overwritten words, truncation) and
 * then exercises everything lazy: every BTF type, the raw dump and the
 * disassembly of every program.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ObjectParseError, formatBtfRaw, formatInstructions, parseCollectionSpec } from '@tsbpf/object';
import { allFixtures, readFixture } from '@tsbpf/fixtures';

function exercise(bytes: Uint8Array): void {
  try {
    const spec = parseCollectionSpec(bytes);
    if (spec.btf) {
      for (const _ of spec.btf.types()) void _;
      formatBtfRaw(spec.btf);
    }
    for (const p of [...Object.values(spec.programs), ...Object.values(spec.subprograms)]) {
      formatInstructions(p.instructions, { byteOrder: spec.byteOrder });
    }
  } catch (e) {
    if (!(e instanceof ObjectParseError)) throw e;
  }
}

const mutation = (length: number) =>
  fc.oneof(
    fc.record({ kind: fc.constant('flip' as const), at: fc.nat(length - 1), value: fc.integer({ min: 0, max: 255 }) }),
    fc.record({ kind: fc.constant('word' as const), at: fc.nat(length - 1), value: fc.constantFrom(0, 0xffffffff, 0x7fffffff, 0x80000000, 1, 8) }),
    fc.record({ kind: fc.constant('truncate' as const), at: fc.nat(length - 1), value: fc.constant(0) }),
  );

function apply(original: Uint8Array, mutations: { kind: 'flip' | 'word' | 'truncate'; at: number; value: number }[]): Uint8Array {
  let bytes = original.slice();
  for (const m of mutations) {
    if (m.kind === 'flip') bytes[m.at % bytes.length] = m.value;
    else if (m.kind === 'word') {
      const at = Math.min(m.at, bytes.length - 4);
      if (at >= 0) new DataView(bytes.buffer).setUint32(at, m.value, true);
    } else bytes = bytes.slice(0, m.at % bytes.length);
    if (bytes.length === 0) break;
  }
  return bytes;
}

describe('parseCollectionSpec on mutated fixtures', () => {
  const fixtures = allFixtures().filter((f) => !f.invalid);
  it('has fixtures to mutate', () => expect(fixtures.length).toBeGreaterThan(3));

  for (const fixture of fixtures) {
    it(`${fixture.name}: only typed errors`, () => {
      const original = readFixture(fixture.name);
      fc.assert(
        fc.property(fc.array(mutation(original.length), { minLength: 1, maxLength: 6 }), (mutations) => {
          exercise(apply(original, mutations));
        }),
        { numRuns: 150, seed: 0x7b9f },
      );
    });
  }

  it('every invalid fixture fails with a typed error', () => {
    for (const fixture of allFixtures().filter((f) => f.invalid)) {
      expect(() => parseCollectionSpec(readFixture(fixture.name)), fixture.name).toThrow(ObjectParseError);
    }
  });
});

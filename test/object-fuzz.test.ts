/**
 * Property test: whatever bytes we are given, parsing either succeeds or
 * throws a typed error — never a TypeError/RangeError, never a hang. Each
 * fixture in turn is blindly mutated (bytes, bits, words, runs zeroed or
 * copied, truncation) and run through everything pure and lazy by the fuzz
 * harness (test/fuzz: every BTF type, the dumps, disassembly, linking,
 * CO-RE, codecs, gen), each case within its time budget.
 */
import { describe, expect, it } from 'vitest';
import { ObjectParseError, parseCollectionSpec } from '@tsbpf/object';
import { allFixtures, readFixture } from '@tsbpf/fixtures';
import { mutationsOf, runCase } from './fuzz/harness.js';

/** Mutated cases per fixture (the fuzz suite adds random cases over all inputs). */
const CASES = 150;

describe('parseCollectionSpec on mutated fixtures', () => {
  const fixtures = allFixtures().filter((f) => !f.invalid);
  it('has fixtures to mutate', () => expect(fixtures.length).toBeGreaterThan(3));

  for (const fixture of fixtures) {
    it(`${fixture.name}: only typed errors`, () => {
      const original = readFixture(fixture.name);
      expect(runCase({ label: fixture.name, kind: 'object', bytes: original })).toBeUndefined();
      const failures = mutationsOf(fixture.name, 'object', original, 0x7b9f, CASES).flatMap((c) => runCase(c) ?? []);
      expect(failures).toEqual([]);
    });
  }

  it('every invalid fixture fails with a typed error', () => {
    for (const fixture of allFixtures().filter((f) => f.invalid)) {
      expect(() => parseCollectionSpec(readFixture(fixture.name)), fixture.name).toThrow(ObjectParseError);
    }
  });
});

// The spec's records by name (programs, maps): no prototype, whatever the names, and a duplicate name refused.
import { describe, expect, it } from 'vitest';
import { parseCollectionSpec } from './collection-spec.js';
import { ObjectParseError } from './errors.js';
import { buildElf, concat, insn, type FakeSection } from './testing/elf-builder.js';

const SHF_ALLOC_EXEC = 0x6;
const PROGBITS = 1;
const STB_GLOBAL = 1;
const STT_FUNC = 2;
const prog = concat(insn(0xb7, 0, 0, 0, 0), insn(0x95, 0, 0, 0, 0));
const license: FakeSection = { name: 'license', type: PROGBITS, flags: 3, data: new TextEncoder().encode('GPL\0') };

/** An object with one XDP program per name, each in its own section. */
function objectWith(names: string[]): Uint8Array {
  const sections: FakeSection[] = [license, ...names.map((): FakeSection => ({ name: 'xdp', type: PROGBITS, flags: SHF_ALLOC_EXEC, data: prog }))];
  return buildElf(
    sections,
    names.map((name, i) => ({ name, section: i + 1, value: 0, size: prog.length, bind: STB_GLOBAL, type: STT_FUNC })),
  );
}

describe('records by name', () => {
  it('hold programs named like Object.prototype members as their own, with no prototype', () => {
    const names = ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'xdp_pass'];
    const spec = parseCollectionSpec(objectWith(names));
    expect(Object.getPrototypeOf(spec.programs)).toBeNull();
    expect(Object.getPrototypeOf(spec.maps)).toBeNull();
    expect(Object.keys(spec.programs)).toEqual(names);
    for (const n of names) {
      expect(Object.hasOwn(spec.programs, n)).toBe(true);
      expect(spec.programs[n]!.name).toBe(n);
    }
    // Names the object does not have are not found through a prototype.
    expect('valueOf' in spec.programs).toBe(false);
    expect('constructor' in spec.maps).toBe(false);
    expect(spec.maps['toString']).toBeUndefined();
  });

  it('refuse two programs of one name', () => {
    try {
      parseCollectionSpec(objectWith(['twice', 'twice']));
      expect.unreachable('parsed');
    } catch (e) {
      expect(e).toBeInstanceOf(ObjectParseError);
      // collectFunctions sees the two functions first
      expect((e as ObjectParseError).code).toBe('SYMBOL_INVALID');
      expect((e as Error).message).toMatch(/named twice/);
    }
  });
});

import { readFileSync } from 'node:fs';
import elfy from 'elfy';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { allFixtures } from '@tsbpf/fixtures';
import { ObjectParseError } from '../errors.js';
import { readElf } from './elf-file.js';
import { readSymbols } from './symbols.js';
import { parseCollectionSpec } from '../collection-spec.js';
import { buildElf } from '../testing/elf-builder.js';

/**
 * Our section-table reader against elfy (the reader it replaced, kept as a
 * reference): the same names, types, extents, links and bytes for every
 * section of every fixture elfy can read.
 */
describe('readElf', () => {
  const readable = allFixtures().filter((f) => !f.invalid);

  it('has fixtures of both byte orders', () => {
    expect(readable.some((f) => f.endian === 'big')).toBe(true);
    expect(readable.length).toBeGreaterThan(10);
  });

  for (const f of readable) {
    it(`${f.name}: the same section table as elfy`, () => {
      const bytes = new Uint8Array(readFileSync(f.path));
      const ours = readElf(bytes);
      const theirs = elfy.parse(Buffer.from(bytes)).body.sections;
      expect(ours.byteOrder).toBe(f.endian);
      expect(ours.sections.map((s) => ({ name: s.name, off: s.offset, size: s.size, link: s.link, info: s.info }))).toEqual(
        theirs.map((s) => ({ name: s.name, off: s.off, size: s.size, link: s.link, info: s.info })),
      );
      for (const s of ours.sections) {
        if (s.type === 8 /* NOBITS */ || s.type === 0) expect(s.data.length).toBe(0);
        else expect(Buffer.from(s.data).equals(Buffer.from(theirs[s.index]!.data))).toBe(true);
        expect(ours.sectionByName(s.name)?.name).toBe(s.name);
      }
    });
  }

  it('rejects a name outside the name table and a table outside the file with typed errors', () => {
    const bytes = new Uint8Array(readFileSync(readable.find((f) => f.name === 'minimal.bpf.o')!.path));
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const shoff = Number(view.getBigUint64(40, true));

    const badName = bytes.slice();
    new DataView(badName.buffer).setUint32(shoff + 64 * 2, 0xffff, true);
    expect(() => readElf(badName)).toThrow(ObjectParseError);
    expect(() => readElf(badName)).toThrow(/name offset 65535 is outside the section name table/);

    const badTable = bytes.slice();
    new DataView(badTable.buffer).setBigUint64(40, BigInt(bytes.length - 32), true);
    expect(() => readElf(badTable)).toThrow(/section header table/);

    const hugeOffset = bytes.slice();
    new DataView(hugeOffset.buffer).setUint32(shoff + 64 * 3 + 28, 0x7fffffff, true); // sh_offset's high word
    expect(() => readElf(hugeOffset)).toThrow(/sh_offset \d+ does not fit in a safe integer/);
  });

  it('any damage to the header or section table gives a table or an ObjectParseError, never another exception', () => {
    const bytes = new Uint8Array(readFileSync(readable.find((f) => f.name === 'maps_btf.bpf.o')!.path));
    const shoff = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(40, true));
    const targets = fc.oneof(fc.integer({ min: 0, max: 63 }), fc.integer({ min: shoff, max: bytes.length - 4 }));
    fc.assert(
      fc.property(
        fc.array(fc.tuple(targets, fc.constantFrom(0, 1, 0xff, 0xffff, 0x7fffffff, 0xffffffff, 64, 4096)), { minLength: 1, maxLength: 4 }),
        (writes) => {
          const damaged = bytes.slice();
          const view = new DataView(damaged.buffer);
          for (const [at, value] of writes) view.setUint32(Math.min(at, damaged.length - 4), value, true);
          try {
            const elf = readElf(damaged);
            for (const s of elf.sections) expect(s.data.length === 0 || s.offset + s.size <= damaged.length).toBe(true);
          } catch (e) {
            if (!(e instanceof ObjectParseError)) throw e;
          }
        },
      ),
      { numRuns: 500, seed: 0x5eed },
    );
  });

  it('finds sections by name on the name bytes as the decoded names would (a leading byte-order mark is dropped)', () => {
    const bom = '\uFEFF';
    const bytes = buildElf([
      { name: `${bom}.data`, type: 1, flags: 3, data: new Uint8Array(4) },
      { name: `${bom}license`, type: 1, flags: 3, data: new TextEncoder().encode('GPL\0') },
      { name: '.rodata.é', type: 1, flags: 2, data: new Uint8Array(4) },
      { name: 'license', type: 1, flags: 3, data: new TextEncoder().encode('MIT\0') },
      { name: '.datax', type: 1, flags: 3, data: new Uint8Array(4) },
    ]);
    const elf = readElf(bytes);
    expect(elf.sections.map((s) => s.name).slice(1, 6)).toEqual(['.data', 'license', '.rodata.é', 'license', '.datax']);
    expect(elf.sectionByName('license')?.index).toBe(2); // the first of the name, as before
    expect(elf.sectionByName('.rodata.é')?.index).toBe(3);
    expect(elf.sectionByName('.datax')?.index).toBe(5);
    expect(elf.sectionByName('.data')?.index).toBe(1);
    expect(elf.sectionByName('.dat')).toBeUndefined();
    expect(elf.dataSections.map((s) => s.index)).toEqual([1, 3]);
    const spec = parseCollectionSpec(bytes);
    expect(spec.license).toBe('GPL');
    expect(Object.keys(spec.maps)).toEqual(['.data', '.rodata.é']);
  });

  it('a symbol table without whole records, or none, is a typed error', () => {
    const bytes = buildElf([{ name: '.data', type: 1, flags: 3, data: new Uint8Array(4) }], [{ name: 'v', section: 0, value: 0, size: 4, type: 1 }]);
    const elf = readElf(bytes);
    const base = Number(new DataView(bytes.buffer).getBigUint64(40, true)) + elf.symtab!.index * 64;
    const partial = bytes.slice();
    new DataView(partial.buffer).setUint32(base + 32, elf.symtab!.size - 1, true); // sh_size
    expect(() => readSymbols(readElf(partial))).toThrow(expect.objectContaining({ code: 'SECTION_INVALID', section: '.symtab' }));
    const none = bytes.slice();
    new DataView(none.buffer).setUint32(base + 4, 1, true); // sh_type PROGBITS
    expect(() => parseCollectionSpec(none)).toThrow(expect.objectContaining({ code: 'ELF_INVALID', message: 'no symbol table (.symtab)' }));
  });
});

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { allFixtures } from '@tsbpf/fixtures';
import { readElf } from './elf-file.js';
import { readRelocations } from './relocations.js';
import { readSymbols } from './symbols.js';
import { parseCollectionSpec } from '../collection-spec.js';
import { buildElf, type FakeRelocation } from '../testing/elf-builder.js';

/**
 * r_info is read as two 32-bit words (no BigInt): checked against the
 * 64-bit reading (symbol index = r_info >> 32, type = the low word) on every
 * REL section of every fixture, in both byte orders.
 */
describe('readRelocations', () => {
  const readable = allFixtures().filter((f) => !f.invalid);

  it('has relocations in big-endian fixtures to check', () => {
    const big = readable.filter((f) => f.endian === 'big');
    const count = big.reduce((n, f) => {
      const elf = readElf(new Uint8Array(readFileSync(f.path)));
      const table = readRelocations(elf, readSymbols(elf));
      return n + elf.relocationSections.reduce((m, s) => m + (table.get(s.info)?.length ?? 0), 0);
    }, 0);
    expect(count).toBeGreaterThan(0);
  });

  for (const f of readable) {
    it(`${f.name}: symbol and type as the 64-bit r_info says`, () => {
      const elf = readElf(new Uint8Array(readFileSync(f.path)));
      const symbols = readSymbols(elf);
      const ours = readRelocations(elf, symbols);
      const little = elf.byteOrder === 'little';
      for (const section of elf.sections.filter((s) => s.type === 9 /* SHT_REL */)) {
        const view = new DataView(section.data.buffer, section.data.byteOffset, section.data.byteLength);
        const expected = [];
        for (let o = 0; o < section.size; o += 16) {
          const info = view.getBigUint64(o + 8, little);
          expected.push({ offset: Number(view.getBigUint64(o, little)), type: Number(info & 0xffffffffn), symbol: symbols[Number(info >> 32n)] });
        }
        expect(ours.get(section.info)).toEqual(expected);
      }
    });
  }
});

/**
 * Every relocation section is checked whole while the ELF is read, though its
 * records are made only when a builder asks for its target (never for
 * `.BTF` / `.BTF.ext`): a bad entry in any of them is the same typed error.
 */
describe('readRelocations checks sections whose records are never made', () => {
  const data = (n: number) => ({ name: '.data.x', type: 1, flags: 3, data: new Uint8Array(n) });
  const symbols = [{ name: 'v', section: 0, value: 0, size: 4, type: 1 }];

  it('a target past the section table is RELOCATION_INVALID', () => {
    const bytes = buildElf([data(8)], symbols, [{ section: 0, offset: 0, symbol: 0, type: 2 }]);
    const elf = readElf(bytes);
    const rel = elf.relocationSections[0]!;
    const damaged = bytes.slice();
    new DataView(damaged.buffer).setUint32(shoff(bytes) + rel.index * 64 + 44, 999, true); // sh_info
    expect(() => readRelocations(readElf(damaged), readSymbols(readElf(damaged)))).toThrow(/sh_info 999 names no section/);
    expect(() => parseCollectionSpec(damaged)).toThrow(expect.objectContaining({ code: 'RELOCATION_INVALID', section: '.rel.data.x' }));
  });

  it('a symbol index or an offset out of range is RELOCATION_INVALID, a bad size SECTION_INVALID', () => {
    const cases: [FakeRelocation, RegExp][] = [
      [{ section: 0, offset: 0, symbol: 7, type: 2 }, /symbol index \d+ out of range/],
      [{ section: 0, offset: 8, symbol: 0, type: 2 }, /offset 8 is outside \.data\.x/],
    ];
    for (const [r, message] of cases) {
      const bytes = buildElf([data(8)], symbols, [r]);
      expect(() => parseCollectionSpec(bytes)).toThrow(message);
      expect(() => parseCollectionSpec(bytes)).toThrow(expect.objectContaining({ code: 'RELOCATION_INVALID', section: '.rel.data.x', offset: 0 }));
    }
    const bytes = buildElf([data(8)], symbols, [{ section: 0, offset: 0, symbol: 0, type: 2 }]);
    const rel = readElf(bytes).relocationSections[0]!;
    const damaged = bytes.slice();
    new DataView(damaged.buffer).setUint32(shoff(bytes) + rel.index * 64 + 32, 15, true); // sh_size
    expect(() => parseCollectionSpec(damaged)).toThrow(expect.objectContaining({ code: 'SECTION_INVALID', section: '.rel.data.x' }));
  });

  it('records are the same whether asked once or again, and none for a section nothing patches', () => {
    const bytes = buildElf([data(16)], symbols, [
      { section: 0, offset: 0, symbol: 0, type: 2 },
      { section: 0, offset: 8, symbol: 0, type: 3 },
    ]);
    const elf = readElf(bytes);
    const table = readRelocations(elf, readSymbols(elf));
    const first = table.get(1);
    expect(first?.map((r) => [r.offset, r.type, r.symbol.name])).toEqual([
      [0, 2, 'v'],
      [8, 3, 'v'],
    ]);
    expect(table.get(1)).toBe(first);
    expect(table.get(0)).toBeUndefined();
  });
});

function shoff(bytes: Uint8Array): number {
  return Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(40, true));
}

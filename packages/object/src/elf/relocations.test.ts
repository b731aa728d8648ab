import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { allFixtures } from '@tsbpf/fixtures';
import { readElf } from './elf-file.js';
import { readRelocations } from './relocations.js';
import { readSymbols } from './symbols.js';

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

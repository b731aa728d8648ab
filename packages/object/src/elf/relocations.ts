/** The `.rel*` sections read: which symbol each relocated offset refers to. */
import { ByteReader } from '../bytes.js';
import { ObjectParseError } from '../errors.js';
import { SHT, type ElfFile, type ElfSection } from './elf-file.js';
import type { ElfSymbol } from './symbols.js';

/** BPF ELF relocation types (llvm's BPF backend). */
export const R_BPF = {
  NONE: 0,
  /** ld_imm64: a map, a global variable or a function address. */
  R64_64: 1,
  /** 64-bit data word, e.g. a map pointer in `.maps` `values` initialisers. */
  ABS64: 2,
  ABS32: 3,
  /** .BTF / .BTF.ext, resolved by no one at runtime. */
  NODYLD32: 4,
  /** A call instruction's 32-bit immediate (BPF-to-BPF call). */
  R64_32: 10,
} as const;
const REL_SIZE = 16;

export interface ElfRelocation {
  /** Byte offset inside the target section. */
  readonly offset: number;
  readonly type: number;
  readonly symbol: ElfSymbol;
}

/** Relocation sections (`.rel<target>`) keyed by the index of the section they patch. */
export function readRelocations(elf: ElfFile, symbols: readonly ElfSymbol[]): Map<number, ElfRelocation[]> {
  const result = new Map<number, ElfRelocation[]>();
  for (const section of elf.sections) {
    if (section.type === SHT.RELA) {
      throw new ObjectParseError('RELOCATION_INVALID', 'RELA relocations are not used by BPF objects', {
        section: section.name,
      });
    }
    if (section.type !== SHT.REL) continue;
    const target = elf.sections[section.info];
    if (!target) {
      throw new ObjectParseError('RELOCATION_INVALID', `sh_info ${section.info} names no section`, {
        section: section.name,
      });
    }
    result.set(target.index, readSection(elf, section, target, symbols));
  }
  return result;
}

function readSection(elf: ElfFile, section: ElfSection, target: ElfSection, symbols: readonly ElfSymbol[]): ElfRelocation[] {
  if (section.size % REL_SIZE !== 0) {
    throw new ObjectParseError('SECTION_INVALID', `size ${section.size} is not a multiple of ${REL_SIZE}`, {
      section: section.name,
    });
  }
  const r = new ByteReader(section.data, elf.byteOrder, 'RELOCATION_INVALID', section.name);
  const out: ElfRelocation[] = [];
  for (let o = 0; o < section.size; o += REL_SIZE) {
    const offset = r.u64n(o, 'r_offset');
    // r_info: symbol index in the high word, type in the low one; read as two words (no BigInts).
    const little = elf.byteOrder === 'little';
    const symIndex = r.u32(o + (little ? 12 : 8));
    const type = r.u32(o + (little ? 8 : 12));
    const symbol = symbols[symIndex];
    if (!symbol) {
      throw new ObjectParseError('RELOCATION_INVALID', `symbol index ${symIndex} out of range`, {
        section: section.name,
        offset: o,
      });
    }
    if (offset >= Math.max(target.size, 1) && target.type !== SHT.NOBITS) {
      throw new ObjectParseError('RELOCATION_INVALID', `offset ${offset} is outside ${target.name}`, {
        section: section.name,
        offset: o,
      });
    }
    out.push({ offset, type, symbol });
  }
  return out;
}

/** The `.rel*` sections read: which symbol each relocated offset refers to. */
import { readU64n } from '../bytes.js';
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

/** Relocations by the index of the section they patch (what the builders ask of them). */
export interface RelocationTable {
  get(targetIndex: number): readonly ElfRelocation[] | undefined;
}

/**
 * Relocation sections (`.rel<target>`), each checked whole here (every entry's
 * symbol and offset, straight from the file's view), their records made when
 * a builder first asks for a target: most relocations of an object patch
 * `.BTF` and `.BTF.ext`, which no builder asks for. A later section for the
 * same target replaces an earlier one.
 */
export function readRelocations(elf: ElfFile, symbols: readonly ElfSymbol[]): RelocationTable {
  const targets: number[] = [];
  const sections: ElfSection[] = [];
  for (const section of elf.relocationSections) {
    if (section.type === SHT.RELA) {
      throw new ObjectParseError('RELOCATION_INVALID', 'RELA relocations are not used by BPF objects', {
        section: section.name,
      });
    }
    const target = elf.sections[section.info];
    if (!target) {
      throw new ObjectParseError('RELOCATION_INVALID', `sh_info ${section.info} names no section`, {
        section: section.name,
      });
    }
    checkSection(elf, section, target, symbols);
    targets.push(target.index);
    sections.push(section);
  }
  return new Relocations(elf, symbols, targets, sections);
}

function checkSection(elf: ElfFile, section: ElfSection, target: ElfSection, symbols: readonly ElfSymbol[]): void {
  if (section.size % REL_SIZE !== 0) {
    throw new ObjectParseError('SECTION_INVALID', `size ${section.size} is not a multiple of ${REL_SIZE}`, {
      section: section.name,
    });
  }
  const { view, little } = elf;
  const limit = target.type === SHT.NOBITS ? Infinity : Math.max(target.size, 1);
  for (let o = 0; o < section.size; o += REL_SIZE) {
    const at = section.offset + o;
    const offset = readU64n(view, at, little, 'r_offset', 'RELOCATION_INVALID', section, o);
    // r_info: symbol index in the high word, type in the low one; read as two words (no BigInts).
    const symIndex = view.getUint32(at + (little ? 12 : 8), little);
    if (symIndex >= symbols.length) {
      throw new ObjectParseError('RELOCATION_INVALID', `symbol index ${symIndex} out of range`, {
        section: section.name,
        offset: o,
      });
    }
    if (offset >= limit) {
      throw new ObjectParseError('RELOCATION_INVALID', `offset ${offset} is outside ${target.name}`, {
        section: section.name,
        offset: o,
      });
    }
  }
}

class Relocations implements RelocationTable {
  private made: (ElfRelocation[] | undefined)[] | undefined;
  constructor(
    private readonly elf: ElfFile,
    private readonly symbols: readonly ElfSymbol[],
    private readonly targets: readonly number[],
    private readonly sections: readonly ElfSection[],
  ) {}

  get(targetIndex: number): readonly ElfRelocation[] | undefined {
    const { targets } = this;
    let i = targets.length - 1;
    while (i >= 0 && targets[i] !== targetIndex) i--;
    if (i < 0) return undefined;
    const made = (this.made ??= []);
    return (made[i] ??= this.records(this.sections[i]!));
  }

  /** The records of a section checked above. */
  private records(section: ElfSection): ElfRelocation[] {
    const { view, little } = this.elf;
    const out: ElfRelocation[] = [];
    for (let at = section.offset, end = section.offset + section.size; at < end; at += REL_SIZE) {
      const lo = view.getUint32(at + (little ? 0 : 4), little);
      const hi = view.getUint32(at + (little ? 4 : 0), little);
      out.push({
        offset: hi * 0x100000000 + lo,
        type: view.getUint32(at + (little ? 8 : 12), little),
        symbol: this.symbols[view.getUint32(at + (little ? 12 : 8), little)]!,
      });
    }
    return out;
  }
}

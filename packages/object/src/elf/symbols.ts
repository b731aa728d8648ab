/** The ELF symbol table read (`.symtab`). */
import { cString, readU64n } from '../bytes.js';
import { ObjectParseError } from '../errors.js';
import { SHT, type ElfFile } from './elf-file.js';

/** Symbol visibility (st_other & 3). */
export const STV = { DEFAULT: 0, INTERNAL: 1, HIDDEN: 2, PROTECTED: 3 } as const;

export const STB = { LOCAL: 0, GLOBAL: 1, WEAK: 2 } as const;
export const STT = { NOTYPE: 0, OBJECT: 1, FUNC: 2, SECTION: 3, FILE: 4 } as const;
export const SHN_UNDEF = 0;
export const SHN_ABS = 0xfff1;
export const SHN_COMMON = 0xfff2;
const SYMBOL_SIZE = 24;

export interface ElfSymbol {
  readonly index: number;
  readonly name: string;
  readonly bind: number;
  readonly type: number;
  /** st_other & 3: STV_DEFAULT 0, STV_INTERNAL 1, STV_HIDDEN 2, STV_PROTECTED 3. */
  readonly visibility: number;
  readonly sectionIndex: number;
  readonly value: number;
  readonly size: number;
}

/**
 * Reads `.symtab` (there is exactly one in a relocatable object; none is an
 * error), straight from the file's view: readElf checked its extent, and its
 * size is whole records.
 */
export function readSymbols(elf: ElfFile): ElfSymbol[] {
  const symtab = elf.symtab;
  if (!symtab) throw new ObjectParseError('ELF_INVALID', 'no symbol table (.symtab)');
  const strtab = elf.sections[symtab.link];
  if (!strtab || strtab.type !== SHT.STRTAB) {
    throw new ObjectParseError('SECTION_INVALID', `sh_link ${symtab.link} is not a string table`, {
      section: symtab.name,
    });
  }
  if (symtab.size % SYMBOL_SIZE !== 0) {
    throw new ObjectParseError('SECTION_INVALID', `size ${symtab.size} is not a multiple of ${SYMBOL_SIZE}`, {
      section: symtab.name,
    });
  }
  const { view, little } = elf;
  const strings = strtab.data;
  const base = symtab.offset;
  const count = symtab.size / SYMBOL_SIZE;
  const symbols: ElfSymbol[] = [];
  for (let index = 0; index < count; index++) {
    const o = index * SYMBOL_SIZE;
    const at = base + o;
    const nameOff = view.getUint32(at, little);
    if (nameOff >= strtab.size && nameOff !== 0) {
      throw new ObjectParseError('SYMBOL_INVALID', `symbol ${index}: name offset ${nameOff} out of range`, {
        section: symtab.name,
        offset: o,
      });
    }
    const info = view.getUint8(at + 4);
    symbols.push({
      index,
      name: cString(strings, nameOff),
      bind: info >> 4,
      type: info & 0xf,
      visibility: view.getUint8(at + 5) & 3,
      sectionIndex: view.getUint16(at + 6, little),
      value: readU64n(view, at + 8, little, 'st_value', 'SECTION_INVALID', symtab, o + 8),
      size: readU64n(view, at + 16, little, 'st_size', 'SECTION_INVALID', symtab, o + 16),
    });
  }
  return symbols;
}

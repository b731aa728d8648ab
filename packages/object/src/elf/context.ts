import type { Btf, BtfExt } from '../btf/index.js';
import type { ByteOrder } from '../errors.js';
import type { ElfFile, ElfSection } from './elf-file.js';
import type { RelocationTable } from './relocations.js';
import type { ElfSymbol } from './symbols.js';

/** Everything read from the ELF once, shared by the map, data and program builders. */
export interface ObjectContext {
  readonly elf: ElfFile;
  readonly byteOrder: ByteOrder;
  readonly symbols: readonly ElfSymbol[];
  /** Relocations by the index of the section they patch. */
  readonly relocations: RelocationTable;
  readonly btf: Btf | undefined;
  readonly btfExt: BtfExt | undefined;
}

export function sectionOf(ctx: ObjectContext, symbol: ElfSymbol): ElfSection | undefined {
  return ctx.elf.sections[symbol.sectionIndex];
}

/** Global-data sections that become array maps: .data, .rodata, .bss and their `.x.suffix` variants. */
export function isDataSection(name: string): boolean {
  return name === '.data' || name === '.rodata' || name === '.bss' || name.startsWith('.data.') || name.startsWith('.rodata.');
}

export const MAPS_SECTION = '.maps';
export const LEGACY_MAPS_SECTION = 'maps';

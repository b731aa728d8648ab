/** The ELF header and section table of a BPF relocatable object, validated. */
import { cString, readU64n } from '../bytes.js';
import { ObjectParseError, type ByteOrder } from '../errors.js';
import { isDataSection } from './context.js';

/** ELF constants we need (see elf(5)). */
export const SHT = { NULL: 0, PROGBITS: 1, SYMTAB: 2, STRTAB: 3, RELA: 4, NOBITS: 8, REL: 9 } as const;
export const SHF = { WRITE: 0x1, ALLOC: 0x2, EXECINSTR: 0x4 } as const;
const EM_BPF = 247;
const ET_REL = 1;
const SECTION_HEADER_SIZE = 64;
const NO_DATA = new Uint8Array(0);

export interface ElfSection {
  readonly index: number;
  readonly name: string;
  readonly type: number;
  readonly flags: number;
  readonly offset: number;
  readonly size: number;
  readonly link: number;
  readonly info: number;
  readonly addralign: number;
  readonly entsize: number;
  /** The section's bytes (empty for SHT_NOBITS, whose size is only a size). */
  readonly data: Uint8Array;
  /** A copy of `data.slice(start, end)` (non-negative bounds), made from the file without the view. */
  copy(start?: number, end?: number): Uint8Array;
}

export interface ElfFile {
  readonly byteOrder: ByteOrder;
  readonly sections: readonly ElfSection[];
  /** The whole file, and its one DataView: every extent in the section table was checked against it. */
  readonly bytes: Uint8Array;
  readonly view: DataView;
  readonly little: boolean;
  /** Found while reading the table: the first SHT_SYMTAB, the REL and RELA sections, the global-data sections (by name, in table order). */
  readonly symtab: ElfSection | undefined;
  readonly relocationSections: readonly ElfSection[];
  readonly dataSections: readonly ElfSection[];
  sectionByName(name: string): ElfSection | undefined;
}

/**
 * Reads the header and section table of a 64-bit relocatable BPF ELF object.
 *
 * The table is read directly: ELF64 section headers are fixed 64-byte
 * records, and this is all a BPF object needs (no program headers, no
 * dynamic sections). elfy did this until 2026-11-28; it took 6–7 µs of the
 * ~28 µs it takes to parse a minimal object, re-reading every header we use
 * from it, and it still serves as the reference a test compares this reader
 * with on every fixture. Every extent is checked against the file, so a
 * truncated object is a typed error, not a short slice. A section's name is
 * decoded when first asked: lookups by name compare the name table's bytes,
 * and a parse reads the names of a few sections only.
 */
export function readElf(bytes: Uint8Array): ElfFile {
  if (bytes.length < 16 || bytes[0] !== 0x7f || bytes[1] !== 0x45 || bytes[2] !== 0x4c || bytes[3] !== 0x46) {
    throw new ObjectParseError('ELF_INVALID', 'not an ELF file (bad magic)', { offset: 0 });
  }
  if (bytes[4] !== 2) {
    throw new ObjectParseError('ELF_UNSUPPORTED', `ELF class ${bytes[4]} is not ELF64`, { offset: 4 });
  }
  if (bytes[5] !== 1 && bytes[5] !== 2) {
    throw new ObjectParseError('ELF_INVALID', `bad ELF data encoding ${bytes[5]}`, { offset: 5 });
  }
  const byteOrder: ByteOrder = bytes[5] === 1 ? 'little' : 'big';
  const little = byteOrder === 'little';
  if (bytes.length < 64) throw past(0, 64, 'ELF header', bytes.length);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const type = view.getUint16(16, little);
  const machine = view.getUint16(18, little);
  if (machine !== EM_BPF) throw new ObjectParseError('ELF_UNSUPPORTED', `e_machine ${machine} is not EM_BPF (247)`);
  if (type !== ET_REL) throw new ObjectParseError('ELF_UNSUPPORTED', `e_type ${type} is not ET_REL (a relocatable object)`);
  const shoff = readU64n(view, 40, little, 'e_shoff', 'ELF_INVALID', undefined, 40);
  const shentsize = view.getUint16(58, little);
  const shnum = view.getUint16(60, little);
  const shstrndx = view.getUint16(62, little);
  if (shnum === 0) throw new ObjectParseError('ELF_INVALID', 'no section header table');
  if (shentsize !== SECTION_HEADER_SIZE) {
    throw new ObjectParseError('ELF_INVALID', `e_shentsize ${shentsize} is not ${SECTION_HEADER_SIZE}`);
  }
  if (shoff + shnum * shentsize > bytes.length) throw past(shoff, shnum * shentsize, 'section header table', bytes.length);
  if (shstrndx >= shnum) throw new ObjectParseError('ELF_INVALID', `e_shstrndx ${shstrndx} out of range`);

  // Section names live in the section e_shstrndx names: read its extent first.
  const namesBase = shoff + shstrndx * SECTION_HEADER_SIZE;
  const namesOffset = readU64n(view, namesBase + 24, little, 'sh_offset', 'ELF_INVALID', undefined, namesBase + 24);
  const namesSize = readU64n(view, namesBase + 32, little, 'sh_size', 'ELF_INVALID', undefined, namesBase + 32);
  if (namesOffset + namesSize > bytes.length) throw past(namesOffset, namesSize, 'section name table', bytes.length);
  const names = bytes.subarray(namesOffset, namesOffset + namesSize);

  // The whole table was checked against the file above: its fields are read
  // straight from the view, each 64-bit one still checked to fit a number.
  // The sections a parse looks for by kind are listed on the way.
  const sections: Section[] = [];
  let symtab: Section | undefined;
  const relocationSections: Section[] = [];
  const dataSections: Section[] = [];
  const known: (Section | undefined)[] = [undefined, undefined, undefined, undefined, undefined, undefined, undefined, undefined];
  for (let index = 0; index < shnum; index++) {
    const base = shoff + index * SECTION_HEADER_SIZE;
    const nameOffset = view.getUint32(base, little);
    if (nameOffset >= namesSize && nameOffset !== 0) {
      throw new ObjectParseError('ELF_INVALID', `section ${index}: name offset ${nameOffset} is outside the section name table`, {
        offset: base,
      });
    }
    const type = view.getUint32(base + 4, little);
    const offset = readU64n(view, base + 24, little, 'sh_offset', 'ELF_INVALID', undefined, base + 24);
    const size = readU64n(view, base + 32, little, 'sh_size', 'ELF_INVALID', undefined, base + 32);
    const hasData = type !== SHT.NOBITS && type !== SHT.NULL;
    if (hasData && offset + size > bytes.length) {
      throw new ObjectParseError('SECTION_INVALID', `${size} bytes at ${offset} run past the end of the file`, { section: nameAt(names, nameOffset) });
    }
    const section = new Section(
      bytes,
      names,
      nameOffset,
      hasData,
      index,
      type,
      // sh_flags is 64 bits; every flag we read is in the low word.
      view.getUint32(base + (little ? 8 : 12), little),
      offset,
      size,
      view.getUint32(base + 40, little),
      view.getUint32(base + 44, little),
      readU64n(view, base + 48, little, 'sh_addralign', 'ELF_INVALID', undefined, base + 48),
      readU64n(view, base + 56, little, 'sh_entsize', 'ELF_INVALID', undefined, base + 56),
    );
    sections.push(section);
    if (type === SHT.SYMTAB) symtab ??= section;
    else if (type === SHT.REL || type === SHT.RELA) relocationSections.push(section);
    const kind = nameKind(names, nameOffset);
    if (kind === DATA) dataSections.push(section);
    else if (kind >= 0) known[kind] ??= section;
  }
  return new Elf(byteOrder, sections, bytes, view, little, symtab, relocationSections, dataSections, known);
}

/** The name at `nameOffset` (checked to be inside the table, or 0), as cString decodes it. */
function nameAt(names: Uint8Array, nameOffset: number): string {
  return names.length === 0 ? '' : cString(names, nameOffset);
}

function past(offset: number, size: number, what: string, length: number): ObjectParseError {
  return new ObjectParseError('ELF_INVALID', `${what}: ${size} bytes at ${offset} past the end (${length} bytes)`, { section: undefined, offset });
}

/**
 * Whether the name at `nameOffset` decodes to `name` (ASCII, no NUL), compared
 * on the bytes as cString reads them (up to a NUL or the table's end). A name
 * whose first byte is not ASCII is decoded instead: TextDecoder drops a
 * leading byte-order mark, and nothing else non-ASCII decodes to ASCII.
 */
function nameIs(names: Uint8Array, nameOffset: number, name: string): boolean {
  const len = name.length;
  if (nameOffset + len > names.length) return false;
  for (let i = 0; i < len; i++) if (names[nameOffset + i] !== name.charCodeAt(i)) return false;
  return nameOffset + len === names.length || names[nameOffset + len] === 0;
}

function nameStarts(names: Uint8Array, nameOffset: number, prefix: string): boolean {
  if (nameOffset + prefix.length > names.length) return false;
  for (let i = 0; i < prefix.length; i++) if (names[nameOffset + i] !== prefix.charCodeAt(i)) return false;
  return true;
}

/** The names a parse looks up (their slot in Elf's `known`), and DATA for the global-data sections (isDataSection, context.ts). */
const KNOWN = ['.BTF', '.BTF.ext', 'license', 'version', '.maps', 'maps', '.struct_ops', '.struct_ops.link'];
const DATA = KNOWN.length;

/** Which of KNOWN, or DATA, the name at `nameOffset` is (-1: neither), on its bytes: a byte or two tell most names apart. */
function nameKind(names: Uint8Array, nameOffset: number): number {
  const first = names[nameOffset];
  if (first === undefined || first === 0) return -1;
  if (first >= 0x80) {
    // TextDecoder drops a leading byte-order mark: decode such a name.
    const name = nameAt(names, nameOffset);
    return isDataSection(name) ? DATA : KNOWN.indexOf(name);
  }
  switch (first) {
    case 0x2e: // .
      switch (names[nameOffset + 1]) {
        case 0x64: // .d
          return nameIs(names, nameOffset, '.data') || nameStarts(names, nameOffset, '.data.') ? DATA : -1;
        case 0x72: // .r
          return nameIs(names, nameOffset, '.rodata') || nameStarts(names, nameOffset, '.rodata.') ? DATA : -1;
        case 0x62: // .b
          return nameIs(names, nameOffset, '.bss') ? DATA : -1;
        case 0x42: // .B
          return nameIs(names, nameOffset, '.BTF') ? 0 : nameIs(names, nameOffset, '.BTF.ext') ? 1 : -1;
        case 0x6d: // .m
          return nameIs(names, nameOffset, '.maps') ? 4 : -1;
        case 0x73: // .s
          return nameIs(names, nameOffset, '.struct_ops') ? 6 : nameIs(names, nameOffset, '.struct_ops.link') ? 7 : -1;
        default:
          return -1;
      }
    case 0x6c: // l
      return nameIs(names, nameOffset, 'license') ? 2 : -1;
    case 0x76: // v
      return nameIs(names, nameOffset, 'version') ? 3 : -1;
    case 0x6d: // m
      return nameIs(names, nameOffset, 'maps') ? 5 : -1;
    default:
      return -1;
  }
}

/** A plain ASCII name without NUL: one nameIs can compare on the bytes. */
function isPlainAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0 || c >= 0x80) return false;
  }
  return true;
}

/**
 * A section whose name and bytes are made on first use (its extent was
 * checked against the file above): a small object's parse reads about half
 * its sections' bytes and a few of their names, and each is an allocation.
 */
class Section implements ElfSection {
  private bytesView: Uint8Array | undefined;
  private decodedName: string | undefined;
  constructor(
    private readonly file: Uint8Array,
    private readonly names: Uint8Array,
    private readonly nameOffset: number,
    private readonly hasData: boolean,
    readonly index: number,
    readonly type: number,
    readonly flags: number,
    readonly offset: number,
    readonly size: number,
    readonly link: number,
    readonly info: number,
    readonly addralign: number,
    readonly entsize: number,
  ) {}

  get name(): string {
    return (this.decodedName ??= nameAt(this.names, this.nameOffset));
  }

  get data(): Uint8Array {
    return (this.bytesView ??= this.hasData ? this.file.subarray(this.offset, this.offset + this.size) : NO_DATA);
  }

  copy(start = 0, end = this.size): Uint8Array {
    if (!this.hasData) return new Uint8Array(0);
    const from = Math.min(start, this.size);
    return this.file.slice(this.offset + from, this.offset + Math.max(from, Math.min(end, this.size)));
  }

  /** Whether this section is named `name`, without decoding its name when the bytes can tell. */
  named(name: string, plain: boolean): boolean {
    if (this.decodedName !== undefined) return this.decodedName === name;
    const first = this.names[this.nameOffset];
    return plain && (first === undefined || first < 0x80) ? nameIs(this.names, this.nameOffset, name) : this.name === name;
  }
}

/** The sections, looked up by name in order (the first of a name wins): a BPF object has tens, and a parse asks for a few names. */
class Elf implements ElfFile {
  constructor(
    readonly byteOrder: ByteOrder,
    readonly sections: readonly Section[],
    readonly bytes: Uint8Array,
    readonly view: DataView,
    readonly little: boolean,
    readonly symtab: Section | undefined,
    readonly relocationSections: readonly Section[],
    readonly dataSections: readonly Section[],
    /** The first section of each KNOWN name, found while reading the table. */
    private readonly known: readonly (Section | undefined)[],
  ) {}

  sectionByName(name: string): ElfSection | undefined {
    switch (name) {
      case '.BTF':
        return this.known[0];
      case '.BTF.ext':
        return this.known[1];
      case 'license':
        return this.known[2];
      case 'version':
        return this.known[3];
      case '.maps':
        return this.known[4];
      case 'maps':
        return this.known[5];
      case '.struct_ops':
        return this.known[6];
      case '.struct_ops.link':
        return this.known[7];
    }
    const plain = isPlainAscii(name);
    for (const s of this.sections) if (s.named(name, plain)) return s;
    return undefined;
  }
}

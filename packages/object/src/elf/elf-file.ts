import elfy, { type ElfyResult } from 'elfy';
import { ByteReader } from '../bytes.js';
import { ObjectParseError, type ByteOrder } from '../errors.js';

/** ELF constants we need (see elf(5)). */
export const SHT = { NULL: 0, PROGBITS: 1, SYMTAB: 2, STRTAB: 3, RELA: 4, NOBITS: 8, REL: 9 } as const;
export const SHF = { WRITE: 0x1, ALLOC: 0x2, EXECINSTR: 0x4 } as const;
const EM_BPF = 247;
const ET_REL = 1;
const SECTION_HEADER_SIZE = 64;

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
}

export interface ElfFile {
  readonly byteOrder: ByteOrder;
  readonly sections: readonly ElfSection[];
  sectionByName(name: string): ElfSection | undefined;
}

/**
 * Reads the header and section table of a 64-bit relocatable BPF ELF object.
 *
 * elfy parses the table and names; we re-read the fields elfy gets wrong for
 * ELF64 (it reads `sh_addralign` and `sh_entsize` at offsets 46/54 instead of
 * 48/56) and the numeric type/flags, and we check every section's extent
 * against the file so a truncated object is a typed error, not a short slice.
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
  const header = new ByteReader(bytes, byteOrder, 'ELF_INVALID');
  header.check(0, 64, 'ELF header');
  const type = header.u16(16);
  const machine = header.u16(18);
  if (machine !== EM_BPF) throw new ObjectParseError('ELF_UNSUPPORTED', `e_machine ${machine} is not EM_BPF (247)`);
  if (type !== ET_REL) throw new ObjectParseError('ELF_UNSUPPORTED', `e_type ${type} is not ET_REL (a relocatable object)`);
  const shoff = header.u64n(40, 'e_shoff');
  const shentsize = header.u16(58);
  const shnum = header.u16(60);
  const shstrndx = header.u16(62);
  if (shnum === 0) throw new ObjectParseError('ELF_INVALID', 'no section header table');
  if (shentsize !== SECTION_HEADER_SIZE) {
    throw new ObjectParseError('ELF_INVALID', `e_shentsize ${shentsize} is not ${SECTION_HEADER_SIZE}`);
  }
  header.check(shoff, shnum * shentsize, 'section header table');
  if (shstrndx >= shnum) throw new ObjectParseError('ELF_INVALID', `e_shstrndx ${shstrndx} out of range`);

  let parsed: ElfyResult;
  try {
    const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    parsed = elfy.parse(buf);
  } catch (cause) {
    throw new ObjectParseError('ELF_INVALID', `section table: ${(cause as Error).message}`, { cause });
  }
  const table = parsed.body.sections;
  if (table.length !== shnum) throw new ObjectParseError('ELF_INVALID', 'section table length mismatch');

  const sections = table.map((s, index): ElfSection => {
    const base = shoff + index * SECTION_HEADER_SIZE;
    const type = header.u32(base + 4);
    const flags = Number(header.u64(base + 8) & 0xffffffffn);
    const addralign = header.u64n(base + 48, 'sh_addralign');
    const entsize = header.u64n(base + 56, 'sh_entsize');
    const name = s.name;
    if (type !== SHT.NOBITS && type !== SHT.NULL) {
      if (s.off + s.size > bytes.length || !Number.isSafeInteger(s.off + s.size)) {
        throw new ObjectParseError('SECTION_INVALID', `${s.size} bytes at ${s.off} run past the end of the file`, {
          section: name,
        });
      }
    }
    return {
      index,
      name,
      type,
      flags,
      offset: s.off,
      size: s.size,
      link: s.link,
      info: s.info,
      addralign,
      entsize,
      data: type === SHT.NOBITS || type === SHT.NULL ? new Uint8Array(0) : bytes.subarray(s.off, s.off + s.size),
    };
  });
  const byName = new Map<string, ElfSection>();
  for (const s of sections) if (!byName.has(s.name)) byName.set(s.name, s);
  return { byteOrder, sections, sectionByName: (n) => byName.get(n) };
}

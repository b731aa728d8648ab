/**
 * An executable or shared library (ELF64, little-endian) read for probing:
 * its sections, loadable segments and function symbols, and a virtual
 * address turned into the file offset a uprobe takes.
 */
import { ObjectParseError } from '../errors.js';

export interface ImageSection {
  readonly name: string;
  readonly type: number;
  readonly addr: number;
  readonly offset: number;
  readonly size: number;
  readonly link: number;
  readonly entsize: number;
}

export interface ImageSegment {
  /** PT_LOAD is 1. */
  readonly type: number;
  /** PF_X 1, PF_W 2, PF_R 4. */
  readonly flags: number;
  readonly offset: number;
  readonly vaddr: number;
  readonly filesz: number;
  readonly memsz: number;
}

export interface ImageSymbol {
  readonly name: string;
  /** The symbol's virtual address (st_value). */
  readonly address: number;
  readonly size: number;
}

export interface ElfImage {
  /** ET_EXEC 2 (fixed addresses), ET_DYN 3 (a shared library or a position-independent executable). */
  readonly type: number;
  /** e_machine: EM_X86_64 62, EM_AARCH64 183, EM_S390 22, EM_RISCV 243. */
  readonly machine: number;
  readonly sections: readonly ImageSection[];
  readonly segments: readonly ImageSegment[];
  /** The section's bytes (empty for SHT_NOBITS). */
  sectionData(section: ImageSection): Uint8Array;
}

export const SHT_SYMTAB = 2;
export const SHT_NOTE = 7;
export const SHT_NOBITS = 8;
export const SHT_DYNSYM = 11;
export const PT_LOAD = 1;
const STT_FUNC = 2;
const STT_GNU_IFUNC = 10;

function invalid(why: string): ObjectParseError {
  return new ObjectParseError('ELF_INVALID', why);
}

/** Reads the headers of an executable or shared library. */
export function parseElfImage(bytes: Uint8Array): ElfImage {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 64 || bytes[0] !== 0x7f || bytes[1] !== 0x45 || bytes[2] !== 0x4c || bytes[3] !== 0x46) throw invalid('not an ELF file');
  if (bytes[4] !== 2 || bytes[5] !== 1) throw new ObjectParseError('ELF_UNSUPPORTED', 'only 64-bit little-endian executables and libraries can be probed');
  const u64 = (at: number) => {
    const n = v.getBigUint64(at, true);
    if (n > BigInt(Number.MAX_SAFE_INTEGER)) throw invalid(`a value past 2^53 at byte ${at}`);
    return Number(n);
  };
  const within = (offset: number, size: number, what: string) => {
    if (offset + size > bytes.length) throw invalid(`${what} (bytes ${offset}..${offset + size}) is past the end of the file (${bytes.length} bytes)`);
  };
  const type = v.getUint16(16, true);
  const machine = v.getUint16(18, true);
  const phoff = u64(0x20);
  const shoff = u64(0x28);
  const phnum = v.getUint16(0x38, true);
  const shnum = v.getUint16(0x3c, true);
  const shstrndx = v.getUint16(0x3e, true);
  within(phoff, phnum * 56, 'the program header table');
  within(shoff, shnum * 64, 'the section header table');
  const segments: ImageSegment[] = Array.from({ length: phnum }, (_, i) => {
    const h = phoff + i * 56;
    return { type: v.getUint32(h, true), flags: v.getUint32(h + 4, true), offset: u64(h + 8), vaddr: u64(h + 16), filesz: u64(h + 32), memsz: u64(h + 40) };
  });
  const raw = Array.from({ length: shnum }, (_, i) => {
    const h = shoff + i * 64;
    const s = {
      nameOffset: v.getUint32(h, true),
      type: v.getUint32(h + 4, true),
      addr: u64(h + 16),
      offset: u64(h + 24),
      size: u64(h + 32),
      link: v.getUint32(h + 40, true),
      entsize: u64(h + 56),
    };
    if (s.type !== SHT_NOBITS && s.type !== 0) within(s.offset, s.size, `section ${i}`);
    return s;
  });
  const names = raw[shstrndx];
  const sections: ImageSection[] = raw.map(({ nameOffset, ...s }) => ({
    ...s,
    name: names ? cString(bytes, names.offset + nameOffset, names.offset + names.size) : '',
  }));
  return {
    type,
    machine,
    sections,
    segments,
    sectionData: (s) => (s.type === SHT_NOBITS ? new Uint8Array(0) : bytes.subarray(s.offset, s.offset + s.size)),
  };
}

/** A NUL-terminated string at `start` (ending at `end` at the latest). */
export function cString(bytes: Uint8Array, start: number, end = bytes.length): string {
  let p = start;
  while (p < end && bytes[p] !== 0) p++;
  return new TextDecoder().decode(bytes.subarray(start, p));
}

/**
 * The defined functions of `.symtab` and `.dynsym` (IFUNCs included), each
 * name once, `.symtab` first; versioned names (`getpid@@GLIBC_2.2.5`) are
 * listed under their bare name.
 */
export function imageFunctions(image: ElfImage): ImageSymbol[] {
  const out = new Map<string, ImageSymbol>();
  for (const type of [SHT_SYMTAB, SHT_DYNSYM]) {
    for (const s of image.sections.filter((x) => x.type === type)) {
      const strtab = image.sections[s.link];
      if (!strtab) throw invalid(`symbol table ${s.name} links to no string table`);
      const strings = image.sectionData(strtab);
      const data = image.sectionData(s);
      const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
      for (let at = 0; at + 24 <= data.length; at += 24) {
        const kind = data[at + 4]! & 0xf;
        if (kind !== STT_FUNC && kind !== STT_GNU_IFUNC) continue;
        const address = Number(v.getBigUint64(at + 8, true));
        if (address === 0 || v.getUint16(at + 6, true) === 0) continue; // undefined (an import)
        const name = cString(strings, v.getUint32(at, true)).split('@')[0]!;
        if (name && !out.has(name)) out.set(name, { name, address, size: Number(v.getBigUint64(at + 16, true)) });
      }
    }
  }
  return [...out.values()];
}

/** The file offset of a virtual address, through the PT_LOAD segment holding it (undefined when none does). */
export function addressToFileOffset(image: ElfImage, address: number): number | undefined {
  for (const s of image.segments) {
    if (s.type === PT_LOAD && address >= s.vaddr && address < s.vaddr + Math.max(s.filesz, s.memsz)) return address - s.vaddr + s.offset;
  }
  return undefined;
}

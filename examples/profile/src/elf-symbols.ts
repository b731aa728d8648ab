/**
 * The function symbols of an executable or shared library (ELF64
 * little-endian, `.symtab` and `.dynsym`) and its PT_LOAD segments, read
 * through a byte-range reader so a large binary is not read whole; and the
 * translation of a file offset to the symbol it lies in. Pure given the reader.
 */
import { SymbolTable, type SymbolEntry } from './symbol-table.js';

/** Reads `length` bytes at `offset` (fewer at the end of the file). */
export type ReadRange = (offset: number, length: number) => Uint8Array;

export interface LoadSegment {
  readonly offset: bigint;
  readonly vaddr: bigint;
  readonly filesz: bigint;
}

export interface ElfSymbols {
  readonly symbols: SymbolTable;
  readonly segments: readonly LoadSegment[];
}

const SHT_SYMTAB = 2;
const SHT_DYNSYM = 11;
const STT_FUNC = 2;
const STT_GNU_IFUNC = 10;
const PT_LOAD = 1;
/** A bound on one symbol table's bytes (24 per symbol): 64 MiB is some 2.8 million symbols. */
const MAX_TABLE = 64 << 20;

/** The function symbols and load segments of an ELF64 LE file; undefined for anything else. */
export function readElfSymbols(read: ReadRange): ElfSymbols | undefined {
  const h = read(0, 64);
  if (h.length < 64 || h[0] !== 0x7f || h[1] !== 0x45 || h[2] !== 0x4c || h[3] !== 0x46 || h[4] !== 2 || h[5] !== 1) return undefined;
  const hv = view(h);
  const phoff = Number(hv.getBigUint64(0x20, true));
  const shoff = Number(hv.getBigUint64(0x28, true));
  const phnum = hv.getUint16(0x38, true);
  const shnum = hv.getUint16(0x3c, true);

  const segments: LoadSegment[] = [];
  const ph = read(phoff, phnum * 56);
  const pv = view(ph);
  for (let i = 0; (i + 1) * 56 <= ph.length; i++) {
    const at = i * 56;
    if (pv.getUint32(at, true) !== PT_LOAD) continue;
    segments.push({ offset: pv.getBigUint64(at + 8, true), vaddr: pv.getBigUint64(at + 16, true), filesz: pv.getBigUint64(at + 32, true) });
  }

  const sh = read(shoff, shnum * 64);
  const sv = view(sh);
  const sections = Array.from({ length: Math.floor(sh.length / 64) }, (_, i) => ({
    type: sv.getUint32(i * 64 + 4, true),
    offset: Number(sv.getBigUint64(i * 64 + 24, true)),
    size: Number(sv.getBigUint64(i * 64 + 32, true)),
    link: sv.getUint32(i * 64 + 40, true),
  }));
  const entries: SymbolEntry[] = [];
  const decoder = new TextDecoder();
  for (const s of sections) {
    if (s.type !== SHT_SYMTAB && s.type !== SHT_DYNSYM) continue;
    const strtab = sections[s.link];
    if (!strtab || s.size > MAX_TABLE || strtab.size > MAX_TABLE) continue;
    const syms = read(s.offset, s.size);
    const strs = read(strtab.offset, strtab.size);
    const v = view(syms);
    for (let at = 0; at + 24 <= syms.length; at += 24) {
      const type = syms[at + 4]! & 0xf;
      if (type !== STT_FUNC && type !== STT_GNU_IFUNC) continue;
      const value = v.getBigUint64(at + 8, true);
      if (value === 0n) continue;
      const nameAt = v.getUint32(at, true);
      let end = nameAt;
      while (end < strs.length && strs[end] !== 0) end++;
      let name = decoder.decode(strs.subarray(nameAt, end));
      const version = name.indexOf('@');
      if (version > 0) name = name.slice(0, version);
      if (name) entries.push({ start: value, size: v.getBigUint64(at + 16, true), name });
    }
  }
  return { symbols: new SymbolTable(entries), segments };
}

/** The virtual address (as the symbol tables give them) of a file offset, through the PT_LOAD segment holding it. */
export function fileOffsetToVaddr(segments: readonly LoadSegment[], fileOffset: bigint): bigint | undefined {
  for (const s of segments) if (fileOffset >= s.offset && fileOffset < s.offset + s.filesz) return fileOffset - s.offset + s.vaddr;
  return undefined;
}

function view(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

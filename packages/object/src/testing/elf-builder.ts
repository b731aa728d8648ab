/**
 * Builds small ELF64 BPF relocatable objects in memory, for tests that need
 * an object no compiler would produce (aya's `fake_section` idea). Not part of
 * the public API.
 */
import type { ByteOrder } from '../errors.js';

export interface FakeSection {
  name: string;
  type: number;
  flags?: number;
  data?: Uint8Array;
  /** For SHT_NOBITS: the size without data. */
  size?: number;
  link?: number;
  info?: number;
}
export interface FakeSymbol {
  name: string;
  /** Index into the sections given (0-based, the null section is added in front). */
  section: number | 'undef';
  value?: number;
  size?: number;
  bind?: number;
  type?: number;
}
export interface FakeRelocation {
  /** Index of the patched section in the sections given. */
  section: number;
  offset: number;
  /** Index into the symbols given. */
  symbol: number;
  type: number;
}

export function buildElf(sections: FakeSection[], symbols: FakeSymbol[] = [], relocations: FakeRelocation[] = [], byteOrder: ByteOrder = 'little'): Uint8Array {
  const le = byteOrder === 'little';
  const all: FakeSection[] = [{ name: '', type: 0 }, ...sections];
  const strtab = new StringTable();
  const symtabIndex = all.length;
  const strtabIndex = all.length + 1;
  // Symbols: null symbol first, locals before globals as ELF requires.
  const symBytes = new Uint8Array(24 * (symbols.length + 1));
  const sv = new DataView(symBytes.buffer);
  symbols.forEach((s, i) => {
    const o = 24 * (i + 1);
    sv.setUint32(o, strtab.add(s.name), le);
    sv.setUint8(o + 4, ((s.bind ?? 1) << 4) | (s.type ?? 2));
    sv.setUint16(o + 6, s.section === 'undef' ? 0 : s.section + 1, le);
    sv.setBigUint64(o + 8, BigInt(s.value ?? 0), le);
    sv.setBigUint64(o + 16, BigInt(s.size ?? 0), le);
  });
  const relSections = new Map<number, FakeRelocation[]>();
  for (const r of relocations) relSections.set(r.section, [...(relSections.get(r.section) ?? []), r]);
  all.push({ name: '.symtab', type: 2, data: symBytes, link: strtabIndex, info: 1 });
  for (const [target, rels] of relSections) {
    const data = new Uint8Array(16 * rels.length);
    const dv = new DataView(data.buffer);
    rels.forEach((r, i) => {
      dv.setBigUint64(16 * i, BigInt(r.offset), le);
      dv.setBigUint64(16 * i + 8, (BigInt(r.symbol + 1) << 32n) | BigInt(r.type), le);
    });
    all.push({ name: `.rel${all[target + 1]!.name}`, type: 9, data, link: symtabIndex, info: target + 1 });
  }
  const strtabSection: FakeSection = { name: '.strtab', type: 3 };
  all.splice(strtabIndex, 0, strtabSection);
  // Names of every section go into the same table (it doubles as .shstrtab).
  const nameOffsets = all.map((s) => strtab.add(s.name));
  strtabSection.data = strtab.bytes();

  let offset = 64;
  const placed = all.map((s) => {
    const at = offset;
    offset += s.type === 8 ? 0 : (s.data?.length ?? 0);
    offset = (offset + 7) & ~7;
    return at;
  });
  const shoff = offset;
  const out = new Uint8Array(shoff + 64 * all.length);
  const v = new DataView(out.buffer);
  out.set([0x7f, 0x45, 0x4c, 0x46, 2, le ? 1 : 2, 1], 0);
  v.setUint16(16, 1, le); // ET_REL
  v.setUint16(18, 247, le); // EM_BPF
  v.setUint32(20, 1, le);
  v.setBigUint64(40, BigInt(shoff), le);
  v.setUint16(52, 64, le);
  v.setUint16(58, 64, le);
  v.setUint16(60, all.length, le);
  v.setUint16(62, strtabIndex, le);
  all.forEach((s, i) => {
    if (s.data && s.type !== 8) out.set(s.data, placed[i]!);
    const h = shoff + 64 * i;
    v.setUint32(h, nameOffsets[i]!, le);
    v.setUint32(h + 4, s.type, le);
    v.setBigUint64(h + 8, BigInt(s.flags ?? 0), le);
    v.setBigUint64(h + 24, BigInt(placed[i]!), le);
    v.setBigUint64(h + 32, BigInt(s.size ?? s.data?.length ?? 0), le);
    v.setUint32(h + 40, s.link ?? 0, le);
    v.setUint32(h + 44, s.info ?? 0, le);
    v.setBigUint64(h + 48, 8n, le);
    v.setBigUint64(h + 56, BigInt(s.type === 2 ? 24 : s.type === 9 ? 16 : 0), le);
  });
  return out;
}

class StringTable {
  private readonly parts: number[] = [0];
  private readonly seen = new Map<string, number>([['', 0]]);
  add(s: string): number {
    const known = this.seen.get(s);
    if (known !== undefined) return known;
    const at = this.parts.length;
    this.parts.push(...new TextEncoder().encode(s), 0);
    this.seen.set(s, at);
    return at;
  }
  bytes(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

/** Little helpers for instruction bytes in tests. */
export function insn(opcode: number, dst: number, src: number, off: number, imm: number, byteOrder: ByteOrder = 'little'): Uint8Array {
  const b = new Uint8Array(8);
  const v = new DataView(b.buffer);
  const le = byteOrder === 'little';
  b[0] = opcode;
  b[1] = le ? (src << 4) | dst : (dst << 4) | src;
  v.setInt16(2, off, le);
  v.setInt32(4, imm, le);
  return b;
}
export const concat = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
};

/**
 * Where the fields of an object and of raw BTF are, for field-targeted
 * corruption: ELF header counts and offsets, section headers, symbols,
 * relocation indices and types, legacy map definitions, instructions, the
 * BTF header's lengths, every type record's name offset, kind, vlen and
 * references, map definition members (`int (*max_entries)[N]`), string
 * terminators, and the BTF.ext header, record sizes, counts and records.
 * A walk of its own, independent of the parser under test, run once on a
 * valid input; `corrupt` then overwrites a few fields of a copy with
 * boundary values.
 */
import type { Rng } from './mutate.js';

export interface Field {
  /** What it is, e.g. `ELF e_shnum`, `BTF member type`, `BTF.ext line_info rec_size`. */
  readonly label: string;
  readonly at: number;
  readonly width: 1 | 2 | 4 | 8;
  readonly little: boolean;
}

const BTF_KINDS = [
  'void',
  'int',
  'ptr',
  'array',
  'struct',
  'union',
  'enum',
  'fwd',
  'typedef',
  'volatile',
  'const',
  'restrict',
  'func',
  'func_proto',
  'var',
  'datasec',
  'float',
  'decl_tag',
  'type_tag',
  'enum64',
];

/** Kinds whose third word is a size; the others' is a type id. */
const SIZED = new Set(['int', 'struct', 'union', 'enum', 'enum64', 'float', 'datasec']);

function reader(bytes: Uint8Array, little: boolean) {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return {
    u8: (at: number) => v.getUint8(at),
    u16: (at: number) => v.getUint16(at, little),
    u32: (at: number) => v.getUint32(at, little),
    u64: (at: number) => Number(v.getBigUint64(at, little)),
  };
}

/** A BTF type record as the walk found it. */
export interface BtfRecord {
  readonly id: number;
  /** Offset of the record in the blob. */
  readonly at: number;
  readonly end: number;
  readonly kind: string;
  readonly vlen: number;
  /** Offsets (in the blob) of every name_off word the record holds. */
  readonly names: readonly number[];
}

/** The type records of raw BTF, as far as they can be walked. */
export function btfRecords(bytes: Uint8Array, firstId = 1): { little: boolean; records: BtfRecord[] } {
  const little = bytes[0] === 0x9f && bytes[1] === 0xeb;
  const r = reader(bytes, little);
  const hdrLen = r.u32(4);
  const start = hdrLen + r.u32(8);
  const end = start + r.u32(12);
  const records: BtfRecord[] = [];
  for (let at = start, id = firstId; at + 12 <= end; id++) {
    const info = r.u32(at + 4);
    const kind = BTF_KINDS[(info >>> 24) & 0x1f] ?? 'unknown';
    const vlen = info & 0xffff;
    const names = [at];
    let next = at + 12;
    if (kind === 'int' || kind === 'var' || kind === 'decl_tag') next += 4;
    else if (kind === 'array') next += 12;
    else if (kind === 'struct' || kind === 'union') for (let i = 0; i < vlen; i++, next += 12) names.push(next);
    else if (kind === 'enum') for (let i = 0; i < vlen; i++, next += 8) names.push(next);
    else if (kind === 'func_proto') for (let i = 0; i < vlen; i++, next += 8) names.push(next);
    else if (kind === 'enum64') for (let i = 0; i < vlen; i++, next += 12) names.push(next);
    else if (kind === 'datasec') next += 12 * vlen;
    else if (kind === 'unknown') break;
    if (next > end) break;
    records.push({ id, at, end: next, kind, vlen, names });
    at = next;
  }
  return { little, records };
}

/** The fields of raw BTF at `base` in `bytes` (an object's .BTF section, or a whole blob at 0). */
export function btfFields(bytes: Uint8Array, base = 0, length = bytes.length - base): Field[] {
  const blob = bytes.subarray(base, base + length);
  if (blob.length < 24) return [];
  const { little, records } = btfRecords(blob);
  const out: Field[] = [];
  const f = (label: string, at: number, width: 1 | 2 | 4 | 8 = 4) => out.push({ label, at: base + at, width, little });
  f('BTF magic', 0, 2);
  f('BTF version', 2, 1);
  f('BTF flags', 3, 1);
  for (const [i, name] of ['hdr_len', 'type_off', 'type_len', 'str_off', 'str_len'].entries()) f(`BTF ${name}`, 4 + 4 * i);
  const byId = new Map(records.map((rec) => [rec.id, rec]));
  for (const rec of records) {
    f('BTF name_off', rec.at);
    f('BTF vlen', little ? rec.at + 4 : rec.at + 6, 2);
    f('BTF kind', little ? rec.at + 7 : rec.at + 4, 1);
    f(SIZED.has(rec.kind) ? 'BTF size' : 'BTF type reference', rec.at + 8);
    for (const n of rec.names.slice(1)) f('BTF member/param/enumerator name_off', n);
    let at = rec.at + 12;
    if (rec.kind === 'int' || rec.kind === 'var' || rec.kind === 'decl_tag') f(`BTF ${rec.kind} extra word`, at);
    if (rec.kind === 'array') ['array type', 'array index type', 'array nelems'].forEach((l, i) => f(`BTF ${l}`, at + 4 * i));
    if (rec.kind === 'struct' || rec.kind === 'union')
      for (let i = 0; i < rec.vlen; i++, at += 12) {
        f('BTF member type', at + 4);
        f('BTF member offset', at + 8);
      }
    if (rec.kind === 'func_proto') for (let i = 0; i < rec.vlen; i++, at += 8) f('BTF param type', at + 4);
    if (rec.kind === 'datasec')
      for (let i = 0; i < rec.vlen; i++, at += 12) ['datasec var type', 'datasec var offset', 'datasec var size'].forEach((l, j) => f(`BTF ${l}`, at + 4 * j));
  }
  // Map definitions: a .maps var's struct members point at `int [N]` arrays; N is the attribute.
  const r = reader(blob, little);
  const strStart = r.u32(4) + r.u32(16);
  const nameOf = (rec: BtfRecord) => cstr(blob, strStart + r.u32(rec.at));
  for (const sec of records.filter((rec) => rec.kind === 'datasec' && nameOf(rec) === '.maps')) {
    for (let i = 0; i < sec.vlen; i++) {
      const v = byId.get(r.u32(sec.at + 12 + 12 * i));
      const def = v && byId.get(r.u32(v.at + 8));
      if (!def || def.kind !== 'struct') continue;
      for (let m = 0; m < def.vlen; m++) {
        const ptr = byId.get(r.u32(def.at + 12 + 12 * m + 4));
        const arr = ptr && byId.get(r.u32(ptr.at + 8));
        if (arr?.kind === 'array') f('map definition member (array nelems)', arr.at + 20);
        else if (ptr) f('map definition member type', def.at + 12 + 12 * m + 4);
      }
    }
  }
  // String terminators: a name that runs into the next one, or off the end.
  const strLen = r.u32(20);
  for (let at = strStart, n = 0; at < Math.min(blob.length, strStart + strLen) && n < 64; at++) if (blob[at] === 0) (n++, f('BTF string NUL', at, 1));
  return out;
}

function cstr(bytes: Uint8Array, at: number): string {
  let end = at;
  while (end < bytes.length && bytes[end] !== 0) end++;
  return new TextDecoder().decode(bytes.subarray(at, end));
}

/** The fields of a BTF.ext section at `base`. */
export function btfExtFields(bytes: Uint8Array, base: number, length: number, little: boolean): Field[] {
  const out: Field[] = [];
  if (length < 24) return out;
  const r = reader(bytes, little);
  const f = (label: string, at: number, width: 1 | 2 | 4 | 8 = 4) => out.push({ label, at, width, little });
  f('BTF.ext magic', base, 2);
  f('BTF.ext hdr_len', base + 4);
  const hdrLen = r.u32(base + 4);
  const subsections: [string, number, number][] = [
    ['func_info', 8, 8],
    ['line_info', 16, 16],
    ['core_relo', 24, 16],
  ];
  for (const [name, where] of subsections) {
    if (where + 8 > hdrLen) continue;
    f(`BTF.ext ${name}_off`, base + where);
    f(`BTF.ext ${name}_len`, base + where + 4);
    const start = base + hdrLen + r.u32(base + where);
    const end = start + r.u32(base + where + 4);
    if (start + 4 > base + length || end > base + length || end <= start) continue;
    f(`BTF.ext ${name} rec_size`, start);
    const recSize = r.u32(start);
    if (recSize < 4) continue;
    for (let at = start + 4; at + 8 <= end;) {
      f(`BTF.ext ${name} sec_name_off`, at);
      f(`BTF.ext ${name} num_info`, at + 4);
      const n = r.u32(at + 4);
      at += 8;
      for (let i = 0; i < n && at + recSize <= end; i++, at += recSize) {
        for (let w = 0; w + 4 <= recSize; w += 4) f(`BTF.ext ${name} record word ${w / 4}`, at + w);
      }
    }
  }
  return out;
}

/** A copy of the contents of the section named `name` of a 64-bit ELF object, if it has one. */
export function elfSection(bytes: Uint8Array, name: string): Uint8Array | undefined {
  if (bytes.length < 64 || bytes[0] !== 0x7f || bytes[4] !== 2) return undefined;
  const r = reader(bytes, bytes[5] === 1);
  const shoff = r.u64(40);
  const shnum = r.u16(60);
  if (shoff + 64 * shnum > bytes.length || r.u16(62) >= shnum) return undefined;
  const shstr = r.u64(shoff + 64 * r.u16(62) + 24);
  for (let i = 0; i < shnum; i++) {
    const h = shoff + 64 * i;
    const offset = r.u64(h + 24);
    const size = r.u64(h + 32);
    if (cstr(bytes, shstr + r.u32(h)) === name && offset + size <= bytes.length) return bytes.slice(offset, offset + size);
  }
  return undefined;
}

/** Every field of a BPF ELF object worth corrupting. */
export function elfFields(bytes: Uint8Array): Field[] {
  if (bytes.length < 64 || bytes[0] !== 0x7f || bytes[4] !== 2) return [];
  const little = bytes[5] === 1;
  const r = reader(bytes, little);
  const out: Field[] = [];
  const f = (label: string, at: number, width: 1 | 2 | 4 | 8) => out.push({ label, at, width, little });
  f('ELF class', 4, 1);
  f('ELF data (byte order)', 5, 1);
  f('ELF e_type', 16, 2);
  f('ELF e_machine', 18, 2);
  f('ELF e_shoff', 40, 8);
  f('ELF e_ehsize', 52, 2);
  f('ELF e_shentsize', 58, 2);
  f('ELF e_shnum', 60, 2);
  f('ELF e_shstrndx', 62, 2);
  const shoff = r.u64(40);
  const shnum = r.u16(60);
  if (shoff + 64 * shnum > bytes.length) return out;
  const shstr = r.u64(shoff + 64 * r.u16(62) + 24);
  for (let i = 0; i < shnum; i++) {
    const h = shoff + 64 * i;
    const name = cstr(bytes, shstr + r.u32(h));
    const type = r.u32(h + 4);
    const offset = r.u64(h + 24);
    const size = r.u64(h + 32);
    f('section sh_name', h, 4);
    f('section sh_type', h + 4, 4);
    f('section sh_flags', h + 8, 8);
    f('section sh_offset', h + 24, 8);
    f('section sh_size', h + 32, 8);
    f('section sh_link', h + 40, 4);
    f('section sh_info', h + 44, 4);
    f('section sh_addralign', h + 48, 8);
    f('section sh_entsize', h + 56, 8);
    if (type === 8 || offset + size > bytes.length) continue; // NOBITS, or nothing to walk
    if (type === 2) {
      for (let s = offset + 24; s + 24 <= offset + size; s += 24) {
        f('symbol st_name', s, 4);
        f('symbol st_info', s + 4, 1);
        f('symbol st_shndx', s + 6, 2);
        f('symbol st_value', s + 8, 8);
        f('symbol st_size', s + 16, 8);
      }
    } else if (type === 9 || type === 4) {
      const entry = type === 9 ? 16 : 24;
      for (let s = offset; s + entry <= offset + size; s += entry) {
        f('relocation r_offset', s, 8);
        f('relocation type', little ? s + 8 : s + 12, 4);
        f('relocation symbol index', little ? s + 12 : s + 8, 4);
      }
    } else if (name === '.BTF') out.push(...btfFields(bytes, offset, size));
    else if (name === '.BTF.ext') out.push(...btfExtFields(bytes, offset, size, little));
    else if (name === 'maps') for (let s = offset; s + 4 <= offset + size; s += 4) f('legacy map definition word', s, 4);
    else if (r.u64(h + 8) & 4) {
      // Instructions: opcode, registers, offset, immediate of some of them.
      for (let s = offset, n = 0; s + 8 <= offset + size && n < 64; s += 8, n++) {
        f('instruction opcode', s, 1);
        f('instruction registers', s + 1, 1);
        f('instruction offset', s + 2, 2);
        f('instruction imm', s + 4, 4);
      }
    }
  }
  return out;
}

/** Values a corrupted field takes: boundaries of its width, its own value nudged, a value of a field like it. */
function corruptValue(rng: Rng, bytes: Uint8Array, field: Field, peers: readonly Field[]): bigint {
  const bits = BigInt(field.width * 8);
  const max = (1n << bits) - 1n;
  const current = read(bytes, field);
  const peer = peers.length > 0 ? read(bytes, rng.pick(peers)) : current;
  const choices = [
    0n,
    1n,
    2n,
    current + 1n,
    current - 1n,
    current * 2n,
    current >> 1n,
    max,
    max - 1n,
    max >> 1n,
    (max >> 1n) + 1n,
    peer,
    BigInt(bytes.length),
    BigInt(rng.u32()),
  ];
  return BigInt.asUintN(Number(bits), rng.pick(choices));
}

function read(bytes: Uint8Array, field: Field): bigint {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (field.width) {
    case 1:
      return BigInt(v.getUint8(field.at));
    case 2:
      return BigInt(v.getUint16(field.at, field.little));
    case 4:
      return BigInt(v.getUint32(field.at, field.little));
    case 8:
      return v.getBigUint64(field.at, field.little);
  }
}

function write(bytes: Uint8Array, field: Field, value: bigint): void {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (field.width === 1) v.setUint8(field.at, Number(value));
  else if (field.width === 2) v.setUint16(field.at, Number(value), field.little);
  else if (field.width === 4) v.setUint32(field.at, Number(value), field.little);
  else v.setBigUint64(field.at, value, field.little);
}

export interface Corruption {
  readonly label: string;
  readonly at: number;
  readonly value: bigint;
}

/** A copy of `input` with one to three fields overwritten; the label group is chosen first, so rare fields get their turn. */
export function corrupt(rng: Rng, input: Uint8Array, fields: readonly Field[]): { bytes: Uint8Array; corruptions: Corruption[] } {
  const bytes = input.slice();
  const groups = [...new Set(fields.map((f) => f.label))];
  const corruptions: Corruption[] = [];
  const n = 1 + rng.below(3);
  for (let i = 0; i < n && groups.length > 0; i++) {
    const label = rng.pick(groups);
    const peers = fields.filter((f) => f.label === label);
    const field = rng.pick(peers);
    if (field.at + field.width > bytes.length) continue;
    const value = corruptValue(rng, bytes, field, peers);
    write(bytes, field, value);
    corruptions.push({ label, at: field.at, value });
  }
  return { bytes, corruptions };
}

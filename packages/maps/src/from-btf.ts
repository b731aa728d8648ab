import type { Btf, BtfType } from '@tsbpf/object';
import { CodecError, type Codec } from './codec.js';
import { array, decodeInline, enumOf, structAt, type PlacedField } from './composite.js';
import { encodeUnion, rememberUnionBytes, type InlineCodec, type UnionMember } from './union.js';
import { bool, bytes, cstring, f32, f64, i16, i32, i64, i8, u16, u32, u64, u64AsNumber, u8 } from './primitives.js';

export interface BtfCodecOptions {
  /** 64-bit integers as bigint (default) or as numbers (throws beyond 2^53). */
  int64?: 'bigint' | 'number';
}

/**
 * The codec for a BTF type, so no user ever writes a byte offset: integers
 * (bigint for 64-bit by default), bool, char arrays as strings, enums by
 * name, structs as plain objects at BTF's member offsets (bit-fields
 * included; anonymous members flattened as C does), numeric arrays as typed
 * arrays, unions as every member's view plus `$bytes`.
 */
export function codecFromBtf(btf: Btf, typeId: number, options: BtfCodecOptions = {}): Codec<unknown> {
  return build(btf, typeId, options, 0);
}

function build(btf: Btf, id: number, o: BtfCodecOptions, depth: number): Codec<unknown> {
  if (depth > 32) throw new CodecError(`BTF type [${id}] nests too deeply`);
  const t = btf.resolve(id);
  switch (t.kind) {
    case 'int':
      return intCodec(t, o);
    case 'float':
      if (t.size === 4) return f32 as Codec<unknown>;
      if (t.size === 8) return f64 as Codec<unknown>;
      return bytes(t.size) as Codec<unknown>;
    case 'ptr':
      return u64 as Codec<unknown>;
    case 'enum': {
      const base = [1, 2, 4].includes(t.size) ? intOfSize(t.size as 1 | 2 | 4, t.signed) : u32;
      return enumOf(`enum ${t.name || '(anon)'}`, base, Object.fromEntries(t.values.map((v) => [v.name, v.value]))) as Codec<unknown>;
    }
    case 'enum64':
      return enum64(t) as Codec<unknown>;
    case 'array': {
      const elem = btf.resolve(t.type);
      if (elem.kind === 'int' && elem.size === 1 && (elem.encoding & 2 || elem.name === 'char')) return cstring(t.nelems) as Codec<unknown>;
      return array(build(btf, t.type, o, depth + 1), t.nelems) as Codec<unknown>;
    }
    case 'struct':
      return structAt(`struct ${t.name || '(anon)'}`, t.size, safeAlign(btf, t.id), fieldsOf(btf, t, 0, o, depth)) as Codec<unknown>;
    case 'union':
      return unionCodec(btf, t, o, depth) as Codec<unknown>;
    default:
      throw new CodecError(`BTF type [${id}] (${t.kind}) has no value codec`);
  }
}

function safeAlign(btf: Btf, id: number): number {
  try {
    return btf.alignof(id);
  } catch {
    return 1;
  }
}

function intOfSize(size: 1 | 2 | 4, signed: boolean): Codec<number> {
  return size === 1 ? (signed ? i8 : u8) : size === 2 ? (signed ? i16 : u16) : signed ? i32 : u32;
}

function intCodec(t: Extract<BtfType, { kind: 'int' }>, o: BtfCodecOptions): Codec<unknown> {
  if (t.encoding & 4 && t.size === 1) return bool as Codec<unknown>;
  if (t.size === 1 || t.size === 2 || t.size === 4) return intOfSize(t.size, t.signed) as Codec<unknown>;
  if (t.size === 8) {
    if (o.int64 === 'number') return (t.signed ? i64AsNumber : u64AsNumber) as Codec<unknown>;
    return (t.signed ? i64 : u64) as Codec<unknown>;
  }
  if (t.size === 16) return int128(t.signed) as Codec<unknown>;
  return bytes(t.size) as Codec<unknown>;
}

const i64AsNumber: Codec<number> = {
  name: 'i64 (as number)',
  size: 8,
  align: 8,
  decode: (v, off) => {
    const x = v.getBigInt64(off, true);
    if (x > BigInt(Number.MAX_SAFE_INTEGER) || x < BigInt(Number.MIN_SAFE_INTEGER)) throw new CodecError(`i64 (as number): ${x} is not a safe integer`);
    return Number(x);
  },
  encode: (x, v, off) => {
    if (!Number.isSafeInteger(x)) throw new CodecError(`i64 (as number): ${x} is not a safe integer`);
    v.setBigInt64(off, BigInt(x), true);
  },
};

function int128(signed: boolean): Codec<bigint> {
  const name = signed ? 'i128' : 'u128';
  return {
    name,
    size: 16,
    align: 16,
    decode: (v, off) => {
      const u = (v.getBigUint64(off + 8, true) << 64n) | v.getBigUint64(off, true);
      return signed ? BigInt.asIntN(128, u) : u;
    },
    encode: (x, v, off) => {
      const u = BigInt.asUintN(128, x);
      if ((signed ? BigInt.asIntN(128, u) : u) !== x) throw new CodecError(`${name}: ${x} does not fit`);
      v.setBigUint64(off, u & 0xffffffffffffffffn, true);
      v.setBigUint64(off + 8, u >> 64n, true);
    },
  };
}

function enum64(t: Extract<BtfType, { kind: 'enum64' }>): Codec<string | bigint> {
  const byValue = new Map<bigint, string>();
  for (const v of t.values) if (!byValue.has(v.value)) byValue.set(v.value, v.name);
  const base = t.signed ? i64 : u64;
  const name = `enum ${t.name || '(anon)'}`;
  return {
    name,
    size: 8,
    align: 8,
    decode: (v, off) => {
      const n = base.decode(v, off);
      return byValue.get(n) ?? n;
    },
    encode: (x, v, off) => {
      if (typeof x === 'string') {
        const found = t.values.find((e) => e.name === x);
        if (!found) throw new CodecError(`${name}: no enumerator ${x}`);
        base.encode(found.value, v, off);
      } else base.encode(x, v, off);
    },
  };
}

/** Members at their byte offsets; anonymous struct/union members' fields lifted into the parent, as C exposes them. */
function fieldsOf(btf: Btf, t: Extract<BtfType, { kind: 'struct' | 'union' }>, base: number, o: BtfCodecOptions, depth: number): PlacedField[] {
  const out: PlacedField[] = [];
  for (const m of t.members) {
    if (m.bitfieldSize > 0) {
      const target = btf.resolve(m.type);
      const signed = (target.kind === 'int' && target.signed) || (target.kind === 'enum' && target.signed);
      const bitOffset = base * 8 + m.bitOffset;
      const byte = Math.floor(bitOffset / 8);
      out.push({ name: m.name, offset: byte, codec: bitfield(bitOffset - byte * 8, m.bitfieldSize, signed) as Codec<unknown> });
      continue;
    }
    if (m.bitOffset % 8 !== 0) throw new CodecError(`member ${m.name} is not byte-aligned`);
    const member = btf.resolve(m.type);
    if (m.name === '' && member.kind === 'struct') {
      // An anonymous struct's members are the parent's, at their own offsets.
      out.push(...fieldsOf(btf, member, base + m.bitOffset / 8, o, depth + 1));
      continue;
    }
    if (m.name === '' && member.kind === 'union') {
      // An anonymous union's members overlay the same bytes: each is read;
      // writing takes the one changed since the decode (see inlineUnion).
      out.push({ name: '', offset: base + m.bitOffset / 8, codec: inlineUnion(btf, member, o, depth) as Codec<unknown>, inline: true });
      continue;
    }
    if (m.name === '') continue;
    out.push({ name: m.name, offset: base + m.bitOffset / 8, codec: build(btf, m.type, o, depth + 1) });
  }
  return out;
}

/** A bit-field: `bits` bits starting `shift` bits into the byte at its offset (little-endian). */
function bitfield(shift: number, bits: number, signed: boolean): Codec<number> {
  const span = Math.ceil((shift + bits) / 8);
  const mask = 2 ** bits - 1;
  const read = (v: DataView, off: number) => {
    let x = 0;
    for (let i = span - 1; i >= 0; i--) x = x * 256 + v.getUint8(off + i);
    return Math.floor(x / 2 ** shift) % 2 ** bits;
  };
  return {
    name: `bitfield:${bits}`,
    size: span,
    align: 1,
    decode: (v, off) => {
      const x = read(v, off);
      return signed && x >= 2 ** (bits - 1) ? x - 2 ** bits : x;
    },
    encode: (value, v, off) => {
      const min = signed ? -(2 ** (bits - 1)) : 0;
      const max = signed ? 2 ** (bits - 1) - 1 : mask;
      if (!Number.isInteger(value) || value < min || value > max) throw new CodecError(`bitfield:${bits}: ${value} is out of range`);
      const u = value < 0 ? value + 2 ** bits : value;
      let whole = 0;
      for (let i = span - 1; i >= 0; i--) whole = whole * 256 + v.getUint8(off + i);
      const low = whole % 2 ** shift;
      const high = Math.floor(whole / 2 ** (shift + bits));
      whole = high * 2 ** (shift + bits) + u * 2 ** shift + low;
      for (let i = 0; i < span; i++) {
        v.setUint8(off + i, whole % 256);
        whole = Math.floor(whole / 256);
      }
    },
  };
}

/**
 * An anonymous union inside a struct: its members are the parent's (as C
 * exposes them). Decoding remembers the union's bytes for the parent object,
 * so that encoding it back writes the member that was changed.
 */
function inlineUnion(btf: Btf, t: Extract<BtfType, { kind: 'union' }>, o: BtfCodecOptions, depth: number): InlineCodec {
  const fields = fieldsOf(btf, t, 0, o, depth + 1);
  const members = unionMembers(btf, t, o, depth + 1);
  const name = 'union (anon)';
  const raw = bytes(t.size);
  const codec: InlineCodec = {
    name,
    size: t.size,
    align: safeAlign(btf, t.id),
    decode(view, offset) {
      const out: Record<string, unknown> = {};
      codec.decodeInto(out, view, offset);
      return out;
    },
    decodeInto(target, view, offset) {
      for (const f of fields) {
        if (f.inline) decodeInline(f.codec, target, view, offset + f.offset);
        else target[f.name] = f.codec.decode(view, offset + f.offset);
      }
      rememberUnionBytes(target, codec, raw.decode(view, offset));
    },
    encode(parent, view, offset) {
      encodeUnion(name, t.size, members, parent, codec, parent, view, offset, false);
    },
  };
  return codec;
}

/** A union: every member decoded from the same bytes, plus `$bytes`; encoding writes the member changed since the decode (see encodeUnion). */
function unionCodec(btf: Btf, t: Extract<BtfType, { kind: 'union' }>, o: BtfCodecOptions, depth: number): Codec<Record<string, unknown>> {
  const fields = fieldsOf(btf, t, 0, o, depth);
  const raw = bytes(t.size);
  const name = `union ${t.name || '(anon)'}`;
  // $bytes is one more member: the whole union as bytes.
  const members: UnionMember[] = [[{ name: '$bytes', offset: 0, codec: raw as Codec<unknown> }], ...unionMembers(btf, t, o, depth)];
  const codec: Codec<Record<string, unknown>> = {
    name,
    size: t.size,
    align: safeAlign(btf, t.id),
    decode(view, offset) {
      const out: Record<string, unknown> = { $bytes: raw.decode(view, offset) };
      for (const f of fields) {
        if (f.inline) decodeInline(f.codec, out, view, offset + f.offset);
        else out[f.name] = f.codec.decode(view, offset + f.offset);
      }
      rememberUnionBytes(out, codec, raw.decode(view, offset));
      return out;
    },
    encode(value, view, offset) {
      if (value === null || typeof value !== 'object') throw new CodecError(`${name}: ${String(value)} is not an object`);
      encodeUnion(name, t.size, members, value, codec, value, view, offset, true);
    },
  };
  return codec;
}

/**
 * A union's members as encodeUnion weighs them: each C member with the
 * fields it puts in the object (an anonymous struct's fields together). An
 * anonymous union among them overlays the same bytes, so its own members are
 * more members of this one, recursively. (An anonymous union inside an
 * anonymous struct member is not weighed: that member's bytes are kept as
 * they were.)
 */
function unionMembers(btf: Btf, t: Extract<BtfType, { kind: 'union' }>, o: BtfCodecOptions, depth: number): UnionMember[] {
  const out: UnionMember[] = [];
  for (const m of t.members) {
    const member = btf.resolve(m.type);
    if (m.name === '' && m.bitfieldSize === 0 && member.kind === 'union') {
      const at = m.bitOffset / 8;
      for (const group of unionMembers(btf, member, o, depth + 1)) out.push(group.map((f) => ({ ...f, offset: f.offset + at })));
      continue;
    }
    const fields = fieldsOf(btf, { ...t, members: [m] }, 0, o, depth);
    if (fields.length > 0 && !fields.some((f) => f.inline)) out.push(fields);
  }
  return out;
}

/**
 * codecFromBtf: the codec of any BTF type, so no user ever writes a byte
 * offset. It builds the plan of codec-plan.ts, with the codecs only a BTF
 * type calls for (bit-fields, unions, 64-bit enums, 128-bit integers).
 */
import type { Btf } from '@tsbpf/object';
import type { Codec } from './codec.js';
import { planFromBtf, type BtfCodecOptions, type CodecPlan, type PlanField, type ScalarName, type UnionPlan } from './codec-plan.js';
import { array, decodeInline, enumOf, structAt, type PlacedField } from './composite.js';
import { CodecError } from './errors.js';
import { encodeUnion, rememberUnionBytes, type InlineCodec } from './union.js';
import { be16, be32, bool, bytes, cstring, f32, f64, i16, i32, i64, i64AsNumber, i8, ipv4, ipv6, u16, u32, u64, u64AsNumber, u8 } from './primitives.js';

export type { BtfCodecOptions } from './codec-plan.js';

/**
 * The codec for a BTF type: integers (bigint for 64-bit by default), bool,
 * char arrays as strings, enums by name, structs as plain objects at BTF's
 * member offsets (bit-fields included; anonymous members flattened as C
 * does), numeric arrays as typed arrays, unions as every member's view plus
 * `$bytes`.
 */
export function codecFromBtf(btf: Btf, typeId: number, options: BtfCodecOptions = {}): Codec<unknown> {
  return buildCodec(planFromBtf(btf, typeId, options));
}

/** The built-in codec of each scalar a plan names. */
export const SCALARS: Readonly<Record<ScalarName, Codec<unknown>>> = {
  u8,
  i8,
  u16,
  i16,
  u32,
  i32,
  u64,
  i64,
  u64AsNumber,
  i64AsNumber,
  bool,
  f32,
  f64,
  be16,
  be32,
  ipv4,
  ipv6,
} as Record<ScalarName, Codec<unknown>>;

/** The codec a plan describes; a plan met twice (a type used by many members) is built once. */
export function buildCodec(plan: CodecPlan, built = new Map<CodecPlan, Codec<unknown>>()): Codec<unknown> {
  let codec = built.get(plan);
  if (codec === undefined) {
    codec = build(plan, built);
    built.set(plan, codec);
  }
  return codec;
}

function build(plan: CodecPlan, built: Map<CodecPlan, Codec<unknown>>): Codec<unknown> {
  switch (plan.kind) {
    case 'scalar':
      return SCALARS[plan.scalar];
    case 'bytes':
      return bytes(plan.size) as Codec<unknown>;
    case 'cstring':
      return cstring(plan.size) as Codec<unknown>;
    case 'array':
      return array(buildCodec(plan.element, built), plan.length) as Codec<unknown>;
    case 'enum':
      return enumOf(plan.name, SCALARS[plan.base] as Codec<number>, Object.fromEntries(plan.values)) as Codec<unknown>;
    case 'enum64':
      return enum64(plan) as Codec<unknown>;
    case 'int128':
      return int128(plan.signed) as Codec<unknown>;
    case 'bitfield':
      return bitfield(plan.shift, plan.bits, plan.signed) as Codec<unknown>;
    case 'struct':
      return structAt(
        plan.name,
        plan.size,
        plan.align,
        plan.fields.map((f) => placed(f, built)),
      ) as Codec<unknown>;
    case 'union':
      return unionCodec(plan, built) as Codec<unknown>;
  }
}

/** A member's codec at its offset; an anonymous union's is its own (it remembers the object it was lifted into). */
function placed(f: PlanField, built: Map<CodecPlan, Codec<unknown>>): PlacedField {
  if (f.inline) return { name: f.name, offset: f.offset, codec: inlineUnion(f.plan as UnionPlan, built), inline: true };
  return { name: f.name, offset: f.offset, codec: buildCodec(f.plan, built) };
}

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
      if ((signed ? BigInt.asIntN(128, u) : u) !== x) throw new CodecError(typeof x === 'bigint' ? 'CODEC_RANGE' : 'CODEC_TYPE', `${name}: ${x} does not fit`);
      v.setBigUint64(off, u & 0xffffffffffffffffn, true);
      v.setBigUint64(off + 8, u >> 64n, true);
    },
  };
}

function enum64(plan: Extract<CodecPlan, { kind: 'enum64' }>): Codec<string | bigint> {
  const byValue = new Map<bigint, string>();
  for (const [name, value] of plan.values) if (!byValue.has(value)) byValue.set(value, name);
  const byName = new Map(plan.values);
  const base = plan.signed ? i64 : u64;
  const { name } = plan;
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
        const found = byName.get(x);
        if (found === undefined) throw new CodecError('CODEC_FORMAT', `${name}: no enumerator ${x}`);
        base.encode(found, v, off);
      } else base.encode(x, v, off);
    },
  };
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
      if (!Number.isInteger(value) || value < min || value > max)
        throw new CodecError(typeof value === 'number' ? 'CODEC_RANGE' : 'CODEC_TYPE', `bitfield:${bits}: ${value} is out of range`);
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
function inlineUnion(plan: UnionPlan, built: Map<CodecPlan, Codec<unknown>>): InlineCodec {
  const fields = plan.fields.map((f) => placed(f, built));
  const members = plan.members.map((m) => m.map((f) => placed(f, built)));
  const name = 'union (anon)';
  const raw = bytes(plan.size);
  const codec: InlineCodec = {
    name,
    size: plan.size,
    align: plan.align,
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
      encodeUnion(name, plan.size, members, parent, codec, parent, view, offset, false);
    },
  };
  return codec;
}

/** A union: every member decoded from the same bytes, plus `$bytes`; encoding writes the member changed since the decode (see encodeUnion). */
function unionCodec(plan: UnionPlan, built: Map<CodecPlan, Codec<unknown>>): Codec<Record<string, unknown>> {
  const fields = plan.fields.map((f) => placed(f, built));
  const raw = bytes(plan.size);
  const { name } = plan;
  // $bytes is one more member: the whole union as bytes.
  const members = [[{ name: '$bytes', offset: 0, codec: raw as Codec<unknown> }], ...plan.members.map((m) => m.map((f) => placed(f, built)))];
  const codec: Codec<Record<string, unknown>> = {
    name,
    size: plan.size,
    align: plan.align,
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
      if (value === null || typeof value !== 'object') throw new CodecError('CODEC_TYPE', `${name}: ${String(value)} is not an object`);
      encodeUnion(name, plan.size, members, value, codec, value, view, offset, true);
    },
  };
  return codec;
}

/**
 * Composite codecs: structs (C layout, packed, or at explicit offsets, with
 * their decoder and encoder generated per struct), arrays and enums.
 */
import { WORDS, checkLayoutNumber, inlineOf, isDense, markDense, type Codec, type Infer } from './codec.js';
import { CodecError } from './errors.js';
import { f32, f64, i16, i32, i8, u16, u32, u8, u64, i64 } from './primitives.js';
import type { InlineCodec } from './union.js';

type Fields = Record<string, Codec<unknown>>;
export type StructValue<F extends Fields> = { [K in keyof F]: Infer<F[K]> };

/** A member at an explicit byte offset (as BTF gives it). */
export interface PlacedField {
  readonly name: string;
  readonly offset: number;
  readonly codec: Codec<unknown>;
  /**
   * An anonymous member (a C11 anonymous union): its codec decodes to an
   * object merged into the parent, and encodes from the parent object.
   */
  readonly inline?: boolean;
}

/** Structs of more members than this (BTF allows 65,535) are coded by loops: a generated coder would pass each codec as a parameter. */
const MAX_GENERATED_MEMBERS = 4096;

/**
 * A struct at explicit offsets, `size` bytes. Encoding zero-fills the whole
 * struct first, so padding is always zero (the kernel compares keys byte for
 * byte, padding included).
 */
export function structAt<T extends object>(name: string, size: number, align: number, fields: readonly PlacedField[]): Codec<T> {
  checkLayoutNumber(name, 'size', size);
  if (!(Number.isInteger(align) && align >= 1 && align <= 4096 && (align & (align - 1)) === 0))
    throw new CodecError('CODEC_LAYOUT', `${name}: align must be a power of two of at most 4096, not ${String(align)}`);
  for (const f of fields) {
    // (Offsets are written into the generated coders' source: integers only.)
    checkLayoutNumber(name, `member ${f.name}'s offset`, f.offset);
    if (f.offset + f.codec.size > size) throw new CodecError('CODEC_LAYOUT', `${name}: member ${f.name} does not fit in ${size} bytes`);
  }
  const decode = compileDecoder<T>(size, fields);
  const fast = compileEncoder(name, size, fields);
  // Both encoders zero the whole struct first: every byte is written.
  return markDense<T>({
    name,
    size,
    align,
    decode,
    encode:
      fast ??
      function encode(value, view, offset) {
        if (value === null || typeof value !== 'object') throw new CodecError('CODEC_TYPE', `${name}: ${String(value)} is not an object`);
        zero(view, offset, size);
        const v = value as Record<string, unknown>;
        for (const f of fields) {
          if (f.inline) {
            f.codec.encode(v, view, offset + f.offset);
            continue;
          }
          const member = v[f.name];
          if (member === undefined && !(f.name in v)) throw new CodecError('CODEC_MEMBER', `${name}: missing member ${f.name}`);
          try {
            f.codec.encode(member, view, offset + f.offset);
          } catch (e) {
            if (e instanceof CodecError) e.addContext(`${name}.${f.name}`);
            throw e;
          }
        }
      },
  });
}

/**
 * An encoder generated for the struct's members, like the decoder: numeric
 * members checked and written in place (see inlineOf; aligned 64-bit ones
 * as the view's words when attached), the others through one call site per
 * member (each stays monomorphic) instead of a loop calling every member's
 * codec from one place. Same checks and messages as the generic encoder,
 * which structs with inline members keep.
 */
function compileEncoder(name: string, size: number, fields: readonly PlacedField[]): Codec<unknown>['encode'] | undefined {
  if (fields.length > MAX_GENERATED_MEMBERS || fields.some((f) => f.inline)) return undefined;
  const wordy = fields.some((f) => wordOf(f) !== undefined);
  const lines = fields.map((f, i) => {
    const key = JSON.stringify(f.name);
    const at = `offset + ${f.offset}`;
    const inline = inlineOf(f.codec);
    const call = `c${i}.encode(m, view, ${at});`;
    let write = call;
    if (inline) {
      const kind = wordOf(f);
      const fast = kind ? `if (word >= 0) w.${kind}[word + ${f.offset / 8}] = m; else ${inline.write('view', at, 'm')}` : inline.write('view', at, 'm');
      write = `if (${inline.accepts('m')}) { ${fast} } else ${call}`;
    }
    return [
      `at = ${i}; m = v[${key}];`,
      `if (m === undefined && !(${key} in v)) { at = -1; throw new CodecError('CODEC_MEMBER', name + ': missing member ' + ${key}); }`,
      write,
    ].join('\n');
  });
  const params = fields.map((_, i) => `c${i}`);
  // Members that write every byte and cover the struct without gaps leave no padding to zero.
  const zeroFirst = !coversEveryByte(size, fields);
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  const make = new Function(
    'CodecError',
    'name',
    'zero',
    'names',
    'WORDS',
    ...params,
    `return function encode(value, view, offset) {
      if (value === null || typeof value !== 'object') throw new CodecError('CODEC_TYPE', name + ': ' + String(value) + ' is not an object');
      ${zeroFirst ? `zero(view, offset, ${size});` : '// every byte is written by a member: no zeroing'}
      ${wordy ? wordPrologue(size) : ''}
      const v = value;
      let at = -1, m;
      try {
        ${lines.join('\n')}
      } catch (e) {
        if (e instanceof CodecError && at >= 0) e.addContext(name + '.' + names[at]);
        throw e;
      }
    };`,
  ) as (...args: unknown[]) => Codec<unknown>['encode'];
  return make(
    CodecError,
    name,
    zero,
    fields.map((f) => f.name),
    WORDS,
    ...fields.map((f) => f.codec),
  );
}

/** Which words (see withWords) a member is read and written as: a 64-bit integer 8-aligned in its struct. */
function wordOf(f: PlacedField): 'unsigned' | 'signed' | undefined {
  return f.offset % 8 === 0 ? inlineOf(f.codec)?.word : undefined;
}

/**
 * The start of a generated coder with 64-bit members: `word`, the index of
 * the struct's first 64-bit word in the view's attached words, or -1 where
 * they cannot stand in for the DataView — none attached, the struct not
 * 8-aligned in the buffer, not wholly inside the view (the DataView then
 * throws its RangeError, as it should), or the buffer detached (its words
 * then have no length: the DataView throws its TypeError). The view's
 * offset and length come from its words (see Words).
 */
function wordPrologue(size: number): string {
  return `const w = view[WORDS];
    const base = w === undefined ? -1 : w.byteOffset + offset;
    const word = base >= 0 && base % 8 === 0 && offset >= 0 && offset + ${size} <= w.byteLength && w.unsigned.length !== 0 ? base / 8 : -1;`;
}

/** True when dense members tile `size` bytes exactly (no padding, no overlap). */
function coversEveryByte(size: number, fields: readonly PlacedField[]): boolean {
  // By offsets, not by a map of the bytes: a struct may claim gigabytes.
  if (!fields.every((f) => isDense(f.codec))) return false;
  let end = 0;
  for (const f of [...fields].sort((a, b) => a.offset - b.offset)) {
    if (f.offset !== end) return false;
    end += f.codec.size;
  }
  return end === size;
}

/** Zeroes `size` bytes at `offset` without allocating a view. */
function zero(view: DataView, offset: number, size: number): void {
  let i = 0;
  for (; i + 4 <= size; i += 4) view.setUint32(offset + i, 0);
  for (; i < size; i++) view.setUint8(offset + i, 0);
}

/**
 * A decoder that builds the object with one literal of fixed shape, which
 * V8 keeps monomorphic (several times faster than adding keys one by one).
 * Member names are emitted as JSON string literals, so any name is safe.
 */
function compileDecoder<T>(size: number, fields: readonly PlacedField[]): (view: DataView, offset: number) => T {
  if (fields.length > MAX_GENERATED_MEMBERS || fields.some((f) => f.inline)) {
    return (view, offset) => {
      const out: Record<string, unknown> = {};
      for (const f of fields) {
        if (f.inline) decodeInline(f.codec, out, view, offset + f.offset);
        else out[f.name] = f.codec.decode(view, offset + f.offset);
      }
      return out as T;
    };
  }
  // Numeric members are read in place (see inlineOf); the others through their codec.
  // Aligned 64-bit members come from the view's words (withWords) when it has them and the
  // struct sits 8-aligned in its buffer. One object literal: V8 can leave it unallocated
  // where the caller only reads a member or two.
  const wordy = fields.some((f) => wordOf(f) !== undefined);
  const body = fields
    .map((f, i) => {
      const inline = inlineOf(f.codec);
      const at = `offset + ${f.offset}`;
      const kind = wordOf(f);
      const call = `c[${i}].decode(view, ${at})`;
      const value = !inline
        ? call
        : kind
          ? `(word >= 0 ? w.${kind}[word + ${f.offset / 8}] : ${inline.read('view', at, call)})`
          : inline.read('view', at, call);
      return `${JSON.stringify(f.name)}: ${value}`;
    })
    .join(',\n');
  const source = wordy ? `${wordPrologue(size)}\nreturn {\n${body}\n};` : `return {\n${body}\n};`;
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  const make = new Function('c', 'WORDS', `return function decode(view, offset) {\n${source}\n};`) as (
    c: readonly Codec<unknown>[],
    words: symbol,
  ) => (view: DataView, offset: number) => T;
  return make(
    fields.map((f) => f.codec),
    WORDS,
  );
}

/** An inline member's fields into its parent: through decodeInto when the codec has one (it remembers the parent). */
export function decodeInline(codec: Codec<unknown>, target: Record<string, unknown>, view: DataView, offset: number): void {
  const inline = codec as Partial<InlineCodec>;
  if (inline.decodeInto) inline.decodeInto(target, view, offset);
  else Object.assign(target, codec.decode(view, offset));
}

/** A struct laid out as C would (each member at its natural alignment), or packed. */
export function struct<F extends Fields>(fields: F, options: { name?: string; packed?: boolean } = {}): Codec<StructValue<F>> {
  let offset = 0;
  let align = 1;
  const placed: PlacedField[] = [];
  for (const [name, codec] of Object.entries(fields)) {
    const a = options.packed ? 1 : codec.align;
    offset = Math.ceil(offset / a) * a;
    placed.push({ name, offset, codec });
    offset += codec.size;
    align = Math.max(align, a);
  }
  const size = Math.ceil(offset / align) * align;
  return structAt<StructValue<F>>(options.name ?? `struct {${Object.keys(fields).join(', ')}}`, size, align, placed);
}

type TypedArrayOf<T> = T extends number ? ArrayLike<number> : T extends bigint ? ArrayLike<bigint> : readonly T[];

const TYPED: ReadonlyMap<Codec<unknown>, new (n: number) => ArrayLike<number | bigint> & { [i: number]: number | bigint }> = new Map<
  Codec<unknown>,
  new (n: number) => ArrayLike<number | bigint> & { [i: number]: number | bigint }
>([
  [u8, Uint8Array],
  [i8, Int8Array],
  [u16, Uint16Array],
  [i16, Int16Array],
  [u32, Uint32Array],
  [i32, Int32Array],
  [u64, BigUint64Array],
  [i64, BigInt64Array],
  [f32, Float32Array],
  [f64, Float64Array],
] as const);

/**
 * `T[n]`: a typed array for numeric elements (Uint32Array for `u32`, ...),
 * a plain array otherwise. `A` names the array type where the caller knows
 * it (`array<number, Uint32Array>(u32, 4)`, as generated bindings do).
 */
export function array<T>(element: Codec<T>, length: number): Codec<TypedArrayOf<T>>;
export function array<T, A>(element: Codec<T>, length: number): Codec<A>;
export function array<T>(element: Codec<T>, length: number): Codec<unknown> {
  const Typed = TYPED.get(element as Codec<unknown>);
  const name = `${element.name}[${length}]`;
  checkLayoutNumber(name, 'length', length);
  checkLayoutNumber(name, 'size', element.size * length);
  return {
    name,
    size: element.size * length,
    align: element.align,
    decode(view, offset) {
      const out = Typed ? new Typed(length) : new Array<T>(length);
      for (let i = 0; i < length; i++) (out as { [i: number]: unknown })[i] = element.decode(view, offset + i * element.size);
      return out;
    },
    encode(value, view, offset) {
      const v = value as ArrayLike<T>;
      if (!v || typeof v.length !== 'number' || v.length > length)
        throw new CodecError(v && typeof v.length === 'number' ? 'CODEC_RANGE' : 'CODEC_TYPE', `${name}: need at most ${length} elements`);
      new Uint8Array(view.buffer, view.byteOffset + offset, element.size * length).fill(0);
      for (let i = 0; i < v.length; i++) element.encode(v[i]!, view, offset + i * element.size);
    },
  };
}

/**
 * A C enum: decodes to the enumerator's name (or the number when no
 * enumerator has that value), encodes either.
 */
export function enumOf(name: string, base: Codec<number>, values: Readonly<Record<string, number>>): Codec<string | number>;
/** The same, decoding to `Name` (given as a type argument: `enumOf<'RED' | 'GREEN'>(...)`, as generated bindings do). */
export function enumOf<Name extends string>(name: string, base: Codec<number>, values: Readonly<Record<Name, number>>): Codec<Name | number>;
export function enumOf<Name extends string>(name: string, base: Codec<number>, values: Readonly<Record<Name, number>>): Codec<Name | number> {
  const byValue = new Map<number, Name>();
  for (const [k, v] of Object.entries(values) as [Name, number][]) if (!byValue.has(v)) byValue.set(v, k);
  return {
    name,
    size: base.size,
    align: base.align,
    decode: (view, offset) => {
      const n = base.decode(view, offset);
      return byValue.get(n) ?? n;
    },
    encode: (x, view, offset) => {
      if (typeof x === 'string') {
        const n = (values as Readonly<Record<string, number>>)[x];
        if (n === undefined) throw new CodecError('CODEC_FORMAT', `${name}: no enumerator ${x}`);
        base.encode(n, view, offset);
      } else base.encode(x, view, offset);
    },
  };
}

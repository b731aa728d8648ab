/**
 * The Codec interface and what the built-in codecs share: encode/decode
 * helpers, the dense set, inline access for generated struct coders, and
 * the 64-bit words attached to views.
 */
import { CodecError } from './errors.js';

/**
 * A codec turns a JS value into the bytes a map holds and back. Values are
 * read and written at an offset of a DataView, so nested codecs (struct
 * members, array elements) never copy.
 */
export interface Codec<T> {
  /** Bytes of one value. */
  readonly size: number;
  /** Its C alignment (for laying out hand-written structs). */
  readonly align: number;
  decode(view: DataView, offset: number): T;
  encode(value: T, view: DataView, offset: number): void;
  /** A short description for errors: `u32`, `struct flow_key`. */
  readonly name: string;
}

/** The JS type a codec produces. */
export type Infer<C> = C extends Codec<infer T> ? T : never;

/**
 * Codecs whose `encode` writes every one of their `size` bytes (integers,
 * floats, bool, and structs, which zero their padding themselves). A map
 * accessor may then skip zeroing its native buffer before encoding into it.
 * Hand-written codecs are not in the set, so they keep the zeroing.
 */
const dense = new WeakSet<Codec<unknown>>();

export function markDense<T>(codec: Codec<T>): Codec<T> {
  dense.add(codec as Codec<unknown>);
  return codec;
}

export const isDense = (codec: Codec<unknown>): boolean => dense.has(codec);

/**
 * For the built-in numeric codecs, their `decode` and `encode` as source
 * text (`view.getUint32(offset + 16, true)`): a struct's generated decoder
 * and encoder write them in place of calls, so coding a struct of numbers
 * is one function with no calls left for the JIT to inline (or not). A
 * value the fast check does not accept goes to the codec's own `encode`,
 * which throws its usual error (or takes what the check is too strict
 * for). `word` marks the 64-bit integers, read and written as the view's
 * attached words where it can (see withWords).
 */
export interface InlineAccess {
  /** The read `decode` makes, as an expression; `fallback` is a call of the codec's own `decode`, for what the expression leaves to it. */
  read(view: string, offset: string, fallback: string): string;
  /** An expression true for a value `encode` takes as it is. */
  accepts(value: string): string;
  /** The write `encode` makes of an accepted value, as a statement. */
  write(view: string, offset: string, value: string): string;
  word?: 'unsigned' | 'signed';
}

const inlineAccess = new WeakMap<Codec<unknown>, InlineAccess>();

export function markInline<T>(codec: Codec<T>, access: InlineAccess): Codec<T> {
  inlineAccess.set(codec as Codec<unknown>, access);
  return codec;
}

export const inlineOf = (codec: Codec<unknown>): InlineAccess | undefined => inlineAccess.get(codec);

/**
 * A DataView's buffer as 64-bit words, for the 64-bit members of generated
 * struct decoders and encoders: V8 (Node 20) reads and writes a
 * BigUint64Array element inline, but calls out for DataView's
 * getBigUint64/setBigUint64 — two u64 members cost ~23 ns an entry to read
 * through the DataView, ~9 through the words; ~20 and ~5 to write.
 */
export interface Words {
  readonly unsigned: BigUint64Array;
  readonly signed: BigInt64Array;
  /**
   * The view's byteOffset and byteLength, kept: fixed for a buffer that
   * cannot resize (the only kind given words), and read per decode, where
   * the DataView's own getters are calls out of optimised code (~2–4 ns a
   * decode).
   */
  readonly byteOffset: number;
  readonly byteLength: number;
}

/** The property of a DataView holding its Words (see withWords). */
export const WORDS: unique symbol = Symbol('tsbpf.words');

const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Attaches a view's Words to it, once, for views coded many times (a map's
 * value buffer, a batch, a ring): struct decoders and encoders then read
 * and write aligned 64-bit members there. Typed arrays read in host order, so only on
 * little-endian hosts (the codecs' order); elsewhere the view is unchanged.
 */
export function withWords(view: DataView): DataView {
  if (littleEndian && !(WORDS in view) && !resizable(view.buffer)) {
    const buffer = view.buffer as ArrayBuffer;
    const length = Math.floor(buffer.byteLength / 8); // not >>> 3: a buffer may pass 4 GiB
    const words: Words = {
      unsigned: new BigUint64Array(buffer, 0, length),
      signed: new BigInt64Array(buffer, 0, length),
      byteOffset: view.byteOffset,
      byteLength: view.byteLength,
    };
    Object.defineProperty(view, WORDS, { value: words });
  }
  return view;
}

/** A buffer whose length can change (a view's byteLength then follows it): no words for its views. */
function resizable(buffer: ArrayBufferLike): boolean {
  const b = buffer as { resizable?: boolean; growable?: boolean };
  return b.resizable === true || b.growable === true;
}

const BYTES: unique symbol = Symbol('tsbpf.bytes');

/**
 * A view's bytes as a Uint8Array, made once and attached to the view (as
 * withWords attaches words): for zeroing a map's native buffer before an
 * encode without a view kept beside the map's own, which it replaces with
 * an empty one when it frees the memory.
 */
export function bytesOf(view: DataView): Uint8Array {
  let bytes = (view as DataView & { [BYTES]?: Uint8Array })[BYTES];
  if (bytes === undefined) {
    bytes = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
    Object.defineProperty(view, BYTES, { value: bytes });
  }
  return bytes;
}

/** The largest size a codec may have: a map's key or value size is a u32. */
export const MAX_CODEC_SIZE = 0xffffffff;

/** A codec's size, length or offset: an integer in [0, 2^32 - 1], or CODEC_LAYOUT (no codec can be built). */
export function checkLayoutNumber(name: string, what: string, n: unknown): number {
  if (typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= MAX_CODEC_SIZE) return n;
  let text: string;
  try {
    text = String(n);
  } catch {
    text = typeof n;
  }
  throw new CodecError('CODEC_LAYOUT', `${name}: ${what} must be an integer in [0, ${MAX_CODEC_SIZE}], not ${text}`);
}

/** Encodes into a fresh, zero-filled buffer (padding stays zero). */
export function encode<T>(codec: Codec<T>, value: T): Uint8Array {
  const out = new Uint8Array(codec.size);
  codec.encode(value, new DataView(out.buffer), 0);
  return out;
}

export function decode<T>(codec: Codec<T>, bytes: Uint8Array, offset = 0): T {
  if (!Number.isInteger(offset) || offset < 0) throw new CodecError('CODEC_SIZE', `${codec.name}: offset ${String(offset)} is not a byte offset`);
  if (bytes.length - offset < codec.size) throw new CodecError('CODEC_SIZE', `${codec.name}: ${bytes.length - offset} bytes, need ${codec.size}`);
  return codec.decode(new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), offset);
}

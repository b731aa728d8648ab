import { ObjectParseError, type ByteOrder, type ObjectParseErrorCode } from './errors.js';

/**
 * A bounds-checked little/big-endian view over a byte range. Every read past
 * the end becomes an `ObjectParseError` with the given code instead of a
 * `RangeError`, so malformed input can never escape as an untyped exception.
 */
export class ByteReader {
  readonly view: DataView;
  readonly little: boolean;

  constructor(
    readonly bytes: Uint8Array,
    readonly byteOrder: ByteOrder,
    private readonly code: ObjectParseErrorCode,
    private readonly section?: string,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.little = byteOrder === 'little';
  }

  get length(): number {
    return this.bytes.byteLength;
  }

  check(offset: number, size: number, what = 'read'): void {
    if (!Number.isInteger(offset) || offset < 0 || size < 0 || offset + size > this.bytes.byteLength) {
      throw new ObjectParseError(this.code, `${what}: ${size} bytes at ${offset} past the end (${this.bytes.byteLength} bytes)`, {
        section: this.section,
        offset,
      });
    }
  }

  u8(offset: number): number {
    this.check(offset, 1);
    return this.view.getUint8(offset);
  }
  u16(offset: number): number {
    this.check(offset, 2);
    return this.view.getUint16(offset, this.little);
  }
  u32(offset: number): number {
    this.check(offset, 4);
    return this.view.getUint32(offset, this.little);
  }
  i16(offset: number): number {
    this.check(offset, 2);
    return this.view.getInt16(offset, this.little);
  }
  i32(offset: number): number {
    this.check(offset, 4);
    return this.view.getInt32(offset, this.little);
  }
  u64(offset: number): bigint {
    this.check(offset, 8);
    return this.view.getBigUint64(offset, this.little);
  }
  /** A u64 that must fit in a JS number (offsets, sizes): read as two words, no BigInt. */
  u64n(offset: number, what = 'value'): number {
    this.check(offset, 8);
    const lo = this.view.getUint32(offset + (this.little ? 0 : 4), this.little);
    const hi = this.view.getUint32(offset + (this.little ? 4 : 0), this.little);
    if (hi > 0x1fffff) {
      const v = (BigInt(hi) << 32n) | BigInt(lo);
      throw new ObjectParseError(this.code, `${what} ${v} does not fit in a safe integer`, {
        section: this.section,
        offset,
      });
    }
    return hi * 0x100000000 + lo;
  }
  slice(offset: number, size: number, what = 'slice'): Uint8Array {
    this.check(offset, size, what);
    return this.bytes.subarray(offset, offset + size);
  }
}

/**
 * ByteReader.u64n on a view whose extent the caller checked: a u64 that must
 * fit in a JS number, read as two words; past 2^53 the same typed error
 * (`code`, the section, named only then, and the section-relative offset given).
 */
export function readU64n(
  view: DataView,
  at: number,
  little: boolean,
  what: string,
  code: ObjectParseErrorCode,
  section: { readonly name: string } | undefined,
  offset: number,
): number {
  const lo = view.getUint32(at + (little ? 0 : 4), little);
  const hi = view.getUint32(at + (little ? 4 : 0), little);
  if (hi > 0x1fffff) {
    const v = (BigInt(hi) << 32n) | BigInt(lo);
    throw new ObjectParseError(code, `${what} ${v} does not fit in a safe integer`, { section: section?.name, offset });
  }
  return hi * 0x100000000 + lo;
}

const decoder = new TextDecoder('utf-8', { fatal: false });

/**
 * Reads a NUL-terminated string starting at `offset`; stops at the end of
 * `bytes`. ELF and BTF names are short ASCII: built a character at a time
 * they cost ~60% of a TextDecoder call; anything else goes to the decoder.
 */
export function cString(bytes: Uint8Array, offset: number): string {
  let s = '';
  for (let i = offset; i < bytes.length; i++) {
    const c = bytes[i]!;
    if (c === 0) return s;
    if (c >= 0x80) return decodeUtf8(bytes, offset);
    s += String.fromCharCode(c);
  }
  return s;
}

function decodeUtf8(bytes: Uint8Array, offset: number): string {
  const end = bytes.indexOf(0, offset);
  return decoder.decode(bytes.subarray(offset, end < 0 ? bytes.length : end));
}

/**
 * The same bytes as a plain Uint8Array. A Node Buffer's `slice()` returns a
 * view, not a copy, so parsing a Buffer as-is would let specs share memory
 * with the input (and a copy-then-patch write the caller's bytes): every
 * entry point normalises first.
 */
export function plainBytes(bytes: Uint8Array): Uint8Array {
  return Object.getPrototypeOf(bytes) === Uint8Array.prototype ? bytes : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

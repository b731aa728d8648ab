import { ObjectParseError, type ByteOrder } from '../errors.js';
import { BTF_KIND_MAX, BtfKind } from './types.js';

/**
 * The wire layout of a BTF blob and the one pass that indexes it.
 *
 * Every BTF type record is a sequence of 32-bit words (header: name_off,
 * info, size/type; then kind-specific words), so the type section is read as
 * a `Uint32Array` in host order: a zero-copy view when the blob is aligned and
 * in host byte order (the kernel's own BTF), a swapped copy otherwise. One
 * pass records where each type starts and validates what later lazy decoding
 * relies on (kinds, record extents, string offsets, type references), so that
 * decoding a type on demand can never read out of bounds.
 */

export const BTF_MAGIC = 0xeb9f;
export const BTF_HEADER_MIN = 24;

export interface BtfHeader {
  readonly byteOrder: ByteOrder;
  readonly version: number;
  readonly flags: number;
  readonly hdrLen: number;
  readonly typeOff: number;
  readonly typeLen: number;
  readonly strOff: number;
  readonly strLen: number;
}

const fail = (message: string, offset?: number) => new ObjectParseError('BTF_INVALID', message, { offset });

export function readHeader(bytes: Uint8Array): BtfHeader {
  if (bytes.length < BTF_HEADER_MIN) throw fail(`${bytes.length} bytes is too short for a BTF header`);
  // Fixed offsets below BTF_HEADER_MIN, read off the bytes (no DataView a parse).
  let byteOrder: ByteOrder;
  if (half(bytes, 0, true) === BTF_MAGIC) byteOrder = 'little';
  else if (half(bytes, 0, false) === BTF_MAGIC) byteOrder = 'big';
  else throw fail(`bad magic 0x${half(bytes, 0, true).toString(16)} (want 0xeb9f)`, 0);
  const little = byteOrder === 'little';
  const version = bytes[2]!;
  if (version !== 1) throw fail(`unsupported version ${version}`, 2);
  const hdrLen = word(bytes, 4, little);
  if (hdrLen < BTF_HEADER_MIN || hdrLen > bytes.length) throw fail(`header length ${hdrLen} does not fit`, 4);
  // A longer header (a future version) must be zero past the fields we know, as the kernel requires.
  for (let i = BTF_HEADER_MIN; i < hdrLen; i++) {
    if (bytes[i] !== 0) throw fail('unknown non-zero header fields', i);
  }
  const header: BtfHeader = {
    byteOrder,
    version,
    flags: bytes[3]!,
    hdrLen,
    typeOff: word(bytes, 8, little),
    typeLen: word(bytes, 12, little),
    strOff: word(bytes, 16, little),
    strLen: word(bytes, 20, little),
  };
  const body = bytes.length - hdrLen;
  if (header.typeOff % 4 !== 0 || header.typeLen % 4 !== 0) throw fail('type section is not 4-byte aligned', 8);
  if (header.typeOff + header.typeLen > body) throw fail('type section runs past the end', 8);
  if (header.strOff + header.strLen > body) throw fail('string section runs past the end', 16);
  if (header.typeOff < header.strOff + header.strLen && header.strOff < header.typeOff + header.typeLen) {
    throw fail('type and string sections overlap', 8);
  }
  return header;
}

/** The u32 at `at` (which the caller has bounds-checked), in the blob's byte order. */
export function word(b: Uint8Array, at: number, little: boolean): number {
  return little
    ? (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0
    : ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
}

/** The u32 (or an int32's bits) `value` into `b` at `at` in the blob's byte order (the caller checked the range; a Uint8Array store keeps the low 8 bits). */
export function putWord(b: Uint8Array, at: number, value: number, little: boolean): void {
  if (little) {
    b[at] = value;
    b[at + 1] = value >>> 8;
    b[at + 2] = value >>> 16;
    b[at + 3] = value >>> 24;
  } else {
    b[at] = value >>> 24;
    b[at + 1] = value >>> 16;
    b[at + 2] = value >>> 8;
    b[at + 3] = value;
  }
}

/** The u16 at `at` (bounds-checked by the caller). */
export function half(b: Uint8Array, at: number, little: boolean): number {
  return little ? b[at]! | (b[at + 1]! << 8) : (b[at]! << 8) | b[at + 1]!;
}

const hostLittle = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** The type section as host-order words (a view when possible, a copy otherwise). */
export function typeWords(bytes: Uint8Array, header: BtfHeader): Uint32Array {
  const start = bytes.byteOffset + header.hdrLen + header.typeOff;
  const count = header.typeLen / 4;
  const sameOrder = (header.byteOrder === 'little') === hostLittle;
  if (sameOrder && start % 4 === 0) return new Uint32Array(bytes.buffer, start, count);
  const view = new DataView(bytes.buffer, start, header.typeLen);
  const little = header.byteOrder === 'little';
  const words = new Uint32Array(count);
  for (let i = 0; i < count; i++) words[i] = view.getUint32(i * 4, little);
  return words;
}

export const kindOf = (info: number) => (info >>> 24) & 0x1f;
export const vlenOf = (info: number) => info & 0xffff;
export const kflagOf = (info: number) => info >>> 31 === 1;

/**
 * Record size by kind, as `FIXED[kind] + PER_ITEM[kind] * vlen` words after
 * the 3-word common header (tables, not a switch: this runs once per type).
 */
const FIXED = new Uint8Array(32);
const PER_ITEM = new Uint8Array(32);
FIXED[BtfKind.int] = FIXED[BtfKind.var] = FIXED[BtfKind.decl_tag] = 1;
FIXED[BtfKind.array] = 3;
PER_ITEM[BtfKind.struct] = PER_ITEM[BtfKind.union] = PER_ITEM[BtfKind.datasec] = PER_ITEM[BtfKind.enum64] = 3;
PER_ITEM[BtfKind.enum] = PER_ITEM[BtfKind.func_proto] = 2;
/** Kinds whose third word is a type id (a bit per kind). */
const REFERS =
  (1 << BtfKind.ptr) |
  (1 << BtfKind.typedef) |
  (1 << BtfKind.volatile) |
  (1 << BtfKind.const) |
  (1 << BtfKind.restrict) |
  (1 << BtfKind.func) |
  (1 << BtfKind.func_proto) |
  (1 << BtfKind.var) |
  (1 << BtfKind.decl_tag) |
  (1 << BtfKind.type_tag);

export interface TypeIndex {
  /** Word offset of each own type: `offsets[id - firstId]`. */
  readonly offsets: Uint32Array;
  readonly count: number;
}

/**
 * Records where each type starts and checks every fact lazy decoding relies
 * on. `firstId` is 1 for standalone BTF, the base's type count for split BTF;
 * `strLimit` is the end of the string space (base strings + own strings).
 */
export function indexTypes(words: Uint32Array, firstId: number, strLimit: number, typeOff: number): TypeIndex {
  const n = words.length;
  // Real BTF averages ~11 words a type; start near that and double when short
  // (zero-filling the 3-words-a-type worst case would cost more than the pass).
  let offsets = new Uint32Array(Math.max(64, n >>> 3));
  let count = 0;
  let maxRef = 0;
  let off = 0;
  while (off < n) {
    if (off + 3 > n) throw fail('truncated type record', typeOff + off * 4);
    const info = words[off + 1]!;
    const kind = (info >>> 24) & 0x1f;
    if (kind === 0 || kind > BTF_KIND_MAX) throw fail(`type [${firstId + count}] has unknown kind ${kind}`, typeOff + off * 4);
    const end = off + 3 + FIXED[kind]! + PER_ITEM[kind]! * (info & 0xffff);
    if (end > n) throw fail(`type [${firstId + count}] runs past the type section`, typeOff + off * 4);
    if (words[off]! >= strLimit) throw fail(`type [${firstId + count}] names a string past the string section`, typeOff + off * 4);
    if ((REFERS >>> kind) & 1) {
      const ref = words[off + 2]!;
      if (ref > maxRef) maxRef = ref;
    } else if (kind === BtfKind.array) {
      const a = words[off + 3]!;
      const b = words[off + 4]!;
      if (a > maxRef) maxRef = a;
      if (b > maxRef) maxRef = b;
    }
    if (count === offsets.length) {
      const grown = new Uint32Array(offsets.length * 2);
      grown.set(offsets);
      offsets = grown;
    }
    offsets[count++] = off;
    off = end;
  }
  // Member, parameter and DATASEC entries are checked when their type is decoded.
  if (maxRef >= firstId + count) {
    throw fail(`a type refers to type [${maxRef}], but the last type is [${firstId + count - 1}]`);
  }
  return { offsets: offsets.subarray(0, count), count };
}

import { ObjectParseError } from '../errors.js';
import type { Btf } from './btf.js';
import { BTF_MAGIC, half, word } from './layout.js';

/**
 * `.BTF.ext`: per-section tables keyed by ELF section name. In an object file
 * every `insnOff` is a BYTE offset into that section (the kernel wants
 * instruction indexes; the program builder converts).
 */
export interface BtfExt {
  readonly funcInfo: ReadonlyMap<string, readonly FuncInfoRecord[]>;
  readonly lineInfo: ReadonlyMap<string, readonly LineInfoRecord[]>;
  readonly coreRelos: ReadonlyMap<string, readonly CoreRelo[]>;
}

export interface FuncInfoRecord {
  readonly insnOff: number;
  readonly typeId: number;
}
export interface LineInfoRecord {
  readonly insnOff: number;
  /** String offsets in .BTF, as the kernel wants them in bpf_line_info. */
  readonly fileNameOff: number;
  readonly lineOff: number;
  readonly fileName: string;
  /** The source line's text, as clang recorded it. */
  readonly lineText: string;
  readonly line: number;
  readonly column: number;
}

/** `enum bpf_core_relo_kind`. */
export const CoreReloKind = {
  field_byte_offset: 0,
  field_byte_size: 1,
  field_exists: 2,
  field_signed: 3,
  field_lshift_u64: 4,
  field_rshift_u64: 5,
  type_id_local: 6,
  type_id_target: 7,
  type_exists: 8,
  type_size: 9,
  enumval_exists: 10,
  enumval_value: 11,
  type_matches: 12,
} as const;
export type CoreReloKindName = keyof typeof CoreReloKind;
const coreReloKindNames = Object.keys(CoreReloKind) as CoreReloKindName[];

export interface CoreRelo {
  readonly insnOff: number;
  /** The local (object) BTF type the access starts from. */
  readonly typeId: number;
  /** Access spec: "0:1:2" (field indexes) or an enumerator index. */
  readonly accessStr: string;
  readonly kind: number;
  readonly kindName: CoreReloKindName;
}

const HEADER_V1 = 24;
const HEADER_CORE = 32;

/** Parses `.BTF.ext` against the object's `.BTF` (for section names, file names and source lines). */
export function parseBtfExt(bytes: Uint8Array, btf: Btf): BtfExt {
  try {
    return parse(bytes, btf);
  } catch (e) {
    if (e instanceof ObjectParseError) {
      if (e.code === 'BTF_EXT_INVALID') throw e;
      throw new ObjectParseError('BTF_EXT_INVALID', e.message, { offset: e.offset, cause: e });
    }
    throw new ObjectParseError('BTF_EXT_INVALID', `malformed BTF.ext: ${(e as Error)?.message ?? String(e)}`, { cause: e });
  }
}

// The parse makes no closures and each table's records are read by a direct
// call chosen by a switch (one call site a kind): a load parses this for every
// object, and for a small one the fixed cost is most of it.
function fail(message: string, offset?: number): ObjectParseError {
  return new ObjectParseError('BTF_EXT_INVALID', message, { offset });
}

const FUNC_INFO = 0;
const LINE_INFO = 1;
const CORE_RELO = 2;
type TableKind = typeof FUNC_INFO | typeof LINE_INFO | typeof CORE_RELO;

/** The bytes, their byte order, and the table being read: what each record reader needs. */
interface Reader {
  readonly bytes: Uint8Array;
  readonly little: boolean;
}

function parse(bytes: Uint8Array, btf: Btf): BtfExt {
  // Read off the bytes (no DataView a parse): every read below lies inside a
  // range checked against the length first, as ByteReader checked each read.
  const r: Reader = { bytes, little: btf.byteOrder === 'little' };
  if (bytes.length < HEADER_V1) throw fail(`${bytes.length} bytes is too short for a header`);
  if (half(bytes, 0, r.little) !== BTF_MAGIC) throw fail('bad magic (or a byte order different from .BTF)', 0);
  if (bytes[2] !== 1) throw fail(`unsupported version ${bytes[2]}`, 2);
  const hdrLen = word(bytes, 4, r.little);
  if (hdrLen < HEADER_V1 || hdrLen > bytes.length) throw fail(`header length ${hdrLen} does not fit`, 4);

  const func = readTable<FuncInfoRecord>(r, btf, hdrLen, 8, FUNC_INFO);
  const line = readTable<LineInfoRecord>(r, btf, hdrLen, 16, LINE_INFO);
  const core = hdrLen >= HEADER_CORE ? readTable<CoreRelo>(r, btf, hdrLen, 24, CORE_RELO) : new Map<string, CoreRelo[]>();

  for (const [section, records] of func) {
    for (const rec of records) {
      if (rec.typeId >= btf.length || btf.kindOf(rec.typeId) !== 'func') {
        throw fail(`func_info in ${section} names type [${rec.typeId}], which is not a FUNC`);
      }
    }
  }
  for (const [section, records] of core) {
    for (const rec of records) {
      if (rec.typeId >= btf.length) throw fail(`CO-RE relocation in ${section} names unknown type [${rec.typeId}]`);
    }
  }
  return { funcInfo: func, lineInfo: line, coreRelos: core };
}

const TABLES = [
  { what: 'func_info', minRecord: 8 },
  { what: 'line_info', minRecord: 16 },
  { what: 'core_relo', minRecord: 16 },
] as const;

/**
 * One info table, its offset and length at `offField` of the header: a
 * record size, then per ELF section `{sec_name_off, num_info}` followed by
 * that many records. Records may be larger than we know (newer formats append
 * fields), never smaller.
 */
function readTable<T>(r: Reader, btf: Btf, hdrLen: number, offField: number, kind: TableKind): Map<string, T[]> {
  const { bytes, little } = r;
  const off = word(bytes, offField, little);
  const len = word(bytes, offField + 4, little);
  if (hdrLen + off + len > bytes.length) throw fail('info table runs past the end', offField);
  const out = new Map<string, T[]>();
  if (len === 0) return out;
  const { what, minRecord } = TABLES[kind];
  const start = hdrLen + off;
  const end = start + len;
  if (start + 4 > bytes.length) {
    // ByteReader's error for this read, as before.
    throw new ObjectParseError('BTF_EXT_INVALID', `read: 4 bytes at ${start} past the end (${bytes.length} bytes)`, { section: '.BTF.ext', offset: start });
  }
  const recordSize = word(bytes, start, little);
  if (recordSize < minRecord || recordSize % 4 !== 0) throw fail(`${what}: record size ${recordSize} is invalid`, start);
  let at = start + 4;
  while (at < end) {
    if (at + 8 > end) throw fail(`${what}: truncated section header`, at);
    const section = btf.string(word(bytes, at, little));
    const count = word(bytes, at + 4, little);
    at += 8;
    if (count === 0) throw fail(`${what}: section ${section} has no records`, at - 4);
    if (at + count * recordSize > end) throw fail(`${what}: section ${section}: ${count} records run past the table`, at - 4);
    const records: T[] = [];
    for (let i = 0; i < count; i++, at += recordSize) {
      records.push((kind === FUNC_INFO ? funcInfo(r, at) : kind === LINE_INFO ? lineInfo(r, btf, at) : coreRelo(r, btf, at)) as T);
    }
    if (out.has(section)) throw fail(`${what}: section ${section} appears twice`, at);
    out.set(section, records);
  }
  return out;
}

function funcInfo(r: Reader, at: number): FuncInfoRecord {
  return { insnOff: word(r.bytes, at, r.little), typeId: word(r.bytes, at + 4, r.little) };
}

function lineInfo(r: Reader, btf: Btf, at: number): LineInfoRecord {
  const { bytes, little } = r;
  const fileNameOff = word(bytes, at + 4, little);
  const lineOff = word(bytes, at + 8, little);
  const lineCol = word(bytes, at + 12, little);
  return {
    insnOff: word(bytes, at, little),
    fileNameOff,
    lineOff,
    fileName: btf.string(fileNameOff),
    lineText: btf.string(lineOff),
    line: lineCol >>> 10,
    column: lineCol & 0x3ff,
  };
}

function coreRelo(r: Reader, btf: Btf, at: number): CoreRelo {
  const { bytes, little } = r;
  const kind = word(bytes, at + 12, little);
  const kindName = coreReloKindNames[kind];
  if (kindName === undefined) throw fail(`unknown CO-RE relocation kind ${kind}`, at + 12);
  return { insnOff: word(bytes, at, little), typeId: word(bytes, at + 4, little), accessStr: btf.string(word(bytes, at + 8, little)), kind, kindName };
}

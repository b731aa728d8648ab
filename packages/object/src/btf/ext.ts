import { ByteReader } from '../bytes.js';
import { ObjectParseError } from '../errors.js';
import type { Btf } from './btf.js';
import { BTF_MAGIC } from './layout.js';

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

function parse(bytes: Uint8Array, btf: Btf): BtfExt {
  const fail = (message: string, offset?: number) => new ObjectParseError('BTF_EXT_INVALID', message, { offset });
  const str = (offset: number) => btf.string(offset);
  const r = new ByteReader(bytes, btf.byteOrder, 'BTF_EXT_INVALID', '.BTF.ext');
  if (bytes.length < HEADER_V1) throw fail(`${bytes.length} bytes is too short for a header`);
  if (r.u16(0) !== BTF_MAGIC) throw fail('bad magic (or a byte order different from .BTF)', 0);
  if (r.u8(2) !== 1) throw fail(`unsupported version ${r.u8(2)}`, 2);
  const hdrLen = r.u32(4);
  if (hdrLen < HEADER_V1 || hdrLen > bytes.length) throw fail(`header length ${hdrLen} does not fit`, 4);

  const table = (offField: number) => {
    const off = r.u32(offField);
    const len = r.u32(offField + 4);
    if (hdrLen + off + len > bytes.length) throw fail('info table runs past the end', offField);
    return { start: hdrLen + off, len };
  };
  const func = readTable(r, table(8), 8, 'func_info', str, (at): FuncInfoRecord => ({ insnOff: r.u32(at), typeId: r.u32(at + 4) }));
  const line = readTable(r, table(16), 16, 'line_info', str, (at) => {
    const lineCol = r.u32(at + 12);
    return {
      insnOff: r.u32(at),
      fileNameOff: r.u32(at + 4),
      lineOff: r.u32(at + 8),
      fileName: str(r.u32(at + 4)),
      lineText: str(r.u32(at + 8)),
      line: lineCol >>> 10,
      column: lineCol & 0x3ff,
    };
  });
  const core =
    hdrLen >= HEADER_CORE
      ? readTable(r, table(24), 16, 'core_relo', str, (at) => {
          const kind = r.u32(at + 12);
          const kindName = coreReloKindNames[kind];
          if (kindName === undefined) throw fail(`unknown CO-RE relocation kind ${kind}`, at + 12);
          return { insnOff: r.u32(at), typeId: r.u32(at + 4), accessStr: str(r.u32(at + 8)), kind, kindName };
        })
      : new Map<string, CoreRelo[]>();

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

/**
 * One info table: a record size, then per ELF section `{sec_name_off,
 * num_info}` followed by that many records. Records may be larger than we
 * know (newer formats append fields), never smaller.
 */
function readTable<T>(
  r: ByteReader,
  { start, len }: { start: number; len: number },
  minRecord: number,
  what: string,
  str: (offset: number) => string,
  read: (at: number) => T,
): Map<string, T[]> {
  const out = new Map<string, T[]>();
  if (len === 0) return out;
  const end = start + len;
  const fail = (message: string, offset: number) => new ObjectParseError('BTF_EXT_INVALID', `${what}: ${message}`, { offset });
  const recordSize = r.u32(start);
  if (recordSize < minRecord || recordSize % 4 !== 0) throw fail(`record size ${recordSize} is invalid`, start);
  let at = start + 4;
  while (at < end) {
    if (at + 8 > end) throw fail('truncated section header', at);
    const section = str(r.u32(at));
    const count = r.u32(at + 4);
    at += 8;
    if (count === 0) throw fail(`section ${section} has no records`, at - 4);
    if (at + count * recordSize > end) throw fail(`section ${section}: ${count} records run past the table`, at - 4);
    const records: T[] = [];
    for (let i = 0; i < count; i++, at += recordSize) records.push(read(at));
    if (out.has(section)) throw fail(`section ${section} appears twice`, at);
    out.set(section, records);
  }
  return out;
}

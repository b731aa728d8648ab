/**
 * Every way a BPF object, BTF blob or instruction stream can be malformed gets
 * an `ObjectParseError` with a stable `code`. Callers branch on `code`, never on
 * the message text. Parsing never throws anything else for bad input: a
 * `TypeError` or `RangeError` escaping the parser is a bug (the fuzz tests
 * enforce this).
 */
export type ObjectParseErrorCode =
  | 'ELF_INVALID' // not an ELF file, or a header/section table that does not fit
  | 'ELF_UNSUPPORTED' // valid ELF we do not handle (32-bit, not EM_BPF, not ET_REL)
  | 'SECTION_INVALID' // a section's bytes do not fit its declared size or layout
  | 'SYMBOL_INVALID' // a symbol refers to a section/offset that does not exist
  | 'RELOCATION_INVALID' // a relocation we cannot apply or understand
  | 'UNKNOWN_SECTION' // a program section whose name follows no SEC() convention
  | 'MAP_INVALID' // a map definition that is inconsistent or incomplete
  | 'PROGRAM_INVALID' // a program whose instructions are malformed
  | 'BTF_INVALID' // BTF header, type or string section malformed
  | 'BTF_EXT_INVALID' // BTF.ext malformed
  | 'BTF_NOT_FOUND' // a type looked up by id or name that does not exist
  | 'INSN_INVALID'; // an instruction stream that cannot be decoded

export interface ObjectParseErrorOptions {
  /** ELF section the problem was found in, when known. */
  section?: string;
  /** Byte offset (within the section, or the blob for BTF) where it was found. */
  offset?: number;
  cause?: unknown;
}

export class ObjectParseError extends Error {
  override readonly name = 'ObjectParseError';
  readonly code: ObjectParseErrorCode;
  readonly section: string | undefined;
  readonly offset: number | undefined;

  constructor(code: ObjectParseErrorCode, message: string, options: ObjectParseErrorOptions = {}) {
    const where = [
      options.section !== undefined ? `section ${options.section}` : undefined,
      options.offset !== undefined ? `offset ${options.offset}` : undefined,
    ].filter((x) => x !== undefined);
    super(where.length > 0 ? `${where.join(', ')}: ${message}` : message, { cause: options.cause });
    this.code = code;
    this.section = options.section;
    this.offset = options.offset;
  }
}

/** Byte order of an object, a BTF blob or an instruction stream. */
export type ByteOrder = 'little' | 'big';

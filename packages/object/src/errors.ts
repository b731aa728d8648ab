/**
 * The one error base of every tsbpf package, and @tsbpf/object's own errors
 * (ObjectParseError for bytes that do not parse, LinkError for a program that
 * cannot be fitted to a kernel). Every error tsbpf throws on purpose is a
 * `TsbpfError`: a stable `code` to branch on (never the message text), the
 * kernel's `errno` where the error is the kernel's answer, the original error
 * as `cause`, and context prefixes in the message (`program xdp_prog: map
 * counters: ...`). docs/errors.md lists every code.
 */

/** Marks tsbpf errors across copies of this package (an ESM and a CJS build in one process). */
const BRAND = Symbol.for('tsbpf.error');

export interface TsbpfErrorOptions {
  cause?: unknown;
  /** The kernel's errno (positive), when the error is what a system call answered. */
  errno?: number;
}

export class TsbpfError<Code extends string = string> extends Error {
  override readonly name: string = 'TsbpfError';
  /** Stable: branch on this. Every package documents its codes in docs/errors.md. */
  readonly code: Code;
  /** The kernel's errno (positive), or undefined when the kernel did not answer. */
  readonly errno: number | undefined;
  /** What failed, without the context prefixes. */
  readonly detail: string;
  /** Where it failed, outermost first (`['program xdp_prog', 'map counters']`). */
  readonly context: readonly string[] = [];

  constructor(code: Code, message: string, options: TsbpfErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.errno = options.errno;
    this.detail = message;
    Object.defineProperty(this, BRAND, { value: true });
  }

  /** True for any tsbpf error, also one thrown by another copy of the package. */
  static is(e: unknown): e is TsbpfError {
    return typeof e === 'object' && e !== null && (e as Record<symbol, unknown>)[BRAND] === true;
  }

  /**
   * Prefixes `context` to the message (`map counters: ...`), once: an error
   * that already carries it (passed up through two layers naming the same
   * thing) is left as it is. Returns the error, to rethrow.
   */
  addContext(context: string): this {
    if (this.context[0] === context) return this;
    (this.context as string[]).unshift(context);
    this.message = `${this.context.join(': ')}: ${this.detail}`;
    return this;
  }
}

/**
 * Runs `fn`, adding `context` to a TsbpfError it throws (other errors pass
 * untouched: they are bugs, and their stack says more than a prefix).
 */
export function withContext<T>(context: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (TsbpfError.is(e)) e.addContext(context);
    throw e;
  }
}

/**
 * Every way a BPF object, BTF blob or instruction stream can be malformed
 * gets an `ObjectParseError`. Parsing never throws anything else for bad
 * input: a `TypeError` or `RangeError` escaping the parser is a bug (the fuzz
 * tests enforce this).
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
  | 'INSN_INVALID' // an instruction stream that cannot be decoded
  | 'LD_CACHE_INVALID'; // an /etc/ld.so.cache that does not parse

export interface ObjectParseErrorOptions {
  /** ELF section the problem was found in, when known. */
  section?: string;
  /** Byte offset (within the section, or the blob for BTF) where it was found. */
  offset?: number;
  cause?: unknown;
}

export class ObjectParseError extends TsbpfError<ObjectParseErrorCode> {
  override readonly name = 'ObjectParseError';
  readonly section: string | undefined;
  readonly offset: number | undefined;

  constructor(code: ObjectParseErrorCode, message: string, options: ObjectParseErrorOptions = {}) {
    const where = [
      options.section !== undefined ? `section ${options.section}` : undefined,
      options.offset !== undefined ? `offset ${options.offset}` : undefined,
    ].filter((x) => x !== undefined);
    super(code, where.length > 0 ? `${where.join(', ')}: ${message}` : message, { cause: options.cause });
    this.section = options.section;
    this.offset = options.offset;
  }
}

/**
 * What `code` says on a LinkError: why a parsed program cannot be fitted to
 * the kernel it is loaded into (its map fds, kconfig, BTF, kallsyms), or to
 * the load options given.
 */
export type LinkErrorCode =
  | 'SPEC_INVALID' // a spec that contradicts itself or the facts given (a map not created, an unknown extern, a kfunc not called)
  | 'KFUNC_NOT_FOUND' // a kfunc (not weak) the kernel's BTF does not have
  | 'KSYM_NOT_FOUND' // a ksym (not weak) that is not a variable in the kernel's BTF, or not in /proc/kallsyms
  | 'KSYM_AMBIGUOUS' // a typeless ksym /proc/kallsyms lists at several addresses
  | 'KSYM_HIDDEN' // /proc/kallsyms hides addresses (kptr_restrict)
  | 'ATTACH_TARGET_NOT_FOUND' // a tp_btf/fentry/fexit/lsm program whose target the kernel's BTF does not have (or a struct_ops type it lacks)
  | 'STRUCT_OPS_INVALID' // a struct_ops variable that cannot be matched to the kernel's struct (member missing, size or kind differs, bitfield)
  | 'CONSTANT_INVALID' // a constant naming no .rodata variable, or a value that does not fit it
  | 'MAP_OVERRIDE_INVALID' // a map override naming no map
  | 'UNRESOLVED_REFERENCE' // a program refers to a symbol the object does not define and that is neither __kconfig nor __ksym
  | 'PROGRAM_TYPE_UNKNOWN'; // a program whose section follows no SEC() convention: no program type to load it as

/**
 * A program that cannot be fitted to this kernel: the pure relocation steps
 * (`relocateProgram`, `withLoadOverrides`, `attachBtfId`) throw it. Nothing
 * here is the kernel's answer (no errno): the loader's errors carry those.
 */
export class LinkError extends TsbpfError<LinkErrorCode> {
  override readonly name = 'LinkError';
}

/** Byte order of an object, a BTF blob or an instruction stream. */
export type ByteOrder = 'little' | 'big';

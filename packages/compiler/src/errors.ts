/**
 * The compiler's errors: one base (`CompilerError`, a `TsbpfError`) with a
 * stable code per way a build can fail, and the three failures that carry
 * more than a message (which clangs were tried, clang's diagnostics, the
 * strip command). docs/errors.md lists the codes.
 */
import { TsbpfError } from '@tsbpf/object';
import type { Diagnostic } from './diagnostics.js';

export type CompilerErrorCode =
  | 'CLANG_NOT_FOUND' // no usable clang: not installed, outside 14-19, or without the BPF target
  | 'COMPILE_FAILED' // clang refused the source (CompileError: diagnostics, argv, stderr)
  | 'STRIP_FAILED' // llvm-strip -g failed on the object clang built
  | 'SOURCE_UNREADABLE' // the .bpf.c file cannot be read
  | 'OUTPUT_UNWRITABLE' // the object cannot be written where `output` says
  | 'BTF_UNREADABLE' // the kernel BTF for vmlinux.h cannot be read
  | 'CACHE_UNWRITABLE' // vmlinux.h cannot be written into the cache directory
  | 'CACHE_UNTRUSTED'; // the cache directory (or one above it) could be written by another user

export class CompilerError<Code extends CompilerErrorCode = CompilerErrorCode> extends TsbpfError<Code> {
  override readonly name: string = 'CompilerError';

  /** A failed file operation (`what` a file) as a typed error: the path, Node's reason, the errno. */
  static io(code: CompilerErrorCode, what: string, cause: unknown): CompilerError {
    const err = cause as NodeJS.ErrnoException;
    const errno = typeof err?.errno === 'number' ? Math.abs(err.errno) : undefined;
    return new CompilerError(code, `${what}: ${err?.code ?? 'failed'}${err?.message ? ` (${err.message})` : ''}`, { cause, errno });
  }
}

/** No usable clang: not installed, too old, or without the BPF target. */
export class ClangNotFoundError extends CompilerError<'CLANG_NOT_FOUND'> {
  override readonly name = 'ClangNotFoundError';
  constructor(
    message: string,
    /** Every candidate tried and why it was refused. */
    readonly tried: readonly string[] = [],
    options?: { cause?: unknown },
  ) {
    super(
      'CLANG_NOT_FOUND',
      `${message}\n  install one: apt-get install clang llvm (Debian/Ubuntu), dnf install clang llvm (Fedora),\n` +
        `  or point TSBPF_CLANG at a clang 14 to 19 built with the BPF target`,
      options,
    );
  }
}

/**
 * clang refused the source. The message is a summary (the first error); the
 * structured diagnostics, the exact argv and clang's raw stderr are fields.
 */
export class CompileError extends CompilerError<'COMPILE_FAILED'> {
  override readonly name = 'CompileError';
  /** What to do about the commonest set-up mistakes (a missing header package), if one is recognised. */
  readonly hint: string | undefined;
  constructor(
    readonly source: string,
    readonly diagnostics: readonly Diagnostic[],
    readonly argv: readonly string[],
    readonly stderr: string,
    readonly exitCode: number | null,
  ) {
    const errors = diagnostics.filter((d) => d.severity === 'error' || d.severity === 'fatal error');
    const first = errors[0];
    const where = first?.file ? `${first.file}:${first.line}:${first.column}: ` : '';
    const hint = hintFor(diagnostics);
    super(
      'COMPILE_FAILED',
      (first
        ? `${source}: ${where}${first.message}${errors.length > 1 ? ` (and ${errors.length - 1} more error${errors.length > 2 ? 's' : ''})` : ''}`
        : `${source}: clang exited with ${exitCode}: ${stderr.trim().split('\n')[0] ?? ''}`) + (hint ? `\n  hint: ${hint}` : ''),
    );
    this.hint = hint;
  }
}

/** clang built the object, but stripping its DWARF (llvm-strip -g) failed. */
export class StripError extends CompilerError<'STRIP_FAILED'> {
  override readonly name = 'StripError';
  constructor(
    readonly source: string,
    readonly argv: readonly string[],
    readonly stderr: string,
  ) {
    super('STRIP_FAILED', `${source}: ${argv.join(' ')} failed: ${stderr.trim() || 'no message'} (install llvm, or pass strip: false)`);
  }
}

const MISSING_HEADER = /^'([^']+)' file not found$/;

function hintFor(diagnostics: readonly Diagnostic[]): string | undefined {
  for (const d of diagnostics) {
    const header = MISSING_HEADER.exec(d.message)?.[1];
    if (!header) continue;
    if (header.startsWith('bpf/')) return `${header} comes with libbpf's headers: apt-get install libbpf-dev`;
    if (header.startsWith('asm/')) return `${header} is in the multiarch kernel headers: apt-get install linux-libc-dev (and gcc-multilib off x86)`;
    if (header.startsWith('linux/')) return `${header} comes with the kernel UAPI headers: apt-get install linux-libc-dev`;
    if (header === 'vmlinux.h') return 'generate it from the running kernel: compile({ vmlinux: true }) or tsbpf build --vmlinux';
  }
  return undefined;
}

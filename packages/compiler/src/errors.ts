import type { Diagnostic } from './diagnostics.js';

/** No usable clang: not installed, too old, or without the BPF target. */
export class ClangNotFoundError extends Error {
  override readonly name = 'ClangNotFoundError';
  readonly code = 'CLANG_NOT_FOUND';
  constructor(
    message: string,
    /** Every candidate tried and why it was refused. */
    readonly tried: readonly string[] = [],
    options?: { cause?: unknown },
  ) {
    super(
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
export class CompileError extends Error {
  override readonly name = 'CompileError';
  readonly code = 'COMPILE_FAILED';
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
    super(
      first
        ? `${source}: ${where}${first.message}${errors.length > 1 ? ` (and ${errors.length - 1} more error${errors.length > 2 ? 's' : ''})` : ''}`
        : `${source}: clang exited with ${exitCode}: ${stderr.trim().split('\n')[0] ?? ''}`,
    );
  }
}

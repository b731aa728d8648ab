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
    super(
      first
        ? `${source}: ${where}${first.message}${errors.length > 1 ? ` (and ${errors.length - 1} more error${errors.length > 2 ? 's' : ''})` : ''}`
        : `${source}: clang exited with ${exitCode}: ${stderr.trim().split('\n')[0] ?? ''}`,
    );
    this.hint = hintFor(diagnostics);
    if (this.hint) this.message += `\n  hint: ${this.hint}`;
  }
}

/** clang built the object, but stripping its DWARF (llvm-strip -g) failed. */
export class StripError extends Error {
  override readonly name = 'StripError';
  readonly code = 'STRIP_FAILED';
  constructor(
    readonly source: string,
    readonly argv: readonly string[],
    readonly stderr: string,
  ) {
    super(`${source}: ${argv.join(' ')} failed: ${stderr.trim() || 'no message'} (install llvm, or pass strip: false)`);
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

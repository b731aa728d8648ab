/**
 * The command line's errors and how a failure is printed. Every `TsbpfError`
 * (the CLI's own `CliError` and any package's) is the user's to read:
 * `tsbpf: <message>`, exit 1, no stack. Anything else escaping a command is
 * a bug: `tsbpf: internal error` with its stack, exit 2.
 */
import { TsbpfError } from '@tsbpf/object';

export type CliErrorCode =
  | 'USAGE' // arguments or options the command cannot use together or at all
  | 'INPUT_UNREADABLE' // a file named on the command line cannot be read
  | 'OUTPUT_UNWRITABLE' // a file or directory the command was told to write cannot be
  | 'NO_SUCH_PROGRAM' // a program named on the command line is not in the object
  | 'NO_BTF' // the object has no .BTF section to dump
  | 'COMMAND_FAILED' // the command failed as its message says (a wrapped failure of a package)
  | 'REPORTED'; // the command has already printed what went wrong (diagnostics, a verifier log): exit code only

/** A user-facing failure: printed as `tsbpf: <message>` with exit code `exitCode` (1), no stack. */
export class CliError extends TsbpfError<CliErrorCode> {
  override readonly name = 'CliError';
  constructor(
    message: string,
    readonly exitCode = 1,
    code: CliErrorCode = message === '' ? 'REPORTED' : 'COMMAND_FAILED',
    options: { cause?: unknown; errno?: number } = {},
  ) {
    super(code, message, options);
  }

  /** A failed file operation on `path` as the user's error (`path: no such file`). */
  static io(code: 'INPUT_UNREADABLE' | 'OUTPUT_UNWRITABLE', path: string, cause: unknown): CliError {
    const err = cause as NodeJS.ErrnoException;
    const why = err?.code === 'ENOENT' ? 'no such file' : err?.code === 'EACCES' ? 'permission denied' : (err?.message ?? String(cause));
    return new CliError(`${path}: ${why}`, 1, code, { cause, errno: typeof err?.errno === 'number' ? Math.abs(err.errno) : undefined });
  }
}

/**
 * Prints a failure that escaped a command and returns the exit code. The
 * brand check (`TsbpfError.is`) also knows errors from another copy of a
 * package (the CLI bundles its own; a library caller may pass theirs).
 */
export function reportFailure(e: unknown, err: (text: string) => void): number {
  if (TsbpfError.is(e)) {
    // By name and field, not instanceof: a CliError of another copy of this package counts too.
    const cli = e.name === 'CliError';
    const exitCode = cli && typeof (e as { exitCode?: unknown }).exitCode === 'number' ? (e as CliError).exitCode : 1;
    // REPORTED: the command has already said what went wrong.
    if (e.code === 'REPORTED' && e.message === '') return exitCode;
    // Another package's code is printed: it is what to look up in docs/errors.md.
    err(`tsbpf: ${e.message}${cli ? '' : ` [${e.code}]`}\n`);
    return exitCode;
  }
  err(`tsbpf: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  return 2;
}

/**
 * VerifierError: the verifier refused a program; its summary, log and the
 * C line it stopped at. formatVerifierError prints one the same way for
 * every consumer (the CLI, the examples): like a compiler error.
 */
import { TsbpfError } from '@tsbpf/object';
import { errnoName } from './sys/errors.js';

/**
 * The verifier refused a program. `message` is a short summary (the log's
 * last lines); the whole log is `log`.
 */
export class VerifierError extends TsbpfError<'VERIFIER_REJECTED'> {
  override readonly name = 'VerifierError';
  declare readonly errno: number;
  /** How BPF_PROG_LOAD failed: 'EACCES' (rejected), 'EINVAL', ... */
  readonly errnoName: string;
  /**
   * The C source line the verifier was at when it gave up (from the
   * `; text @ file:line` lines the kernel prints when it has line_info).
   */
  readonly source: { readonly file: string; readonly line: number; readonly text: string } | undefined;
  /** The verifier's own last word (e.g. `R2 invalid mem access 'mem_or_null'`). */
  readonly reason: string;
  constructor(
    readonly program: string,
    errno: number,
    readonly log: string,
    /** The log was cut short by the buffer size limit. */
    readonly truncated: boolean,
    /**
     * What the loader knows that the log does not say: which CO-RE relocation
     * or which absent weak kfunc an invalid call the verifier reached stands
     * for (as libbpf rewrites such logs).
     */
    readonly explanation?: string,
  ) {
    const name = errnoName(errno);
    super('VERIFIER_REJECTED', `load: ${name}: ${explanation ? `${explanation}; verifier: ` : ''}${VerifierError.summarize(log)}`, { errno });
    this.errnoName = name;
    this.reason = VerifierError.summarize(log, 1);
    let source: VerifierError['source'];
    for (const line of log.split('\n')) {
      const m = /^; (.*) @ (.+):(\d+)$/.exec(line);
      if (m) source = { text: m[1]!, file: m[2]!, line: Number(m[3]) };
    }
    this.source = source;
    this.addContext(`program ${program || '(unnamed)'}`);
  }

  /** The last meaningful lines of a verifier log (where it says what went wrong). */
  static summarize(log: string, lines = 3): string {
    const meaningful = log
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '' && !/^(processed|verification time|stack depth)/.test(l));
    return meaningful.slice(-lines).join(' / ') || '(empty verifier log)';
  }
}

export interface FormatVerifierErrorOptions {
  /** Print the whole verifier log after the summary (default: only say how long it is). */
  verbose?: boolean;
  /** How the reader gets the whole log, said when it is not printed (default `use --verbose to print it`). */
  howToSeeLog?: string;
}

/**
 * A verifier rejection printed like a compiler error: `file:line - error:`,
 * the program, the errno, the reason, then the source line; the whole log
 * follows when `verbose`. Ends with a newline.
 */
export function formatVerifierError(e: VerifierError, options: FormatVerifierErrorOptions = {}): string {
  const head = e.source ? `${e.source.file}:${e.source.line} - ` : '';
  let text = `${head}error: program ${e.program} rejected by the verifier (${e.errnoName}): ${e.explanation ? `${e.explanation}; verifier: ` : ''}${e.reason}\n`;
  if (e.source) text += `\n${e.source.line} ${e.source.text}\n`;
  const lines = e.log.split('\n').length;
  if (options.verbose) return `${text}\n(the full verifier log: ${lines} lines, below)\n${e.log}\n`;
  return `${text}\n(the full verifier log: ${lines} lines; ${options.howToSeeLog ?? 'use --verbose to print it'})\n`;
}

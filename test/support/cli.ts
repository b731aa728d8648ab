/** The tsbpf CLI run in-process for tests: its exit code and what it printed. */
import { main } from 'tsbpf';

export interface CliRun {
  code: number;
  out: string;
  err: string;
}

export async function runCli(...argv: string[]): Promise<CliRun> {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (t) => void (out += t), err: (t) => void (err += t) });
  return { code, out, err };
}

/** The CLI commands that read an object or BTF file, as argv without the file (`btf ...` take BTF too). */
export const FILE_COMMANDS: readonly (readonly string[])[] = [
  ['inspect'],
  ['inspect', '--json'],
  ['objdump'],
  ['btf', 'dump'],
  ['btf', 'dump', '--format', 'c'],
  ['btf', 'dump', '--format', 'json'],
  ['gen'],
];

/** `command` (one of FILE_COMMANDS) with `file` where it takes it: after `btf dump`, else after the command's name. */
export function fileArgv(command: readonly string[], file: string): string[] {
  return command[0] === 'btf' ? [...command.slice(0, 2), file, ...command.slice(2)] : [command[0]!, file, ...command.slice(1)];
}

/**
 * Runs `command` on `file`: undefined when it exits 0, or 1 with a typed
 * error; else (exit 2, "internal error", a stack: a bug) the first `lines`
 * lines of its stderr, joined by spaces.
 */
export async function internalError(command: readonly string[], file: string, lines = 1): Promise<string | undefined> {
  const r = await runCli(...fileArgv(command, file));
  return r.code > 1 || /internal error/.test(r.err) ? r.err.split('\n').slice(0, lines).join(' ') : undefined;
}

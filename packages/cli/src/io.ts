import { readFileBytes } from '@tsbpf/loader';

/** Where a command writes; tests pass buffers, the binary passes the process streams. */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
}

export const processIo: CliIo = {
  out: (t) => void process.stdout.write(t),
  err: (t) => void process.stderr.write(t),
};

/** A user-facing failure: printed as `tsbpf: <message>` with exit code 1, no stack. */
export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

export function readInput(path: string): Uint8Array {
  try {
    return readFileBytes(path);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new CliError(`${path}: ${err.code === 'ENOENT' ? 'no such file' : err.message}`);
  }
}

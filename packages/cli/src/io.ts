/** Where a command reads and writes: the output streams, and the input files named on the command line. */
import { readFileBytes } from '@tsbpf/loader';
import { CliError } from './errors.js';

// Commands import CliError from here (gen.ts, load.ts).
export { CliError } from './errors.js';

/** Where a command writes; tests pass buffers, the binary passes the process streams. */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
}

export const processIo: CliIo = {
  out: (t) => void process.stdout.write(t),
  err: (t) => void process.stderr.write(t),
};

export function readInput(path: string): Uint8Array {
  try {
    return readFileBytes(path);
  } catch (e) {
    throw CliError.io('INPUT_UNREADABLE', path, e);
  }
}

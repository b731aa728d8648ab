/** `tsbpf gen`: TypeScript bindings for an object (typed maps, programs, globals, ring buffers), written to a file or stdout. */
import { writeFileSync } from 'node:fs';
import { generateBindings } from '@tsbpf/maps';
import { CliError, readInput, type CliIo } from '../io.js';
import { parseObjectFile } from './inspect.js';

export interface GenFlags {
  output?: string;
  record: string[];
  typedef: string[];
  camelCase?: boolean;
  /** commander's `--no-embed`: false when given. */
  embed: boolean;
}

/**
 * `tsbpf gen OBJ [-o FILE.ts] [--record MAP=STRUCT] [--typedef NAME=CODEC]
 * [--camel-case] [--no-embed]`: typed bindings for an object.
 */
export function gen(io: CliIo, file: string, opts: GenFlags): void {
  const spec = parseObjectFile(file);
  let text: string;
  try {
    text = generateBindings(spec, {
      ...(opts.embed ? { object: readInput(file) } : {}),
      source: file.split('/').pop() ?? file,
      records: pairs('--record', 'MAP=STRUCT', opts.record),
      typedefs: pairs('--typedef', 'NAME=CODEC', opts.typedef),
      ...(opts.camelCase ? { memberNames: 'camel' as const } : {}),
    });
  } catch (e) {
    if (e instanceof CliError) throw e;
    throw new CliError(`${file}: ${(e as Error).message}`);
  }
  if (!opts.output) {
    io.out(text);
    return;
  }
  try {
    writeFileSync(opts.output, text);
  } catch (e) {
    throw CliError.io('OUTPUT_UNWRITABLE', opts.output, e);
  }
}

/** `A=B` flags as a record. */
function pairs(flag: string, shape: string, values: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of values) {
    const [a, b] = v.split('=');
    if (!a || !b) throw new CliError(`${flag} wants ${shape}, not ${v}`);
    out[a] = b;
  }
  return out;
}

import { writeFileSync } from 'node:fs';
import { generateBindings } from '@tsbpf/maps';
import { CliError, readInput, type CliIo } from '../io.js';
import { parseObjectFile } from './inspect.js';

/** `tsbpf gen OBJ [-o FILE.ts] [--record MAP=STRUCT]`: typed bindings for an object. */
export function gen(io: CliIo, file: string, opts: { output?: string; record: string[] }): void {
  const spec = parseObjectFile(file);
  const records: Record<string, string> = {};
  for (const r of opts.record) {
    const [map, type] = r.split('=');
    if (!map || !type) throw new CliError(`--record wants MAP=STRUCT, not ${r}`);
    records[map] = type;
  }
  let text: string;
  try {
    text = generateBindings(spec, { object: readInput(file), source: file.split('/').pop() ?? file, records });
  } catch (e) {
    throw new CliError(`${file}: ${(e as Error).message}`);
  }
  if (opts.output) writeFileSync(opts.output, text);
  else io.out(text);
}

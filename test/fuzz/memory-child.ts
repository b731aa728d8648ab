/**
 * The fuzz suite's memory check, run in a child process (bundled by
 * memory.ts, started with --expose-gc and a capped heap): each case file of
 * a directory through everything pure, one line of JSON per case with how
 * far the heap and array buffers grew while it ran (garbage included: a case
 * that allocates 500 MB and drops it still counts) and what stayed after a
 * collection. A case that blows the heap cap kills the process: the parent
 * sees which case was last announced.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { exerciseObject, exerciseRawBtf } from './exercise.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');
const used = () => {
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
};
const dir = process.argv[2]!;
const baseline = (gc(), used());
for (const file of readdirSync(dir).sort()) {
  const bytes = new Uint8Array(readFileSync(join(dir, file)));
  process.stderr.write(`case ${file}\n`);
  gc();
  const before = used();
  try {
    if (file.endsWith('.btf')) exerciseRawBtf(bytes);
    else exerciseObject(bytes);
  } catch {
    // Typed or not, errors are the other tests' business: this one weighs memory.
  }
  const grew = used() - before;
  gc();
  process.stdout.write(`${JSON.stringify({ file, grew, retained: used() - baseline })}\n`);
}

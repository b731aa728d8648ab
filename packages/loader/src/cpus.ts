/** The number of possible CPUs, which per-CPU map values and perf buffers are sized by. */
import { readFileSync } from 'node:fs';

let possible: number | undefined;

/** Possible CPUs (/sys/devices/system/cpu/possible: `0-3,8`), read once. */
export function possibleCpus(): number {
  if (possible === undefined) {
    const text = readFileSync('/sys/devices/system/cpu/possible', 'utf8').trim();
    possible = text.split(',').reduce((n, range) => {
      const [lo, hi] = range.split('-').map(Number);
      return n + (hi === undefined ? 1 : hi - lo! + 1);
    }, 0);
  }
  return possible;
}

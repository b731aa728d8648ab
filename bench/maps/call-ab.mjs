#!/usr/bin/env node
// bench/maps/call-ab: two builds of the single-element calls in one process,
// round by round (A, B, B, A, ...), for a change too small for the row
// benches to separate from this VM's noise (issue 19). Each round runs, on
// each side, the bench rows' loops: BpfMap update / lookup / lookupInto on a
// u32 -> u64 hash of 1,024 keys (one key buffer, as bench/maps) and TypedMap
// set / get on bench/typed's u32 -> 24-byte struct, and (WALKS > 0) bench/typed's
// walks of that map filled with 65,536 entries: entries() and forEach(), ns an
// element over WALKS walks of each, alternated. Prints each side's medians and
// in how many rounds B beat A (paired, so drift cancels), in wall time and in
// user CPU time (getrusage: leaves the kernel's part and the VM's stolen time
// out, so a change to tsbpf's JavaScript shows through the syscall's noise).
// Usage (root): A=dir B=dir [MAPS_A=dir MAPS_B=dir] node bench/maps/call-ab.mjs,
// each dir a copy of packages/loader/dist (MAPS_*: packages/maps/dist) kept
// inside its package (so that its imports resolve). Knobs: N (200,000), ROUNDS (10),
// WALKS (3; 0 leaves the walk rows out), NO_SYSCALL=1 (the single-element calls'
// system call replaced by one returning 0, reached past TypeScript's `private`:
// tsbpf's JavaScript alone, a few ns apart, where the kernel's noise is ±100 ns;
// lookups then read whatever the value buffer holds; walks still call the kernel).
import { join } from 'node:path';
import { median, root } from '../support/compare.mjs';

const N = Number(process.env.N ?? 200_000);
const ROUNDS = Number(process.env.ROUNDS ?? 10);
const WALKS = Number(process.env.WALKS ?? 3);
const ENTRIES = 65_536;
const dirs = { A: process.env.A, B: process.env.B };
if (!dirs.A || !dirs.B) throw new Error('call-ab: set A and B to two copies of packages/loader/dist');
const mapsDirs = { A: process.env.MAPS_A ?? join(root, 'packages/maps/dist'), B: process.env.MAPS_B ?? join(root, 'packages/maps/dist') };

const opts = { N, WALKS, ENTRIES };
// One module instance a side (see call-ab-side.mjs): separate functions, separate type feedback.
const run = {};
for (const s of ['A', 'B']) run[s] = await (await import(`./call-ab-side.mjs?${s}`)).side(s, dirs[s], mapsDirs[s], opts);
run.A();
run.B(); // warm-up
const res = { A: [], B: [] };
for (let r = 0; r < ROUNDS; r++) for (const s of r % 2 ? ['B', 'A'] : ['A', 'B']) res[s].push(run[s]());
const rows = Object.keys(res.A[0]);
console.log(`bench/maps/call-ab: ${ROUNDS} rounds of ${N} ops a row, A=${dirs.A} B=${dirs.B}; load ${(await import('node:os')).loadavg()[0].toFixed(1)}`);
console.table(
  Object.fromEntries(
    rows.map((k) => {
      const [a, b] = ['A', 'B'].map((s) => median(res[s].map((x) => x[k][0])));
      const [au, bu] = ['A', 'B'].map((s) => median(res[s].map((x) => x[k][1])));
      const wins = (j) => res.A.filter((x, i) => res.B[i][k][j] < x[k][j]).length;
      return [
        k,
        {
          'A ns': a.toFixed(0),
          'B ns': b.toFixed(0),
          'B - A': (b - a).toFixed(0),
          'B faster in': `${wins(0)} of ${ROUNDS}`,
          'A user': au.toFixed(0),
          'B user': bu.toFixed(0),
          'B - A user': (bu - au).toFixed(0),
          'B less user in': `${wins(1)} of ${ROUNDS}`,
        },
      ];
    }),
  ),
);

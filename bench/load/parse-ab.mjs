#!/usr/bin/env node
// bench/load/parse-ab: two builds of @tsbpf/object's parseCollectionSpec side
// by side, alternated call by call in one process, no system call but the
// file's read (outside the timed part), so a parse lever of a few hundred
// nanoseconds shows (floor.mjs, the judge of a load lever, separates ~2 µs:
// its kernel calls move more than that between rounds). Both sides parse the
// same bytes read afresh each call, as a load does.
// Usage: A=dir B=dir node bench/load/parse-ab.mjs (each dir a repository root,
// or a copy of one, with packages/object/dist). Knobs: OBJ, N (2,000 parses a
// side a round), ROUNDS (9), WARMUP (5,000). Prints each side's median µs per
// round, the median over rounds and the rounds B won.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { median, root } from '../support/compare.mjs';

const OBJ = process.env.OBJ ?? join(root, 'fixtures/out/minimal.bpf.o');
const N = Number(process.env.N ?? 2000);
const ROUNDS = Number(process.env.ROUNDS ?? 9);
const WARMUP = Number(process.env.WARMUP ?? 5000);
if (!process.env.A || !process.env.B) {
  console.error('usage: A=dir B=dir node bench/load/parse-ab.mjs');
  process.exit(2);
}
const sides = [];
for (const dir of [process.env.A, process.env.B]) {
  sides.push((await import(join(resolve(dir), 'packages/object/dist/index.js'))).parseCollectionSpec);
}

for (let i = 0; i < WARMUP; i++) for (const parse of sides) parse(readFileSync(OBJ));
const rounds = [[], []];
console.log(`bench/load/parse-ab: ${OBJ.split('/').pop()}, ${ROUNDS} rounds of ${N} parses a side alternated (medians, µs)`);
for (let r = 0; r < ROUNDS; r++) {
  const t = [new Array(N), new Array(N)];
  for (let i = 0; i < N; i++) {
    for (let k = 0; k < 2; k++) {
      const side = (i + k) & 1; // the order alternates call by call
      const bytes = readFileSync(OBJ);
      const start = process.hrtime.bigint();
      sides[side](bytes);
      t[side][i] = Number(process.hrtime.bigint() - start) / 1000;
    }
  }
  rounds[0].push(median(t[0]));
  rounds[1].push(median(t[1]));
  console.log(`round ${r + 1}: A ${rounds[0][r].toFixed(2)}   B ${rounds[1][r].toFixed(2)}`);
}
const wins = rounds[0].filter((a, r) => rounds[1][r] < a).length;
console.log(`median over rounds: A ${median(rounds[0]).toFixed(2)} µs   B ${median(rounds[1]).toFixed(2)} µs; B faster in ${wins} of ${ROUNDS} rounds`);

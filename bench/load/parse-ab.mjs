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
import { abRounds } from '../support/ab-rounds.mjs';
import { root } from '../support/compare.mjs';

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
  const { parseCollectionSpec } = await import(join(resolve(dir), 'packages/object/dist/index.js'));
  // The bytes are read afresh each call, untimed, as a load reads them.
  sides.push({ prepare: () => readFileSync(OBJ), run: (bytes) => parseCollectionSpec(bytes) });
}
abRounds(`bench/load/parse-ab: ${OBJ.split('/').pop()}, parses`, { n: N, rounds: ROUNDS, warmup: WARMUP }, sides);

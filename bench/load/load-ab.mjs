#!/usr/bin/env node
// bench/load/load-ab: two builds' loader half side by side: each side parses
// the object once with its own @tsbpf/object (outside the timed part), then
// times loadCollection(spec).close() of that spec, alternated load by load in
// one process (the order alternates too). It leaves out the read and the
// parse, which floor.mjs includes, so what differs between the sides is the
// loader's work (btfForKernel, linking, the attrs, the records and the
// registrations, close) around the same bpf() calls and close(2)s. It is a
// filter for loader levers, not the judge (floor.mjs, the whole load, is),
// and not a comparison with libbpf (the parse each load does is left out).
// Usage (root): A=dir B=dir node bench/load/load-ab.mjs (each dir a
// repository root, or a copy of one, with packages/object/dist and
// packages/loader/dist and a node_modules where the loader finds its own
// @tsbpf/object and koffi). Knobs: OBJ, N (1,000 loads a side a round),
// ROUNDS (9), WARMUP (3,000). Prints each side's median µs per round, the
// median over rounds and the rounds B won.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { abRounds } from '../support/ab-rounds.mjs';
import { root } from '../support/compare.mjs';

const OBJ = process.env.OBJ ?? join(root, 'fixtures/out/minimal.bpf.o');
const N = Number(process.env.N ?? 1000);
const ROUNDS = Number(process.env.ROUNDS ?? 9);
const WARMUP = Number(process.env.WARMUP ?? 3000);
if (!process.env.A || !process.env.B) {
  console.error('usage: A=dir B=dir node bench/load/load-ab.mjs');
  process.exit(2);
}
const sides = [];
for (const dir of [process.env.A, process.env.B]) {
  const O = await import(join(resolve(dir), 'packages/object/dist/index.js'));
  const L = await import(join(resolve(dir), 'packages/loader/dist/index.js'));
  const spec = O.parseCollectionSpec(readFileSync(OBJ));
  sides.push({ run: () => L.loadCollection(spec).close() });
}
abRounds(`bench/load/load-ab: ${OBJ.split('/').pop()}, loads + closes`, { n: N, rounds: ROUNDS, warmup: WARMUP }, sides);

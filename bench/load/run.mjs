#!/usr/bin/env node
// bench/load: open + load + close of a small XDP object in-process, tsbpf
// (read, parseCollectionSpec, loadCollection, close) against libbpf
// (bpf_object__open_file, __load, __close), interleaved.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const OBJ = process.env.OBJ ?? join(root, 'fixtures/out/minimal.bpf.o');
const ROUNDS = Number(process.env.ROUNDS ?? 5);
const PER_ROUND = Number(process.env.PER_ROUND ?? 200);
const TARGET = 2;
const WARMUP = Number(process.env.WARMUP ?? 3000);

let parseCollectionSpec, loadCollection;
try {
  ({ parseCollectionSpec } = await import(join(root, 'packages/object/dist/index.js')));
  ({ loadCollection } = await import(join(root, 'packages/loader/dist/index.js')));
} catch (e) {
  console.error(`bench/load: build first (npm run build): ${e.message}`);
  process.exit(1);
}

function ours(n) {
  const t = [];
  for (let i = 0; i < n; i++) {
    const start = process.hrtime.bigint();
    loadCollection(parseCollectionSpec(readFileSync(OBJ))).close();
    t.push(Number(process.hrtime.bigint() - start) / 1000);
  }
  return t;
}

const a = [];
const b = [];
ours(WARMUP); // warm up: JIT tiers settle after a few thousand calls
for (let r = 0; r < ROUNDS; r++) {
  b.push(JSON.parse(execFileSync(join(root, 'build/c/bench-load'), [OBJ, String(PER_ROUND)], { encoding: 'utf8' })).medianUs);
  a.push(...ours(PER_ROUND));
}
const median = (xs) => [...xs].sort((x, y) => x - y)[xs.length >> 1];
const row = { metric: `open + load + close ${OBJ.split('/').pop()}`, tsbpfUs: +median(a).toFixed(1), libbpfUs: +median(b).toFixed(1) };
row.ratio = +(row.tsbpfUs / row.libbpfUs).toFixed(2);
row.target = `<= ${TARGET}x`;
console.log(`bench/load: ${ROUNDS} interleaved rounds of ${PER_ROUND}`);
console.table([row]);
console.log(`${row.ratio > TARGET ? 'TARGET MISSED' : 'target met'}: ${row.ratio}x libbpf (target ${TARGET}x)`);
mkdirSync(join(root, 'bench/results'), { recursive: true });
writeFileSync(join(root, 'bench/results/load.json'), JSON.stringify({ date: new Date().toISOString(), rows: [row] }, null, 2) + '\n');

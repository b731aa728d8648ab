#!/usr/bin/env node
// bench/load: open + load + close of a small XDP object in-process, tsbpf
// (read, parseCollectionSpec, loadCollection, close) against libbpf
// (bpf_object__open_file, __load, __close), cilium/ebpf
// (LoadCollectionSpec, NewCollection, Close) and aya (Ebpf::load_file, each
// program's load, drop), interleaved.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { interleave, peerBins, report, root, runJson } from '../support/compare.mjs';

const OBJ = process.env.OBJ ?? join(root, 'fixtures/out/minimal.bpf.o');
const ROUNDS = Number(process.env.ROUNDS ?? 5);
const PER_ROUND = Number(process.env.PER_ROUND ?? 200);
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

const peers = peerBins();
ours(WARMUP); // warm up: JIT tiers settle after a few thousand calls
// tsbpf's figure is the median of all its samples; the helpers print a median a round.
const sides = {
  libbpf: () => runJson(join(root, 'build/c/bench-load'), [OBJ, PER_ROUND]),
  tsbpf: () => ({ medianUs: ours(PER_ROUND) }),
};
for (const [name, bin] of Object.entries(peers)) sides[name] = () => runJson(bin, ['load', OBJ, PER_ROUND]);
const results = await interleave(ROUNDS, sides);
report({
  bench: 'load',
  title: `bench/load: ${ROUNDS} interleaved rounds of ${PER_ROUND} (tsbpf after ${WARMUP} warm-up loads, the helpers after 20)`,
  unit: 'us',
  results,
  rows: [{ key: 'medianUs', metric: `open + load + close ${OBJ.split('/').pop()}`, target: 1.4 }],
});

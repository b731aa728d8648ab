#!/usr/bin/env node
// bench/maps: single-element hash update/lookup on 1,024 hot keys through
// BpfMap, against libbpf (build/c/bench-maps) in the same run, interleaved.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const OPS = Number(process.env.OPS ?? 500_000);
const ROUNDS = Number(process.env.ROUNDS ?? 5);

let BpfMap;
try {
  ({ BpfMap } = await import(join(root, 'packages/loader/dist/index.js')));
} catch (e) {
  console.error(`bench/maps: build first (npm run build): ${e.message}`);
  process.exit(1);
}

function ours() {
  const m = BpfMap.create({ type: 1, keySize: 4, valueSize: 8, maxEntries: 1024, name: 'bench' });
  const keys = Array.from({ length: 1024 }, (_, i) => new Uint8Array(new Uint32Array([i]).buffer));
  const value = new Uint8Array(8);
  const dv = new DataView(value.buffer);
  try {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < OPS; i++) {
      dv.setUint32(0, i, true);
      m.update(keys[i & 1023], value);
    }
    const t1 = process.hrtime.bigint();
    let sum = 0;
    for (let i = 0; i < OPS; i++) sum += m.lookup(keys[i & 1023])[0];
    const t2 = process.hrtime.bigint();
    if (sum < 0) throw new Error('unreachable');
    return { updateNs: Number(t1 - t0) / OPS, lookupNs: Number(t2 - t1) / OPS, ...batches() };
  } finally {
    m.close();
  }
}

/** 65,536 elements, 1,024 per call: update everything, then walk everything, 5 times (as the C side). */
function batches() {
  const N = 65536,
    B = 1024,
    REPS = 5;
  const m = BpfMap.create({ type: 1, keySize: 4, valueSize: 8, maxEntries: N, name: 'bench_batch' });
  try {
    const keys = new Uint8Array(new Uint32Array(Array.from({ length: N }, (_, i) => i * 7)).buffer);
    const values = new Uint8Array(new BigUint64Array(Array.from({ length: N }, (_, i) => BigInt(i))).buffer);
    const t0 = process.hrtime.bigint();
    for (let r = 0; r < REPS; r++) {
      for (let i = 0; i < N; i += B) m.updateBatch(keys.subarray(i * 4, (i + B) * 4), values.subarray(i * 8, (i + B) * 8));
    }
    const t1 = process.hrtime.bigint();
    let walked = 0;
    for (let r = 0; r < REPS; r++) for (const chunk of m.lookupBatches(B)) walked += chunk.count;
    const t2 = process.hrtime.bigint();
    if (walked !== N * REPS) throw new Error(`walked ${walked}`);
    return { batchUpdateNs: Number(t1 - t0) / (N * REPS), batchLookupNs: Number(t2 - t1) / (N * REPS) };
  } finally {
    m.close();
  }
}

const a = { updateNs: [], lookupNs: [], batchUpdateNs: [], batchLookupNs: [] };
const b = { updateNs: [], lookupNs: [], batchUpdateNs: [], batchLookupNs: [] };
ours(); // warm up
for (let r = 0; r < ROUNDS; r++) {
  const c = JSON.parse(execFileSync(join(root, 'build/c/bench-maps'), [String(OPS)], { encoding: 'utf8' }));
  const o = ours();
  for (const k of Object.keys(a)) {
    a[k].push(o[k]);
    b[k].push(c[k]);
  }
}
const median = (xs) => [...xs].sort((x, y) => x - y)[xs.length >> 1];
const LABELS = {
  updateNs: ['hash update, 1k hot keys', 1.4],
  lookupNs: ['hash lookup, 1k hot keys', 1.4],
  batchUpdateNs: ['batch update per element (1,024 a call)', 1.2],
  batchLookupNs: ['batch lookup per element (1,024 a call)', 1.2],
};
const rows = Object.keys(LABELS).map((k) => ({
  metric: LABELS[k][0],
  tsbpfNs: +median(a[k]).toFixed(0),
  libbpfNs: +median(b[k]).toFixed(0),
  // What we add per operation: the part of the cost that is ours, whatever the kernel's speed that day.
  addedNs: +(median(a[k]) - median(b[k])).toFixed(0),
  ratio: +(median(a[k]) / median(b[k])).toFixed(2),
  target: `<= ${LABELS[k][1]}x`,
}));
console.log(`bench/maps: ${ROUNDS} interleaved rounds of ${OPS} ops`);
console.table(rows);
for (const r of rows) {
  const target = Number(r.target.slice(3, -1));
  console.log(`${r.ratio > target ? 'TARGET MISSED' : 'target met'}: ${r.metric} ${r.ratio}x libbpf (target ${target}x)`);
}
mkdirSync(join(root, 'bench/results'), { recursive: true });
writeFileSync(join(root, 'bench/results/maps.json'), JSON.stringify({ date: new Date().toISOString(), rows }, null, 2) + '\n');

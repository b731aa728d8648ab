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
const TARGET = 1.4;

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
    return { updateNs: Number(t1 - t0) / OPS, lookupNs: Number(t2 - t1) / OPS };
  } finally {
    m.close();
  }
}

const a = { updateNs: [], lookupNs: [] };
const b = { updateNs: [], lookupNs: [] };
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
const rows = ['updateNs', 'lookupNs'].map((k) => ({
  metric: k === 'updateNs' ? 'hash update, 1k hot keys' : 'hash lookup, 1k hot keys',
  tsbpfNs: +median(a[k]).toFixed(0),
  libbpfNs: +median(b[k]).toFixed(0),
  ratio: +(median(a[k]) / median(b[k])).toFixed(2),
  target: `<= ${TARGET}x`,
}));
console.log(`bench/maps: ${ROUNDS} interleaved rounds of ${OPS} ops`);
console.table(rows);
for (const r of rows) console.log(`${r.ratio > TARGET ? 'TARGET MISSED' : 'target met'}: ${r.metric} ${r.ratio}x libbpf (target ${TARGET}x)`);
mkdirSync(join(root, 'bench/results'), { recursive: true });
writeFileSync(join(root, 'bench/results/maps.json'), JSON.stringify({ date: new Date().toISOString(), rows }, null, 2) + '\n');

#!/usr/bin/env node
// bench/maps: single-element hash update/lookup on 1,024 hot keys through
// BpfMap, and the batch calls, against libbpf (build/c/bench-maps),
// cilium/ebpf and aya (bench/peers) in the same run, interleaved.
import { join } from 'node:path';
import { interleave, peerBins, report, root, runJson } from '../support/compare.mjs';

// Many short rounds (~0.3 s for all four sides): this VM changes speed every
// few hundred milliseconds, and the ratios compare each round's pair.
const OPS = Number(process.env.OPS ?? 20_000);
const ROUNDS = Number(process.env.ROUNDS ?? 41);
const REPS = Number(process.env.REPS ?? 1);

let BpfMap;
try {
  ({ BpfMap } = await import(join(root, 'packages/loader/dist/index.js')));
} catch (e) {
  console.error(`bench/maps: build first (npm run build): ${e.message}`);
  process.exit(1);
}

function ours() {
  const m = BpfMap.create({ type: 1, keySize: 4, valueSize: 8, maxEntries: 1024, name: 'bench' });
  // One key buffer with the key written into it before each call, as the C side writes its stack
  // variable (until 2026-12-03 the key was read from one of 1,024 separate arrays: work C does not do,
  // ~40 ns an operation of cache misses on this VM, README "the call gap bisected").
  const key = new Uint8Array(4);
  const kv = new DataView(key.buffer);
  const value = new Uint8Array(8);
  const dv = new DataView(value.buffer);
  try {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < OPS; i++) {
      kv.setUint32(0, i & 1023, true);
      dv.setUint32(0, i, true);
      m.update(key, value);
    }
    const updateNs = Number(process.hrtime.bigint() - t0) / OPS;
    const t1 = process.hrtime.bigint();
    let sum = 0;
    for (let i = 0; i < OPS; i++) {
      kv.setUint32(0, i & 1023, true);
      sum += m.lookup(key)[0];
    }
    const lookupNs = Number(process.hrtime.bigint() - t1) / OPS;
    const t2 = process.hrtime.bigint();
    // The same lookups into one caller-owned buffer, as every peer's lookup does.
    const out = new Uint8Array(8);
    for (let i = 0; i < OPS; i++) {
      kv.setUint32(0, i & 1023, true);
      if (m.lookupInto(key, out)) sum += out[0];
    }
    const t3 = process.hrtime.bigint();
    if (sum < 0) throw new Error('unreachable');
    return {
      updateNs,
      lookupNs,
      lookupIntoNs: Number(t3 - t2) / OPS,
      ...batches(),
    };
  } finally {
    m.close();
  }
}

/** 65,536 elements, 1,024 per call: update everything, then walk everything, REPS times (as the C side). */
function batches() {
  const N = 65536,
    B = 1024;
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

const peers = peerBins();
ours(); // warm up
// Every peer's lookup already writes into a buffer the caller owns (libbpf's
// value pointer, cilium/ebpf's value argument, aya's returned value): its
// figure stands for both tsbpf rows, lookup (a fresh copy) and lookupInto.
const intoToo = (r) => ({ ...r, lookupIntoNs: r.lookupNs });
const sides = { libbpf: async () => intoToo(await runJson(join(root, 'build/c/bench-maps'), [OPS, REPS])), tsbpf: ours };
for (const [name, bin] of Object.entries(peers)) sides[name] = async () => intoToo(await runJson(bin, ['maps', OPS, REPS]));
const results = await interleave(ROUNDS, sides);
report({
  bench: 'maps',
  title: `bench/maps: ${ROUNDS} interleaved rounds of ${OPS} ops`,
  unit: 'ns',
  results,
  rows: [
    { key: 'updateNs', metric: 'hash update, 1k hot keys', target: 1.25 },
    { key: 'lookupNs', metric: 'hash lookup, 1k hot keys', target: 1.25 },
    { key: 'lookupIntoNs', metric: 'hash lookup into a caller buffer (lookupInto), 1k hot keys', target: 1.25 },
    { key: 'batchUpdateNs', metric: 'batch update per element (1,024 a call)', target: 1.2 },
    { key: 'batchLookupNs', metric: 'batch lookup per element (1,024 a call)', target: 1.2 },
  ],
  notes: ['aya has no batch calls; cilium/ebpf: Update/Lookup with []byte keys and values, BatchUpdate/BatchLookup with []uint32/[]uint64.'],
});

#!/usr/bin/env node
// bench/maps/call-ab: two builds of the single-element calls in one process,
// round by round (A, B, B, A, ...), for a change too small for the row
// benches to separate from this VM's noise (issue 19). Each round runs, on
// each side, the bench rows' loops: BpfMap update / lookup / lookupInto on a
// u32 -> u64 hash of 1,024 keys (one key buffer, as bench/maps) and TypedMap
// set / get on bench/typed's u32 -> 24-byte struct, and (WALKS > 0) bench/typed's
// walks of that map filled with 65,536 entries: entries() and forEach(), ns an
// element over WALKS walks of each, alternated. Prints each side's medians and
// in how many rounds B beat A (paired, so drift cancels).
// Usage (root): A=dir B=dir [MAPS_A=dir MAPS_B=dir] node bench/maps/call-ab.mjs,
// each dir a copy of packages/loader/dist (MAPS_*: packages/maps/dist) kept
// inside its package (so that its imports resolve). Knobs: N (200,000), ROUNDS (10),
// WALKS (3; 0 leaves the walk rows out).
import { join, resolve } from 'node:path';
import { median, root } from '../support/compare.mjs';

const N = Number(process.env.N ?? 200_000);
const ROUNDS = Number(process.env.ROUNDS ?? 10);
const WALKS = Number(process.env.WALKS ?? 3);
const ENTRIES = 65_536;
const dirs = { A: process.env.A, B: process.env.B };
if (!dirs.A || !dirs.B) throw new Error('call-ab: set A and B to two copies of packages/loader/dist');
const mapsDirs = { A: process.env.MAPS_A ?? join(root, 'packages/maps/dist'), B: process.env.MAPS_B ?? join(root, 'packages/maps/dist') };

async function side(name) {
  const { BpfMap } = await import(join(resolve(dirs[name]), 'index.js'));
  const { TypedMap, struct, u32, u64 } = await import(join(resolve(mapsDirs[name]), 'index.js'));
  const Stats = struct({ packets: u64, bytes: u64, ifindex: u32, flags: u32 });
  const key = new Uint8Array(4),
    kv = new DataView(key.buffer);
  const value = new Uint8Array(8),
    vv = new DataView(value.buffer);
  const out = new Uint8Array(8);
  let sum = 0,
    sink = 0n;
  const time = (f) => {
    const t0 = process.hrtime.bigint();
    f();
    return Number(process.hrtime.bigint() - t0) / N;
  };
  return () => {
    const m = BpfMap.create({ type: 1, keySize: 4, valueSize: 8, maxEntries: 1024, name: `ab_${name}` });
    const raw = BpfMap.create({ type: 1, keySize: 4, valueSize: 24, maxEntries: 65536, name: `ab_typed_${name}` });
    const t = new TypedMap(raw, u32, Stats);
    try {
      const r = {
        update: time(() => {
          for (let i = 0; i < N; i++) {
            kv.setUint32(0, i & 1023, true);
            vv.setUint32(0, i, true);
            m.update(key, value);
          }
        }),
        lookup: time(() => {
          for (let i = 0; i < N; i++) {
            kv.setUint32(0, i & 1023, true);
            sum += m.lookup(key)[0];
          }
        }),
        lookupInto: time(() => {
          for (let i = 0; i < N; i++) {
            kv.setUint32(0, i & 1023, true);
            if (m.lookupInto(key, out)) sum += out[0];
          }
        }),
        'typed set': time(() => {
          for (let i = 0; i < N; i++) t.set(i & 1023, { packets: BigInt(i), bytes: BigInt(i * 2), ifindex: i & 1023, flags: 0 });
        }),
        'typed get': time(() => {
          for (let i = 0; i < N; i++) {
            const v = t.get(i & 1023);
            if (v) sink += v.packets;
          }
        }),
      };
      if (WALKS > 0) {
        // As bench/typed: a full map of 65,536, walked in batches; entries() and forEach() alternated.
        t.setMany(Array.from({ length: ENTRIES }, (_, i) => [i, { packets: BigInt(i), bytes: 0n, ifindex: i, flags: 0 }]));
        let entries = 0,
          forEach = 0,
          seen = 0;
        for (let w = 0; w < WALKS; w++) {
          let t0 = process.hrtime.bigint();
          for (const [, v] of t.entries()) {
            sink += v.packets;
            seen++;
          }
          entries += Number(process.hrtime.bigint() - t0);
          t0 = process.hrtime.bigint();
          t.forEach((v) => {
            sink += v.packets;
            seen++;
          });
          forEach += Number(process.hrtime.bigint() - t0);
        }
        if (seen !== 2 * WALKS * ENTRIES) throw new Error(`call-ab: walked ${seen} entries, want ${2 * WALKS * ENTRIES}`);
        r['entries() an element'] = entries / (WALKS * ENTRIES);
        r['forEach() an element'] = forEach / (WALKS * ENTRIES);
      }
      if (sum < 0 || sink < 0n) throw new Error('unreachable');
      return r;
    } finally {
      m.close();
      raw.close();
    }
  };
}

const run = { A: await side('A'), B: await side('B') };
run.A();
run.B(); // warm-up
const res = { A: [], B: [] };
for (let r = 0; r < ROUNDS; r++) for (const s of r % 2 ? ['B', 'A'] : ['A', 'B']) res[s].push(run[s]());
const rows = Object.keys(res.A[0]);
console.log(`bench/maps/call-ab: ${ROUNDS} rounds of ${N} ops a row, A=${dirs.A} B=${dirs.B}; load ${(await import('node:os')).loadavg()[0].toFixed(1)}`);
console.table(
  Object.fromEntries(
    rows.map((k) => {
      const a = median(res.A.map((x) => x[k])),
        b = median(res.B.map((x) => x[k]));
      const wins = res.A.filter((x, i) => res.B[i][k] < x[k]).length;
      return [k, { 'A ns': a.toFixed(0), 'B ns': b.toFixed(0), 'B - A': (b - a).toFixed(0), 'B faster in': `${wins} of ${ROUNDS}` }];
    }),
  ),
);

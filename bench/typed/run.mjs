#!/usr/bin/env node
// bench/typed: a TypedMap<number, Stats> (u32 -> 24-byte struct, codecs
// written by hand) against libbpf on the same map shape: single set/get on
// 1,024 hot keys, then setMany over 65,536 entries and WALKS walks of them
// through entries(), forEach() and getMany(every key) (batches). A walk's
// figure is the median of its walks in a round (both sides); the first walk
// of a fresh map, slower while the process warms up, is printed on its own.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const OPS = Number(process.env.OPS ?? 300_000);
const ROUNDS = Number(process.env.ROUNDS ?? 11);
const WALKS = Number(process.env.WALKS ?? 5);

let BpfMap, TypedMap, struct, u32, u64;
try {
  ({ BpfMap } = await import(join(root, 'packages/loader/dist/index.js')));
  ({ TypedMap, struct, u32, u64 } = await import(join(root, 'packages/maps/dist/index.js')));
} catch (e) {
  console.error(`bench/typed: build first (npm run build): ${e.message}`);
  process.exit(1);
}

const median = (xs) => [...xs].sort((x, y) => x - y)[xs.length >> 1];
const Stats = struct({ packets: u64, bytes: u64, ifindex: u32, flags: u32 });
function ours() {
  const raw = BpfMap.create({ type: 1, keySize: 4, valueSize: 24, maxEntries: 65536, name: 'typed' });
  const m = new TypedMap(raw, u32, Stats);
  try {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < OPS; i++) m.set(i & 1023, { packets: BigInt(i), bytes: BigInt(i * 2), ifindex: i & 1023, flags: 0 });
    const t1 = process.hrtime.bigint();
    let sink = 0n;
    for (let i = 0; i < OPS; i++) {
      const v = m.get(i & 1023);
      if (v) sink += v.packets;
    }
    const t2 = process.hrtime.bigint();
    const N = 65536;
    let entries = Array.from({ length: N }, (_, i) => [i, { packets: BigInt(i), bytes: 0n, ifindex: i, flags: 0 }]);
    const t3 = process.hrtime.bigint();
    m.setMany(entries);
    const t4 = process.hrtime.bigint();
    // Garbage from here: the walk below would otherwise pay for copying the
    // bench's own 65,536 young input objects in its scavenges (C frees nothing).
    entries = null;
    const walk = () => {
      const t = process.hrtime.bigint();
      let walked = 0;
      for (const [, v] of m.entries()) {
        sink += v.packets;
        walked++;
      }
      return Number(process.hrtime.bigint() - t) / walked;
    };
    const visit = () => {
      const t = process.hrtime.bigint();
      let visited = 0;
      m.forEach((v) => {
        sink += v.packets;
        visited++;
      });
      return Number(process.hrtime.bigint() - t) / visited;
    };
    const everyKey = Array.from({ length: N }, (_, i) => i);
    const pick = () => {
      const t = process.hrtime.bigint();
      const got = m.getMany(everyKey);
      sink += got[N - 1].packets;
      return Number(process.hrtime.bigint() - t) / N;
    };
    // Alternated, so that neither kind of walk always comes first after setMany.
    const entriesFirstNs = walk();
    const entryWalks = [entriesFirstNs];
    const forEachWalks = [visit()];
    for (let w = 1; w < WALKS; w++) {
      entryWalks.push(walk());
      forEachWalks.push(visit());
    }
    // After them: getMany's 65,536 results live through its walk, which leaves the old generation busier.
    const getManyWalks = [];
    for (let w = 0; w < WALKS; w++) getManyWalks.push(pick());
    if (sink < 0n) throw new Error('unreachable');
    return {
      setNs: Number(t1 - t0) / OPS,
      getNs: Number(t2 - t1) / OPS,
      setManyNs: Number(t4 - t3) / N,
      entriesNs: median(entryWalks),
      entriesFirstNs,
      forEachNs: median(forEachWalks),
      getManyNs: median(getManyWalks),
    };
  } finally {
    raw.close();
  }
}

const LABELS = {
  setNs: ['typed set, 1,024 hot keys', 1.5],
  getNs: ['typed get, 1,024 hot keys', 1.5],
  setManyNs: ['setMany per element (batches of 1,024)', 1.2],
  entriesNs: ['entries() per element (batch lookups)', 1.2],
  entriesFirstNs: ["entries() per element, a fresh map's first walk", null],
  forEachNs: ['forEach() per element (batch lookups)', 1.2],
  getManyNs: ['getMany(every key) per element (one batch walk)', 1.2],
};
// forEach() reads the same walk as entries(): the peer is libbpf's batch walk. getMany's
// peer is the same job in C (a batch walk picking the keys out of an index).
const PEER = { forEachNs: 'entriesNs' };
const a = Object.fromEntries(Object.keys(LABELS).map((k) => [k, []]));
const b = Object.fromEntries(Object.keys(LABELS).map((k) => [k, []]));
ours();
for (let r = 0; r < ROUNDS; r++) {
  const c = JSON.parse(execFileSync(join(root, 'build/c/bench-typed'), [String(OPS), String(WALKS)], { encoding: 'utf8' }));
  const o = ours();
  for (const k of Object.keys(LABELS)) {
    a[k].push(o[k]);
    b[k].push(c[k] ?? c[PEER[k]]);
  }
}
const rows = Object.entries(LABELS).map(([k, [metric, target]]) => ({
  metric,
  tsbpfNs: +median(a[k]).toFixed(0),
  libbpfNs: +median(b[k]).toFixed(0),
  // What we add per operation: the part of the cost that is ours, whatever the kernel's speed that day.
  addedNs: +(median(a[k]) - median(b[k])).toFixed(0),
  ratio: +(median(a[k]) / median(b[k])).toFixed(2),
  target: target === null ? '(reported)' : `<= ${target}x`,
}));
console.log(`bench/typed: ${ROUNDS} interleaved rounds, ${WALKS} walks each`);
console.table(rows);
for (const r of rows) {
  if (!r.target.startsWith('<=')) continue;
  const t = Number(r.target.slice(3, -1));
  console.log(`${r.ratio > t ? 'TARGET MISSED' : 'target met'}: ${r.metric} ${r.ratio}x libbpf (target ${t}x)`);
}
mkdirSync(join(root, 'bench/results'), { recursive: true });
writeFileSync(join(root, 'bench/results/typed.json'), JSON.stringify({ date: new Date().toISOString(), rows }, null, 2) + '\n');

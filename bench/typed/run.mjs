#!/usr/bin/env node
// bench/typed: a TypedMap<number, Stats> (u32 -> 24-byte struct, codecs
// written by hand) against libbpf, cilium/ebpf and aya on the same map shape:
// single set/get on 1,024 hot keys, then setMany over 65,536 entries and
// WALKS walks of them through entries(), forEach() and getMany(every key)
// (batches). A walk's figure is the median of its walks in a round (every
// side); the first walk of a fresh map, slower while the process warms up,
// is printed on its own.
import { join } from 'node:path';
import { interleave, median, peerBins, report, root, runJson } from '../support/compare.mjs';

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

const peers = peerBins();
ours();
const sides = { libbpf: () => runJson(join(root, 'build/c/bench-typed'), [OPS, WALKS]), tsbpf: ours };
for (const [name, bin] of Object.entries(peers)) sides[name] = () => runJson(bin, ['typed', OPS, WALKS]);
const results = await interleave(ROUNDS, sides);
// forEach() reads the same walk as entries(): every peer's figure is its walk.
// getMany's peer is the same job in C (a batch walk picking the keys out of an
// index); cilium/ebpf and aya have no keyed multi-get.
report({
  bench: 'typed',
  title: `bench/typed: ${ROUNDS} interleaved rounds, ${WALKS} walks each`,
  unit: 'ns',
  results,
  rows: [
    { key: 'setNs', metric: 'typed set, 1,024 hot keys', target: 1.35 },
    { key: 'getNs', metric: 'typed get, 1,024 hot keys', target: 1.35 },
    { key: 'setManyNs', metric: 'setMany per element (batches of 1,024)', target: 1.2 },
    { key: 'entriesNs', metric: 'entries() per element (batch lookups)', target: 1.2 },
    { key: 'entriesFirstNs', metric: "entries() per element, a fresh map's first walk" },
    { key: 'forEachNs', peerKey: { all: 'entriesNs' }, metric: 'forEach() per element (batch lookups)', target: 1.1 },
    { key: 'getManyNs', peerKey: { cilium: 'none', aya: 'none' }, metric: 'getMany(every key) per element (one batch walk)', target: 1.5 },
    { key: 'iterateNs', peerKey: { libbpf: 'none', aya: 'entriesNs', cilium: 'iterateNs' }, metric: "the peer's key-by-key iterator, per element" },
  ],
  notes: [
    'cilium/ebpf: Put/Lookup with *uint32 and *struct, BatchUpdate, walks with BatchLookup into []struct (its Map.Iterate walks key by key: last row).',
    'aya: HashMap<u32, Stats> insert/get; no batch calls, so its walks are HashMap::iter (key by key) and it has no setMany row.',
  ],
});

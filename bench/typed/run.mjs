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

// Each timed loop is a function of its own, compiled once and kept: inlined
// in one long function, V8 threw that function's code away every round (for
// feedback its later parts had not yet seen; --trace-deopt, 2026-12-04), so
// each round's loops started unoptimized until on-stack replacement.
function setLoop(m) {
  const t = process.hrtime.bigint();
  for (let i = 0; i < OPS; i++) m.set(i & 1023, { packets: BigInt(i), bytes: BigInt(i * 2), ifindex: i & 1023, flags: 0 });
  return Number(process.hrtime.bigint() - t) / OPS;
}
function getLoop(m) {
  let sink = 0n;
  const t = process.hrtime.bigint();
  for (let i = 0; i < OPS; i++) {
    const v = m.get(i & 1023);
    if (v) sink += v.packets;
  }
  const ns = Number(process.hrtime.bigint() - t) / OPS;
  if (sink < 0n) throw new Error('unreachable');
  return ns;
}
function entriesWalk(m) {
  let sink = 0n;
  let walked = 0;
  const t = process.hrtime.bigint();
  for (const [, v] of m.entries()) {
    sink += v.packets;
    walked++;
  }
  const ns = Number(process.hrtime.bigint() - t) / walked;
  if (sink < 0n) throw new Error('unreachable');
  return ns;
}
function forEachWalk(m) {
  let sink = 0n;
  let visited = 0;
  const t = process.hrtime.bigint();
  m.forEach((v) => {
    sink += v.packets;
    visited++;
  });
  const ns = Number(process.hrtime.bigint() - t) / visited;
  if (sink < 0n) throw new Error('unreachable');
  return ns;
}
function getManyPick(m, everyKey) {
  const t = process.hrtime.bigint();
  const got = m.getMany(everyKey);
  const ns = Number(process.hrtime.bigint() - t) / everyKey.length;
  if (got[everyKey.length - 1].packets < 0n) throw new Error('unreachable');
  return ns;
}

const N = 65536;
const everyKey = Array.from({ length: N }, (_, i) => i);

function ours() {
  const raw = BpfMap.create({ type: 1, keySize: 4, valueSize: 24, maxEntries: 65536, name: 'typed' });
  const m = new TypedMap(raw, u32, Stats);
  try {
    const setNs = setLoop(m);
    const getNs = getLoop(m);
    let entries = Array.from({ length: N }, (_, i) => [i, { packets: BigInt(i), bytes: 0n, ifindex: i, flags: 0 }]);
    const t3 = process.hrtime.bigint();
    m.setMany(entries);
    const t4 = process.hrtime.bigint();
    // Garbage from here: the walk below would otherwise pay for copying the
    // bench's own 65,536 young input objects in its scavenges (C frees nothing).
    entries = null;
    // Alternated, so that neither kind of walk always comes first after setMany.
    const entriesFirstNs = entriesWalk(m);
    const entryWalks = [entriesFirstNs];
    const forEachWalks = [forEachWalk(m)];
    for (let w = 1; w < WALKS; w++) {
      entryWalks.push(entriesWalk(m));
      forEachWalks.push(forEachWalk(m));
    }
    // After them: getMany's 65,536 results live through its walk, which leaves the old generation busier.
    const getManyWalks = [];
    for (let w = 0; w < WALKS; w++) getManyWalks.push(getManyPick(m, everyKey));
    return {
      setNs,
      getNs,
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

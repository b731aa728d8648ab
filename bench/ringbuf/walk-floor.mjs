#!/usr/bin/env node
// bench/ringbuf/walk-floor.mjs: what plain JavaScript pays a record, with no
// kernel and no library, to walk an in-memory image of bench/ringbuf's ring
// (8-byte headers, 16-byte records) handing each to the bench's callback, and
// to build the decoded object per record ({ seq: BigInt, len, flags }, and
// with seq as a number), beside libbpf's ring_buffer__consume (its bench
// helper, run between the rounds). Prints ns a record per form, first pass of
// a fresh copy of the loop (as the bench's new reader each round) and a loop
// kept warm across rounds, and the share of libbpf's rate each form allows.
// Not part of `npm run bench`; root for the libbpf side (left out otherwise).
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
const N = Number(process.env.RECORDS ?? 1_000_000);
const ROUNDS = Number(process.env.ROUNDS ?? 7);
const HELPER = join(root, 'build/c/bench-ringbuf');
const OBJ = join(root, 'build/c/ringbuf-emit.bpf.o');

// The image: N committed records as the producer leaves them (header: length, page offset; then seq u64, len u32, flags u32).
const image = new DataView(new ArrayBuffer(N * 24));
for (let i = 0; i < N; i++) {
  image.setUint32(i * 24, 16, true);
  image.setUint32(i * 24 + 4, 0, true);
  image.setBigUint64(i * 24 + 8, BigInt(i), true);
  image.setUint32(i * 24 + 16, 64, true);
  image.setUint32(i * 24 + 20, 0, true);
}
const bytes = N * 24;
/** The same memory as 64-bit words (what @tsbpf/maps' withWords attaches to a ring's view): a BigInt read from an array. */
const words = new BigUint64Array(image.buffer);

// The bare walk: header, busy bit, length, the callback, next. Made from source so each copy has its own feedback.
const walkSource = `(data, avail, onRecord) => {
  let at = 0;
  let n = 0;
  while (at < avail) {
    const hdr = data.getUint32(at, true);
    if (hdr & 0x80000000) break;
    const len = hdr & 0x3fffffff;
    if ((hdr & 0x40000000) === 0) {
      n++;
      onRecord(data, at + 8, len);
    }
    at = (at + ((len + 15) & ~7)) | 0;
  }
  return n;
}`;
let copies = 0;
const freshWalk = () => new Function(`return ${walkSource}; // copy ${++copies}`)();

const checksum = new Float64Array(1); // as the ring bench sums (no boxed let)
// consumeAt's callback in bench/ringbuf/run.mjs: seq whole from its halves, and len.
const inPlace = (view, offset) => {
  checksum[0] += view.getUint32(offset, true) + view.getUint32(offset + 4, true) * 0x100000000 + view.getUint32(offset + 8, true);
};
// consume(callback)'s work: an object a record, then the bench's callback on it.
const onObject = (r) => {
  checksum[0] += Number(r.seq) + r.len;
};
const decodeBig = (view, offset) => {
  onObject({ seq: view.getBigUint64(offset, true), len: view.getUint32(offset + 8, true), flags: view.getUint32(offset + 12, true) });
};
const decodeWords = (view, offset) => {
  onObject({ seq: words[offset >> 3], len: view.getUint32(offset + 8, true), flags: view.getUint32(offset + 12, true) });
};
const decodeNum = (view, offset) => {
  onObject({
    seq: view.getUint32(offset, true) + view.getUint32(offset + 4, true) * 0x100000000,
    len: view.getUint32(offset + 8, true),
    flags: view.getUint32(offset + 12, true),
  });
};
const forms = {
  'walk, fields read in place (consumeAt)': inPlace,
  'walk + object, seq as BigInt (getBigUint64)': decodeBig,
  'walk + object, seq as BigInt (BigUint64Array)': decodeWords,
  'walk + object, seq as a number (u64AsNumber)': decodeNum,
};

const libbpfOk = existsSync(HELPER) && existsSync(OBJ) && process.getuid?.() === 0;
const libbpf = [];
const times = {};
for (const name of Object.keys(forms)) times[name] = { fresh: [], kept: [] };
const kept = Object.fromEntries(Object.keys(forms).map((k) => [k, freshWalk()]));

function timeOnce(walk, cb) {
  const t0 = process.hrtime.bigint();
  const n = walk(image, bytes, cb);
  const ns = Number(process.hrtime.bigint() - t0);
  if (n !== N) throw new Error(`walked ${n} of ${N}`);
  return ns / N;
}

for (let round = 0; round < ROUNDS; round++) {
  if (libbpfOk) {
    const out = JSON.parse(execFileSync(HELPER, [OBJ, String(N)], { encoding: 'utf8' }));
    libbpf.push(1e9 / out.recordsPerSec);
  }
  for (const [name, cb] of Object.entries(forms)) {
    times[name].fresh.push(timeOnce(freshWalk(), cb)); // a new reader's first pass, as the bench times
    const k = timeOnce(kept[name], cb);
    if (round >= 2) times[name].kept.push(k); // a reader kept: its third pass on
  }
}
if (!(checksum[0] > 0)) throw new Error('nothing summed');

const median = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
const fmt = (x) => x.toFixed(2).padStart(7);
const lib = libbpf.length ? median(libbpf) : undefined;
console.log(`bench/ringbuf/walk-floor: ${N} records of 16 bytes in memory, ${ROUNDS} rounds, Node ${process.version}, medians`);
if (lib !== undefined)
  console.log(
    `libbpf ring_buffer__consume: ${fmt(lib)} ns a record (${(1e3 / lib).toFixed(0)}M records/s; range ${fmt(Math.min(...libbpf))}–${Math.max(...libbpf).toFixed(2)})`,
  );
else console.log('libbpf: left out (needs root and build/c/bench-ringbuf)');
const results = { libbpfNs: lib, forms: {} };
for (const [name, t] of Object.entries(times)) {
  const line = [];
  for (const pass of ['fresh', 'kept']) {
    const ns = median(t[pass]);
    const share = lib !== undefined ? ` = ${((100 * lib) / ns).toFixed(0)}% of libbpf` : '';
    line.push(`${pass === 'fresh' ? 'first pass' : 'kept'} ${fmt(ns)} ns${share}`);
    results.forms[`${name} ${pass}`] = ns;
  }
  console.log(`${name.padEnd(46)} ${line.join('; ')}`);
}
if (process.env.JSON) console.log(JSON.stringify(results));

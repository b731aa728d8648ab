#!/usr/bin/env node
// bench/ringbuf: decoded records per second from a ring buffer filled with 1M
// records by a real program, tsbpf's RingBuffer (decoding each into an
// object: for await per record and over batches, and the callback form) and
// the loader's in-place reader against libbpf's ring_buffer__consume
// callback, cilium/ebpf's ringbuf.Reader and aya's RingBuf, interleaved.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { interleave, peerBins, report, root, runJson } from '../support/compare.mjs';

const OBJ = join(root, 'build/c/ringbuf-emit.bpf.o');
const N = Number(process.env.RECORDS ?? 1_000_000);
const ROUNDS = Number(process.env.ROUNDS ?? 3);

let parseCollectionSpec, loadCollection, RingBufferReader, RingBuffer, struct, u32, u64, u64AsNumber;
try {
  ({ parseCollectionSpec } = await import(join(root, 'packages/object/dist/index.js')));
  ({ loadCollection, RingBufferReader } = await import(join(root, 'packages/loader/dist/index.js')));
  ({ RingBuffer, struct, u32, u64, u64AsNumber } = await import(join(root, 'packages/maps/dist/index.js')));
} catch (e) {
  console.error(`bench/ringbuf: build first (npm run build): ${e.message}`);
  process.exit(1);
}

const record = struct({ seq: u64, len: u32, flags: u32 });
/** The same record with `seq` as a number (exact below 2^53, CODEC_RANGE past it): read in place, no BigInt. */
const recordNum = struct({ seq: u64AsNumber, len: u32, flags: u32 });
/** RingBuffer<T>: each record decoded to an object, read with `for await` or with consume(callback). */
async function ours(how, codec = record) {
  const c = loadCollection(parseCollectionSpec(readFileSync(OBJ)));
  try {
    const ring = new RingBuffer(c.maps.records, codec);
    c.programs.emit.testRun({ data: new Uint8Array(64), repeat: N });
    let seen = 0;
    const checksum = new Float64Array(1); // see oursRaw
    const t0 = process.hrtime.bigint();
    if (how === 'for-await') {
      for await (const r of ring) {
        checksum[0] += Number(r.seq) + r.len;
        if (++seen === N) break;
      }
    } else if (how === 'batches') {
      // The same decoded objects, one promise per drain (at most 1,024 records) instead of one a record.
      for await (const batch of ring.batches()) {
        for (const r of batch) checksum[0] += Number(r.seq) + r.len;
        seen += batch.length;
        if (seen >= N) break;
      }
    } else {
      await ring.consume((r) => {
        checksum[0] += Number(r.seq) + r.len;
        if (++seen === N) ring.close();
      });
    }
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    ring.close();
    if (seen !== N || !(checksum[0] > 0)) throw new Error(`${how}: ${seen} records of ${N}`);
    return N / s;
  } finally {
    c.close();
  }
}

/**
 * The allocation-free path: the loader's reader, reading the two fields the
 * C side reads (seq whole, from its two 32-bit halves, and len). The sum goes
 * to a Float64Array slot as C's goes to a global: a captured `let` above 2^31
 * would be boxed anew on every store, an allocation a record that is the
 * callback's cost, not the reader's.
 */
function oursRaw() {
  const c = loadCollection(parseCollectionSpec(readFileSync(OBJ)));
  try {
    const reader = new RingBufferReader(c.maps.records);
    c.programs.emit.testRun({ data: new Uint8Array(64), repeat: N });
    let seen = 0;
    const checksum = new Float64Array(1);
    const t0 = process.hrtime.bigint();
    while (seen < N) {
      seen += reader.consumeAt((view, offset) => {
        checksum[0] += view.getUint32(offset, true) + view.getUint32(offset + 4, true) * 0x100000000 + view.getUint32(offset + 8, true);
      });
    }
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    reader.close();
    if (!(checksum[0] > 0)) throw new Error('no records summed');
    return N / s;
  } finally {
    c.close();
  }
}

const peers = peerBins();
const sides = {
  libbpf: () => runJson(join(root, 'build/c/bench-ringbuf'), [OBJ, N]),
  tsbpf: async () => ({
    forAwait: await ours('for-await'),
    forAwaitBatches: await ours('batches'),
    consume: await ours('consume'),
    consumeNum: await ours('consume', recordNum),
    consumeAt: oursRaw(),
  }),
};
for (const [name, bin] of Object.entries(peers)) sides[name] = () => runJson(bin, ['ringbuf', OBJ, N]);
const results = await interleave(ROUNDS, sides);
// Every peer's row is its own consumer reading two fields in place (each side's fastest).
const peerKey = { all: 'recordsPerSec' };
report({
  bench: 'ringbuf',
  title: `bench/ringbuf: ${N} records of 16 bytes, ${ROUNDS} interleaved rounds`,
  unit: 'records/s',
  results,
  rows: [
    { key: 'forAwait', peerKey, metric: 'RingBuffer<T>, for await (each record decoded to an object, u64 as bigint)', target: 0.15 },
    {
      key: 'forAwaitBatches',
      peerKey,
      metric: 'RingBuffer<T>.batches(), for await (the same objects, arrays of up to 1,024; held to the for await target)',
      target: 0.15,
    },
    { key: 'consume', peerKey, metric: 'RingBuffer<T>.consume(callback) (the same objects, no promise per record)', target: 0.25 },
    { key: 'consumeNum', peerKey, metric: 'RingBuffer<T>.consume(callback), seq as u64AsNumber (no BigInt; no target of its own)' },
    { key: 'consumeAt', peerKey, metric: 'RingBufferReader.consumeAt (fields read in place)', target: 0.6 },
  ],
  notes: [
    "The peers' figures are the same on every row: each reads the two fields in place (libbpf: ring_buffer__consume; cilium/ebpf: ringbuf.Reader.ReadInto; aya: RingBuf::next).",
  ],
});

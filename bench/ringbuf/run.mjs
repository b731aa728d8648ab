#!/usr/bin/env node
// bench/ringbuf: decoded records per second from a ring buffer filled with 1M
// records by a real program, tsbpf's RingBuffer (decoding each into an
// object: for await, and the callback form) and the loader's in-place reader
// against libbpf's ring_buffer__consume callback, interleaved.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const OBJ = join(root, 'build/c/ringbuf-emit.bpf.o');
const N = Number(process.env.RECORDS ?? 1_000_000);
const ROUNDS = Number(process.env.ROUNDS ?? 3);

let parseCollectionSpec, loadCollection, RingBufferReader, RingBuffer, struct, u32, u64;
try {
  ({ parseCollectionSpec } = await import(join(root, 'packages/object/dist/index.js')));
  ({ loadCollection, RingBufferReader } = await import(join(root, 'packages/loader/dist/index.js')));
  ({ RingBuffer, struct, u32, u64 } = await import(join(root, 'packages/maps/dist/index.js')));
} catch (e) {
  console.error(`bench/ringbuf: build first (npm run build): ${e.message}`);
  process.exit(1);
}

const record = struct({ seq: u64, len: u32, flags: u32 });
/** RingBuffer<T>: each record decoded to an object, read with `for await` or with consume(callback). */
async function ours(how) {
  const c = loadCollection(parseCollectionSpec(readFileSync(OBJ)));
  try {
    const ring = new RingBuffer(c.maps.records, record);
    c.programs.emit.testRun({ data: new Uint8Array(64), repeat: N });
    let seen = 0;
    let checksum = 0n;
    const t0 = process.hrtime.bigint();
    if (how === 'for-await') {
      for await (const r of ring) {
        checksum += r.seq + BigInt(r.len);
        if (++seen === N) break;
      }
    } else {
      await ring.consume((r) => {
        checksum += r.seq + BigInt(r.len);
        if (++seen === N) ring.close();
      });
    }
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    ring.close();
    return N / s;
  } finally {
    c.close();
  }
}

/** The allocation-free path: the loader's reader, reading the two fields the C side reads. */
function oursRaw() {
  const c = loadCollection(parseCollectionSpec(readFileSync(OBJ)));
  try {
    const reader = new RingBufferReader(c.maps.records);
    c.programs.emit.testRun({ data: new Uint8Array(64), repeat: N });
    let seen = 0;
    let checksum = 0;
    const t0 = process.hrtime.bigint();
    while (seen < N) {
      seen += reader.consumeAt((view, offset) => {
        checksum += view.getUint32(offset, true) + view.getUint32(offset + 8, true);
      });
    }
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    reader.close();
    if (checksum < 0) throw new Error('unreachable');
    return N / s;
  } finally {
    c.close();
  }
}

const forAwait = [];
const consume = [];
const raw = [];
const libbpf = [];
for (let r = 0; r < ROUNDS; r++) {
  libbpf.push(JSON.parse(execFileSync(join(root, 'build/c/bench-ringbuf'), [OBJ, String(N)], { encoding: 'utf8' })).recordsPerSec);
  forAwait.push(await ours('for-await'));
  consume.push(await ours('consume'));
  raw.push(oursRaw());
}
const median = (xs) => [...xs].sort((x, y) => x - y)[xs.length >> 1];
const rows = [
  ['RingBuffer<T>, for await (each record decoded to an object, u64 as bigint)', forAwait],
  ['RingBuffer<T>.consume(callback) (the same objects, no promise per record)', consume],
  ['RingBufferReader.consumeAt (fields read in place)', raw],
].map(([metric, xs]) => {
  const ours = Math.round(median(xs));
  const theirs = Math.round(median(libbpf));
  return { metric, tsbpfPerSec: ours, libbpfPerSec: theirs, ratio: +(theirs / ours).toFixed(2) };
});
console.log(`bench/ringbuf: ${N} records of 16 bytes, ${ROUNDS} interleaved rounds (ratio = libbpf rate / tsbpf rate)`);
console.table(rows);
mkdirSync(join(root, 'bench/results'), { recursive: true });
writeFileSync(join(root, 'bench/results/ringbuf.json'), JSON.stringify({ date: new Date().toISOString(), rows }, null, 2) + '\n');

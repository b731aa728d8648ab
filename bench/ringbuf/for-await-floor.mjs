#!/usr/bin/env node
// bench/ringbuf/for-await-floor.mjs: what `for await` itself costs an
// iteration in this Node, with no ring and no decoding: the floor under
// RingBuffer's per-record iterator, and the same items in batches. Prints ns
// per item for each form (median of ROUNDS, ITEMS items each). Not part of
// `npm run bench`; no kernel, no root.
const ITEMS = Number(process.env.ITEMS ?? 2_000_000);
const ROUNDS = Number(process.env.ROUNDS ?? 7);
const BATCH = Number(process.env.BATCH ?? 1024);

const items = Array.from({ length: BATCH }, (_, i) => ({ seq: i, len: 16 }));
const sum = new Float64Array(1); // as the ring bench sums (no boxed let)

/** An iterator object whose next() returns the result object itself (for await wraps it in a promise). */
function plainResults(n) {
  let i = 0;
  return {
    [Symbol.asyncIterator]: () => ({ next: () => (i < n ? { value: items[i++ % BATCH], done: false } : { value: undefined, done: true }) }),
  };
}
/** next() returns an already-settled promise (RingBuffer's per-record iterator). */
function settledPromises(n) {
  let i = 0;
  return {
    [Symbol.asyncIterator]: () => ({
      next: () => Promise.resolve(i < n ? { value: items[i++ % BATCH], done: false } : { value: undefined, done: true }),
    }),
  };
}
async function* generator(n) {
  for (let i = 0; i < n; i++) yield items[i % BATCH];
}
/** Arrays of BATCH items, one promise a batch (RingBuffer.batches()). */
function batches(n) {
  let i = 0;
  return {
    [Symbol.asyncIterator]: () => ({
      next: () => {
        if (i >= n) return Promise.resolve({ value: undefined, done: true });
        i += BATCH;
        return Promise.resolve({ value: items, done: false });
      },
    }),
  };
}

const forms = {
  'for await, next() returns { value, done }': async () => {
    for await (const r of plainResults(ITEMS)) sum[0] += r.seq + r.len;
    return ITEMS;
  },
  'for await, next() returns Promise.resolve({ value, done })': async () => {
    for await (const r of settledPromises(ITEMS)) sum[0] += r.seq + r.len;
    return ITEMS;
  },
  'for await over an async generator': async () => {
    for await (const r of generator(ITEMS)) sum[0] += r.seq + r.len;
    return ITEMS;
  },
  [`for await over batches of ${BATCH}, for of inside`]: async () => {
    let n = 0;
    for await (const batch of batches(ITEMS)) {
      for (const r of batch) sum[0] += r.seq + r.len;
      n += batch.length;
    }
    return n;
  },
  'for of over an array (no await; reference)': async () => {
    let n = 0;
    for (let k = 0; k < ITEMS; k += BATCH) {
      for (const r of items) sum[0] += r.seq + r.len;
      n += BATCH;
    }
    return n;
  },
};

const times = Object.fromEntries(Object.keys(forms).map((k) => [k, []]));
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, run] of Object.entries(forms)) {
    const t0 = process.hrtime.bigint();
    const n = await run();
    times[name].push(Number(process.hrtime.bigint() - t0) / n);
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
console.log(`for-await-floor: Node ${process.version}, ${ITEMS} items, median of ${ROUNDS} rounds (min-max)`);
for (const [name, xs] of Object.entries(times)) {
  console.log(`${median(xs).toFixed(1).padStart(7)} ns an item  (${Math.min(...xs).toFixed(1)}-${Math.max(...xs).toFixed(1)})  ${name}`);
}
if (!(sum[0] > 0)) throw new Error('nothing summed');

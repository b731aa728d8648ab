/**
 * The child process of packages/maps/src/use-after-close.test.ts (bundled from the sources,
 * run under node --expose-gc): closes every object that owns native memory
 * or an fd, churns allocations and collects, then uses every method late,
 * and prints one JSON line: each late use and what it gave (a late use that
 * reached freed memory crashes this process, which fails the test). With
 * `dropped`, it drops objects unclosed and counts fds and mappings instead.
 */
import { closeSync, fstatSync, openSync, readFileSync, readdirSync } from 'node:fs';
import { BpfMap, LoaderError, PerfEventArrayReader, RingBufferReader, attachRawTracepoint, loadCollection, type Collection } from '@tsbpf/loader';
import { parseCollectionSpec, type CollectionSpec } from '@tsbpf/object';
import { BloomFilter, Globals, PerCpuMap, PerfBuffer, QueueMap, RingBuffer, TypedMap, struct, typedMaps, u32, u64 } from '@tsbpf/maps';

declare const gc: () => void;

interface Outcome {
  what: string;
  /** `LoaderError CLOSED`, `returned <value>`, or the other error's name, code and message. */
  got: string;
}
const outcomes: Outcome[] = [];

function describe(e: unknown): string {
  if (e instanceof LoaderError) return `LoaderError ${e.code}`;
  if (e instanceof Error) return `${e.name} ${(e as { code?: string }).code ?? ''} ${e.message}`;
  return `thrown ${String(e)}`;
}

/** Runs one late use (awaiting what it returns, if a promise) and records what it gave. */
async function late(what: string, use: () => unknown): Promise<void> {
  try {
    const r = use();
    const v = r instanceof Promise ? await r : r;
    outcomes.push({ what, got: `returned ${typeof v === 'bigint' ? `${v}n` : JSON.stringify(v)}` });
  } catch (e) {
    outcomes.push({ what, got: describe(e) });
  }
}

/** Allocation churn after the closes, so freed native memory is handed out again, then a full collection. */
function churn(): void {
  for (let i = 0; i < 40; i++) {
    const m = BpfMap.create({ type: 1, keySize: 16, valueSize: 200, maxEntries: 8 });
    m.update(new Uint8Array(16).fill(i), new Uint8Array(200).fill(i));
    m.lookup(new Uint8Array(16).fill(i));
    [...m.lookupBatches(4)];
    m.close();
  }
  const junk: Uint8Array[] = [];
  for (let i = 0; i < 2000; i++) junk.push(new Uint8Array(64 + (i % 512)));
  junk.length = 0;
  gc();
}

const event = struct({ seq: u64 });

async function main(): Promise<void> {
  const spec: CollectionSpec = parseCollectionSpec(new Uint8Array(readFileSync(process.argv[2]!)));

  // The realistic path: typed maps from the collection, the collection closed, a late set.
  {
    const c = loadCollection(spec);
    const tm = typedMaps(c, spec);
    (tm.counts as TypedMap<number, bigint>).set(1, 5n);
    c.close();
    churn();
    const counts = tm.counts as TypedMap<number, bigint>;
    const percpu = tm.percpu as PerCpuMap<number, bigint>;
    await late('typedMaps TypedMap.set', () => counts.set(1, 7n));
    await late('typedMaps TypedMap.get', () => counts.get(1));
    await late('typedMaps TypedMap.has', () => counts.has(1));
    await late('typedMaps PerCpuMap.set', () => percpu.set(1, 7n));
    await late('typedMaps PerCpuMap.get', () => percpu.get(1));
    churn();
  }

  const c: Collection = loadCollection(spec);
  const program = c.programs.emit!;
  program.testRun({ data: new Uint8Array(64), repeat: 3 }); // records in both rings, unread at close
  const counts = new TypedMap(c.maps.counts!, u32, u64);
  const percpu = new PerCpuMap(c.maps.percpu!, u32, u64);
  counts.setMany([
    [1, 1n],
    [2, 2n],
    [3, 3n],
  ]);
  percpu.set(1, 1n);
  const globals = new Globals(c, spec);
  const ringReader = new RingBufferReader(c.maps.ring!);
  const ring = new RingBuffer(c.maps.ring!, event, { pollMs: 50 });
  const perfReader = new PerfEventArrayReader(c.maps.perf!);
  const perf = new PerfBuffer(c.maps.perf!, event, { pollMs: 50 });
  const link = attachRawTracepoint(c.programs.noop!, 'sched_process_exec');
  const raw = BpfMap.create({ type: 1, keySize: 4, valueSize: 8, maxEntries: 16, name: 'raw' });
  raw.update(new Uint8Array(4), new Uint8Array(8));
  raw.update(new Uint8Array([1, 0, 0, 0]), new Uint8Array(8));
  const mmapped = BpfMap.create({ type: 2, keySize: 4, valueSize: 8, maxEntries: 4, flags: 1 << 10, name: 'mmapped' });
  const mapped = mmapped.mappedValues();
  mapped.setUint32(0, 42, true);
  const queue = BpfMap.create({ type: 22, keySize: 0, valueSize: 4, maxEntries: 4, name: 'queue' });
  const typedQueue = new QueueMap(queue, u32);
  typedQueue.push(1);
  const bloom = BpfMap.create({ type: 30, keySize: 0, valueSize: 4, maxEntries: 4, name: 'bloom', mapExtra: 3n });
  const typedBloom = new BloomFilter(bloom, u32);
  typedBloom.add(1);
  const rawPerCpu = BpfMap.create({ type: 5, keySize: 4, valueSize: 8, maxEntries: 4, name: 'rawpercpu' });

  // Walks in progress when their map closes.
  const entries = counts.entries();
  entries.next();
  // Batch walks of one element over an array: a hash map's batch smaller than one of its buckets is ENOSPC,
  // and where keys land in buckets is up to the map's random seed.
  const walked = BpfMap.create({ type: 2, keySize: 4, valueSize: 8, maxEntries: 4, name: 'walked' });
  const cursor = walked.batchCursor(1);
  cursor.next();
  const rawKeys = raw.keys();
  rawKeys.next();
  const batches = walked.lookupBatches(1);
  batches.next();
  // Readers: an iterator waiting on an empty ring when the reader closes, one made before close, unused.
  ring.drain();
  const waiting = ring[Symbol.asyncIterator]().next();
  const ringIterator = ring[Symbol.asyncIterator]();
  const perfIterator = perf[Symbol.asyncIterator]();
  const waitingBatch = ring.batches()[Symbol.asyncIterator]().next();
  const ringBatches = ring.batches()[Symbol.asyncIterator]();
  const perfBatches = perf.batches()[Symbol.asyncIterator]();
  const pendingWait = ringReader.wait(200);

  c.close();
  for (const o of [ringReader, ring, perfReader, perf, link, raw, walked, mmapped, queue, bloom, rawPerCpu]) o.close();
  churn();

  for (const [name, m] of [
    ['BpfMap', raw],
    ['BpfMap (collection)', c.maps.counts!],
    ['BpfMap per-CPU', rawPerCpu],
  ] as const) {
    const k = new Uint8Array(4);
    await late(`${name}.lookup`, () => m.lookup(k));
    await late(`${name}.lookupInto`, () => m.lookupInto(k, new Uint8Array(m.valueBufferSize)));
    await late(`${name}.update`, () => m.update(k, new Uint8Array(m.valueBufferSize)));
    await late(`${name}.delete`, () => m.delete(k));
    await late(`${name}.keys`, () => m.keys().next());
    await late(`${name}.keyView`, () => m.keyView);
    await late(`${name}.valueView`, () => m.valueView);
    await late(`${name}.lookupPrepared`, () => m.lookupPrepared());
    await late(`${name}.updatePrepared`, () => m.updatePrepared());
    await late(`${name}.updateBatch`, () => m.updateBatch(k, new Uint8Array(m.valueBufferSize)));
    await late(`${name}.batchViews`, () => m.batchViews(1));
    await late(`${name}.updateBatchPrepared`, () => m.updateBatchPrepared(1));
    await late(`${name}.deleteBatch`, () => m.deleteBatch(k));
    await late(`${name}.lookupBatches`, () => m.lookupBatches(1));
    await late(`${name}.batchCursor`, () => m.batchCursor(1));
    await late(`${name}.fd`, () => m.fd);
    await late(`${name}.freeze`, () => m.freeze());
    await late(`${name}.pin`, () => m.pin('/sys/fs/bpf/tsbpf-use-after-close-never'));
  }
  await late('BpfMap.mappedValues', () => mmapped.mappedValues());
  await late('BpfMap.mappedWritable', () => mmapped.mappedWritable);
  await late('BpfMap.push', () => queue.push(new Uint8Array(4)));
  await late('BpfMap.pop', () => queue.pop());
  await late('BpfMap.peek', () => queue.peek());
  await late('BpfMap.mayContain', () => bloom.mayContain(new Uint8Array(4)));
  await late('QueueMap.push', () => typedQueue.push(2));
  await late('QueueMap.pop', () => typedQueue.pop());
  await late('QueueMap.peek', () => typedQueue.peek());
  await late('BloomFilter.add', () => typedBloom.add(2));
  await late('BloomFilter.mayContain', () => typedBloom.mayContain(1));

  for (const [name, m] of [
    ['TypedMap', counts],
    ['PerCpuMap', percpu],
  ] as const) {
    const tm = m as TypedMap<number, bigint>;
    await late(`${name}.get`, () => tm.get(1));
    await late(`${name}.has`, () => tm.has(1));
    await late(`${name}.set`, () => tm.set(1, 9n));
    await late(`${name}.delete`, () => tm.delete(1));
    await late(`${name}.keys`, () => tm.keys().next());
    await late(`${name}.values`, () => tm.values().next());
    await late(`${name}.entries`, () => tm.entries().next());
    await late(`${name}.iterator`, () => tm[Symbol.iterator]().next());
    await late(`${name}.forEach`, () => tm.forEach(() => {}));
    await late(`${name}.size`, () => tm.size);
    await late(`${name}.clear`, () => tm.clear());
    await late(`${name}.getMany`, () => tm.getMany([1, 2]));
    await late(`${name}.getMany([])`, () => tm.getMany([]));
    await late(`${name}.setMany`, () => tm.setMany([[1, 1n]]));
    await late(`${name}.setMany([])`, () => tm.setMany([]));
    await late(`${name}.deleteMany`, () => tm.deleteMany([1]));
    await late(`${name}.deleteMany([])`, () => tm.deleteMany([]));
  }

  await late('walk in progress: TypedMap entries().next', () => entries.next());
  await late('walk in progress: BatchCursor.next', () => cursor.next());
  await late('walk in progress: BatchCursor.keys bytes', () => cursor.keys.byteLength);
  await late('walk in progress: BatchCursor.values bytes', () => cursor.values.byteLength);
  await late('walk in progress: BpfMap.keys().next', () => rawKeys.next());
  await late('walk in progress: BpfMap.lookupBatches().next', () => batches.next());

  await late('Globals.get', () => globals.get('seq'));
  await late('Globals.set', () => globals.set('seq', 3n));

  await late('RingBufferReader.consume', () => ringReader.consume(() => {}));
  await late('RingBufferReader.consumeAt', () => ringReader.consumeAt(() => {}));
  await late('RingBufferReader.wait', () => ringReader.wait(10));
  await late('RingBufferReader.wait in progress at close', () => pendingWait);
  await late('RingBuffer.drain', () => ring.drain());
  await late('RingBuffer.consume', () => ring.consume(() => {}));
  await late('RingBuffer iterator waiting at close', () => waiting.then((r) => r.done));
  await late('RingBuffer iterator made before close', () => ringIterator.next().then((r) => r.done));
  await late('RingBuffer iterator made after close', () => ring[Symbol.asyncIterator]().next());
  await late('RingBuffer batches waiting at close', () => waitingBatch.then((r) => r.done));
  await late('RingBuffer batches made before close', () => ringBatches.next().then((r) => r.done));
  await late('RingBuffer batches made after close', () => ring.batches()[Symbol.asyncIterator]().next());
  await late('PerfEventArrayReader.consume', () => perfReader.consume(() => {}));
  await late('PerfEventArrayReader.consumeAt', () => perfReader.consumeAt(() => {}));
  await late('PerfEventArrayReader.wait', () => perfReader.wait(10));
  await late('PerfBuffer.drain', () => perf.drain());
  await late('PerfBuffer iterator made before close', () => perfIterator.next().then((r) => r.done));
  await late('PerfBuffer iterator made after close', () => perf[Symbol.asyncIterator]().next());
  await late('PerfBuffer batches made before close', () => perfBatches.next().then((r) => r.done));
  await late('PerfBuffer batches made after close', () => perf.batches()[Symbol.asyncIterator]().next());

  await late('Program.testRun', () => program.testRun({ data: new Uint8Array(64) }));
  await late('Program.fd', () => program.fd);
  await late('Program.id', () => program.id());
  await late('Program.pin', () => program.pin('/sys/fs/bpf/tsbpf-use-after-close-never'));
  await late('Link.fd', () => link.fd);
  await late('Link.detach', () => link.detach());
  await late('Link.pin', () => link.pin('/sys/fs/bpf/tsbpf-use-after-close-never'));

  // A new load after all that must work.
  churn();
  using again = loadCollection(spec);
  const fresh = new TypedMap(again.maps.counts!, u32, u64);
  fresh.set(7, 70n);
  const r = again.programs.emit!.testRun({ data: new Uint8Array(64) });
  using freshRing = new RingBuffer(again.maps.ring!, event);
  const drained = freshRing.drain();
  await late('new load: TypedMap.get', () => fresh.get(7));
  await late('new load: testRun retval', () => r.retval);
  await late('new load: ring records', () => drained.length);

  process.stdout.write(`${JSON.stringify(outcomes)}\n`);
}

/**
 * Objects dropped unclosed: their fds and mappings go once collected (and
 * only then); objects closed and then collected close nothing of anyone
 * else's. Prints the fd and mapping counts it measured.
 */
async function dropped(): Promise<void> {
  const spec = parseCollectionSpec(new Uint8Array(readFileSync(process.argv[2]!)));
  const fds = () => readdirSync('/proc/self/fd').length;
  const mappings = () =>
    readFileSync('/proc/self/maps', 'utf8')
      .split('\n')
      .filter((l) => /bpf-map|perf_event/.test(l)).length;
  const collect = async () => {
    for (let i = 0; i < 6; i++) {
      gc();
      await new Promise((resolve) => setTimeout(resolve, 20)); // finalizers run between tasks
    }
  };
  await collect();
  const before = { fds: fds(), mappings: mappings() };
  // Kept reachable through it all: must keep working.
  const kept = loadCollection(spec);
  const keptRing = new RingBufferReader(kept.maps.ring!);
  const keptPerf = new PerfEventArrayReader(kept.maps.perf!);
  const withKept = { fds: fds(), mappings: mappings() };
  const drop = () => {
    for (let i = 0; i < 10; i++) {
      const c = loadCollection(spec);
      new RingBufferReader(c.maps.ring!);
      new PerfEventArrayReader(c.maps.perf!);
      new RingBuffer(c.maps.ring!, event);
      new PerfBuffer(c.maps.perf!, event);
    }
  };
  drop();
  const whileDropped = { fds: fds(), mappings: mappings() };
  await collect();
  const afterCollect = { fds: fds(), mappings: mappings() };
  kept.programs.emit!.testRun({ data: new Uint8Array(64), repeat: 2 });
  const keptRecords = keptRing.consume(() => {}) + keptPerf.consume(() => {});
  // Closed, then collected, while the fd numbers are taken by other files: those must stay open.
  for (let i = 0; i < 5; i++) {
    const c = loadCollection(spec);
    new RingBufferReader(c.maps.ring!).close();
    c.close();
  }
  const reused = Array.from({ length: 40 }, () => openSync('/proc/self/stat', 'r'));
  await collect();
  let reusedOpen = 0;
  for (const fd of reused) {
    try {
      fstatSync(fd);
      reusedOpen++;
      closeSync(fd);
    } catch {
      // closed by someone else's finalizer: counted as not open
    }
  }
  keptRing.close();
  keptPerf.close();
  kept.close();
  const end = { fds: fds(), mappings: mappings() };
  process.stdout.write(`${JSON.stringify({ before, withKept, whileDropped, afterCollect, keptRecords, reusedOpen, end })}\n`);
}

(process.argv[3] === 'dropped' ? dropped() : main()).then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
    process.exit(1);
  },
);

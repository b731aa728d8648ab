/**
 * The Map API over a BpfMap: TypedMap (one value a key) and PerCpuMap (one
 * value a key and CPU), with get/set/has/delete through the map's native
 * buffers, batch writes and deletes, and the walks of batch-walk.ts.
 */
import { LoaderError, UpdateFlags, type BpfMap } from '@tsbpf/loader';
import { ARRAY_MAP_TYPES, MapType, PER_CPU_MAP_TYPES } from '@tsbpf/object';
import { BATCH, BatchIterator, EntryIterator, errnoOf, firstBatch, walkBatches } from './batch-walk.js';
import { bytesOf, decode, isDense, withWords, type Codec } from './codec.js';
import { CodecError } from './errors.js';
import { directIdentity, indexKeys, keyIdentity } from './key-index.js';
import { expectCodecSize, expectMapType } from './map-checks.js';

export interface SetOptions {
  /** `any` (default): insert or replace; `noexist`: insert only; `exist`: replace only. */
  flags?: keyof typeof UpdateFlags;
}

/** ENOENT: a batch delete stopped at a key that was not there. */
const ENOENT = 2;

/** The flags of a SetOptions, checked (an unknown name would otherwise be `any`). */
function updateFlags(options: SetOptions): bigint {
  const name = options?.flags;
  if (name === undefined || name === 'any') return UpdateFlags.any;
  if (name === 'noexist') return UpdateFlags.noexist;
  if (name === 'exist') return UpdateFlags.exist;
  throw new LoaderError('INVALID_ARGUMENT', `flags must be 'any', 'noexist' or 'exist', not ${JSON.stringify(String(name))}`);
}

/** Map types whose lookups match keys byte for byte (an LPM trie's find the longest prefix): a walk can stand in for them. */
const EXACT_KEYS = new Set<number>([MapType.hash, MapType.lru_hash, MapType.percpu_hash, MapType.lru_percpu_hash, MapType.array, MapType.percpu_array]);

/** Below this many keys, getMany looks each one up (a walk has a fixed cost of its own). */
const WALK_MIN_KEYS = 64;

abstract class Base<K, V, Stored> implements Iterable<[K, V]>, Disposable {
  /** Keys encoded aside (deletes, getMany's index): zero-filled first, so padding is zero. */
  private readonly keyBytes: Uint8Array;
  private readonly keyScratch: DataView;
  /** Codecs that write every byte of the buffer need no zeroing first (per-CPU values have padded slots: they do). */
  private readonly keyDense: boolean;
  private readonly valueDense: boolean;

  constructor(
    readonly map: BpfMap,
    readonly key: Codec<K>,
    readonly value: Codec<Stored>,
  ) {
    expectCodecSize(map, 'key', key);
    expectCodecSize(map, 'value', value);
    this.keyBytes = new Uint8Array(key.size);
    this.keyScratch = new DataView(this.keyBytes.buffer);
    // The map's native views are never kept here: each operation asks the map for them, which
    // throws CLOSED once it is closed (before anything is encoded into memory freed by close()).
    withWords(map.valueView); // decoded at every get()
    this.keyDense = isDense(key as Codec<unknown>);
    this.valueDense = isDense(value as Codec<unknown>) && value.size === map.valueBufferSize;
  }

  /** Decodes a value from a view at an offset (a batch, the map's value buffer). */
  protected abstract decodeValueAt(view: DataView, offset: number): V;
  /** Encodes a value into a view at an offset; the bytes there are zero already. */
  protected abstract encodeValueAt(value: V, view: DataView, offset: number): void;

  /** Encodes the key straight into the map's native key buffer (zeroed first unless the codec writes every byte: padding must be zero). */
  protected prepareKey(key: K): void {
    const view = this.map.keyView; // throws CLOSED once the map is closed
    if (!this.keyDense) bytesOf(view).fill(0);
    this.key.encode(key, view, 0);
  }

  /** The key's bytes, encoded aside (valid until the next call). */
  private encodeKey(key: K): Uint8Array {
    this.keyBytes.fill(0);
    this.key.encode(key, this.keyScratch, 0);
    return this.keyBytes;
  }

  /** The value under `key`, or undefined when there is none. */
  get(key: K): V | undefined {
    this.prepareKey(key);
    return this.map.lookupPrepared() ? this.decodeValueAt(this.map.valueView, 0) : undefined;
  }

  set(key: K, value: V, options?: SetOptions): this {
    const flags = options === undefined ? undefined : updateFlags(options); // undefined: BPF_ANY, the cheapest to pass
    this.prepareKey(key);
    const view = this.map.valueView;
    if (!this.valueDense) bytesOf(view).fill(0);
    this.encodeValueAt(value, view, 0);
    this.map.updatePrepared(flags);
    return this;
  }

  has(key: K): boolean {
    this.prepareKey(key);
    return this.map.lookupPrepared();
  }

  /** False when the key was not there. (Array maps cannot delete: use set with a zero value.) */
  delete(key: K): boolean {
    return this.map.delete(this.encodeKey(key));
  }

  /** Every key; whole batches per system call where the kernel supports it (key by key otherwise). */
  keys(): IterableIterator<K> {
    const ks = this.map.keySize;
    const { key } = this;
    return new BatchIterator(
      () => this.map.batchCursor(BATCH),
      (keys, _values, i) => key.decode(keys, i * ks),
      () => this.keysOneByOne(),
    );
  }

  private *keysOneByOne(): IterableIterator<K> {
    for (const k of this.map.keys()) yield decode(this.key, k);
  }

  /** Every value, in the batch walk of entries(). */
  values(): IterableIterator<V> {
    const vs = this.map.valueBufferSize;
    return new BatchIterator(
      () => this.map.batchCursor(BATCH),
      (_keys, values, i) => this.decodeValueAt(values, i * vs),
      () => this.valuesOneByOne(),
    );
  }

  private *valuesOneByOne(): IterableIterator<V> {
    for (const [, v] of this.entriesOneByOne()) yield v;
  }

  /**
   * Every entry; whole batches per system call where the kernel supports it,
   * decoded in place from the batch's native memory (no copies, no generator).
   */
  entries(): IterableIterator<[K, V]> {
    const ks = this.map.keySize;
    const vs = this.map.valueBufferSize;
    const { key } = this;
    return new EntryIterator<K, V>(
      () => this.map.batchCursor(BATCH),
      (keys, i) => key.decode(keys, i * ks),
      (values, i) => this.decodeValueAt(values, i * vs),
      () => this.entriesOneByOne(),
    );
  }

  /**
   * Calls `callback(value, key, this)` for every entry, as Map.prototype.forEach
   * does: the batch walk of entries() without a tuple and an iterator result
   * per entry (the cheapest way to read a whole map into JavaScript values).
   */
  forEach(callback: (value: V, key: K, map: this) => void): void {
    // The loop is written out here, not given to walkBatches as a closure: ~5-10% faster an entry.
    const cursor = this.map.batchCursor(BATCH);
    let count = firstBatch(cursor);
    if (count === undefined) {
      for (const [k, v] of this.entriesOneByOne()) callback(v, k, this);
      return;
    }
    const ks = this.map.keySize;
    const vs = this.map.valueBufferSize;
    try {
      const keys = cursor.keys;
      const values = withWords(cursor.values);
      for (; count > 0; count = cursor.next()) {
        for (let i = 0; i < count; i++) {
          const key = this.key.decode(keys, i * ks);
          const value = this.decodeValueAt(values, i * vs);
          callback(value, key, this);
          cursor.check(); // the callback may have closed the map
        }
      }
    } finally {
      cursor.release();
    }
  }

  /** For map types without batch lookups: next-key walk, one lookup each. */
  private *entriesOneByOne(): IterableIterator<[K, V]> {
    for (const key of this.map.keys()) {
      const raw = this.map.lookup(key);
      if (raw !== undefined) yield [decode(this.key, key), this.decodeValueAt(new DataView(raw.buffer, raw.byteOffset, raw.byteLength), 0)];
    }
  }

  [Symbol.iterator](): IterableIterator<[K, V]> {
    return this.entries();
  }

  /** The number of entries (walks the map: batches counted, nothing decoded; key by key where the map type has no batches). */
  get size(): number {
    let n = 0;
    if (walkBatches(this.map, (_keys, _values, count) => void (n += count))) return n;
    for (const _ of this.map.keys()) n++;
    return n;
  }

  /** Removes every entry (array maps: zeroes every value, as they cannot shrink). */
  clear(): void {
    const keys = [...this.map.keys()];
    if (ARRAY_MAP_TYPES.has(this.map.type)) {
      const zero = new Uint8Array(this.map.valueBufferSize);
      for (const k of keys) this.map.update(k, zero);
      return;
    }
    for (let i = 0; i < keys.length; i += BATCH) this.map.deleteBatch(this.flatKeys(keys.slice(i, i + BATCH), (k) => k));
  }

  /** Keys side by side, as the batch calls take them. */
  private flatKeys<T>(keys: readonly T[], bytesOf: (key: T) => Uint8Array): Uint8Array {
    const ks = this.map.keySize;
    const flat = new Uint8Array(keys.length * ks);
    keys.forEach((k, j) => flat.set(bytesOf(k), j * ks));
    return flat;
  }

  /**
   * Values for several keys, in their order (undefined where absent). The
   * kernel has no batch lookup by key: a few keys are a lookup each, and keys
   * for at least half of the map's capacity are one batch walk of the map
   * (BPF_MAP_LOOKUP_BATCH) that picks out the keys asked for and stops once
   * it has seen them all. A walk costs a quarter to a third of a lookup per
   * entry, so walking the whole map costs less than looking up half of it.
   * Either way each value is read at some moment of the call, not all at
   * one instant.
   */
  getMany(keys: Iterable<K>): (V | undefined)[] {
    this.map.assertOpen(); // also when no key is asked for
    const list = Array.isArray(keys) ? (keys as readonly K[]) : [...keys];
    if (list.length >= WALK_MIN_KEYS && list.length * 2 >= this.map.maxEntries && EXACT_KEYS.has(this.map.type)) {
      const walked = this.getManyByWalk(list);
      if (walked) return walked;
    }
    const out = new Array<V | undefined>(list.length);
    for (let i = 0; i < list.length; i++) out[i] = this.get(list[i]!);
    return out;
  }

  /** getMany through one batch walk; undefined when the map type has no batch lookups. */
  private getManyByWalk(list: readonly K[]): (V | undefined)[] | undefined {
    const ks = this.map.keySize;
    const vs = this.map.valueBufferSize;
    // Each key's identity: its encoded bytes (padding zeroed) as a number, or a string for long keys.
    const ids: (number | string)[] | Uint32Array = ks <= 4 ? new Uint32Array(list.length) : new Array<number | string>(list.length);
    const direct = directIdentity(this.key); // u32 keys: no encoding round trip
    for (let i = 0; i < list.length; i++) {
      const key = list[i]!;
      const known = direct ? direct(key) : -1;
      // Otherwise encoded, which checks the key (a typed error for a bad one).
      (ids as (number | string)[])[i] = known >= 0 ? known : (this.encodeKey(key), keyIdentity(this.keyScratch, 0, ks));
    }
    // Where each key is wanted, by its identity; a key asked for again is looked up after the walk.
    const repeats: number[] = [];
    const wanted = indexKeys(ks, ids, repeats);
    const out = new Array<V | undefined>(list.length).fill(undefined);
    let missing = wanted.size;
    // The walk written out, as in forEach (not walkBatches with a closure): it stops once every key was seen.
    const cursor = this.map.batchCursor(BATCH);
    let count = firstBatch(cursor);
    if (count === undefined) return undefined;
    try {
      const keys = cursor.keys;
      const values = withWords(cursor.values);
      for (; count > 0 && missing > 0; count = cursor.next()) {
        for (let j = 0; j < count; j++) {
          const at = wanted.get(keyIdentity(keys, j * ks, ks));
          if (at < 0) continue;
          out[at] = this.decodeValueAt(values, j * vs);
          missing--;
        }
      }
    } finally {
      cursor.release();
    }
    // A key asked for twice gets a value of its own (not the same object twice).
    for (const i of repeats) out[i] = this.get(list[i]!);
    return out;
  }

  /** Writes many entries with BPF_MAP_UPDATE_BATCH (one call per 1,024). Returns how many were written. */
  setMany(entries: Iterable<readonly [K, V]>, options: SetOptions = {}): number {
    const list = Array.isArray(entries) ? (entries as readonly (readonly [K, V])[]) : [...entries];
    const ks = this.map.keySize;
    const vs = this.map.valueBufferSize;
    this.map.assertOpen(); // also when there is nothing to write
    const flags = updateFlags(options);
    let written = 0;
    // Encoded straight into the map's native batch buffers: no intermediate arrays, no copies.
    for (let start = 0; start < list.length; start += BATCH) {
      const count = Math.min(BATCH, list.length - start);
      const views = this.map.batchViews(count);
      const keys = views.keys;
      const values = withWords(views.values);
      if (!this.keyDense) new Uint8Array(keys.buffer, keys.byteOffset, count * ks).fill(0);
      if (!this.valueDense) new Uint8Array(values.buffer, values.byteOffset, count * vs).fill(0);
      for (let j = 0; j < count; j++) {
        const e = list[start + j]!;
        this.key.encode(e[0], keys, j * ks);
        this.encodeValueAt(e[1], values, j * vs);
      }
      written += this.map.updateBatchPrepared(count, flags);
    }
    return written;
  }

  /** Deletes many keys with BPF_MAP_DELETE_BATCH. Returns how many were deleted. */
  deleteMany(keys: Iterable<K>): number {
    this.map.assertOpen(); // also when there is nothing to delete
    const list = [...keys];
    let deleted = 0;
    for (let i = 0; i < list.length; i += BATCH) {
      const chunk = list.slice(i, i + BATCH);
      try {
        deleted += this.map.deleteBatch(this.flatKeys(chunk, (k) => this.encodeKey(k)));
      } catch (e) {
        // A missing key stops a batch with ENOENT: delete the rest one by one, counting what went.
        if (errnoOf(e) !== ENOENT) throw e;
        for (const k of chunk) if (this.delete(k)) deleted++;
      }
    }
    return deleted;
  }

  close(): void {
    this.map.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/** A map with typed keys and values and the API of a JS `Map`. */
export class TypedMap<K, V> extends Base<K, V, V> {
  constructor(map: BpfMap, key: Codec<K>, value: Codec<V>) {
    expectMapType(map, !PER_CPU_MAP_TYPES.has(map.type), `is per-CPU (${map.typeName}): use PerCpuMap`);
    super(map, key, value);
  }

  protected decodeValueAt(view: DataView, offset: number): V {
    return this.value.decode(view, offset);
  }

  protected encodeValueAt(value: V, view: DataView, offset: number): void {
    this.value.encode(value, view, offset);
  }
}

/**
 * A per-CPU map: a value is an array with one element per possible CPU.
 * `set` also takes a single value, written to every CPU.
 */
export class PerCpuMap<K, V> extends Base<K, V[], V> {
  /** Bytes of one CPU's value: the value rounded up to 8, as the kernel lays them out. */
  private readonly slot: number;
  private readonly cpus: number;

  constructor(map: BpfMap, key: Codec<K>, value: Codec<V>) {
    expectMapType(map, PER_CPU_MAP_TYPES.has(map.type), `is not per-CPU (${map.typeName}): use TypedMap`);
    super(map, key, value);
    this.slot = Math.ceil(value.size / 8) * 8;
    this.cpus = map.valueBufferSize / this.slot;
  }

  protected decodeValueAt(view: DataView, offset: number): V[] {
    return Array.from({ length: this.cpus }, (_, cpu) => this.value.decode(view, offset + cpu * this.slot));
  }

  protected encodeValueAt(value: V[] | V, view: DataView, offset: number): void {
    const perCpu = Array.isArray(value) ? value : Array<V>(this.cpus).fill(value);
    if (perCpu.length !== this.cpus) throw new CodecError('CODEC_SIZE', `map ${this.map.name}: ${perCpu.length} values for ${this.cpus} CPUs`);
    perCpu.forEach((v, cpu) => this.value.encode(v, view, offset + cpu * this.slot));
  }

  override set(key: K, value: V[] | V, options: SetOptions = {}): this {
    return super.set(key, value as V[], options);
  }
}

/** The sum of per-CPU numbers or bigints (what a per-CPU counter is worth). */
export function sum(values: readonly number[]): number;
export function sum(values: readonly bigint[]): bigint;
export function sum(values: readonly (number | bigint)[]): number | bigint {
  if (values.length > 0 && typeof values[0] === 'bigint') return (values as bigint[]).reduce((a, b) => a + b, 0n);
  return (values as number[]).reduce((a, b) => a + b, 0);
}

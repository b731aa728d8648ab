import { UpdateFlags, type BatchCursor, type BpfMap } from '@tsbpf/loader';
import { ARRAY_MAP_TYPES, MapType, PER_CPU_MAP_TYPES } from '@tsbpf/object';
import { CodecError, isDense, withWords, type Codec } from './codec.js';

/** A codec that does not match the map it is put on (sizes, or a per-CPU map used as a plain one). */
export class MapSchemaError extends Error {
  override readonly name = 'MapSchemaError';
  readonly code = 'MAP_SCHEMA';
}

export interface SetOptions {
  /** `any` (default): insert or replace; `noexist`: insert only; `exist`: replace only. */
  flags?: keyof typeof UpdateFlags;
}

/** Encodes into one reused buffer (the map copies it into native memory at once). */
class Scratch<T> {
  readonly bytes: Uint8Array;
  private readonly view: DataView;
  constructor(private readonly codec: Codec<T>, size = codec.size) {
    this.bytes = new Uint8Array(size);
    this.view = new DataView(this.bytes.buffer);
  }
  encode(value: T, at = 0): Uint8Array {
    if (at === 0) this.bytes.fill(0);
    this.codec.encode(value, this.view, at);
    return this.bytes;
  }
}

function decodeAt<T>(codec: Codec<T>, bytes: Uint8Array, offset = 0): T {
  return codec.decode(new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), offset);
}

abstract class Base<K, V, Stored> implements Iterable<[K, V]>, Disposable {
  protected readonly keyScratch: Scratch<K>;

  constructor(
    readonly map: BpfMap,
    readonly key: Codec<K>,
    readonly value: Codec<Stored>,
  ) {
    if (key.size !== map.keySize) {
      throw new MapSchemaError(`map ${map.name}: key codec ${key.name} is ${key.size} bytes, the map's keys are ${map.keySize}`);
    }
    if (value.size !== map.valueSize) {
      throw new MapSchemaError(`map ${map.name}: value codec ${value.name} is ${value.size} bytes, the map's values are ${map.valueSize}`);
    }
    this.keyScratch = new Scratch(key);
    const kv = map.keyView;
    this.keyNative = new Uint8Array(kv.buffer, kv.byteOffset, map.keySize);
    const vv = withWords(map.valueView); // decoded at every get()
    this.valueNative = new Uint8Array(vv.buffer, vv.byteOffset, map.valueBufferSize);
    // Codecs that write every byte of the buffer need no zeroing first (per-CPU values have padded slots: they do).
    this.keyDense = isDense(key as Codec<unknown>);
    this.valueDense = isDense(value as Codec<unknown>) && value.size === map.valueBufferSize;
  }

  private readonly keyDense: boolean;
  private readonly valueDense: boolean;

  protected abstract decodeValue(bytes: Uint8Array): V;
  protected abstract encodeValue(value: V): Uint8Array;
  /** Decode a value from a view at an offset (the zero-copy paths). */
  protected abstract decodeValueAt(view: DataView, offset: number): V;
  /** Encode a value into a view at an offset; the bytes there are zero already. */
  protected abstract encodeValueAt(value: V, view: DataView, offset: number): void;

  private readonly keyNative: Uint8Array;
  private readonly valueNative: Uint8Array;

  /** Encodes the key straight into the map's native key buffer (zeroed first unless the codec writes every byte: padding must be zero). */
  protected prepareKey(key: K): void {
    if (!this.keyDense) this.keyNative.fill(0);
    this.key.encode(key, this.map.keyView, 0);
  }

  /** The value under `key`, or undefined when there is none. */
  get(key: K): V | undefined {
    this.prepareKey(key);
    return this.map.lookupPrepared() ? this.decodeValueAt(this.map.valueView, 0) : undefined;
  }

  set(key: K, value: V, options: SetOptions = {}): this {
    this.prepareKey(key);
    if (!this.valueDense) this.valueNative.fill(0);
    this.encodeValueAt(value, this.map.valueView, 0);
    this.map.updatePrepared(UpdateFlags[options.flags ?? 'any']);
    return this;
  }

  has(key: K): boolean {
    this.prepareKey(key);
    return this.map.lookupPrepared();
  }

  /** False when the key was not there. (Array maps cannot delete: use set with a zero value.) */
  delete(key: K): boolean {
    return this.map.delete(this.keyScratch.encode(key));
  }

  /** Every key; whole batches per system call where the kernel supports it (key by key otherwise). */
  keys(): IterableIterator<K> {
    const ks = this.map.keySize;
    const { key } = this;
    return new BatchIterator(() => this.map.batchCursor(1024), (keys, _values, i) => key.decode(keys, i * ks), () => this.keysOneByOne());
  }

  private *keysOneByOne(): IterableIterator<K> {
    for (const k of this.map.keys()) yield decodeAt(this.key, k);
  }

  /** Every value, in the batch walk of entries(). */
  values(): IterableIterator<V> {
    const vs = this.map.valueBufferSize;
    return new BatchIterator(() => this.map.batchCursor(1024), (_keys, values, i) => this.decodeValueAt(values, i * vs), () => this.valuesOneByOne());
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
      () => this.map.batchCursor(1024),
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
    const cursor = this.map.batchCursor(1024);
    const ks = this.map.keySize;
    const vs = this.map.valueBufferSize;
    let count: number;
    try {
      count = cursor.next();
    } catch (e) {
      if (!batchesRefused(e)) throw e;
      for (const [k, v] of this.entriesOneByOne()) callback(v, k, this);
      return;
    }
    try {
      for (; count > 0; count = cursor.next()) {
        const keys = cursor.keys;
        const values = withWords(cursor.values);
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
      if (raw !== undefined) yield [decodeAt(this.key, key), this.decodeValue(raw)];
    }
  }

  [Symbol.iterator](): IterableIterator<[K, V]> {
    return this.entries();
  }

  /** The number of entries (walks the map). */
  get size(): number {
    // Batches counted, nothing decoded; key by key where the map type has no batches.
    const cursor = this.map.batchCursor(1024);
    let n = 0;
    try {
      for (let count = cursor.next(); count > 0; count = cursor.next()) n += count;
      return n;
    } catch (e) {
      if (n > 0 || !batchesRefused(e)) throw e;
    } finally {
      cursor.release();
    }
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
    for (let i = 0; i < keys.length; i += 1024) {
      const chunk = keys.slice(i, i + 1024);
      const flat = new Uint8Array(chunk.length * this.map.keySize);
      chunk.forEach((k, j) => flat.set(k, j * this.map.keySize));
      this.map.deleteBatch(flat);
    }
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
    // Where each key is wanted, by the identity of its encoded bytes (padding zeroed).
    const wanted: KeyIndex = ks <= 4 ? new SmallKeyIndex(list.length) : new MapKeyIndex();
    const repeats: number[] = [];
    const scratch = this.keyScratch;
    const scratchView = new DataView(scratch.bytes.buffer, scratch.bytes.byteOffset, ks);
    for (let i = 0; i < list.length; i++) {
      scratch.encode(list[i]!);
      if (!wanted.add(keyIdentity(scratchView, 0, ks), i)) repeats.push(i);
    }
    const out = new Array<V | undefined>(list.length).fill(undefined);
    const cursor = this.map.batchCursor(1024);
    const keys = cursor.keys;
    const values = withWords(cursor.values);
    let count: number;
    try {
      count = cursor.next();
    } catch (e) {
      if (!batchesRefused(e)) throw e;
      return undefined;
    }
    let missing = wanted.size;
    try {
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
    const flags = UpdateFlags[options.flags ?? 'any'];
    let written = 0;
    // Encoded straight into the map's native batch buffers: no intermediate arrays, no copies.
    for (let start = 0; start < list.length; start += 1024) {
      const count = Math.min(1024, list.length - start);
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
    const list = [...keys];
    let deleted = 0;
    for (let i = 0; i < list.length; i += 1024) {
      const chunk = list.slice(i, i + 1024);
      const flat = new Uint8Array(chunk.length * this.map.keySize);
      chunk.forEach((k, j) => flat.set(this.keyScratch.encode(k), j * this.map.keySize));
      try {
        deleted += this.map.deleteBatch(flat);
      } catch (e) {
        // A missing key stops a batch with ENOENT: delete the rest one by one, counting what went.
        if (!(e instanceof Error && (e as { errnoName?: string }).errnoName === 'ENOENT')) throw e;
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
  private readonly valueScratch: Scratch<V>;

  constructor(map: BpfMap, key: Codec<K>, value: Codec<V>) {
    if (PER_CPU_MAP_TYPES.has(map.type)) throw new MapSchemaError(`map ${map.name} is per-CPU (${map.typeName}): use PerCpuMap`);
    super(map, key, value);
    this.valueScratch = new Scratch(value);
  }

  protected decodeValue(bytes: Uint8Array): V {
    return decodeAt(this.value, bytes);
  }

  protected encodeValue(value: V): Uint8Array {
    return this.valueScratch.encode(value);
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
  private readonly slot: number;
  private readonly cpus: number;
  private readonly valueBytes: Uint8Array;
  private readonly valueView: DataView;

  constructor(map: BpfMap, key: Codec<K>, value: Codec<V>) {
    if (!PER_CPU_MAP_TYPES.has(map.type)) throw new MapSchemaError(`map ${map.name} is not per-CPU (${map.typeName}): use TypedMap`);
    super(map, key, value);
    this.slot = Math.ceil(value.size / 8) * 8;
    this.cpus = map.valueBufferSize / this.slot;
    this.valueBytes = new Uint8Array(map.valueBufferSize);
    this.valueView = new DataView(this.valueBytes.buffer);
  }

  protected decodeValue(bytes: Uint8Array): V[] {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    return Array.from({ length: this.cpus }, (_, cpu) => this.value.decode(view, cpu * this.slot));
  }

  protected encodeValue(value: V[] | V): Uint8Array {
    const perCpu = Array.isArray(value) ? value : Array<V>(this.cpus).fill(value);
    if (perCpu.length !== this.cpus) throw new CodecError(`map ${this.map.name}: ${perCpu.length} values for ${this.cpus} CPUs`);
    this.valueBytes.fill(0);
    perCpu.forEach((v, cpu) => this.value.encode(v, this.valueView, cpu * this.slot));
    return this.valueBytes;
  }

  protected decodeValueAt(view: DataView, offset: number): V[] {
    return Array.from({ length: this.cpus }, (_, cpu) => this.value.decode(view, offset + cpu * this.slot));
  }

  protected encodeValueAt(value: V[] | V, view: DataView, offset: number): void {
    const perCpu = Array.isArray(value) ? value : Array<V>(this.cpus).fill(value);
    if (perCpu.length !== this.cpus) throw new CodecError(`map ${this.map.name}: ${perCpu.length} values for ${this.cpus} CPUs`);
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

/** Map types whose lookups match keys byte for byte (an LPM trie's find the longest prefix): a walk can stand in for them. */
const EXACT_KEYS = new Set<number>([MapType.hash, MapType.lru_hash, MapType.percpu_hash, MapType.lru_percpu_hash, MapType.array, MapType.percpu_array]);

/** Below this many keys, getMany looks each one up (a walk has a fixed cost of its own). */
const WALK_MIN_KEYS = 64;

/**
 * A key's encoded bytes as a Map key: a number for keys of up to 6 bytes
 * (the common u32 keys cost one read), a string of the bytes otherwise.
 * Numbers and strings never collide as Map keys.
 */
function keyIdentity(view: DataView, offset: number, size: number): number | string {
  switch (size) {
    case 4:
      return view.getUint32(offset, true);
    case 8: {
      const lo = view.getUint32(offset, true);
      const hi = view.getUint32(offset + 4, true);
      return hi < 0x200000 ? hi * 0x100000000 + lo : `${hi}:${lo}`;
    }
  }
  if (size <= 6) {
    let n = 0;
    for (let i = size - 1; i >= 0; i--) n = n * 256 + view.getUint8(offset + i);
    return n;
  }
  let s = '';
  for (let i = 0; i < size; i++) s += String.fromCharCode(view.getUint8(offset + i));
  return s;
}

/** Positions of keys by identity (see keyIdentity): add() is false for a key already there, get() -1 for one absent. */
interface KeyIndex {
  readonly size: number;
  add(id: number | string, position: number): boolean;
  get(id: number | string): number;
}

class MapKeyIndex implements KeyIndex {
  private readonly map = new Map<number | string, number>();
  get size(): number {
    return this.map.size;
  }
  add(id: number | string, position: number): boolean {
    if (this.map.has(id)) return false;
    this.map.set(id, position);
    return true;
  }
  get(id: number | string): number {
    return this.map.get(id) ?? -1;
  }
}

/**
 * For keys of up to 4 bytes (identities below 2^32): an open-addressing
 * table in two typed arrays. A JS Map of 65,536 numbers cost ~130 ns an
 * insertion and ~150 ns a lookup here (its entries are scattered objects
 * the walk's own allocations push out of the caches); this table, a few ns.
 */
class SmallKeyIndex implements KeyIndex {
  private readonly ids: Uint32Array;
  /** position + 1; 0 is an empty slot. */
  private readonly positions: Int32Array;
  private readonly shift: number;
  private readonly mask: number;
  size = 0;

  constructor(expected: number) {
    const bits = Math.max(4, 32 - Math.clz32(expected * 2 - 1)); // at most half full
    this.ids = new Uint32Array(1 << bits);
    this.positions = new Int32Array(1 << bits);
    this.shift = 32 - bits;
    this.mask = (1 << bits) - 1;
  }

  private slot(id: number): number {
    let slot = Math.imul(id, 0x9e3779b1) >>> this.shift; // Fibonacci hashing: spreads sequential ids
    while (this.positions[slot] !== 0 && this.ids[slot] !== id) slot = (slot + 1) & this.mask;
    return slot;
  }

  add(id: number | string, position: number): boolean {
    const slot = this.slot(id as number);
    if (this.positions[slot] !== 0) return false;
    this.ids[slot] = id as number;
    this.positions[slot] = position + 1;
    this.size++;
    return true;
  }

  get(id: number | string): number {
    return this.positions[this.slot(id as number)]! - 1;
  }
}

/** Errnos with which a map type refuses batch lookups, before anything was read. */
const NO_BATCH = new Set(['EINVAL', 'ENOTSUPP', 'EOPNOTSUPP']);

/** True for the error of a first batch call on a map type without batch lookups (walk it key by key instead). */
const batchesRefused = (e: unknown): boolean => e instanceof Error && NO_BATCH.has((e as { errnoName?: string }).errnoName ?? '');

/**
 * The batch walks of TypedMap (keys, values, entries): hand-written
 * iterators rather than generators (a yield costs more than decoding a small
 * entry), reading each batch where the kernel put it. The walk opens its
 * cursor at the first next() (an iterator made and never used holds
 * nothing) and releases it at the end, on return(), or when decoding an
 * element throws. Map types that refuse batch lookups are walked key by key
 * by the `oneByOne` iterator instead.
 *
 * Each `next()` builds its result at one allocation site, whatever happened:
 * when it is inlined into a for-of loop, V8 can then leave the result (and an
 * entry's [key, value] pair) unallocated. Two return statements, or a pair
 * that is sometimes `undefined`, make it allocate both (measured: 104 bytes
 * an entry more, a fifth of entries()'s cost over the kernel's).
 */
abstract class BatchWalk<T> {
  private index = 0;
  private count = 0;
  private started = false;
  private ended = false;
  private cursor: BatchCursor | undefined;
  private fallback: IterableIterator<T> | undefined;
  /** The current batch's keys and values (the cursor's views, the same for every batch). */
  protected keys!: DataView;
  protected values!: DataView;
  /** The fallback's element when position() said -2. */
  protected spare: T | undefined;

  constructor(
    private readonly open: () => BatchCursor,
    private readonly oneByOne: () => IterableIterator<T>,
  ) {}

  /** The index of the next element in the current batch; -1 at the end; -2 when it is in `spare` (key-by-key walk). */
  protected position(): number {
    const i = this.index;
    if (i < this.count) {
      this.cursor!.check();
      this.index = i + 1;
      return i;
    }
    return this.advance();
  }

  private advance(): number {
    this.spare = undefined;
    if (this.fallback) {
      const r = this.fallback.next();
      if (r.done) return -1;
      this.spare = r.value;
      return -2;
    }
    if (this.fetch()) return this.position();
    return this.fallback ? this.advance() : -1; // fetch() sets fallback when batches are refused
  }

  private fetch(): boolean {
    if (this.ended) return false;
    if (!this.cursor) {
      this.cursor = this.open();
      this.keys = this.cursor.keys;
      this.values = withWords(this.cursor.values);
    }
    try {
      this.count = this.cursor.next();
    } catch (e) {
      // Map types without batch support answer before yielding anything.
      if (this.started || !batchesRefused(e)) throw e;
      this.fallback = this.oneByOne();
      return false;
    }
    this.started = true;
    this.index = 0;
    return this.count > 0;
  }

  /** After an element failed to decode: the walk is over, its buffers given back. */
  protected abandon(e: unknown): never {
    this.return();
    throw e;
  }

  return(): IteratorResult<T> {
    this.ended = true;
    this.count = 0;
    this.cursor?.release();
    this.fallback?.return?.();
    return { value: undefined, done: true };
  }
}

/** keys(), values(): `read` makes the i-th element of the current batch from its keys and values. */
class BatchIterator<T> extends BatchWalk<T> implements IterableIterator<T> {
  constructor(
    open: () => BatchCursor,
    private readonly read: (keys: DataView, values: DataView, i: number) => T,
    oneByOne: () => IterableIterator<T>,
  ) {
    super(open, oneByOne);
  }

  next(): IteratorResult<T> {
    const i = this.position();
    let value = this.spare;
    if (i >= 0) {
      try {
        value = this.read(this.keys, this.values, i);
      } catch (e) {
        this.abandon(e);
      }
    }
    return { value: value as T, done: i === -1 };
  }

  [Symbol.iterator](): IterableIterator<T> {
    return this;
  }
}

/**
 * entries(): the pair is made here, at one site, from the key and the value
 * of the i-th entry. At the end its result is `{ value: [undefined,
 * undefined], done: true }` (a for-of, a spread or a destructuring never
 * reads a finished iterator's value; see BatchWalk for why it is a pair).
 */
class EntryIterator<K, V> extends BatchWalk<[K, V]> implements IterableIterator<[K, V]> {
  constructor(
    open: () => BatchCursor,
    private readonly keyAt: (keys: DataView, i: number) => K,
    private readonly valueAt: (values: DataView, i: number) => V,
    oneByOne: () => IterableIterator<[K, V]>,
  ) {
    super(open, oneByOne);
  }

  next(): IteratorResult<[K, V]> {
    const i = this.position();
    const spare = this.spare;
    let key = spare?.[0];
    let value = spare?.[1];
    if (i >= 0) {
      try {
        key = this.keyAt(this.keys, i);
        value = this.valueAt(this.values, i);
      } catch (e) {
        this.abandon(e);
      }
    }
    return { value: [key, value] as [K, V], done: i === -1 };
  }

  [Symbol.iterator](): IterableIterator<[K, V]> {
    return this;
  }
}

/**
 * Batch iteration over a map: the iterators of keys(), values() and
 * entries(), and walkBatches and firstBatch for the walks that need no
 * iterator (size, getMany; forEach). Batches are read in place through the loader's
 * BatchCursor; map types that refuse batch lookups are walked key by key.
 */
import type { BatchCursor, BpfMap } from '@tsbpf/loader';
import { withWords } from './codec.js';

/** Entries a batch system call reads or writes at most. */
export const BATCH = 1024;

/** Errnos with which a map type refuses batch lookups, before anything was read: EINVAL, EOPNOTSUPP, the kernel's ENOTSUPP. */
const NO_BATCH = new Set([22, 95, 524]);

/** True for the error of a first batch call on a map type without batch lookups (walk it key by key instead). */
export const batchesRefused = (e: unknown): boolean => NO_BATCH.has(errnoOf(e));

/** The kernel's errno carried by an error of the loader (0 for anything else). */
export function errnoOf(e: unknown): number {
  const errno = typeof e === 'object' && e !== null ? (e as { errno?: unknown }).errno : undefined;
  return typeof errno === 'number' ? errno : 0;
}

/**
 * The size of a cursor's first batch; undefined, the cursor given back,
 * when the map type refuses batch lookups (walk it key by key instead).
 */
export function firstBatch(cursor: BatchCursor): number | undefined {
  try {
    return cursor.next();
  } catch (e) {
    cursor.release();
    if (batchesRefused(e)) return undefined;
    throw e;
  }
}

/**
 * Walks `map` a batch at a time: `visit(keys, values, count, cursor)` for
 * each batch (the values with their words attached, see withWords) until it
 * returns false or the map ends. False, having read nothing, when the map
 * type refuses batch lookups; true otherwise. The cursor is given back at
 * the end, also when `visit` throws.
 */
export function walkBatches(map: BpfMap, visit: (keys: DataView, values: DataView, count: number, cursor: BatchCursor) => boolean | void): boolean {
  const cursor = map.batchCursor(BATCH);
  let count = firstBatch(cursor);
  if (count === undefined) return false;
  try {
    const keys = cursor.keys;
    const values = withWords(cursor.values);
    for (; count > 0; count = cursor.next()) {
      if (visit(keys, values, count, cursor) === false) break;
    }
    return true;
  } finally {
    cursor.release();
  }
}

/**
 * The batch walks of keys(), values() and entries(): hand-written iterators
 * rather than generators (a yield costs more than decoding a small entry),
 * reading each batch where the kernel put it. The walk opens its cursor at
 * the first next() (an iterator made and never used holds nothing) and
 * releases it at the end, on return(), or when decoding an element throws.
 * Map types that refuse batch lookups are walked key by key by the
 * `oneByOne` iterator instead.
 *
 * Each `next()` builds its result at one allocation site, whatever happened:
 * when it is inlined into a for-of loop, V8 can then leave the result
 * unallocated. Two return statements, or a pair that is sometimes
 * `undefined`, make it allocate both (measured: 104 bytes an entry more, a
 * fifth of entries()'s cost over the kernel's). The [key, value] pair itself
 * stays allocated when the loop destructures it (`for (const [k, v] of ...)`):
 * Node 20's V8 does not remove an array a destructuring iterates, in any form
 * tried (2026-12-03: a minimal iterator of pairs allocates, the same iterator
 * yielding the value alone does not). That pair is what entries() pays over
 * forEach().
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
export class BatchIterator<T> extends BatchWalk<T> implements IterableIterator<T> {
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
export class EntryIterator<K, V> extends BatchWalk<[K, V]> implements IterableIterator<[K, V]> {
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

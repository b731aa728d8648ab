/**
 * BatchCursor: a walk of a map in BPF_MAP_LOOKUP_BATCH calls that leaves
 * each batch in native memory, for decoders that read it in place; and
 * CursorBuffers, the memory of one walk, which a map lends to one walk at a
 * time and which a second, concurrent walk gets fresh (freed with it).
 */
import { checkPositiveU32 } from './args.js';
import { LoaderError } from './errors.js';
import { NativeBuffer } from './sys/ffi.js';
import { allocateTogether } from './sys/native-pools.js';

/** What a cursor walks: BpfMap, seen from here. */
export interface BatchSource {
  readonly name: string;
  readonly isOpen: boolean;
  readonly keySize: number;
  readonly valueBufferSize: number;
  /** One BPF_MAP_LOOKUP_BATCH into `b`: how many entries it gave, and whether the kernel said the walk is over. */
  lookupBatchInto(b: CursorBuffers, first: boolean, count: number): { count: number; done: boolean };
}

/** Native memory of one batch walk: keys, values and the kernel's two cursors. */
export interface CursorBuffers {
  keys: NativeBuffer;
  values: NativeBuffer;
  cursorIn: NativeBuffer;
  cursorOut: NativeBuffer;
}

function cursorBuffersFor(batchSize: number, keySize: number, valueSize: number): CursorBuffers {
  // A batch too large to view: nothing half-made stays behind.
  return allocateTogether((make) => ({
    keys: make(batchSize * keySize),
    values: make(batchSize * valueSize),
    // Hash maps use a bucket cursor: 4 bytes suffice, but a key's size is the documented minimum.
    cursorIn: make(Math.max(8, keySize)),
    cursorOut: make(Math.max(8, keySize)),
  }));
}

function freeCursorBuffers(b: CursorBuffers): void {
  b.keys.free();
  b.values.free();
  b.cursorIn.free();
  b.cursorOut.free();
}

/**
 * Walks dropped without release() (manual next() calls left off) give
 * their buffers back when collected: a walk's own are freed, the map's are
 * lent again (or freed, if the map has closed meanwhile).
 */
const cursorRegistry = new FinalizationRegistry<() => void>((giveBack) => giveBack());

/**
 * A map's own cursor buffers: lent to one walk at a time (grown when a
 * walk wants larger batches); a walk that starts while they are lent gets
 * its own, freed when it is released (or collected, if it never is). Memory
 * a walk holds is freed only once the walk is over: a map closed under a
 * walk frees its buffers when that walk is released, so a walk's views
 * never reach freed memory.
 */
export class CursorBufferPool {
  private own: CursorBuffers | undefined;
  private lentOut = false;
  private closed = false;

  /** Whether a walk holds the map's own buffers now. */
  get lent(): boolean {
    return this.lentOut;
  }

  /** A cursor over `map`, `batchSize` entries a call. */
  cursor(map: BatchSource, batchSize: number): BatchCursor {
    if (this.closed) throw new LoaderError('CLOSED', 'closed').addContext(`map ${map.name || '(unnamed)'}`);
    checkPositiveU32(batchSize, 'batch size', `map ${map.name || '(unnamed)'}`);
    const shared = this.own !== undefined && !this.lentOut ? this.own : undefined;
    const fresh = shared === undefined || shared.keys.size < batchSize * map.keySize || shared.values.size < batchSize * map.valueBufferSize;
    const buffers = fresh ? cursorBuffersFor(batchSize, map.keySize, map.valueBufferSize) : shared!;
    if (fresh && !this.lentOut) {
      // Becomes the map's set (freed with the map), replacing a smaller one.
      if (this.own) freeCursorBuffers(this.own);
      this.own = buffers;
    }
    const mine = buffers === this.own;
    if (mine) this.lentOut = true;
    // (Neither function holds the cursor: the registry can collect it.)
    return new BatchCursor(map, buffers, batchSize, mine ? () => this.returned() : () => freeCursorBuffers(buffers));
  }

  /** The map's own buffers are back from their walk. */
  private returned(): void {
    this.lentOut = false;
    if (this.closed) this.freeOwn();
  }

  /** The map is closing: its own buffers go now, or when the walk holding them is released. */
  free(): void {
    this.closed = true;
    if (!this.lentOut) this.freeOwn();
  }

  private freeOwn(): void {
    if (this.own) freeCursorBuffers(this.own);
    this.own = undefined;
  }
}

/**
 * A walk of every element, a batch at a time (see BpfMap.batchCursor):
 * `next()` fetches a batch and says how many entries it holds (0 at the
 * end); read them through `keys` and `values` before the next call;
 * `release()` when done, early or not. A walk whose map closes under it
 * fails with CLOSED at its next `next()` or `check()`.
 */
export class BatchCursor {
  private first = true;
  private done = false;
  private released = false;

  constructor(
    private readonly map: BatchSource,
    private readonly buffers: CursorBuffers,
    private readonly batchSize: number,
    private readonly onRelease: () => void,
  ) {
    checkPositiveU32(batchSize, 'batch size', `map ${map.name || '(unnamed)'}`);
    cursorRegistry.register(this, onRelease, this);
  }

  /** The current batch's keys, back to back (`keySize` each); empty once the walk's memory is freed. */
  get keys(): DataView {
    return this.buffers.keys.view;
  }

  /** The current batch's values, back to back (`valueBufferSize` each); empty once the walk's memory is freed. */
  get values(): DataView {
    return this.buffers.values.view;
  }

  /** Fetches the next batch: how many entries it holds, 0 when the walk is over (then released). */
  next(): number {
    if (this.released) return 0;
    while (!this.done) {
      let r: { count: number; done: boolean };
      try {
        r = this.map.lookupBatchInto(this.buffers, this.first, this.batchSize);
      } catch (e) {
        this.release();
        throw e;
      }
      this.first = false;
      this.done = r.done;
      if (!r.done) this.buffers.cursorIn.bytes.set(this.buffers.cursorOut.bytes);
      if (r.count > 0) return r.count;
      // Not done and nothing read: the kernel keeps answering so only for a batch size of 0, which the constructor refuses.
    }
    this.release();
    return 0;
  }

  /** Throws when the map was closed under the walk (the walk is released: its memory goes now). */
  check(): void {
    if (!this.map.isOpen) {
      this.release();
      throw new LoaderError('CLOSED', 'closed during iteration').addContext(`map ${this.map.name || '(unnamed)'}`);
    }
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    cursorRegistry.unregister(this);
    this.onRelease();
  }
}

/**
 * BatchCursor: a walk of a map in BPF_MAP_LOOKUP_BATCH calls that leaves
 * each batch in native memory, for decoders that read it in place; and
 * CursorBuffers, the memory of one walk, which a map lends to one walk at a
 * time and which a second, concurrent walk gets fresh (freed with it).
 */
import { LoaderError } from './errors.js';
import { NativeBuffer } from './sys/ffi.js';

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
  return {
    keys: new NativeBuffer(batchSize * keySize),
    values: new NativeBuffer(batchSize * valueSize),
    // Hash maps use a bucket cursor: 4 bytes suffice, but a key's size is the documented minimum.
    cursorIn: new NativeBuffer(Math.max(8, keySize)),
    cursorOut: new NativeBuffer(Math.max(8, keySize)),
  };
}

function freeCursorBuffers(b: CursorBuffers): void {
  b.keys.free();
  b.values.free();
  b.cursorIn.free();
  b.cursorOut.free();
}

const cursorRegistry = new FinalizationRegistry<CursorBuffers>((b) => freeCursorBuffers(b));

/**
 * A map's own cursor buffers: lent to one walk at a time (grown when a
 * walk wants larger batches); a walk that starts while they are lent gets
 * its own, freed when it is released (or collected, if it never is).
 */
export class CursorBufferPool {
  private own: CursorBuffers | undefined;
  private lentOut = false;

  /** Whether a walk holds the map's own buffers now. */
  get lent(): boolean {
    return this.lentOut;
  }

  /** A cursor over `map`, `batchSize` entries a call. */
  cursor(map: BatchSource, batchSize: number): BatchCursor {
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
    const cursor = new BatchCursor(map, buffers, batchSize, () => {
      if (mine) this.lentOut = false;
      else {
        cursorRegistry.unregister(cursor);
        freeCursorBuffers(buffers);
      }
    });
    // A walk abandoned without release() (manual next() calls left off): free its own buffers with it.
    if (!mine) cursorRegistry.register(cursor, buffers, cursor);
    return cursor;
  }

  /** Frees the map's own buffers (the map is closing; a walk holding them finds it closed). */
  free(): void {
    if (this.own) freeCursorBuffers(this.own);
    this.own = undefined;
  }
}

/**
 * A walk of every element, a batch at a time (see BpfMap.batchCursor):
 * `next()` fetches a batch and says how many entries it holds (0 at the
 * end); read them through `keys` and `values` before the next call;
 * `release()` when done, early or not.
 */
export class BatchCursor {
  /** The current batch's keys, back to back (`keySize` each). */
  readonly keys: DataView;
  /** The current batch's values, back to back (`valueBufferSize` each). */
  readonly values: DataView;
  private first = true;
  private done = false;
  private released = false;

  constructor(
    private readonly map: BatchSource,
    private readonly buffers: CursorBuffers,
    private readonly batchSize: number,
    private readonly onRelease: () => void,
  ) {
    this.keys = buffers.keys.view;
    this.values = buffers.values.view;
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
    }
    this.release();
    return 0;
  }

  /** Throws when the map was closed under the walk (the map's buffers are gone; the walk's own, if any, go now). */
  check(): void {
    if (!this.map.isOpen) {
      this.release();
      throw new LoaderError('CLOSED', 'closed during iteration').addContext(`map ${this.map.name || '(unnamed)'}`);
    }
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    this.onRelease();
  }
}

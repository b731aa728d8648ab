/**
 * MapMemory: everything native one BpfMap owns besides its fd (the key,
 * next-key and value buffers and their element attrs, the batch buffers,
 * the batch walks' buffers, the mmap of its values), made together and
 * released once, by close() or, for a map dropped unclosed, its finalizer.
 */
import { CursorBufferPool } from './batch-cursor.js';
import { unmapArrayValues, type MappedValues } from './mapped-values.js';
import * as sys from './sys/bpf.js';
import type { NativeBuffer } from './sys/ffi.js';
import { GrowingBuffers, allocateTogether } from './sys/native-pools.js';

export class MapMemory {
  readonly key: NativeBuffer;
  readonly next: NativeBuffer;
  readonly value: NativeBuffer;
  readonly ops: sys.MapElemOps;
  /** Native keys and values for batch calls, reused and grown when a larger batch comes (see batchBuffer). */
  private readonly batch = new GrowingBuffers();
  /** The batch walks' buffers (a walk in progress keeps its own until it is released). */
  readonly cursors = new CursorBufferPool();
  /** The mmap of an mmapable array's values, once asked for (BpfMap.mappedValues). */
  mapped: MappedValues | undefined;
  private released = false;

  /** Allocates it all, or (a value too large to view) frees what it had made and throws. */
  constructor(fd: number, keySize: number, valueBufferSize: number, context: string) {
    const all = allocateTogether((make) => {
      const key = make(keySize);
      const next = make(keySize);
      const value = make(valueBufferSize);
      return { key, next, value, ops: new sys.MapElemOps(fd, key, value, next, context) };
    });
    this.key = all.key;
    this.next = all.next;
    this.value = all.value;
    this.ops = all.ops;
  }

  /** The batch calls' native keys or values, at least `size` bytes (the map's owner checks it is open first). */
  batchBuffer(name: 'keys' | 'values', size: number): NativeBuffer {
    return this.batch.get(name, Math.max(size, 64));
  }

  /** Unmaps, closes `fd` and frees every buffer, once (the buffers' views become empty). */
  release(fd: number): void {
    if (this.released) return;
    this.released = true;
    if (this.mapped) unmapArrayValues(this.mapped);
    this.mapped = undefined;
    sys.closeFd(fd);
    this.ops.free();
    this.key.free();
    this.next.free();
    this.value.free();
    this.batch.free();
    this.cursors.free();
  }
}

/**
 * BpfMap: a live BPF map and its byte-level operations (element, batch,
 * keyless, frozen, mapped into memory) on native buffers allocated once per
 * map. Typed access is @tsbpf/maps' job; batch walks are BatchCursor's.
 */
import { ARRAY_MAP_TYPES, MapFlags, MapType, PER_CPU_MAP_TYPES, mapTypeName } from '@tsbpf/object';
import { checkFlags, checkMapOptions, checkPositiveU32, checkU32, elemFlags } from './args.js';
import type { BatchCursor, CursorBuffers } from './batch-cursor.js';
import { possibleCpus } from './cpus.js';
import { MapMemory } from './map-memory.js';
import * as sys from './sys/bpf.js';
import { SyscallError } from './sys/errors.js';
import { mapInfo } from './sys/layouts.generated.js';
import { LoaderError } from './errors.js';
import { mapArrayValues } from './mapped-values.js';

export { possibleCpus } from './cpus.js';
const ENOENT = 2,
  MMAPABLE = MapFlags.MMAPABLE;

export interface MapOptions {
  type: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags?: number;
  name?: string;
  numaNode?: number;
  innerMapFd?: number;
  mapExtra?: bigint;
  btfFd?: number;
  btfKeyTypeId?: number;
  btfValueTypeId?: number;
  btfVmlinuxValueTypeId?: number;
}

/** BPF_ANY / BPF_NOEXIST / BPF_EXIST for update(). */
export const UpdateFlags = { any: 0n, noexist: 1n, exist: 2n } as const;

/** `n` bytes of src into dst: a loop up to 32 (TypedArray.set's builtin call costs ~15-35 ns more there, README). */
function copyIn(dst: Uint8Array, src: Uint8Array, n: number): void {
  if (n <= 32) for (let i = 0; i < n; i++) dst[i] = src[i]!;
  else dst.set(src);
}

const EMPTY_BYTES = new Uint8Array(0);
const EMPTY_VIEW = new DataView(EMPTY_BYTES.buffer);
const registry = new FinalizationRegistry<() => void>((release) => release());

/**
 * A live BPF map: byte-level operations on its fd. Keys and values are copied through native buffers allocated once
 * per map, so each operation is one bpf() call and no allocation besides the returned value. After close() every
 * operation throws LoaderError CLOSED before it touches any of that memory.
 */
export class BpfMap implements Disposable {
  readonly typeName: string;
  /** Bytes of one value as the syscall sees it (per-CPU maps: one 8-byte-aligned slot per possible CPU). */
  readonly valueBufferSize: number;
  private readonly memory: MapMemory;
  /** Hot-path copies of the native views, emptied by close(); these and `closed` start closed (see takeViews). */
  private keyBytes: Uint8Array = EMPTY_BYTES;
  private valueBytes: Uint8Array = EMPTY_BYTES;
  private keyViewValue: DataView = EMPTY_VIEW;
  private valueViewValue: DataView = EMPTY_VIEW;
  private closed = true;
  private readonly ops: sys.MapElemOps;
  /** How errors name this map: `map counters`. */
  private readonly context: string;

  private constructor(
    private fdValue: number,
    readonly type: number,
    readonly keySize: number,
    readonly valueSize: number,
    readonly maxEntries: number,
    readonly flags: number,
    readonly name: string,
  ) {
    this.typeName = mapTypeName(type);
    this.valueBufferSize = PER_CPU_MAP_TYPES.has(type) ? Math.ceil(valueSize / 8) * 8 * possibleCpus() : valueSize;
    this.context = `map ${name || '(unnamed)'}`;
    const memory = new MapMemory(fdValue, keySize, this.valueBufferSize, this.context);
    this.memory = memory;
    this.ops = memory.ops;
    this.takeViews();
    this.closed = false;
    // Only a safety net: close() is the contract. (The function holds the memory and the fd, not the map.)
    const fd = fdValue;
    registry.register(this, () => memory.release(fd), this);
  }

  static create(o: MapOptions): BpfMap {
    checkMapOptions(o);
    const fd = sys.mapCreate(o, o.name ? `map ${o.name}` : undefined);
    try {
      return new BpfMap(fd, o.type, o.keySize, o.valueSize, o.maxEntries, o.flags ?? 0, o.name ?? '');
    } catch (e) {
      sys.closeFd(fd); // a value too large to view (a per-CPU map on many CPUs): the map goes too
      throw e;
    }
  }

  /** Opens a map pinned on bpffs (its definition and name from bpf_map_info). */
  static fromPin(path: string): BpfMap {
    return sys.openPinned(path, mapInfo, (fd, info) => {
      const [type, keySize, valueSize, maxEntries, flags] = [mapInfo.type, mapInfo.key_size, mapInfo.value_size, mapInfo.max_entries, mapInfo.map_flags].map(
        (f) => info.number(f),
      );
      return new BpfMap(fd, type!, keySize!, valueSize!, maxEntries!, flags!, info.name(mapInfo.name));
    });
  }

  get fd(): number {
    this.assertOpen();
    return this.fdValue;
  }

  /** Throws LoaderError CLOSED once close() has run (what every operation checks before it touches the map's memory). */
  assertOpen(): void {
    if (this.closed) throw new LoaderError('CLOSED', 'closed').addContext(this.context);
  }

  private setKey(key: Uint8Array): void {
    this.assertOpen();
    const n = this.keySize;
    if (key.length !== n) throw this.invalid(`key is ${key.length} bytes, want ${n}`);
    copyIn(this.keyBytes, key, n);
  }

  /** The value stored under `key` (a copy), or undefined. */
  lookup(key: Uint8Array): Uint8Array | undefined {
    this.setKey(key);
    const r = this.ops.lookupCall();
    if (r < 0) {
      if (r === -ENOENT) return undefined;
      throw new SyscallError('BPF_MAP_LOOKUP_ELEM', -r, this.context);
    }
    // A copy made by the constructor from the value buffer (exactly valueBufferSize long): one memcpy into a
    // new array, ~15-20 ns cheaper in Node 20 than a new array and a copy loop (2026-12-04).
    return new Uint8Array(this.valueBytes);
  }

  /**
   * The zero-copy path for codecs: write the key into `keyView` (the native key buffer), call `lookupPrepared()` /
   * `updatePrepared()`, and read or write the value in `valueView`: the map's own buffers, valid until its next
   * operation. Get them anew for each (after close() they throw CLOSED; a view kept would reach freed memory).
   */
  get keyView(): DataView {
    if (this.closed) this.assertOpen();
    return this.keyViewValue;
  }
  get valueView(): DataView {
    if (this.closed) this.assertOpen();
    return this.valueViewValue;
  }

  /** Looks up the key already in `keyView` into `valueView`; false when absent. */
  lookupPrepared(): boolean {
    this.assertOpen();
    const r = this.ops.lookupCall();
    if (r >= 0) return true;
    if (r === -ENOENT) return false;
    throw new SyscallError('BPF_MAP_LOOKUP_ELEM', -r, this.context);
  }

  /** Writes the key in `keyView` with the value in `valueView`. */
  updatePrepared(flags?: bigint): void {
    this.assertOpen();
    // No flags (BPF_ANY) tested as undefined, not as a bigint equal to 0n: 1-2 ns a call (call-ab NO_SYSCALL=1, 8 of 10 rounds).
    this.ops.update(flags === undefined ? 0 : elemFlags(flags, this.context));
  }

  /** Like lookup, into `out` (no allocation); false when absent. */
  lookupInto(key: Uint8Array, out: Uint8Array): boolean {
    this.setKey(key);
    if (!this.ops.lookup()) return false;
    const src = this.valueBytes;
    const n = out.length < src.length ? out.length : src.length; // small: a loop beats subarray + set
    if (n <= 32) for (let i = 0; i < n; i++) out[i] = src[i]!;
    else out.set(src.subarray(0, n));
    return true;
  }

  update(key: Uint8Array, value: Uint8Array, flags?: bigint): void {
    if (value.length !== this.valueBufferSize) throw this.invalid(`value is ${value.length} bytes, want ${this.valueBufferSize}`);
    const f = flags === undefined ? 0 : elemFlags(flags, this.context); // as updatePrepared
    this.setKey(key); // throws CLOSED before anything is copied
    copyIn(this.valueBytes, value, value.length);
    this.ops.update(f);
  }

  /** False when the key was not there. */
  delete(key: Uint8Array): boolean {
    this.setKey(key);
    try {
      return this.ops.delete();
    } catch (e) {
      if (e instanceof SyscallError && e.errnoName === 'EINVAL' && ARRAY_MAP_TYPES.has(this.type)) {
        // The generic EINVAL hint (an older kernel?) misleads here: arrays never delete.
        throw new SyscallError('BPF_MAP_DELETE_ELEM', e.errno, this.context, `${this.typeName} elements cannot be deleted; write a zero value instead`);
      }
      throw e;
    }
  }

  /** Every key, in the kernel's iteration order (copies). */
  *keys(): Generator<Uint8Array> {
    this.assertOpen();
    const { ops } = this;
    let has = ops.nextKey(true);
    while (has) {
      const k = this.memory.next.bytes.slice();
      yield k;
      this.assertOpen(); // closed while the caller held the key: the buffers are gone
      this.keyBytes.set(k);
      has = ops.nextKey(false);
    }
  }

  /**
   * Writes `count` elements in one call (BPF_MAP_UPDATE_BATCH): `keys` holds
   * them back to back (`count * keySize` bytes), `values` likewise
   * (`count * valueBufferSize`).
   */
  updateBatch(keys: Uint8Array, values: Uint8Array, flags: bigint = UpdateFlags.any): number {
    this.assertOpen();
    const count = this.batchCount(keys, values);
    const k = this.memory.batchBuffer('keys', keys.length);
    const v = this.memory.batchBuffer('values', values.length);
    k.bytes.set(keys);
    v.bytes.set(values);
    return this.updateBatchPrepared(count, flags);
  }

  /**
   * The zero-copy batch path: native views with room for `count` keys and
   * values, to encode into before `updateBatchPrepared(count)`. Valid until
   * the map's next batch operation. Not zeroed: write every byte.
   */
  batchViews(count: number): { keys: DataView; values: DataView } {
    this.assertOpen();
    checkU32(count, 'count', this.context);
    const k = this.memory.batchBuffer('keys', count * this.keySize);
    const v = this.memory.batchBuffer('values', count * this.valueBufferSize);
    return { keys: k.view, values: v.view };
  }

  /** BPF_MAP_UPDATE_BATCH of the first `count` entries in `batchViews`; returns how many were written. */
  updateBatchPrepared(count: number, flags: bigint = UpdateFlags.any): number {
    this.assertOpen();
    checkU32(count, 'count', this.context);
    const elemFlags = checkFlags(flags, 'flags', 64, this.context);
    const k = this.memory.batchBuffer('keys', count * this.keySize);
    const v = this.memory.batchBuffer('values', count * this.valueBufferSize);
    return sys.mapBatch('MAP_UPDATE_BATCH', { fd: this.fd, keys: k, values: v, count, elemFlags }, this.context).count;
  }

  /** Deletes `count` keys in one call (BPF_MAP_DELETE_BATCH); returns how many went. */
  deleteBatch(keys: Uint8Array): number {
    this.assertOpen();
    if (keys.length % this.keySize !== 0) throw this.invalid(`keys are not whole ${this.keySize}-byte keys`);
    const k = this.memory.batchBuffer('keys', keys.length);
    k.bytes.set(keys);
    return sys.mapBatch('MAP_DELETE_BATCH', { fd: this.fd, keys: k, count: keys.length / this.keySize }, this.context).count;
  }

  /**
   * Every element, `batchSize` (at least 1) per BPF_MAP_LOOKUP_BATCH call.
   * Each chunk's keys and values are back to back in fresh arrays.
   */
  lookupBatches(batchSize = 256): Generator<{ count: number; keys: Uint8Array; values: Uint8Array }> {
    this.assertOpen();
    checkPositiveU32(batchSize, 'batch size', this.context);
    return this.batches(batchSize);
  }

  private *batches(batchSize: number): Generator<{ count: number; keys: Uint8Array; values: Uint8Array }> {
    const cursor = this.batchCursor(batchSize);
    try {
      for (let count = cursor.next(); count > 0; count = cursor.next()) {
        const keys = new Uint8Array(cursor.keys.buffer, cursor.keys.byteOffset, count * this.keySize).slice();
        const values = new Uint8Array(cursor.values.buffer, cursor.values.byteOffset, count * this.valueBufferSize).slice();
        yield { count, keys, values };
      }
    } finally {
      cursor.release();
    }
  }

  /**
   * A walk of every element in BPF_MAP_LOOKUP_BATCH calls of `batchSize`
   * that leaves each batch in native memory, for decoders that read it in
   * place (TypedMap.entries): `next()` fetches a batch and says how many
   * entries it holds (0 at the end); read them through `keys` and `values`
   * before the next call. The buffers are the map's own unless another walk
   * holds them, then the cursor's; `release()` when done (early or not).
   */
  batchCursor(batchSize = 1024): BatchCursor {
    this.assertOpen();
    checkPositiveU32(batchSize, 'batch size', this.context);
    return this.memory.cursors.cursor(this, batchSize);
  }

  /** @internal Whether a walk holds the map's own batch buffers (read by tests of walk lifecycles). */
  private get cursorBuffersBusy(): boolean {
    return this.memory.cursors.lent;
  }

  /** @internal BPF_MAP_LOOKUP_BATCH for a cursor. */
  lookupBatchInto(b: CursorBuffers, first: boolean, count: number): { count: number; done: boolean } {
    return sys.mapBatch(
      'MAP_LOOKUP_BATCH',
      { fd: this.fd, inBatch: first ? null : b.cursorIn, outBatch: b.cursorOut, keys: b.keys, values: b.values, count },
      this.context,
    );
  }

  /** False once close() has run. */
  get isOpen(): boolean {
    return !this.closed;
  }

  private batchCount(keys: Uint8Array, values: Uint8Array): number {
    if (keys.length % this.keySize !== 0 || values.length % this.valueBufferSize !== 0) throw this.invalid('batch is not whole keys and values');
    const count = keys.length / this.keySize;
    if (values.length / this.valueBufferSize !== count) throw this.invalid(`${count} keys but ${values.length / this.valueBufferSize} values`);
    return count;
  }

  /** Queue/stack: adds a value; bloom filter: adds a member. */
  push(value: Uint8Array, flags: bigint = UpdateFlags.any): void {
    const f = checkFlags(flags, 'flags', 64, this.context);
    this.setValue(value);
    sys.mapKeyless('MAP_UPDATE_ELEM', this.fd, this.memory.value, f, this.context);
  }

  /** Queue/stack: removes and returns the next value; undefined when empty. */
  pop(): Uint8Array | undefined {
    return sys.mapKeyless('MAP_LOOKUP_AND_DELETE_ELEM', this.fd, this.memory.value, 0n, this.context) ? this.valueBytes.slice() : undefined;
  }

  /** Queue/stack: the next value without removing it; undefined when empty. */
  peek(): Uint8Array | undefined {
    return sys.mapKeyless('MAP_LOOKUP_ELEM', this.fd, this.memory.value, 0n, this.context) ? this.valueBytes.slice() : undefined;
  }

  /** Bloom filter: false when `value` is certainly absent, true when it may be present. */
  mayContain(value: Uint8Array): boolean {
    this.setValue(value);
    return sys.mapKeyless('MAP_LOOKUP_ELEM', this.fd, this.memory.value, 0n, this.context);
  }

  private setValue(value: Uint8Array): void {
    this.assertOpen();
    if (value.length !== this.valueBufferSize) throw this.invalid(`value is ${value.length} bytes, want ${this.valueBufferSize}`);
    this.valueBytes.set(value);
  }

  /** Makes the map read-only for user space (BPF_MAP_FREEZE). */
  freeze(): void {
    sys.mapFreeze(this.fd, this.context);
  }

  /**
   * The values of an array created with BPF_F_MMAPABLE (`.data`, `.bss`, `.rodata`) mapped into this process, as a
   * libbpf skeleton maps them: no system call, no read-modify-write of the whole value. Element i is at i × (value size
   * rounded up to 8). A frozen map is mapped read-only (see `mappedWritable`: a write there kills the process). Valid
   * until close(), which unmaps it: ask again for each use rather than keep the view.
   */
  mappedValues(): DataView {
    this.assertOpen();
    const { memory } = this;
    if (memory.mapped) return memory.mapped.view;
    if (this.type !== MapType.array || (this.flags & MMAPABLE) === 0) {
      throw new LoaderError('MAP_TYPE', 'not an array created with BPF_F_MMAPABLE').addContext(this.context);
    }
    memory.mapped = mapArrayValues(this.fd, this.valueSize, this.maxEntries, this.context);
    return memory.mapped.view;
  }

  /** Whether mappedValues() is writable (false for a frozen map). */
  get mappedWritable(): boolean {
    this.mappedValues();
    return this.memory.mapped!.writable;
  }

  pin(path: string): void {
    sys.objPin(this.fd, path);
  }

  private invalid(what: string): LoaderError {
    return new LoaderError('INVALID_ARGUMENT', what).addContext(this.context);
  }

  /** Closes the fd and frees the map's memory (a batch walk in progress keeps its buffers until it is released). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    registry.unregister(this);
    this.memory.release(this.fdValue);
    this.takeViews(); // empty now
  }

  /** Fields written twice (closed, then live) are mutable to V8: one written once is a constant to optimized code, and the first close() deoptimized set, get and the walks. */
  private takeViews(): void {
    const { key, value } = this.memory;
    this.keyBytes = key.bytes;
    this.valueBytes = value.bytes;
    this.keyViewValue = key.view;
    this.valueViewValue = value.view;
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

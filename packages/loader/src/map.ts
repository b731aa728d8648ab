import { readFileSync } from 'node:fs';
import { MapType, mapTypeName } from '@tsbpf/object';
import * as sys from './sys/bpf.js';
import { NativeBuffer } from './sys/ffi.js';

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
}

/** BPF_ANY / BPF_NOEXIST / BPF_EXIST for update(). */
export const UpdateFlags = { any: 0n, noexist: 1n, exist: 2n } as const;

const PERCPU = new Set<number>([MapType.percpu_hash, MapType.percpu_array, MapType.lru_percpu_hash, MapType.percpu_cgroup_storage]);

let possible: number | undefined;
/** Possible CPUs (/sys/devices/system/cpu/possible), which per-CPU values are sized by. */
export function possibleCpus(): number {
  if (possible === undefined) {
    const text = readFileSync('/sys/devices/system/cpu/possible', 'utf8').trim();
    possible = text.split(',').reduce((n, range) => {
      const [lo, hi] = range.split('-').map(Number);
      return n + (hi === undefined ? 1 : hi - lo! + 1);
    }, 0);
  }
  return possible;
}

const registry = new FinalizationRegistry<() => void>((release) => release());

/**
 * A live BPF map: byte-level operations on its fd. Keys and values are
 * copied through native buffers allocated once per map, so each operation is
 * one bpf() call and no allocation besides the returned value.
 */
export class BpfMap implements Disposable {
  readonly typeName: string;
  /** Bytes of one value as the syscall sees it (per-CPU maps: one 8-byte-aligned slot per possible CPU). */
  readonly valueBufferSize: number;
  private readonly key: NativeBuffer;
  private readonly next: NativeBuffer;
  private readonly value: NativeBuffer;
  private readonly ops: sys.MapElemOps;
  private closed = false;

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
    this.valueBufferSize = PERCPU.has(type) ? Math.ceil(valueSize / 8) * 8 * possibleCpus() : valueSize;
    this.key = new NativeBuffer(keySize);
    this.next = new NativeBuffer(keySize);
    this.value = new NativeBuffer(this.valueBufferSize);
    this.ops = new sys.MapElemOps(fdValue, this.key, this.value, this.next);
    const { key, next, value, ops } = this;
    const fd = fdValue;
    // Only a safety net: close() is the contract.
    registry.register(this, () => {
      sys.closeFd(fd);
      ops.free();
      key.free();
      next.free();
      value.free();
    }, this);
  }

  static create(o: MapOptions): BpfMap {
    const fd = sys.mapCreate(o, o.name ? `map ${o.name}` : undefined);
    return new BpfMap(fd, o.type, o.keySize, o.valueSize, o.maxEntries, o.flags ?? 0, o.name ?? '');
  }

  /** Opens a map pinned on bpffs. */
  static fromPin(path: string): BpfMap {
    const fd = sys.objGet(path);
    const info = new NativeBuffer(88);
    try {
      sys.objGetInfoByFd(fd, info);
      const v = info.view;
      const nameBytes = info.bytes.subarray(24, 40);
      const end = nameBytes.indexOf(0);
      const name = new TextDecoder().decode(nameBytes.subarray(0, end < 0 ? 16 : end));
      return new BpfMap(fd, v.getUint32(0, true), v.getUint32(8, true), v.getUint32(12, true), v.getUint32(16, true), v.getUint32(20, true), name);
    } catch (e) {
      sys.closeFd(fd);
      throw e;
    } finally {
      info.free();
    }
  }

  get fd(): number {
    if (this.closed) throw new Error(`map ${this.name || '(unnamed)'}: closed`);
    return this.fdValue;
  }

  private setKey(key: Uint8Array): void {
    if (this.closed) throw new Error(`map ${this.name || '(unnamed)'}: closed`);
    if (key.length !== this.keySize) throw new RangeError(`map ${this.name}: key is ${key.length} bytes, want ${this.keySize}`);
    this.key.bytes.set(key);
  }

  /** The value stored under `key` (a copy), or undefined. */
  lookup(key: Uint8Array): Uint8Array | undefined {
    this.setKey(key);
    return this.ops.lookup() ? this.value.bytes.slice() : undefined;
  }

  /** Like lookup, into `out` (no allocation); false when absent. */
  lookupInto(key: Uint8Array, out: Uint8Array): boolean {
    this.setKey(key);
    if (!this.ops.lookup()) return false;
    out.set(this.value.bytes.subarray(0, out.length));
    return true;
  }

  update(key: Uint8Array, value: Uint8Array, flags: bigint = UpdateFlags.any): void {
    if (value.length !== this.valueBufferSize) {
      throw new RangeError(`map ${this.name}: value is ${value.length} bytes, want ${this.valueBufferSize}`);
    }
    this.setKey(key);
    this.value.bytes.set(value);
    this.ops.update(Number(flags));
  }

  /** False when the key was not there. */
  delete(key: Uint8Array): boolean {
    this.setKey(key);
    return this.ops.delete();
  }

  /** Every key, in the kernel's iteration order (copies). */
  *keys(): Generator<Uint8Array> {
    if (this.closed) throw new Error(`map ${this.name || '(unnamed)'}: closed`);
    let has = this.ops.nextKey(true);
    while (has) {
      const k = this.next.bytes.slice();
      yield k;
      this.key.bytes.set(k);
      has = this.ops.nextKey(false);
    }
  }

  /** Makes the map read-only for user space (BPF_MAP_FREEZE). */
  freeze(): void {
    sys.mapFreeze(this.fd);
  }

  pin(path: string): void {
    sys.objPin(this.fd, path);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    registry.unregister(this);
    sys.closeFd(this.fdValue);
    this.ops.free();
    this.key.free();
    this.next.free();
    this.value.free();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

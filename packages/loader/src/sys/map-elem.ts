/**
 * MapElemOps: the element commands of one map (lookup, update, delete, next
 * key), the hot path of every map access. Each has its own attr block,
 * built once: the fd and the key and value buffer addresses never change,
 * so an operation is a copy into the key buffer and one bound syscall (the
 * design notes measured this shape at 1.2–1.4x C; rebuilding the attr per
 * call costs more).
 */
import { boundBpf } from './door.js';
import { SyscallError } from './errors.js';
import { NativeBuffer } from './ffi.js';
import { setField } from './fields.js';
import { attrSize, bpfCmd, mapElemAttr as E } from './layouts.generated.js';

const ENOENT = 2;
const EBADF = 9;
/** What the calls become once the attrs are freed: no syscall, no memory touched. */
const freedCall = (): number => -EBADF;
/** Where update() rewrites its flags (the low half of the u64: flags fit in 32 bits). */
const FLAGS_AT = E.flags.offset;

/** An attr for one element command: the map's fd and the given pointers, zero elsewhere. */
function elemAttr(fd: number, key: bigint, value?: { field: typeof E.value | typeof E.next_key; address: bigint }): NativeBuffer {
  const attr = new NativeBuffer(attrSize.MAP_LOOKUP_ELEM);
  setField(attr.view, E.map_fd, fd);
  setField(attr.view, E.key, key);
  if (value) setField(attr.view, value.field, value.address);
  return attr;
}

export class MapElemOps {
  /** Updates keep their last flags here. */
  private readonly updateAttr: NativeBuffer;
  /** Lookups always pass flags 0. */
  private readonly lookupAttr: NativeBuffer;
  private lastFlags = 0;
  /** DELETE's last field is the key: the kernel wants value and flags zero. */
  private readonly deleteAttr: NativeBuffer;
  /** GET_NEXT_KEY from the key buffer (`nextAttr`), or from NULL: the first key (`firstAttr`). */
  private readonly nextAttr: NativeBuffer;
  private readonly firstAttr: NativeBuffer;
  /** The raw lookup: 0, or a negative errno (hot path: callers branch on it themselves); -EBADF once freed. */
  lookupCall: () => number;
  private updateCall: () => number;
  private deleteCall: () => number;
  private nextCall: () => number;
  private firstCall: () => number;

  constructor(
    fd: number,
    readonly key: NativeBuffer,
    readonly value: NativeBuffer,
    readonly next: NativeBuffer,
    /** Names the map in errors (`map counters`). */
    private readonly context?: string,
  ) {
    this.updateAttr = elemAttr(fd, key.address, { field: E.value, address: value.address });
    this.lookupAttr = elemAttr(fd, key.address, { field: E.value, address: value.address });
    this.deleteAttr = elemAttr(fd, key.address);
    this.nextAttr = elemAttr(fd, key.address, { field: E.next_key, address: next.address });
    this.firstAttr = elemAttr(fd, 0n, { field: E.next_key, address: next.address });
    this.lookupCall = boundBpf(bpfCmd.MAP_LOOKUP_ELEM, this.lookupAttr, attrSize.MAP_LOOKUP_ELEM);
    this.updateCall = boundBpf(bpfCmd.MAP_UPDATE_ELEM, this.updateAttr, attrSize.MAP_UPDATE_ELEM);
    this.deleteCall = boundBpf(bpfCmd.MAP_DELETE_ELEM, this.deleteAttr, attrSize.MAP_DELETE_ELEM);
    this.nextCall = boundBpf(bpfCmd.MAP_GET_NEXT_KEY, this.nextAttr, attrSize.MAP_GET_NEXT_KEY);
    this.firstCall = boundBpf(bpfCmd.MAP_GET_NEXT_KEY, this.firstAttr, attrSize.MAP_GET_NEXT_KEY);
  }

  /** Looks up `key` (already in the key buffer) into the value buffer; false when absent. */
  lookup(): boolean {
    return this.found(this.lookupCall(), 'BPF_MAP_LOOKUP_ELEM');
  }

  update(flags: number): void {
    if (flags !== this.lastFlags && !this.updateAttr.isFreed) {
      this.updateAttr.view.setUint32(FLAGS_AT, flags, true);
      this.lastFlags = flags;
    }
    const r = this.updateCall();
    if (r < 0) throw new SyscallError('BPF_MAP_UPDATE_ELEM', -r, this.context);
  }

  /** Deletes the key in the key buffer; false when it was not there. */
  delete(): boolean {
    return this.found(this.deleteCall(), 'BPF_MAP_DELETE_ELEM');
  }

  /** The key after the one in the key buffer (or the first, when `first`) into `next`; false at the end. */
  nextKey(first: boolean): boolean {
    return this.found(first ? this.firstCall() : this.nextCall(), 'BPF_MAP_GET_NEXT_KEY');
  }

  /** A result that found something: true; ENOENT: false; another errno: thrown. */
  private found(r: number, command: string): boolean {
    if (r >= 0) return true;
    if (r === -ENOENT) return false;
    throw new SyscallError(command, -r, this.context);
  }

  /** Frees the attrs; the bound calls, which hold their addresses, are replaced first (EBADF, no syscall). */
  free(): void {
    this.lookupCall = this.updateCall = this.deleteCall = this.nextCall = this.firstCall = freedCall;
    this.updateAttr.free();
    this.lookupAttr.free();
    this.deleteAttr.free();
    this.nextAttr.free();
    this.firstAttr.free();
  }
}

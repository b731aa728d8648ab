/**
 * MapElemOps: the element commands of one map (lookup, update, delete, next
 * key), the hot path of every map access. Each has its own attr block,
 * built once: the fd and the key and value buffer addresses never change,
 * so an operation is a copy into the key buffer and one bound syscall (the
 * design notes measured this shape at 1.2–1.4x C; rebuilding the attr per
 * call costs more).
 */
import { hotBpf, type HotBpf } from './door.js';
import { SyscallError } from './errors.js';
import { NativeBuffer } from './ffi.js';
import { setField } from './fields.js';
import { DELETE, DELETE_SIZE, LOOKUP, LOOKUP_SIZE, NEXT, NEXT_SIZE, UPDATE, UPDATE_SIZE } from './elem-commands.js';
import { attrSize, mapElemAttr as E } from './layouts.generated.js';

const ENOENT = 2;
const EBADF = 9;
/** What the calls become once the attrs are freed: no syscall, no memory touched. */
const freedCall: HotBpf = () => -EBADF;
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
  /** The door's hot call (the same function for every map: one call target, see ffi.bpfHot); freedCall once freed. */
  private call: HotBpf;
  /** The attrs' addresses, as the syscall takes them. */
  private readonly lookupAddress: number;
  private readonly updateAddress: number;
  private readonly deleteAddress: number;
  private readonly nextAddress: number;
  private readonly firstAddress: number;

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
    this.lookupAddress = this.lookupAttr.addressNumber;
    this.updateAddress = this.updateAttr.addressNumber;
    this.deleteAddress = this.deleteAttr.addressNumber;
    this.nextAddress = this.nextAttr.addressNumber;
    this.firstAddress = this.firstAttr.addressNumber;
    // free() rewrites the call: written first as it leaves it, so that V8 treats it as mutable from the first map on
    // (a field written once is a constant to optimized code, which the first free() would deoptimize).
    this.call = freedCall;
    this.call = hotBpf();
  }

  /** The raw lookup: 0, or a negative errno (hot path: callers branch on it themselves); -EBADF once freed. */
  lookupCall(): number {
    return this.call(LOOKUP, this.lookupAttr, this.lookupAddress, LOOKUP_SIZE);
  }

  /** Looks up `key` (already in the key buffer) into the value buffer; false when absent. */
  lookup(): boolean {
    return this.found(this.call(LOOKUP, this.lookupAttr, this.lookupAddress, LOOKUP_SIZE), 'BPF_MAP_LOOKUP_ELEM');
  }

  update(flags: number): void {
    if (flags !== this.lastFlags && !this.updateAttr.isFreed) {
      this.updateAttr.view.setUint32(FLAGS_AT, flags, true);
      this.lastFlags = flags;
    }
    const r = this.call(UPDATE, this.updateAttr, this.updateAddress, UPDATE_SIZE);
    if (r < 0) throw new SyscallError('BPF_MAP_UPDATE_ELEM', -r, this.context);
  }

  /** Deletes the key in the key buffer; false when it was not there. */
  delete(): boolean {
    return this.found(this.call(DELETE, this.deleteAttr, this.deleteAddress, DELETE_SIZE), 'BPF_MAP_DELETE_ELEM');
  }

  /** The key after the one in the key buffer (or the first, when `first`) into `next`; false at the end. */
  nextKey(first: boolean): boolean {
    const r = first ? this.call(NEXT, this.firstAttr, this.firstAddress, NEXT_SIZE) : this.call(NEXT, this.nextAttr, this.nextAddress, NEXT_SIZE);
    return this.found(r, 'BPF_MAP_GET_NEXT_KEY');
  }

  /** A result that found something: true; ENOENT: false; another errno: thrown. */
  private found(r: number, command: string): boolean {
    if (r >= 0) return true;
    if (r === -ENOENT) return false;
    throw new SyscallError(command, -r, this.context);
  }

  /** Frees the attrs; the call is replaced first (EBADF, no syscall: the addresses it would pass are freed). */
  free(): void {
    this.call = freedCall;
    this.updateAttr.free();
    this.lookupAttr.free();
    this.deleteAttr.free();
    this.nextAttr.free();
    this.firstAttr.free();
  }
}

/**
 * The bpf() commands on maps that are not the element hot path: create,
 * batch lookup/update/delete, the keyless element commands (queue, stack,
 * bloom filter) and freeze.
 */
import { begin, call, get, ownFd, put, putName } from './attr.js';
import type { NativeBuffer } from './ffi.js';
import { mapBatchAttr as B, mapCreateAttr as C, mapElemAttr as E } from './layouts.generated.js';
import { BPF_F_TOKEN_FD, tokenInForce } from './token-cmds.js';

const ENOENT = 2;

export interface MapCreateAttr {
  type: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags?: number;
  innerMapFd?: number;
  numaNode?: number;
  name?: string;
  btfFd?: number;
  btfKeyTypeId?: number;
  btfValueTypeId?: number;
  btfVmlinuxValueTypeId?: number;
  mapExtra?: bigint;
}

/** BPF_MAP_CREATE: the new map's fd. */
export function mapCreate(m: MapCreateAttr, context?: string): number {
  begin('MAP_CREATE');
  put(C.map_type, m.type);
  put(C.key_size, m.keySize);
  put(C.value_size, m.valueSize);
  put(C.max_entries, m.maxEntries);
  const token = tokenInForce();
  put(C.map_flags, token === undefined ? (m.flags ?? 0) : (m.flags ?? 0) | BPF_F_TOKEN_FD);
  if (token !== undefined) put(C.map_token_fd, token);
  put(C.inner_map_fd, m.innerMapFd ?? 0);
  put(C.numa_node, m.numaNode ?? 0);
  putName(C.map_name, m.name);
  put(C.btf_fd, m.btfFd ?? 0);
  put(C.btf_key_type_id, m.btfKeyTypeId ?? 0);
  put(C.btf_value_type_id, m.btfValueTypeId ?? 0);
  put(C.btf_vmlinux_value_type_id, m.btfVmlinuxValueTypeId ?? 0);
  put(C.map_extra, m.mapExtra ?? 0n);
  return ownFd(call('MAP_CREATE', context));
}

export interface BatchAttr {
  fd: number;
  /** Cursor in (lookup: null to start), cursor out; each at least key-size bytes. */
  inBatch?: NativeBuffer | null;
  outBatch?: NativeBuffer;
  keys: NativeBuffer;
  values?: NativeBuffer;
  count: number;
  elemFlags?: bigint;
}

/**
 * BPF_MAP_*_BATCH: the number of elements processed, and whether the kernel
 * said ENOENT (lookups: the walk is over; the count is still valid).
 */
export function mapBatch(cmd: 'MAP_LOOKUP_BATCH' | 'MAP_UPDATE_BATCH' | 'MAP_DELETE_BATCH', b: BatchAttr, context?: string): { count: number; done: boolean } {
  begin(cmd);
  put(B.in_batch, b.inBatch ? b.inBatch.address : 0n);
  put(B.out_batch, b.outBatch ? b.outBatch.address : 0n);
  put(B.keys, b.keys.address);
  put(B.values, b.values ? b.values.address : 0n);
  put(B.count, b.count);
  put(B.map_fd, b.fd);
  put(B.elem_flags, b.elemFlags ?? 0n);
  const r = call(cmd, context, [ENOENT]);
  return { count: get(B.count), done: r < 0 };
}

/**
 * Element commands on maps without keys (queue, stack, bloom filter): the
 * key pointer is NULL. Returns false on ENOENT (empty, or not in the filter).
 */
export function mapKeyless(
  cmd: 'MAP_UPDATE_ELEM' | 'MAP_LOOKUP_ELEM' | 'MAP_LOOKUP_AND_DELETE_ELEM',
  fd: number,
  value: NativeBuffer,
  flags = 0n,
  context?: string,
): boolean {
  begin(cmd);
  put(E.map_fd, fd);
  put(E.value, value.address);
  put(E.flags, flags);
  return call(cmd, context, [ENOENT]) >= 0;
}

/** BPF_MAP_FREEZE: read-only for user space from now on. */
export function mapFreeze(fd: number, context?: string): void {
  begin('MAP_FREEZE');
  put(E.map_fd, fd);
  call('MAP_FREEZE', context);
}

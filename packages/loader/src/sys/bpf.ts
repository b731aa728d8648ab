/**
 * The bpf() door: one typed function per command. Each encodes its part of
 * `union bpf_attr` into one native attr block allocated once and reused, and
 * passes the exact size libbpf passes for that command (a larger size with
 * zeroed tail is accepted too, but an exact one keeps older kernels happy).
 * Failures become SyscallError; new fds are kept away from 0-2.
 */
import { SyscallError } from './errors.js';
import { NativeBuffer, boundBpf, bpf, closeFd, dupAtLeast, scratch, type NativeMemory } from './ffi.js';

export const BpfCmd = {
  MAP_CREATE: 0,
  MAP_LOOKUP_ELEM: 1,
  MAP_UPDATE_ELEM: 2,
  MAP_DELETE_ELEM: 3,
  MAP_GET_NEXT_KEY: 4,
  PROG_LOAD: 5,
  OBJ_PIN: 6,
  OBJ_GET: 7,
  PROG_ATTACH: 8,
  PROG_DETACH: 9,
  PROG_TEST_RUN: 10,
  RAW_TRACEPOINT_OPEN: 17,
  LINK_CREATE: 28,
  LINK_DETACH: 34,
  OBJ_GET_INFO_BY_FD: 15,
  BTF_LOAD: 18,
  MAP_LOOKUP_AND_DELETE_ELEM: 21,
  MAP_FREEZE: 22,
  MAP_LOOKUP_BATCH: 24,
  MAP_UPDATE_BATCH: 26,
  MAP_DELETE_BATCH: 27,
} as const;
type CmdName = keyof typeof BpfCmd;

/** offsetofend(union bpf_attr, <last field libbpf sets>) per command. */
const ATTR_SIZE: Record<CmdName, number> = {
  MAP_CREATE: 72, // map_extra
  MAP_LOOKUP_ELEM: 32, // flags
  MAP_UPDATE_ELEM: 32,
  MAP_DELETE_ELEM: 32,
  MAP_GET_NEXT_KEY: 24, // next_key
  PROG_LOAD: 128, // fd_array
  OBJ_PIN: 16, // file_flags
  OBJ_GET: 16,
  PROG_ATTACH: 20, // replace_bpf_fd
  PROG_DETACH: 20,
  PROG_TEST_RUN: 76, // batch_size
  RAW_TRACEPOINT_OPEN: 16, // prog_fd
  LINK_CREATE: 64, // the link_create union, zero past what a link type uses
  LINK_DETACH: 4, // link_fd
  OBJ_GET_INFO_BY_FD: 16, // info
  BTF_LOAD: 28, // btf_log_level
  MAP_FREEZE: 4, // map_fd
  MAP_LOOKUP_AND_DELETE_ELEM: 32,
  MAP_LOOKUP_BATCH: 56, // batch.flags
  MAP_UPDATE_BATCH: 56,
  MAP_DELETE_BATCH: 56,
};

const attr = new NativeBuffer(256);
const a = attr.view;
const LE = true; // bpf_attr is host-endian; every supported host here is little-endian

function begin(cmd: CmdName): void {
  attr.bytes.fill(0, 0, ATTR_SIZE[cmd]);
}

/** Runs a command; a negative result is thrown as SyscallError unless `soft` lists its errno. */
function call(cmd: CmdName, context?: string, soft: readonly number[] = []): number {
  const r = bpf(BpfCmd[cmd], attr, ATTR_SIZE[cmd]);
  if (r < 0 && !soft.includes(-r)) throw new SyscallError(`BPF_${cmd}`, -r, context);
  return r;
}

/** Keeps BPF fds off 0, 1 and 2, where a stray write to stdout would reach a map. */
function ownFd(fd: number): number {
  if (fd > 2) return fd;
  const moved = dupAtLeast(fd, 3);
  closeFd(fd);
  if (moved < 0) throw new SyscallError('fcntl(F_DUPFD_CLOEXEC)', -moved);
  return moved;
}

const ENOENT = 2;
const EAGAIN = 11;
const PROG_LOAD_ATTEMPTS = 5;

/** Writes a name (NUL-padded, at most 15 bytes) into attr at `at`. */
function putName(at: number, name: string | undefined): void {
  if (!name) return;
  const bytes = new TextEncoder().encode(name).subarray(0, 15);
  attr.bytes.set(bytes, at);
}

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
  mapExtra?: bigint;
}

export function mapCreate(m: MapCreateAttr, context?: string): number {
  begin('MAP_CREATE');
  a.setUint32(0, m.type, LE);
  a.setUint32(4, m.keySize, LE);
  a.setUint32(8, m.valueSize, LE);
  a.setUint32(12, m.maxEntries, LE);
  a.setUint32(16, m.flags ?? 0, LE);
  a.setUint32(20, m.innerMapFd ?? 0, LE);
  a.setUint32(24, m.numaNode ?? 0, LE);
  putName(28, m.name);
  a.setUint32(48, m.btfFd ?? 0, LE);
  a.setUint32(52, m.btfKeyTypeId ?? 0, LE);
  a.setUint32(56, m.btfValueTypeId ?? 0, LE);
  a.setBigUint64(64, m.mapExtra ?? 0n, LE);
  return ownFd(call('MAP_CREATE', context));
}

/**
 * Element operations on one map with their own attr block, built once: the
 * fd and the key and value buffer addresses never change, so an operation
 * is a copy into the key buffer and one syscall (the design notes measured
 * this shape at 1.2–1.4x C; rebuilding the attr per call costs more).
 */
export class MapElemOps {
  private readonly attr = new NativeBuffer(32);
  /** Lookups always pass flags 0; updates keep their last flags in `attr`. */
  private readonly lookupAttr = new NativeBuffer(32);
  private lastFlags = 0;
  /** DELETE's last field is the key: the kernel wants value and flags zero. */
  private readonly deleteAttr = new NativeBuffer(32);
  private readonly nextAttr = new NativeBuffer(24);

  constructor(
    fd: number,
    readonly key: NativeBuffer,
    readonly value: NativeBuffer,
    readonly next: NativeBuffer,
    /** Names the map in errors (`map counters`). */
    private readonly context?: string,
  ) {
    const v = this.attr.view;
    v.setUint32(0, fd, LE);
    v.setBigUint64(8, key.address, LE);
    v.setBigUint64(16, value.address, LE);
    const l = this.lookupAttr.view;
    l.setUint32(0, fd, LE);
    l.setBigUint64(8, key.address, LE);
    l.setBigUint64(16, value.address, LE);
    const d = this.deleteAttr.view;
    d.setUint32(0, fd, LE);
    d.setBigUint64(8, key.address, LE);
    const n = this.nextAttr.view;
    n.setUint32(0, fd, LE);
    n.setBigUint64(8, key.address, LE);
    n.setBigUint64(16, next.address, LE);
  }

  /** The raw lookup: 0, or a negative errno (hot path: callers branch on it themselves). */
  readonly lookupCall = boundBpf(BpfCmd.MAP_LOOKUP_ELEM, this.lookupAttr, ATTR_SIZE.MAP_LOOKUP_ELEM);
  private readonly updateCall = boundBpf(BpfCmd.MAP_UPDATE_ELEM, this.attr, ATTR_SIZE.MAP_UPDATE_ELEM);

  /** Looks up `key` (already in the key buffer) into the value buffer; false when absent. */
  lookup(): boolean {
    const r = this.lookupCall();
    if (r >= 0) return true;
    if (r === -ENOENT) return false;
    throw new SyscallError('BPF_MAP_LOOKUP_ELEM', -r, this.context);
  }

  update(flags: number): void {
    if (flags !== this.lastFlags) {
      this.attr.view.setUint32(24, flags, LE);
      this.lastFlags = flags;
    }
    const r = this.updateCall();
    if (r < 0) throw new SyscallError('BPF_MAP_UPDATE_ELEM', -r, this.context);
  }

  delete(): boolean {
    return this.run(BpfCmd.MAP_DELETE_ELEM, 'MAP_DELETE_ELEM', true, this.deleteAttr);
  }

  /** The key after the one in the key buffer (or the first, when `first`) into `next`. */
  nextKey(first: boolean): boolean {
    this.nextAttr.view.setBigUint64(8, first ? 0n : this.key.address, LE);
    const r = bpf(BpfCmd.MAP_GET_NEXT_KEY, this.nextAttr, ATTR_SIZE.MAP_GET_NEXT_KEY);
    if (r < 0 && -r !== ENOENT) throw new SyscallError('BPF_MAP_GET_NEXT_KEY', -r, this.context);
    return r >= 0;
  }

  private run(cmd: number, name: CmdName, softEnoent: boolean, attr = this.attr): boolean {
    const r = bpf(cmd, attr, ATTR_SIZE[name]);
    if (r >= 0) return true;
    if (softEnoent && -r === ENOENT) return false;
    throw new SyscallError(`BPF_${name}`, -r, this.context);
  }

  free(): void {
    this.attr.free();
    this.lookupAttr.free();
    this.deleteAttr.free();
    this.nextAttr.free();
  }
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
  a.setBigUint64(0, b.inBatch ? b.inBatch.address : 0n, LE);
  a.setBigUint64(8, b.outBatch ? b.outBatch.address : 0n, LE);
  a.setBigUint64(16, b.keys.address, LE);
  a.setBigUint64(24, b.values ? b.values.address : 0n, LE);
  a.setUint32(32, b.count, LE);
  a.setUint32(36, b.fd, LE);
  a.setBigUint64(40, b.elemFlags ?? 0n, LE);
  const r = call(cmd, context, [ENOENT]);
  return { count: a.getUint32(32, LE), done: r < 0 };
}

/**
 * Element commands on maps without keys (queue, stack, bloom filter): the
 * key pointer is NULL. Returns false on ENOENT (empty, or not in the filter).
 */
export function mapKeyless(cmd: 'MAP_UPDATE_ELEM' | 'MAP_LOOKUP_ELEM' | 'MAP_LOOKUP_AND_DELETE_ELEM', fd: number, value: NativeBuffer, flags = 0n): boolean {
  begin(cmd);
  a.setUint32(0, fd, LE);
  a.setBigUint64(16, value.address, LE);
  a.setBigUint64(24, flags, LE);
  return call(cmd, undefined, [ENOENT]) >= 0;
}

export function mapFreeze(fd: number): void {
  begin('MAP_FREEZE');
  a.setUint32(0, fd, LE);
  call('MAP_FREEZE');
}

export interface ProgLoadAttr {
  type: number;
  insns: NativeMemory;
  license: NativeMemory;
  logLevel?: number;
  log?: NativeMemory;
  kernVersion?: number;
  flags?: number;
  name?: string;
  expectedAttachType?: number;
  btfFd?: number;
  funcInfo?: { rec: NativeMemory; recSize: number; count: number };
  lineInfo?: { rec: NativeMemory; recSize: number; count: number };
  attachBtfId?: number;
  attachBtfObjFd?: number;
  fdArray?: NativeMemory;
}

/** BPF_PROG_LOAD: the fd, or the negative errno (the caller decides whether to retry with a log). */
export function progLoad(p: ProgLoadAttr): number {
  begin('PROG_LOAD');
  a.setUint32(0, p.type, LE);
  a.setUint32(4, p.insns.size / 8, LE);
  a.setBigUint64(8, p.insns.address, LE);
  a.setBigUint64(16, p.license.address, LE);
  if (p.log) {
    a.setUint32(24, p.logLevel ?? 1, LE);
    a.setUint32(28, p.log.size, LE);
    a.setBigUint64(32, p.log.address, LE);
  }
  a.setUint32(40, p.kernVersion ?? 0, LE);
  a.setUint32(44, p.flags ?? 0, LE);
  putName(48, p.name);
  a.setUint32(68, p.expectedAttachType ?? 0, LE);
  a.setUint32(72, p.btfFd ?? 0, LE);
  if (p.funcInfo) {
    a.setUint32(76, p.funcInfo.recSize, LE);
    a.setBigUint64(80, p.funcInfo.rec.address, LE);
    a.setUint32(88, p.funcInfo.count, LE);
  }
  if (p.lineInfo) {
    a.setUint32(92, p.lineInfo.recSize, LE);
    a.setBigUint64(96, p.lineInfo.rec.address, LE);
    a.setUint32(104, p.lineInfo.count, LE);
  }
  a.setUint32(108, p.attachBtfId ?? 0, LE);
  a.setUint32(112, p.attachBtfObjFd ?? 0, LE);
  if (p.fdArray) a.setBigUint64(120, p.fdArray.address, LE);
  // The kernel answers EAGAIN while memory of recently freed programs is still
  // waiting for RCU; libbpf retries a few times, and so do we.
  let r = bpf(BpfCmd.PROG_LOAD, attr, ATTR_SIZE.PROG_LOAD);
  for (let attempt = 1; r === -EAGAIN && attempt < PROG_LOAD_ATTEMPTS; attempt++) r = bpf(BpfCmd.PROG_LOAD, attr, ATTR_SIZE.PROG_LOAD);
  return r < 0 ? r : ownFd(r);
}

export function objPin(fd: number, path: string): void {
  const mark = scratch.begin();
  try {
    const p = scratch.string(path);
    begin('OBJ_PIN');
    a.setBigUint64(0, p.address, LE);
    a.setUint32(8, fd, LE);
    call('OBJ_PIN', path);
  } finally {
    scratch.end(mark);
  }
}

export function objGet(path: string, flags = 0): number {
  const mark = scratch.begin();
  try {
    const p = scratch.string(path);
    begin('OBJ_GET');
    a.setBigUint64(0, p.address, LE);
    a.setUint32(12, flags, LE);
    return ownFd(call('OBJ_GET', path));
  } finally {
    scratch.end(mark);
  }
}

export interface TestRunAttr {
  progFd: number;
  dataIn?: NativeMemory;
  dataOut?: NativeMemory;
  ctxIn?: NativeMemory;
  ctxOut?: NativeMemory;
  repeat?: number;
  flags?: number;
}

export interface TestRunResult {
  retval: number;
  dataSizeOut: number;
  ctxSizeOut: number;
  /** Average run time in nanoseconds, as the kernel reports it. */
  duration: number;
}

export function progTestRun(t: TestRunAttr): TestRunResult {
  begin('PROG_TEST_RUN');
  a.setUint32(0, t.progFd, LE);
  if (t.dataIn) {
    a.setUint32(8, t.dataIn.size, LE);
    a.setBigUint64(16, t.dataIn.address, LE);
  }
  if (t.dataOut) {
    a.setUint32(12, t.dataOut.size, LE);
    a.setBigUint64(24, t.dataOut.address, LE);
  }
  a.setUint32(32, t.repeat ?? 1, LE);
  if (t.ctxIn) {
    a.setUint32(40, t.ctxIn.size, LE);
    a.setBigUint64(48, t.ctxIn.address, LE);
  }
  if (t.ctxOut) {
    a.setUint32(44, t.ctxOut.size, LE);
    a.setBigUint64(56, t.ctxOut.address, LE);
  }
  a.setUint32(64, t.flags ?? 0, LE);
  call('PROG_TEST_RUN');
  return { retval: a.getUint32(4, LE), dataSizeOut: a.getUint32(12, LE), ctxSizeOut: a.getUint32(44, LE), duration: a.getUint32(36, LE) };
}

/** BPF_OBJ_GET_INFO_BY_FD into `info`; returns the length the kernel filled. */
export function objGetInfoByFd(fd: number, info: NativeBuffer): number {
  begin('OBJ_GET_INFO_BY_FD');
  a.setUint32(0, fd, LE);
  a.setUint32(4, info.size, LE);
  a.setBigUint64(8, info.address, LE);
  call('OBJ_GET_INFO_BY_FD');
  return a.getUint32(4, LE);
}

export interface LinkCreateAttr {
  progFd: number;
  /** An fd (cgroup, perf event) or an ifindex (XDP, tcx). */
  target: number;
  attachType: number;
  flags?: number;
  /** Tracing links: the BTF id (0 when the program already names it). */
  targetBtfId?: number;
  /** Netfilter links: protocol family, hook, priority, flags. */
  netfilter?: { pf: number; hooknum: number; priority: number; flags?: number };
}

export function linkCreate(l: LinkCreateAttr, context?: string): number {
  begin('LINK_CREATE');
  a.setUint32(0, l.progFd, LE);
  a.setUint32(4, l.target, LE);
  a.setUint32(8, l.attachType, LE);
  a.setUint32(12, l.flags ?? 0, LE);
  if (l.targetBtfId) a.setUint32(16, l.targetBtfId, LE);
  if (l.netfilter) {
    a.setUint32(16, l.netfilter.pf, LE);
    a.setUint32(20, l.netfilter.hooknum, LE);
    a.setInt32(24, l.netfilter.priority, LE);
    a.setUint32(28, l.netfilter.flags ?? 0, LE);
  }
  return ownFd(call('LINK_CREATE', context));
}

export function linkDetach(linkFd: number, context?: string): void {
  begin('LINK_DETACH');
  a.setUint32(0, linkFd, LE);
  call('LINK_DETACH', context);
}

export function rawTracepointOpen(progFd: number, name: string | undefined, context?: string): number {
  const mark = scratch.begin();
  try {
    const n = name ? scratch.string(name) : undefined;
    begin('RAW_TRACEPOINT_OPEN');
    a.setBigUint64(0, n ? n.address : 0n, LE);
    a.setUint32(8, progFd, LE);
    return ownFd(call('RAW_TRACEPOINT_OPEN', context));
  } finally {
    scratch.end(mark);
  }
}

export function progAttach(targetFd: number, progFd: number, attachType: number, flags = 0): void {
  begin('PROG_ATTACH');
  a.setUint32(0, targetFd, LE);
  a.setUint32(4, progFd, LE);
  a.setUint32(8, attachType, LE);
  a.setUint32(12, flags, LE);
  call('PROG_ATTACH');
}

export function progDetach(targetFd: number, progFd: number, attachType: number): void {
  begin('PROG_DETACH');
  a.setUint32(0, targetFd, LE);
  a.setUint32(4, progFd, LE);
  a.setUint32(8, attachType, LE);
  call('PROG_DETACH');
}

/** A NUL-padded object name (bpf_map_info.name, bpf_prog_info.name) at `offset` of an info block. */
export function infoName(info: NativeBuffer, offset: number): string {
  const bytes = info.bytes.subarray(offset, offset + 16);
  const end = bytes.indexOf(0);
  return new TextDecoder().decode(bytes.subarray(0, end < 0 ? 16 : end));
}

/** BPF_BTF_LOAD: the fd, or the negative errno. */
export function btfLoad(btf: NativeMemory, log?: NativeMemory): number {
  begin('BTF_LOAD');
  a.setBigUint64(0, btf.address, LE);
  a.setUint32(16, btf.size, LE);
  if (log) {
    a.setBigUint64(8, log.address, LE);
    a.setUint32(20, log.size, LE);
    a.setUint32(24, 1, LE);
  }
  const r = bpf(BpfCmd.BTF_LOAD, attr, ATTR_SIZE.BTF_LOAD);
  return r < 0 ? r : ownFd(r);
}

export { closeFd, ownFd };

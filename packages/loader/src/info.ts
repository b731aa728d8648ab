/**
 * What the kernel says about a program, map or BTF object behind an fd:
 * bpf_prog_info, bpf_map_info and bpf_btf_info decoded into plain objects
 * (with the variable-length parts asked for: map ids, xlated and jited
 * code, func and line info, raw BTF), plus what only /proc/self/fdinfo
 * tells (memlock, a map's frozen state and owner). Links: link-info.ts.
 */
import { mapTypeName, programTypeName } from '@tsbpf/object';
import { readFileSync } from 'node:fs';
import { readInfoArrays, type InfoArray } from './sys/info-arrays.js';
import { layoutEnd } from './sys/fields.js';
import { btfInfo as B, mapInfo as M, progInfo as P } from './sys/layouts.generated.js';

export interface ProgramInfo {
  id: number;
  type: number;
  /** libbpf's name of the type: `xdp`, `sched_cls`. */
  typeName: string;
  name: string;
  /** The kernel's tag of the instructions, 16 hex digits (as bpftool prints it). */
  tag: string;
  gplCompatible: boolean;
  /** When it was loaded, in nanoseconds since boot (CLOCK_BOOTTIME). */
  loadTimeNs: bigint;
  /** Who loaded it. */
  uid: number;
  xlatedBytes: number;
  jitedBytes: number;
  mapIds: number[];
  /** 0 when it has no BTF. */
  btfId: number;
  ifindex: number;
  funcInfoCount: number;
  lineInfoCount: number;
  /** Statistics: nanoseconds spent running and runs counted while BPF_ENABLE_STATS (or the sysctl) was on. */
  runTimeNs: bigint;
  runCount: bigint;
  /** Runs skipped because the program was already running on that CPU. */
  recursionMisses: bigint;
  /** Instructions the verifier processed. */
  verifiedInstructions: number;
  attachBtfObjId: number;
  attachBtfId: number;
  /** Bytes of memory charged to it (/proc/self/fdinfo `memlock`), when readable. */
  memlock?: number;
}

/** The code and debug records of a program, when asked for. */
export interface ProgramCode {
  /** The instructions as the verifier left them (8 bytes a slot, host order). */
  xlated?: Uint8Array;
  /** The machine code the JIT made. */
  jited?: Uint8Array;
  /** The kernel addresses of each function's machine code (main program first). */
  jitedKsyms?: bigint[];
  /** Bytes of machine code of each function. */
  jitedFuncLens?: number[];
  /** bpf_func_info records as the kernel keeps them (insn_off in instructions, type id). */
  funcInfo?: Uint8Array;
  /** bpf_line_info records. */
  lineInfo?: Uint8Array;
}

export interface ProgramInfoOptions {
  xlated?: boolean;
  jited?: boolean;
  /** func_info and line_info records. */
  debugInfo?: boolean;
}

const progSize = layoutEnd(P);

/** The info of the program behind `fd`; `options` asks for its code too. */
export function programInfoByFd(fd: number, options: ProgramInfoOptions = {}, context?: string): ProgramInfo & { code: ProgramCode } {
  const { info, arrays } = readInfoArrays(
    fd,
    progSize,
    (): Partial<Record<string, InfoArray>> => ({
      mapIds: { count: P.nr_map_ids, pointer: P.map_ids, element: 4 },
      ...(options.xlated ? { xlated: { count: P.xlated_prog_len, pointer: P.xlated_prog_insns, element: 1 } } : {}),
      ...(options.jited
        ? {
            jited: { count: P.jited_prog_len, pointer: P.jited_prog_insns, element: 1 },
            ksyms: { count: P.nr_jited_ksyms, pointer: P.jited_ksyms, element: 8 },
            funcLens: { count: P.nr_jited_func_lens, pointer: P.jited_func_lens, element: 4 },
          }
        : {}),
      ...(options.debugInfo
        ? {
            funcInfo: { count: P.nr_func_info, pointer: P.func_info, element: P.func_info_rec_size },
            lineInfo: { count: P.nr_line_info, pointer: P.line_info, element: P.line_info_rec_size },
          }
        : {}),
    }),
    context,
  );
  const code: ProgramCode = {};
  if (options.xlated) code.xlated = arrays.xlated ?? new Uint8Array(0);
  if (options.jited) {
    code.jited = arrays.jited ?? new Uint8Array(0);
    code.jitedKsyms = words64(arrays.ksyms);
    code.jitedFuncLens = words32(arrays.funcLens);
  }
  if (options.debugInfo) {
    code.funcInfo = arrays.funcInfo ?? new Uint8Array(0);
    code.lineInfo = arrays.lineInfo ?? new Uint8Array(0);
  }
  const type = info.number(P.type);
  return {
    id: info.number(P.id),
    type,
    typeName: programTypeName(type),
    name: info.name(P.name),
    tag: hex(info.raw(P.tag)),
    gplCompatible: info.number(P.gpl_compatible) === 1,
    loadTimeNs: info.bigint(P.load_time),
    uid: info.number(P.created_by_uid),
    xlatedBytes: info.number(P.xlated_prog_len),
    jitedBytes: info.number(P.jited_prog_len),
    mapIds: words32(arrays.mapIds),
    btfId: info.number(P.btf_id),
    ifindex: info.number(P.ifindex),
    funcInfoCount: info.number(P.nr_func_info),
    lineInfoCount: info.number(P.nr_line_info),
    runTimeNs: info.bigint(P.run_time_ns),
    runCount: info.bigint(P.run_cnt),
    recursionMisses: info.bigint(P.recursion_misses),
    verifiedInstructions: info.number(P.verified_insns),
    attachBtfObjId: info.number(P.attach_btf_obj_id),
    attachBtfId: info.number(P.attach_btf_id),
    memlock: fdinfoNumber(fdinfo(fd), 'memlock'),
    code,
  };
}

export interface MapInfo {
  id: number;
  type: number;
  typeName: string;
  name: string;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags: number;
  ifindex: number;
  /** The BTF object with the key and value types (0: none). */
  btfId: number;
  btfKeyTypeId: number;
  btfValueTypeId: number;
  btfVmlinuxValueTypeId: number;
  mapExtra: bigint;
  memlock?: number;
  /** Frozen for user space (BPF_MAP_FREEZE, `.rodata`), from fdinfo. */
  frozen?: boolean;
  /** A prog array's owner program type and whether it is jited, from fdinfo. */
  ownerProgType?: number;
  ownerJited?: boolean;
}

const mapSize = layoutEnd(M);

/** The info of the map behind `fd`. */
export function mapInfoByFd(fd: number, context?: string): MapInfo {
  const { info } = readInfoArrays(fd, mapSize, () => ({}), context);
  const type = info.number(M.type);
  const fdi = fdinfo(fd);
  const frozen = fdinfoNumber(fdi, 'frozen');
  const ownerType = fdinfoNumber(fdi, 'owner_prog_type');
  const ownerJited = fdinfoNumber(fdi, 'owner_jited');
  return {
    id: info.number(M.id),
    type,
    typeName: mapTypeName(type),
    name: info.name(M.name),
    keySize: info.number(M.key_size),
    valueSize: info.number(M.value_size),
    maxEntries: info.number(M.max_entries),
    flags: info.number(M.map_flags),
    ifindex: info.number(M.ifindex),
    btfId: info.number(M.btf_id),
    btfKeyTypeId: info.number(M.btf_key_type_id),
    btfValueTypeId: info.number(M.btf_value_type_id),
    btfVmlinuxValueTypeId: info.number(M.btf_vmlinux_value_type_id),
    mapExtra: info.bigint(M.map_extra),
    memlock: fdinfoNumber(fdi, 'memlock'),
    frozen: frozen === undefined ? undefined : frozen !== 0,
    ...(ownerType === undefined ? {} : { ownerProgType: ownerType, ownerJited: ownerJited === 1 }),
  };
}

export interface BtfInfo {
  id: number;
  /** Bytes of the raw BTF. */
  size: number;
  /** vmlinux or a module's BTF. */
  kernel: boolean;
  /** The kernel's name for it (`vmlinux`, a module's), empty for a program's. */
  name: string;
}

const btfSize = layoutEnd(B);

/** The info of the BTF object behind `fd`; `withData` reads its raw bytes too. */
export function btfInfoByFd(fd: number, withData = false, context?: string): BtfInfo & { data?: Uint8Array } {
  const { info, arrays } = readInfoArrays(
    fd,
    btfSize,
    (): Partial<Record<string, InfoArray>> => ({
      name: { count: B.name_len, pointer: B.name, element: 1, extra: 1 },
      ...(withData ? { data: { count: B.btf_size, pointer: B.btf, element: 1 } } : {}),
    }),
    context,
  );
  return {
    id: info.number(B.id),
    size: info.number(B.btf_size),
    kernel: info.number(B.kernel_btf) !== 0,
    name: arrays.name ? cString(arrays.name) : '',
    ...(withData ? { data: arrays.data ?? new Uint8Array(0) } : {}),
  };
}

function hex(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
}

function words32(bytes: Uint8Array | undefined): number[] {
  if (!bytes) return [];
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return Array.from({ length: bytes.length >> 2 }, (_, i) => v.getUint32(i * 4, true));
}

function words64(bytes: Uint8Array | undefined): bigint[] {
  if (!bytes) return [];
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return Array.from({ length: bytes.length >> 3 }, (_, i) => v.getBigUint64(i * 8, true));
}

export function cString(bytes: Uint8Array): string {
  const end = bytes.indexOf(0);
  return new TextDecoder().decode(end < 0 ? bytes : bytes.subarray(0, end));
}

/** /proc/self/fdinfo/<fd> as text ('' when it cannot be read: a fake door's fd). */
function fdinfo(fd: number): string {
  try {
    return readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8');
  } catch {
    return '';
  }
}

function fdinfoNumber(text: string, key: string): number | undefined {
  const m = new RegExp(`^${key}:\\s*(\\d+)`, 'm').exec(text);
  return m ? Number(m[1]) : undefined;
}

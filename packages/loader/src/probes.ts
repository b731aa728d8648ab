import { MapFlags, MapType, ProgramType, asm, encodeInstructions } from '@tsbpf/object';
import * as sys from './sys/bpf.js';
import { SyscallError } from './sys/errors.js';
import { NativeBuffer } from './sys/ffi.js';

/**
 * Feature probes: does this kernel know a map type, a program type, a
 * helper for a program type? Each probe creates (and closes) the smallest
 * object that would use the feature, as libbpf's libbpf_probe_bpf_* do, and
 * is answered once per process. A missing privilege is an error, not "no".
 */
const memo = new Map<string, boolean>();

function remember(key: string, probe: () => boolean): boolean {
  let v = memo.get(key);
  if (v === undefined) {
    v = probe();
    memo.set(key, v);
  }
  return v;
}

const NOT_SUPPORTED = new Set(['EINVAL', 'E2BIG', 'EOPNOTSUPP', 'ENOTSUPP', 'ENOTSUP']);

export function mapTypeSupported(type: number): boolean {
  return remember(`map:${type}`, () => {
    let keySize = 4;
    let valueSize = 4;
    let maxEntries = 1;
    let flags = 0;
    let innerMapFd: number | undefined;
    switch (type) {
      case MapType.ringbuf:
      case MapType.user_ringbuf:
        keySize = 0;
        valueSize = 0;
        maxEntries = 4096;
        break;
      case MapType.queue:
      case MapType.stack:
      case MapType.bloom_filter:
        keySize = 0;
        break;
      case MapType.lpm_trie:
        keySize = 8;
        flags = MapFlags.NO_PREALLOC;
        break;
      case MapType.sk_storage:
      case MapType.inode_storage:
      case MapType.task_storage:
      case MapType.cgrp_storage:
        flags = MapFlags.NO_PREALLOC;
        break;
      case MapType.cgroup_storage:
      case MapType.percpu_cgroup_storage:
        keySize = 8; // struct bpf_cgroup_storage_key
        maxEntries = 0;
        break;
      case MapType.array_of_maps:
      case MapType.hash_of_maps:
        innerMapFd = sys.mapCreate({ type: MapType.array, keySize: 4, valueSize: 4, maxEntries: 1 });
        break;
      default:
        break;
    }
    try {
      const fd = sys.mapCreate({ type, keySize, valueSize, maxEntries, flags, innerMapFd });
      sys.closeFd(fd);
      return true;
    } catch (e) {
      if (e instanceof SyscallError && NOT_SUPPORTED.has(e.code)) return false;
      throw e;
    } finally {
      if (innerMapFd !== undefined) sys.closeFd(innerMapFd);
    }
  });
}

const NEEDS_TARGET = new Set<number>([ProgramType.tracing, ProgramType.lsm, ProgramType.ext, ProgramType.struct_ops]);

/** Load `insns` as `type`: the fd or negative errno, and the verifier log when it failed. */
function tryLoad(type: number, insns: Uint8Array): { ok: boolean; errno: number; log: string } {
  const code = NativeBuffer.from(insns);
  const license = NativeBuffer.string('GPL');
  const log = new NativeBuffer(64 * 1024);
  try {
    const fd = sys.progLoad({ type, insns: code, license, log, logLevel: 1 });
    if (fd >= 0) {
      sys.closeFd(fd);
      return { ok: true, errno: 0, log: '' };
    }
    const end = log.bytes.indexOf(0);
    return { ok: false, errno: -fd, log: new TextDecoder().decode(log.bytes.subarray(0, end < 0 ? log.size : end)) };
  } finally {
    code.free();
    license.free();
    log.free();
  }
}

const EPERM = 1;

export function programTypeSupported(type: number): boolean {
  if (NEEDS_TARGET.has(type)) throw new Error(`program type ${type} needs an attach target to probe; probe by loading the program`);
  return remember(`prog:${type}`, () => {
    const r = tryLoad(type, encodeInstructions([asm.mov64Imm(0, 0), asm.exit()], 'little'));
    if (r.ok) return true;
    if (r.errno === EPERM) throw new SyscallError('BPF_PROG_LOAD', EPERM, `probing program type ${type}`);
    return false;
  });
}

/** Whether programs of `programType` may call helper `helperId` (BPF_FUNC_*). */
export function helperSupported(programType: number, helperId: number): boolean {
  if (!programTypeSupported(programType)) return false;
  return remember(`helper:${programType}:${helperId}`, () => {
    const r = tryLoad(programType, encodeInstructions([asm.call(helperId), asm.mov64Imm(0, 0), asm.exit()], 'little'));
    if (r.ok) return true;
    if (r.errno === EPERM) throw new SyscallError('BPF_PROG_LOAD', EPERM, `probing helper ${helperId}`);
    // The verifier names an unknown or forbidden helper; any other complaint (arguments) means it exists.
    return !/invalid func |unknown func |program of this type cannot use helper/.test(r.log);
  });
}

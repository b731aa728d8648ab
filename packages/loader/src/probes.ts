/**
 * Feature probes: does this kernel know a map type, a program type, a
 * helper for a program type, an attach type? Each probe creates (and
 * closes) the smallest object that would use the feature, as libbpf's
 * libbpf_probe_bpf_* do, and is answered once per process. A missing
 * privilege is an error, not "no".
 */
import { AttachType, MapFlags, MapType, ProgramType, asm, attachTypeName, encodeInstructions } from '@tsbpf/object';
import * as sys from './sys/bpf.js';
import { SyscallError, errnoName } from './sys/errors.js';
import { NativeBuffer } from './sys/ffi.js';
import { INT_MAX, checkInteger, checkU32 } from './args.js';
import { LoaderError } from './errors.js';

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
  checkU32(type, 'map type', 'mapTypeSupported');
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
      case MapType.stack_trace:
        valueSize = 8; // a whole number of u64 instruction pointers
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
      if (e instanceof SyscallError && NOT_SUPPORTED.has(e.errnoName)) return false;
      throw e;
    } finally {
      if (innerMapFd !== undefined) sys.closeFd(innerMapFd);
    }
  });
}

const NEEDS_TARGET = new Set<number>([ProgramType.tracing, ProgramType.lsm, ProgramType.ext, ProgramType.struct_ops]);

/** Program types the kernel only loads with an expected attach type (the ones libbpf's probes pass). */
const PROBE_ATTACH_TYPE: ReadonlyMap<number, number> = new Map([
  [ProgramType.cgroup_sock_addr, AttachType.cgroup_inet4_connect],
  [ProgramType.cgroup_sockopt, AttachType.cgroup_getsockopt],
  [ProgramType.sk_lookup, AttachType.sk_lookup],
  [ProgramType.lirc_mode2, AttachType.lirc_mode2],
  [ProgramType.netfilter, AttachType.netfilter],
]);

/** Load `insns` as `type`: the fd or negative errno, and the verifier log when it failed. */
function tryLoad(type: number, insns: Uint8Array): { ok: boolean; errno: number; log: string } {
  const code = NativeBuffer.from(insns);
  const license = NativeBuffer.string('GPL');
  const log = new NativeBuffer(64 * 1024);
  try {
    const expectedAttachType = PROBE_ATTACH_TYPE.get(type);
    const fd = sys.progLoad({ type, insns: code, license, log, logLevel: 1, ...(expectedAttachType !== undefined ? { expectedAttachType } : {}) });
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
  checkU32(type, 'program type', 'programTypeSupported');
  if (NEEDS_TARGET.has(type)) throw new LoaderError('PROBE_TARGET', `program type ${type} needs an attach target to probe; probe by loading the program`);
  return remember(`prog:${type}`, () => {
    const r = tryLoad(type, encodeInstructions([asm.mov64Imm(0, 0), asm.exit()], 'little'));
    if (r.ok) return true;
    if (r.errno === EPERM) throw new SyscallError('BPF_PROG_LOAD', EPERM, `probing program type ${type}`);
    return false;
  });
}

/** Whether programs of `programType` may call helper `helperId` (BPF_FUNC_*). */
export function helperSupported(programType: number, helperId: number): boolean {
  checkInteger(helperId, 'helper id', 0, INT_MAX, 'helperSupported');
  if (!programTypeSupported(programType)) return false;
  return remember(`helper:${programType}:${helperId}`, () => {
    const r = tryLoad(programType, encodeInstructions([asm.call(helperId), asm.mov64Imm(0, 0), asm.exit()], 'little'));
    if (r.ok) return true;
    if (r.errno === EPERM) throw new SyscallError('BPF_PROG_LOAD', EPERM, `probing helper ${helperId}`);
    // The verifier names an unknown or forbidden helper; any other complaint (arguments) means it exists.
    return !/invalid func |unknown func |program of this type cannot use helper/.test(r.log);
  });
}

/**
 * Attach types the kernel can link, and how to tell: the program type a link
 * of that kind takes, and the target that cannot exist (ifindex 0, fd -1).
 * A kernel that knows the attach type looks for the target and fails with
 * ENODEV or EBADF; one that does not refuses the attach type with EINVAL
 * first (cilium/ebpf probes tcx the same way).
 */
interface LinkProbe {
  readonly programType: number;
  readonly target: number;
  readonly present: readonly string[];
}
const LINK_PROBES: ReadonlyMap<number, LinkProbe> = new Map<number, LinkProbe>([
  [AttachType.tcx_ingress, { programType: ProgramType.sched_cls, target: 0, present: ['ENODEV'] }],
  [AttachType.tcx_egress, { programType: ProgramType.sched_cls, target: 0, present: ['ENODEV'] }],
  [AttachType.netkit_primary, { programType: ProgramType.sched_cls, target: 0, present: ['ENODEV'] }],
  [AttachType.netkit_peer, { programType: ProgramType.sched_cls, target: 0, present: ['ENODEV'] }],
  ...(['cgroup_inet_ingress', 'cgroup_inet_egress'] as const).map((n): [number, LinkProbe] => [
    AttachType[n],
    { programType: ProgramType.cgroup_skb, target: 0xffffffff, present: ['EBADF'] },
  ]),
  ...(['cgroup_inet_sock_create', 'cgroup_inet_sock_release', 'cgroup_inet4_post_bind', 'cgroup_inet6_post_bind'] as const).map((n): [number, LinkProbe] => [
    AttachType[n],
    { programType: ProgramType.cgroup_sock, target: 0xffffffff, present: ['EBADF'] },
  ]),
  ...(
    [
      'cgroup_inet4_bind',
      'cgroup_inet6_bind',
      'cgroup_inet4_connect',
      'cgroup_inet6_connect',
      'cgroup_udp4_sendmsg',
      'cgroup_udp6_sendmsg',
      'cgroup_udp4_recvmsg',
      'cgroup_udp6_recvmsg',
      'cgroup_inet4_getpeername',
      'cgroup_inet6_getpeername',
      'cgroup_inet4_getsockname',
      'cgroup_inet6_getsockname',
      'cgroup_unix_connect',
      'cgroup_unix_sendmsg',
      'cgroup_unix_recvmsg',
      'cgroup_unix_getpeername',
      'cgroup_unix_getsockname',
    ] as const
  ).map((n) => [AttachType[n], { programType: ProgramType.cgroup_sock_addr, target: 0xffffffff, present: ['EBADF'] }] as const),
  [AttachType.cgroup_sock_ops, { programType: ProgramType.sock_ops, target: 0xffffffff, present: ['EBADF'] }],
  [AttachType.cgroup_device, { programType: ProgramType.cgroup_device, target: 0xffffffff, present: ['EBADF'] }],
  [AttachType.cgroup_sysctl, { programType: ProgramType.cgroup_sysctl, target: 0xffffffff, present: ['EBADF'] }],
  [AttachType.cgroup_getsockopt, { programType: ProgramType.cgroup_sockopt, target: 0xffffffff, present: ['EBADF'] }],
  [AttachType.cgroup_setsockopt, { programType: ProgramType.cgroup_sockopt, target: 0xffffffff, present: ['EBADF'] }],
]);

/**
 * Whether this kernel can link programs with `attachType` (BPF_LINK_CREATE):
 * tcx, netkit and the cgroup hooks. Throws for attach types that need a real
 * target to probe: tracing and perf events, and XDP (a missing interface is
 * EINVAL there, like an unknown attach type): attach and handle the error.
 */
export function attachTypeSupported(attachType: number): boolean {
  checkU32(attachType, 'attach type', 'attachTypeSupported');
  const how = LINK_PROBES.get(attachType);
  if (!how)
    throw new LoaderError('PROBE_TARGET', `attach type ${attachTypeName(attachType)} cannot be probed without a target; attach it and handle the SyscallError`);
  return remember(`attach:${attachType}`, () => {
    const code = NativeBuffer.from(encodeInstructions([asm.mov64Imm(0, 1), asm.exit()], 'little'));
    const license = NativeBuffer.string('GPL');
    let prog: number;
    try {
      prog = sys.progLoad({ type: how.programType, insns: code, license, expectedAttachType: attachType });
    } finally {
      code.free();
      license.free();
    }
    if (prog < 0) {
      // The program type refuses this expected attach type: the kernel does not know it.
      if (NOT_SUPPORTED.has(errnoName(-prog))) return false;
      throw new SyscallError('BPF_PROG_LOAD', -prog, `probing attach type ${attachTypeName(attachType)}`);
    }
    try {
      const link = sys.linkCreate({ progFd: prog, target: how.target, attachType });
      sys.closeFd(link); // not expected: the target should not exist
      return true;
    } catch (e) {
      if (e instanceof SyscallError && how.present.includes(e.errnoName)) return true;
      if (e instanceof SyscallError && NOT_SUPPORTED.has(e.errnoName)) return false;
      throw e;
    } finally {
      sys.closeFd(prog);
    }
  });
}

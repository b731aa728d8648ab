/**
 * The kernel facts behind libbpf's computed `__kconfig` externs, probed the
 * way libbpf probes them: LINUX_HAS_BPF_COOKIE (can a tracepoint program call
 * bpf_get_attach_cookie?) and LINUX_HAS_SYSCALL_WRAPPER (can a kprobe be
 * opened on the architecture's `__<arch>_sys_bpf`?). Answered once a process.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { ProgramType } from '@tsbpf/object';
import { helperSupported } from './probes.js';
import { NativeBuffer, closeFd, perfEventOpen } from './sys/ffi.js';

const BPF_FUNC_get_attach_cookie = 174;

let cookie: boolean | undefined;
let wrapper: boolean | undefined;

/** Whether programs can read a BPF cookie (Linux 5.15+): libbpf's FEAT_BPF_COOKIE. */
export function hasBpfCookie(): boolean {
  cookie ??= helperSupported(ProgramType.tracepoint, BPF_FUNC_get_attach_cookie);
  return cookie;
}

/** The arch part of syscall wrapper names (`__x64_sys_bpf`), by Node's process.arch, as libbpf names them (kprobe.ts's ksyscall uses it too). */
export const SYSCALL_WRAPPER_ARCH: Readonly<Record<string, string>> = {
  x64: 'x64',
  ia32: 'ia32',
  s390x: 's390x',
  arm: 'arm',
  arm64: 'arm64',
  mips: 'mips',
  mipsel: 'mips',
  riscv64: 'riscv',
  ppc: 'powerpc',
  ppc64: 'powerpc64',
};

/**
 * Whether syscalls enter through per-architecture wrappers that take a
 * `struct pt_regs *` (BPF_KSYSCALL then reads arguments through it):
 * libbpf's FEAT_SYSCALL_WRAPPER, answered as libbpf answers it, by opening
 * a kprobe on `__<arch>_sys_bpf` (through the kprobe PMU, or tracefs where
 * there is none). A kernel without kprobes answers no, as it does to libbpf.
 */
export function hasSyscallWrapper(): boolean {
  wrapper ??= probeSyscallWrapper();
  return wrapper;
}

function probeSyscallWrapper(): boolean {
  const prefix = SYSCALL_WRAPPER_ARCH[process.arch];
  if (!prefix) return false;
  const symbol = `__${prefix}_sys_bpf`;
  let pmu: number | undefined;
  try {
    pmu = Number(readFileSync('/sys/bus/event_source/devices/kprobe/type', 'utf8'));
  } catch {
    pmu = undefined;
  }
  return pmu !== undefined && Number.isInteger(pmu) ? kprobeOpens(pmu, symbol) : legacyKprobeAdds(symbol);
}

const PERF_ATTR_SIZE = 128;
const PERF_FLAG_FD_CLOEXEC = 8;

/** perf_event_open of a kprobe on `symbol` for this process: does the kernel take it? */
function kprobeOpens(pmu: number, symbol: string): boolean {
  const attr = new NativeBuffer(PERF_ATTR_SIZE);
  const name = NativeBuffer.string(symbol);
  try {
    attr.view.setUint32(0, pmu, true); // type
    attr.view.setUint32(4, PERF_ATTR_SIZE, true); // size
    attr.view.setBigUint64(56, name.address, true); // config1: kprobe_func
    const fd = perfEventOpen(attr, process.pid, -1, -1, PERF_FLAG_FD_CLOEXEC);
    if (fd < 0) return false;
    closeFd(fd);
    return true;
  } finally {
    attr.free();
    name.free();
  }
}

/** The tracefs way, for kernels without the kprobe PMU: add a kprobe event, then remove it. */
function legacyKprobeAdds(symbol: string): boolean {
  for (const root of ['/sys/kernel/tracing', '/sys/kernel/debug/tracing']) {
    const events = `${root}/kprobe_events`;
    const event = `tsbpf_probe_${process.pid}_sys_bpf`;
    try {
      writeFileSync(events, `p:kprobes/${event} ${symbol}\n`, { flag: 'a' });
    } catch {
      continue;
    }
    try {
      writeFileSync(events, `-:kprobes/${event}\n`, { flag: 'a' });
    } catch {
      // already gone
    }
    return true;
  }
  return false;
}

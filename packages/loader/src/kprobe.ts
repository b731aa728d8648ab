/**
 * Single kprobes and kretprobes: through the kprobe PMU where the kernel
 * has it, else through tracefs kprobe_events (and there always for a
 * kretprobe's maxactive, which the PMU cannot carry); and the kernel symbol
 * of a syscall for ksyscall/kretsyscall (`__x64_sys_openat` where syscalls
 * enter through wrappers, `sys_openat` where not), decided as libbpf does.
 */
import { existsSync } from 'node:fs';
import type { Program } from './program.js';
import { Link, perfEventLink, pmuType, retprobeBit } from './link.js';
import { hasSyscallWrapper, SYSCALL_WRAPPER_ARCH } from './kernel-features.js';
import { NativeBuffer } from './sys/ffi.js';
import { TRACEFS_ROOTS, attachProbeTracefs, tracefsRootFor } from './tracefs-probe.js';
import { INT_MAX, checkInteger, describeValue } from './args.js';
import { LoaderError, NotSupportedError } from './errors.js';

export interface KprobeOptions {
  /** At function return (kretprobe). */
  retprobe?: boolean;
  /** A byte offset into the function (entry probes only). */
  offset?: number;
  /** What bpf_get_attach_cookie() returns in the program. */
  cookie?: bigint;
  /** How many instances of the function a kretprobe can follow at once (1 to 4096; tracefs only, so it makes the probe go through tracefs). */
  maxactive?: number;
  /** Use tracefs kprobe_events even where the kprobe PMU exists. */
  legacy?: boolean;
}

const KPROBE_PMU = '/sys/bus/event_source/devices/kprobe/type';

/**
 * A kprobe (or kretprobe) on a kernel function: through the kprobe PMU, or
 * where there is none (or `legacy`, or a `maxactive`) through tracefs
 * kprobe_events, the event removed again on close. A kernel without
 * kprobes at all is a NotSupportedError naming what is missing.
 */
export function attachKprobe(program: Program, func: string, options: KprobeOptions = {}): Link {
  const context = `program ${program.name}: ${options.retprobe ? 'kretprobe' : 'kprobe'} ${String(func)}`;
  if (typeof func !== 'string' || func === '')
    throw new LoaderError('INVALID_ARGUMENT', `func must be a kernel function name, not ${describeValue(func)}`).addContext(context);
  if (options.offset !== undefined) {
    checkInteger(options.offset, 'offset', 0, INT_MAX, context);
    if (options.retprobe && options.offset !== 0) throw new LoaderError('INVALID_ARGUMENT', 'a kretprobe takes no offset').addContext(context);
  }
  if (options.maxactive !== undefined) {
    if (!options.retprobe) throw new LoaderError('INVALID_ARGUMENT', 'maxactive applies to kretprobes only').addContext(context);
    checkInteger(options.maxactive, 'maxactive', 1, 4096, context);
  }
  if (!existsSync(KPROBE_PMU) && !tracefsRootFor('kprobe'))
    throw new NotSupportedError(
      `no kprobe support in this kernel (no kprobe PMU at ${KPROBE_PMU}, no kprobe_events in ${TRACEFS_ROOTS.join(' or ')})`,
    ).addContext(context);
  if (options.legacy || options.maxactive !== undefined || !existsSync(KPROBE_PMU)) {
    return attachProbeTracefs(
      program,
      { kind: 'kprobe', func, offset: options.offset, retprobe: options.retprobe, maxactive: options.maxactive },
      { cookie: options.cookie },
    );
  }
  const type = pmuType('kprobe');
  const config = options.retprobe ? 1n << BigInt(retprobeBit('kprobe')) : 0n;
  const name = NativeBuffer.string(func);
  return perfEventLink(
    program,
    { type, config, config1: name.address, config2: BigInt(options.offset ?? 0) },
    `${options.retprobe ? 'kretprobe' : 'kprobe'} ${func}`,
    options.cookie,
    [name],
  );
}

export { SYSCALL_WRAPPER_ARCH };

/**
 * The kernel function a ksyscall probe of `syscall` goes on: with syscall
 * wrappers `__<arch>_sys_<syscall>` (`__x64_sys_openat`), without them
 * `sys_<syscall>`. Pure: the architecture and the wrapper answer are
 * arguments (ksyscallSymbol asks the running kernel).
 */
export function syscallSymbol(syscall: string, arch: string, wrapper: boolean): string {
  if (typeof syscall !== 'string' || !/^[a-z0-9_]+$/.test(syscall))
    throw new LoaderError('INVALID_ARGUMENT', `syscall must be a syscall name such as openat, not ${describeValue(syscall)}`);
  if (!wrapper) return `sys_${syscall}`;
  const prefix = SYSCALL_WRAPPER_ARCH[arch];
  if (!prefix) throw new LoaderError('INVALID_ARGUMENT', `no syscall wrapper prefix known for architecture ${arch}`);
  return `__${prefix}_sys_${syscall}`;
}

/**
 * Whether a kallsyms listing shows syscall wrappers for `arch` (it lists
 * `__<arch>_sys_bpf`): the same fact hasSyscallWrapper() learns by opening
 * a kprobe, read from the symbol table where kprobes cannot be opened.
 */
export function kallsymsHasSyscallWrapper(kallsyms: string, arch: string): boolean {
  const prefix = SYSCALL_WRAPPER_ARCH[arch];
  return prefix !== undefined && new RegExp(`^[0-9a-f]+ [tTwW] __${prefix}_sys_bpf$`, 'm').test(kallsyms);
}

/** The running kernel's symbol for `syscall` (LINUX_HAS_SYSCALL_WRAPPER's answer decides the prefix). */
export function ksyscallSymbol(syscall: string): string {
  return syscallSymbol(syscall, process.arch, hasSyscallWrapper());
}

/** A kprobe (or kretprobe) on a syscall's kernel entry point: SEC("ksyscall/NAME") and SEC("kretsyscall/NAME"). */
export function attachKsyscall(program: Program, syscall: string, options: { retprobe?: boolean; cookie?: bigint } = {}): Link {
  return attachKprobe(program, ksyscallSymbol(syscall), options);
}

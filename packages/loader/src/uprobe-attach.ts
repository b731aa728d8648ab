/** attachUprobe and attachUprobeAt: a uprobe on a function by name or at a file offset (with a USDT semaphore), through the uprobe PMU (or tracefs uprobe_events where there is none). */
import type { Program } from './program.js';
import { functionFileOffset } from './elf-symbols.js';
import { resolveProbeTarget } from './library-path.js';
import { type Link, formatBit, perfEventLink, pmuType } from './link.js';
import { NativeBuffer } from './sys/ffi.js';
import { existsSync } from 'node:fs';
import { attachProbeTracefs } from './tracefs-probe.js';
import { INT_MAX, checkInteger } from './args.js';
import { NotSupportedError } from './errors.js';

export interface UprobeOptions {
  /** Attach at function exit (uretprobe). */
  retprobe?: boolean;
  /** Only this process (default: every process that runs the binary); also where a bare library name is looked for. */
  pid?: number;
  /** A byte offset within the function (uprobes only). */
  offset?: number;
  /** What bpf_get_attach_cookie() returns in the program. */
  cookie?: bigint;
  /** The file offset of a semaphore the kernel counts attached probes in (USDT's `ref_ctr_offset`). */
  refCtrOffset?: number;
  /** Through tracefs uprobe_events even where the uprobe PMU exists (the way where it does not). */
  legacy?: boolean;
}

/**
 * A uprobe (or uretprobe) on a function of an executable or library, by
 * symbol name, through the uprobe PMU and a BPF link. `binary` is a path, or
 * a library or program name found as resolveProbeTarget finds it.
 */
export function attachUprobe(program: Program, binary: string, func: string, options: UprobeOptions = {}): Link {
  const context = `program ${program.name}: uprobe ${binary}:${func}`;
  if (options.pid !== undefined) checkInteger(options.pid, 'pid', -1, INT_MAX, context);
  if (options.offset !== undefined) checkInteger(options.offset, 'offset', 0, Number.MAX_SAFE_INTEGER, context);
  const path = resolveProbeTarget(binary, options.pid === -1 ? undefined : options.pid);
  const offset = functionFileOffset(path, func) + (options.offset ?? 0);
  return attachUprobeAt(program, path, offset, { ...options, offset: undefined }, `${binary}:${func}`);
}

/** A uprobe at a file offset of `path` (USDT probe sites, raw offsets), with an optional semaphore. */
export function attachUprobeAt(
  program: Program,
  path: string,
  fileOffset: number,
  options: UprobeOptions = {},
  what = `${path}:0x${fileOffset.toString(16)}`,
): Link {
  const context = `program ${program.name}: uprobe ${what}`;
  if (options.pid !== undefined) checkInteger(options.pid, 'pid', -1, INT_MAX, context);
  checkInteger(fileOffset, 'offset', 0, Number.MAX_SAFE_INTEGER, context);
  if (options.refCtrOffset !== undefined) checkInteger(options.refCtrOffset, 'refCtrOffset', 0, 0xffffffff, context);
  if (options.legacy || !existsSync('/sys/bus/event_source/devices/uprobe/type')) {
    // Semaphores need the PMU's ref_ctr_offset (tracefs takes `path:0xOFF(0xREF)` only since 4.20: not spoken here).
    if (options.refCtrOffset) throw new NotSupportedError(`${context}: a USDT semaphore needs the uprobe PMU`);
    return attachProbeTracefs(
      program,
      { kind: 'uprobe', binary: path, offset: fileOffset, retprobe: options.retprobe },
      { pid: options.pid, cookie: options.cookie },
    );
  }
  const type = pmuType('uprobe');
  let config = options.retprobe ? 1n << BigInt(formatBit('uprobe', 'retprobe')) : 0n;
  if (options.refCtrOffset) config |= BigInt(options.refCtrOffset) << BigInt(formatBit('uprobe', 'ref_ctr_offset'));
  const name = NativeBuffer.string(path);
  return perfEventLink(
    program,
    { type, config, config1: name.address, config2: BigInt(fileOffset), pid: options.pid },
    `${options.retprobe ? 'uretprobe' : 'uprobe'} ${what}`,
    options.cookie,
    [name],
  );
}

/** The running kernel's BTF (and its modules'): read (mapped where the kernel allows), parsed once per process. */
import { closeSync, fstatSync, openSync, readdirSync, statSync } from 'node:fs';
import { normalize } from 'node:path';
import { Btf } from '@tsbpf/object';
import { readAll } from './read-file.js';
import { MAP_PRIVATE, PROT_READ, mmap, munmap, view, type Pointer } from './sys/ffi.js';

export const VMLINUX_BTF = '/sys/kernel/btf/vmlinux';
const SYSFS_BTF = '/sys/kernel/btf/';

/**
 * A kernel BTF file's mapping, where the kernel allows one: only files under
 * /sys/kernel/btf (vmlinux since Linux 6.16; the kernel refuses module
 * files). Only sysfs, as libbpf: a regular file's private mapping would show
 * later changes to the file, and its truncation would fault on the next read.
 */
function mapSysfsBtf(path: string, fd: number): { p: Pointer; size: number } | undefined {
  const { size, dev } = fstatSync(fd);
  if (size <= 0 || !normalize(path).startsWith(SYSFS_BTF)) return undefined;
  if (dev !== (sysfsDevice ??= statSync(SYSFS_BTF).dev)) return undefined;
  const p = mmap(size, PROT_READ, MAP_PRIVATE, fd);
  return typeof p === 'number' ? undefined : { p, size };
}

let sysfsDevice: number | undefined;

/**
 * The bytes of a kernel BTF file, a copy the caller owns. A mapping (above)
 * and a memcpy (~0.5 ms for 5.5 MB here) replace ~1,350 page-sized read(2)
 * calls (~1.5 ms from Node); other files, and kernels that cannot map, are
 * read.
 */
export function readKernelBtfBytes(path = VMLINUX_BTF): Uint8Array {
  const fd = openSync(path, 'r');
  try {
    const mapped = mapSysfsBtf(path, fd);
    if (!mapped) return readAll(fd, fstatSync(fd).size);
    try {
      const copy = Buffer.allocUnsafeSlow(mapped.size);
      copy.set(new Uint8Array(view(mapped.p, mapped.size)));
      return new Uint8Array(copy.buffer, copy.byteOffset, mapped.size);
    } finally {
      munmap(mapped.p, mapped.size);
    }
  } finally {
    closeSync(fd);
  }
}

/**
 * Kernel BTF mappings a Btf reads in place, unmapped once nothing can reach
 * their bytes: the registry holds the ArrayBuffer over a mapping weakly, and
 * every view of its bytes (the Btf's words and strings) keeps it alive.
 */
const mappings = new FinalizationRegistry<{ p: Pointer; size: number }>(({ p, size }) => {
  munmap(p, size);
  liveMappings--;
});
let liveMappings = 0;
/**
 * Unmapping waits for a collection and then a turn of the event loop, so a
 * loop that parses without yielding would pile up mappings (each ~12 KB of
 * page tables and a slot of vm.max_map_count, which the heap's own mappings
 * need too); past this many, parses read a copy instead.
 */
const MAX_LIVE_MAPPINGS = 128;

/** The bytes of a kernel BTF file to parse in place: a mapping (read-only) where one is allowed, else a copy. */
function kernelBtfBytes(path: string): { bytes: Uint8Array; readOnly: boolean } {
  if (liveMappings >= MAX_LIVE_MAPPINGS) return { bytes: readKernelBtfBytes(path), readOnly: false };
  const fd = openSync(path, 'r');
  try {
    const mapped = mapSysfsBtf(path, fd);
    if (!mapped) return { bytes: readAll(fd, fstatSync(fd).size), readOnly: false };
    const buffer = view(mapped.p, mapped.size);
    mappings.register(buffer, mapped);
    liveMappings++;
    return { bytes: new Uint8Array(buffer), readOnly: true };
  } finally {
    closeSync(fd);
  }
}

export interface LoadKernelBtfOptions {
  /** A BTF file: vmlinux (default) or a module's, under /sys/kernel/btf/. */
  path?: string;
  /** Base for split (module) BTF; defaults to vmlinux for module files under /sys/kernel/btf/. */
  base?: Btf;
}

/** The running kernel's BTF (or a module's, on top of vmlinux), parsed. */
export function loadKernelBtf(options: LoadKernelBtfOptions = {}): Btf {
  const path = options.path ?? VMLINUX_BTF;
  let base = options.base;
  if (!base && path.startsWith(SYSFS_BTF) && path !== VMLINUX_BTF) base = runningKernelBtf();
  // No copy of a mapping (libbpf 1.6 parses vmlinux BTF so): the Btf reads
  // it in place and hands out only copies of it (`readOnly`). No 5.5 MB on
  // the heap for the kernel's BTF, and none of the collections it set off.
  const { bytes, readOnly } = kernelBtfBytes(path);
  return Btf.parse(bytes, { base, readOnly });
}

let running: Btf | undefined;
let runningModules: readonly Btf[] | undefined;

/**
 * The running kernel's vmlinux BTF, parsed once per process and kept (as
 * cilium/ebpf keeps it): loads that need it (CO-RE, tp_btf, .ksyms) do not
 * parse 5 MB again each. `flushKernelBtf()` lets it go.
 */
export function runningKernelBtf(): Btf {
  return (running ??= loadKernelBtf());
}

/** Every module's BTF under /sys/kernel/btf, on the running vmlinux; parsed once per process. */
export function runningModuleBtfs(): readonly Btf[] {
  if (runningModules) return runningModules;
  let names: string[] = [];
  try {
    names = readdirSync(SYSFS_BTF).filter((n: string) => n !== 'vmlinux');
  } catch {
    names = []; // a kernel without module BTF
  }
  const vmlinux = runningKernelBtf();
  runningModules = names.flatMap((n) => {
    try {
      return [loadKernelBtf({ path: `${SYSFS_BTF}${n}`, base: vmlinux })];
    } catch {
      return []; // an unreadable module's BTF only removes candidates
    }
  });
  return runningModules;
}

/** Drops the cached kernel and module BTF (memory back; the next load that needs them parses again). */
export function flushKernelBtf(): void {
  running = undefined;
  runningModules = undefined;
}

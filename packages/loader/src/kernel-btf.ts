/** The running kernel's BTF (and its modules'): read (mapped where the kernel allows), parsed once per process. */
import { closeSync, fstatSync, openSync, readdirSync } from 'node:fs';
import { Btf } from '@tsbpf/object';
import { readAll } from './read-file.js';
import { MAP_PRIVATE, PROT_READ, mmap, munmap, view } from './sys/ffi.js';

export const VMLINUX_BTF = '/sys/kernel/btf/vmlinux';
const SYSFS_BTF = '/sys/kernel/btf/';

/**
 * The bytes of a kernel BTF file. Since Linux 6.16 `/sys/kernel/btf/vmlinux`
 * can be mapped: one mmap and a memcpy (~0.85 ms for 5.5 MB here) replace
 * ~1,350 page-sized read(2) calls (~1.5 ms from Node). The mapping is
 * read-only kernel memory, so it is copied and unmapped at once rather than
 * handed out: a write through a view of it would kill the process. Older
 * kernels (and files that cannot be mapped) fall back to reading.
 */
export function readKernelBtfBytes(path = VMLINUX_BTF): Uint8Array {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    if (size > 0) {
      const p = mmap(size, PROT_READ, MAP_PRIVATE, fd);
      if (typeof p !== 'number') {
        try {
          const copy = Buffer.allocUnsafeSlow(size);
          copy.set(new Uint8Array(view(p, size)));
          return new Uint8Array(copy.buffer, copy.byteOffset, size);
        } finally {
          munmap(p, size);
        }
      }
    }
    return readAll(fd, size);
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
  return Btf.parse(readKernelBtfBytes(path), { base });
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

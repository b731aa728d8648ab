/**
 * Stack frames to names, given what was read about the process and the
 * kernel (pure): a user address through the perf map of its JIT, else the
 * file mapping it lies in, translated to a file offset and through the
 * file's load segments to a symbol; a kernel address through kallsyms.
 * Frames nothing names are `[unknown]` with their module.
 */
import { fileOffsetToVaddr, type ElfSymbols } from './elf-symbols.js';
import { findMapping, isFileMapping, type Mapping } from './proc-maps.js';
import type { SymbolTable } from './symbol-table.js';

export type FrameKind = 'user' | 'jit' | 'kernel' | 'unknown';

export interface Frame {
  /** The function's name, or `[unknown] (module)`. */
  readonly name: string;
  readonly kind: FrameKind;
  /** The file, `[anon]`/`[heap]`/... of a user frame; the kernel module of a kernel frame (`vmlinux` for the kernel itself). */
  readonly module: string;
  readonly address: bigint;
}

/** What user frames of one process are named from. */
export interface UserSymbolSources {
  readonly mappings: readonly Mapping[];
  /** /tmp/perf-PID.map, when the process wrote one. */
  readonly perfMap?: SymbolTable;
  /** A mapped file's symbols (undefined: unreadable or not ELF); the caller caches. */
  elf(mapping: Mapping): ElfSymbols | undefined;
}

const basename = (path: string) => path.slice(path.lastIndexOf('/') + 1) || path;

/**
 * One user frame. `returnAddress`: a caller's frame holds the address after
 * its call, which is looked up one byte earlier so a call at a function's
 * very end is not put in the next function.
 */
export function symbolizeUser(address: bigint, returnAddress: boolean, s: UserSymbolSources): Frame {
  const at = returnAddress && address > 0n ? address - 1n : address;
  const jit = s.perfMap?.lookup(at);
  if (jit) return { name: jit.name, kind: 'jit', module: '[jit]', address };
  const m = findMapping(s.mappings, at);
  if (!m) return { name: '[unknown] ([unmapped])', kind: 'unknown', module: '[unmapped]', address };
  const module = isFileMapping(m) ? basename(m.path.replace(/ \(deleted\)$/, '')) : m.path || '[anon]';
  if (isFileMapping(m)) {
    const elf = s.elf(m);
    const vaddr = elf && fileOffsetToVaddr(elf.segments, at - m.start + m.offset);
    const sym = vaddr !== undefined ? elf!.symbols.lookup(vaddr) : undefined;
    if (sym) return { name: sym.name, kind: 'user', module, address };
  }
  return { name: `[unknown] (${module})`, kind: 'unknown', module, address };
}

/** One kernel frame, through the kallsyms table (undefined: not readable). */
export function symbolizeKernel(address: bigint, kallsyms: SymbolTable | undefined): Frame {
  const sym = kallsyms?.lookup(address);
  if (!sym) return { name: '[unknown] (kernel)', kind: 'unknown', module: 'vmlinux', address };
  const mod = /\[(\S+)\]$/.exec(sym.name);
  return { name: sym.name, kind: 'kernel', module: mod ? mod[1]! : 'vmlinux', address };
}

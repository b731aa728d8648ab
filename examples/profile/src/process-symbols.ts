/**
 * The symbol sources of a live process and of the kernel, read from /proc:
 * its maps, its JIT's perf map (/tmp/perf-PID.map), each mapped file's ELF
 * symbols (read once per file, through /proc/PID/root so a process in
 * another mount namespace is read right) and /proc/kallsyms.
 */
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { readElfSymbols, type ElfSymbols } from './elf-symbols.js';
import { parseKallsymsTable } from './kernel-symbols.js';
import { parsePerfMap } from './perf-map.js';
import { parseProcMaps, type Mapping } from './proc-maps.js';
import type { UserSymbolSources } from './symbolize.js';
import type { SymbolTable } from './symbol-table.js';

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** An ELF file's symbols, read in ranges; undefined when it cannot be opened or is not ELF64 LE. */
export function readElfFile(path: string): ElfSymbols | undefined {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return undefined;
  }
  try {
    return readElfSymbols((offset, length) => {
      const b = Buffer.alloc(length);
      const n = readSync(fd, b, 0, length, offset);
      return b.subarray(0, n);
    });
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

/** The kernel's text symbols; undefined when /proc/kallsyms cannot be read. */
export function readKernelSymbols(): SymbolTable | undefined {
  const text = readText('/proc/kallsyms');
  return text === undefined ? undefined : parseKallsymsTable(text);
}

/**
 * What names the user frames of process `pid`: read now, while it runs
 * (a process that has exited has no maps: its frames stay unknown).
 * `elfCache` is shared between processes (keyed by device and inode).
 */
export function processSymbols(pid: number, elfCache = new Map<string, ElfSymbols | undefined>()): UserSymbolSources {
  const mappings = parseProcMaps(readText(`/proc/${pid}/maps`) ?? '');
  const perfText = readText(`/tmp/perf-${pid}.map`);
  return {
    mappings,
    ...(perfText !== undefined ? { perfMap: parsePerfMap(perfText) } : {}),
    elf(m: Mapping) {
      const path = m.path.replace(/ \(deleted\)$/, '');
      const key = `${m.dev}:${m.inode}`;
      if (!elfCache.has(key)) {
        const start = m.start.toString(16);
        const end = m.end.toString(16);
        // map_files reaches the very file mapped (also a deleted one); root/ the path in the process's mount namespace.
        elfCache.set(key, readElfFile(`/proc/${pid}/map_files/${start}-${end}`) ?? readElfFile(`/proc/${pid}/root${path}`));
      }
      return elfCache.get(key);
    },
  };
}

/**
 * The perf map a JIT writes for its code (`/tmp/perf-PID.map`, what `node
 * --perf-basic-prof` writes): lines of `START SIZE name` in hex, parsed into
 * a SymbolTable by a pure function.
 */
import { SymbolTable, type SymbolEntry } from './symbol-table.js';

/** Parses a perf map; malformed lines are skipped, a later line wins where code was replaced at the same address. */
export function parsePerfMap(text: string): SymbolTable {
  const entries: SymbolEntry[] = [];
  for (const line of text.split('\n')) {
    const m = /^(?:0x)?([0-9a-fA-F]+) (?:0x)?([0-9a-fA-F]+) (.+)$/.exec(line.trimEnd());
    if (!m) continue;
    entries.push({ start: BigInt(`0x${m[1]}`), size: BigInt(`0x${m[2]}`), name: m[3]! });
  }
  return new SymbolTable(entries);
}

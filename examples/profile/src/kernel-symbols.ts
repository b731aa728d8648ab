/**
 * Kernel text symbols from a /proc/kallsyms listing, for address → name
 * lookup of kernel stack frames (parsed by a pure function; a module's
 * symbols carry its name as `name [module]`).
 */
import { SymbolTable, type SymbolEntry } from './symbol-table.js';

/** The text symbols (types t, T, w, W) of a kallsyms listing; all-zero addresses (kptr_restrict) are left out. */
export function parseKallsymsTable(text: string): SymbolTable {
  const entries: SymbolEntry[] = [];
  for (const line of text.split('\n')) {
    const m = /^([0-9a-f]+) ([tTwW]) (\S+)(?:\s+\[(\S+)\])?/.exec(line);
    if (!m) continue;
    const start = BigInt(`0x${m[1]}`);
    if (start === 0n) continue;
    entries.push({ start, name: m[4] ? `${m[3]} [${m[4]}]` : m[3]! });
  }
  return new SymbolTable(entries);
}

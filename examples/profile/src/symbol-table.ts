/**
 * SymbolTable: address → symbol lookup over a list of symbols, each a start
 * address and an optional size (a sizeless symbol runs to the next one), as
 * ELF symbol tables, perf maps and kallsyms give them. Pure.
 */

export interface SymbolEntry {
  readonly start: bigint;
  /** Bytes; undefined (or 0): up to the next symbol's start. */
  readonly size?: bigint;
  readonly name: string;
}

/** How far back from the nearest start a lookup looks for an enclosing sized symbol (nested or overlapping ones). */
const SCAN_BACK = 64;

export class SymbolTable {
  private readonly entries: SymbolEntry[];

  /**
   * Symbols in any order. Where two symbols cover an address, the one given
   * later wins (a perf map's later line describes newer code at a reused address).
   */
  constructor(symbols: Iterable<SymbolEntry>) {
    // Array.prototype.sort is stable: equal starts keep their input order.
    this.entries = [...symbols].sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
  }

  get size(): number {
    return this.entries.length;
  }

  /** The symbol covering `address`, with the offset into it; undefined where none does. */
  lookup(address: bigint): { name: string; offset: bigint } | undefined {
    const e = this.entries;
    // The last entry whose start is <= address.
    let lo = 0;
    let hi = e.length - 1;
    let at = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (e[mid]!.start <= address) {
        at = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    if (at < 0) return undefined;
    const nearest = e[at]!;
    for (let i = at; i >= 0 && i > at - SCAN_BACK; i--) {
      const s = e[i]!;
      if (s.size !== undefined && s.size > 0n) {
        if (address < s.start + s.size) return { name: s.name, offset: address - s.start };
      } else if (s === nearest || s.start === nearest.start) {
        // A sizeless symbol covers up to the next start: only the nearest can.
        return { name: s.name, offset: address - s.start };
      }
    }
    return undefined;
  }
}

/**
 * /proc/PID/maps as data: each mapping's address range, permissions, file
 * offset and path (parsed by a pure function), and the mapping an address
 * falls in.
 */

export interface Mapping {
  readonly start: bigint;
  readonly end: bigint;
  /** `r-xp` and the like. */
  readonly perms: string;
  /** The offset in the file the mapping starts at. */
  readonly offset: bigint;
  /** The file's device (`major:minor`, hex). */
  readonly dev: string;
  readonly inode: number;
  /** The file's path, a pseudo-path such as `[heap]` or `[vdso]`, or '' for an anonymous mapping. A deleted file ends in ` (deleted)`. */
  readonly path: string;
}

/** Parses /proc/PID/maps (`start-end perms offset dev inode   path`); malformed lines are skipped. */
export function parseProcMaps(text: string): Mapping[] {
  const out: Mapping[] = [];
  for (const line of text.split('\n')) {
    const m = /^([0-9a-f]+)-([0-9a-f]+)\s+(\S{4})\s+([0-9a-f]+)\s+(\S+)\s+(\d+)\s*(.*)$/.exec(line);
    if (!m) continue;
    out.push({ start: BigInt(`0x${m[1]}`), end: BigInt(`0x${m[2]}`), perms: m[3]!, offset: BigInt(`0x${m[4]}`), dev: m[5]!, inode: Number(m[6]), path: m[7]! });
  }
  return out.sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
}

/** The mapping holding `address` (mappings sorted by start, as parseProcMaps returns them). */
export function findMapping(mappings: readonly Mapping[], address: bigint): Mapping | undefined {
  let lo = 0;
  let hi = mappings.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const m = mappings[mid]!;
    if (address < m.start) hi = mid - 1;
    else if (address >= m.end) lo = mid + 1;
    else return m;
  }
  return undefined;
}

/** True when the mapping is backed by a file (not anonymous, not `[heap]`, `[stack]`, `[vdso]` ...). */
export function isFileMapping(m: Mapping): boolean {
  return m.path.startsWith('/') && m.inode !== 0;
}

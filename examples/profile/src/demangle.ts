/**
 * C++ names demangled for people (`_ZN4node5StartEiPPc` → `node::Start(int,
 * char**)`) by binutils' c++filt, all names in one run; where c++filt is
 * missing or fails, names stay as they are.
 */
import { spawnSync } from 'node:child_process';

/** Each name demangled (same order); names that are not mangled C++ come back unchanged. */
export function demangleAll(names: readonly string[]): string[] {
  const mangled = [...new Set(names.filter((n) => n.startsWith('_Z')))];
  if (mangled.length === 0) return [...names];
  const r = spawnSync('c++filt', [], { input: `${mangled.join('\n')}\n`, encoding: 'utf8', maxBuffer: 256 << 20, timeout: 30_000 });
  const lines = r.status === 0 && typeof r.stdout === 'string' ? r.stdout.split('\n') : [];
  if (lines.length < mangled.length) return [...names];
  const map = new Map(mangled.map((m, i) => [m, lines[i]!]));
  return names.map((n) => map.get(n) ?? n);
}

/** `layoutAsserts`: C `_Static_assert`s that a generated header lays out every type as its BTF does. */
import { btfCTagNames, type Btf } from '@tsbpf/object';

/**
 * A C file that includes a generated header and asserts, at compile time,
 * that `sizeof` and `offsetof` of every named struct and union (and of each
 * named, non-bit-field member) are what the BTF says. Compiling it proves the
 * header reproduces the kernel's layout.
 */
export function layoutAsserts(btf: Btf, header: string): { source: string; asserts: number } {
  const names = btfCTagNames(btf);
  const lines = [`#include "${header}"`, '#define CHECK(c, m) _Static_assert(c, m)'];
  let asserts = 0;
  for (let id = btf.firstTypeId; id < btf.length; id++) {
    const t = btf.type(id);
    if ((t.kind !== 'struct' && t.kind !== 'union') || !t.name) continue;
    const c = `${t.kind} ${names.get(id)!}`;
    lines.push(`CHECK(sizeof(${c}) == ${t.size}, "sizeof ${c}");`);
    asserts++;
    const seen = new Set<string>();
    for (const m of t.members) {
      if (!m.name || m.bitfieldSize || seen.has(m.name)) continue;
      seen.add(m.name);
      lines.push(`CHECK(__builtin_offsetof(${c}, ${m.name}) == ${m.bitOffset / 8}, "offsetof ${c}.${m.name}");`);
      asserts++;
    }
  }
  return { source: lines.join('\n') + '\n', asserts };
}

/** /proc/kallsyms addresses for typeless `.ksyms` externs (parsed by a pure function). */
import { readFileSync } from 'node:fs';

/** What /proc/kallsyms says of a name: its address, or that several symbols share it. */
export type KallsymsEntry = bigint | 'ambiguous';

/**
 * The addresses of the given symbol names in a kallsyms listing (lines of
 * `address type name [module]`), as libbpf reads it for typeless `.ksyms`
 * externs: a name listed twice at different addresses is ambiguous (libbpf
 * refuses it too); names not listed are absent from the result. Pure: the
 * text is an argument.
 */
export function parseKallsyms(text: string, names: ReadonlySet<string>): Map<string, KallsymsEntry> {
  const found = new Map<string, KallsymsEntry>();
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    // "ffffffff821fb620 T schedule" or "... t name\t[module]": the name is the third field.
    const s1 = text.indexOf(' ', start);
    const s2 = s1 < 0 ? -1 : text.indexOf(' ', s1 + 1);
    if (s2 > 0 && s2 < end) {
      let nameEnd = end;
      const tab = text.indexOf('\t', s2 + 1);
      if (tab >= 0 && tab < nameEnd) nameEnd = tab;
      const name = text.slice(s2 + 1, nameEnd);
      if (names.has(name)) {
        const address = BigInt(`0x${text.slice(start, s1)}`);
        const before = found.get(name);
        found.set(name, before === undefined || before === address ? address : 'ambiguous');
      }
    }
    start = end + 1;
  }
  return found;
}

/** The running kernel's addresses for these names (/proc/kallsyms; all zero when kptr_restrict hides them). */
export function readKallsyms(names: ReadonlySet<string>): Map<string, KallsymsEntry> {
  return parseKallsyms(readFileSync('/proc/kallsyms', 'latin1'), names);
}

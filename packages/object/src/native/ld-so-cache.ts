/**
 * /etc/ld.so.cache parsed (what `ldconfig -p` lists): each library's soname,
 * path and ABI flags, in glibc's formats (the current `glibc-ld.so.cache1.1`,
 * alone or after the old `ld.so-1.7.0` table), so a bare library name such as
 * `libc.so.6` can be found the way the dynamic linker finds it.
 */
import { ObjectParseError } from '../errors.js';
import { cString } from './elf-image.js';

export interface LdCacheEntry {
  /** The name looked up (`libc.so.6`). */
  readonly name: string;
  /** Where it is (`/lib/x86_64-linux-gnu/libc.so.6`). */
  readonly path: string;
  /** The entry's flags: the low byte its kind (3: ELF libc6), the next its ABI (see LD_CACHE_ABI). */
  readonly flags: number;
}

/** Flag values of the ABI byte (flags & 0xff00) for the 64-bit ABIs, as ldconfig writes them. */
export const LD_CACHE_ABI: Readonly<Record<string, number>> = {
  x64: 0x0300,
  s390x: 0x0400,
  ppc64: 0x0500,
  arm64: 0x0a00,
  riscv64: 0x1000,
};

const OLD_MAGIC = 'ld.so-1.7.0';
const NEW_MAGIC = 'glibc-ld.so.cache1.1';
const NEW_HEADER = 48;
const NEW_ENTRY = 24;
const OLD_ENTRY = 12;

function invalid(why: string): ObjectParseError {
  return new ObjectParseError('LD_CACHE_INVALID', why);
}

function startsWith(bytes: Uint8Array, at: number, text: string): boolean {
  if (at + text.length > bytes.length) return false;
  for (let i = 0; i < text.length; i++) if (bytes[at + i] !== text.charCodeAt(i)) return false;
  return true;
}

/** Every entry of the cache, in its order (the dynamic linker takes the first that fits). */
export function parseLdSoCache(bytes: Uint8Array): LdCacheEntry[] {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let start = 0;
  if (startsWith(bytes, 0, OLD_MAGIC)) {
    // The old table: 12-byte magic, a count, 12-byte entries; the new format follows, 8-byte aligned.
    if (bytes.length < 16) throw invalid('the old-format header is cut short');
    const count = v.getUint32(12, true);
    const end = 16 + count * OLD_ENTRY;
    if (end > bytes.length) throw invalid(`${count} old-format entries do not fit in ${bytes.length} bytes`);
    start = (end + 7) & ~7;
    if (!startsWith(bytes, start, NEW_MAGIC)) throw invalid('only the old format (ld.so-1.7.0) without the glibc 2.2+ table is not supported');
  } else if (!startsWith(bytes, 0, NEW_MAGIC)) {
    throw invalid('not an ld.so.cache (no glibc-ld.so.cache1.1 magic)');
  }
  if (start + NEW_HEADER > bytes.length) throw invalid('the header is cut short');
  const count = v.getUint32(start + 20, true);
  const entriesEnd = start + NEW_HEADER + count * NEW_ENTRY;
  if (entriesEnd > bytes.length) throw invalid(`${count} entries do not fit in ${bytes.length} bytes`);
  const out: LdCacheEntry[] = [];
  // String offsets count from the start of the new-format header.
  const string = (offset: number, what: string) => {
    const at = start + offset;
    if (at >= bytes.length) throw invalid(`entry ${out.length}: its ${what} at ${offset} is past the end`);
    return cString(bytes, at);
  };
  for (let i = 0; i < count; i++) {
    const at = start + NEW_HEADER + i * NEW_ENTRY;
    const flags = v.getInt32(at, true);
    out.push({ name: string(v.getUint32(at + 4, true), 'name'), path: string(v.getUint32(at + 8, true), 'path'), flags });
  }
  return out;
}

/**
 * The path of library `name` in the cache for this ABI (`LD_CACHE_ABI`'s
 * value; undefined: any), as the dynamic linker picks it: the first entry
 * of that name whose flags say ELF libc6 and the ABI.
 */
export function findInLdSoCache(entries: readonly LdCacheEntry[], name: string, abi?: number): string | undefined {
  const FLAG_ELF_LIBC6 = 3;
  for (const e of entries) {
    if (e.name !== name || (e.flags & 0xff) !== FLAG_ELF_LIBC6) continue;
    if (abi === undefined || (e.flags & 0xff00) === abi) return e.path;
  }
  return undefined;
}

/** functionFileOffset: where a function lies in an executable or library file, for uprobes. */
import { readFileSync } from 'node:fs';
import { LoaderError } from './errors.js';

/**
 * The file offset of a function in an executable or shared library (ELF64,
 * little-endian), for uprobes: the symbol's address translated through the
 * PT_LOAD segment that maps it, as libbpf's elf_find_func_offset does.
 * Looks in .symtab, then .dynsym.
 */
export function functionFileOffset(path: string, name: string): number {
  const b = readFileSync(path);
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const fail = (why: string) => new LoaderError('ATTACH_TARGET', why).addContext(path);
  if (b.length < 64 || b[0] !== 0x7f || b[1] !== 0x45 || b[2] !== 0x4c || b[3] !== 0x46) throw fail('not an ELF file');
  if (b[4] !== 2 || b[5] !== 1) throw fail('only 64-bit little-endian ELF is supported');
  const u64 = (at: number) => Number(v.getBigUint64(at, true));
  const phoff = u64(0x20);
  const shoff = u64(0x28);
  const phnum = v.getUint16(0x38, true);
  const shnum = v.getUint16(0x3c, true);
  const sections = Array.from({ length: shnum }, (_, i) => {
    const h = shoff + i * 64;
    return { type: v.getUint32(h + 4, true), offset: u64(h + 24), size: u64(h + 32), link: v.getUint32(h + 40, true), entsize: u64(h + 56) };
  });
  const SHT_SYMTAB = 2;
  const SHT_DYNSYM = 11;
  const STT_FUNC = 2;
  let address: number | undefined;
  for (const type of [SHT_SYMTAB, SHT_DYNSYM]) {
    for (const s of sections.filter((x) => x.type === type)) {
      const strtab = sections[s.link];
      if (!strtab) continue;
      for (let at = s.offset; at + 24 <= s.offset + s.size; at += 24) {
        if ((b[at + 4]! & 0xf) !== STT_FUNC) continue;
        const value = u64(at + 8);
        if (value === 0) continue;
        let p = strtab.offset + v.getUint32(at, true);
        let i = 0;
        while (i < name.length && b[p] === name.charCodeAt(i)) {
          p++;
          i++;
        }
        // Versioned dynamic names (getpid@@GLIBC_2.2.5) match on the part before '@'.
        if (i === name.length && (b[p] === 0 || b[p] === 0x40)) {
          address = value;
          break;
        }
      }
      if (address !== undefined) break;
    }
    if (address !== undefined) break;
  }
  if (address === undefined) throw fail(`no function ${name}`);
  const PT_LOAD = 1;
  for (let i = 0; i < phnum; i++) {
    const h = phoff + i * 56;
    if (v.getUint32(h, true) !== PT_LOAD) continue;
    const offset = u64(h + 8);
    const vaddr = u64(h + 16);
    const filesz = u64(h + 32);
    if (address >= vaddr && address < vaddr + filesz) return address - vaddr + offset;
  }
  throw fail(`function ${name} at 0x${address.toString(16)} is in no loadable segment`);
}

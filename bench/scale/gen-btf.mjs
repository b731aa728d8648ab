// Synthetic module BTF for bench/scale: this VM's kernel has no module BTF
// (CONFIG_DEBUG_INFO_BTF_MODULES is off), so the "kernel plus N modules"
// curve parses blobs made here, split on the running vmlinux BTF as pahole
// makes a module's: type ids continue after the kernel's, string offsets
// after the kernel's strings, members refer to kernel types. Each module has
// STRUCTS structs with 4 members, a pointer to each, a function and its
// prototype per struct, and a last struct named bench_module_root.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const STRUCTS = 375;

const KIND = { ptr: 2, struct: 4, func: 12, funcProto: 13 };

/** The ids and sizes a module needs from the base (a tsbpf Btf of vmlinux). */
function baseFacts(base) {
  const id = (name, kind) => {
    const t = base.findByName(name, kind);
    if (!t) throw new Error(`vmlinux BTF has no ${kind} ${name}`);
    return t.id;
  };
  return { next: base.length, strEnd: base.stringsEnd, int: id('int', 'int'), ulong: id('long unsigned int', 'int') };
}

/** One module's split BTF blob (little-endian, as this machine's kernel). */
export function moduleBtf(base, m, structs = STRUCTS) {
  const b = baseFacts(base);
  const strs = ['\0'];
  let strLen = 1;
  const str = (s) => {
    const off = b.strEnd + strLen;
    strs.push(s, '\0');
    strLen += Buffer.byteLength(s) + 1;
    return off;
  };
  const words = [];
  const type = (name, kind, vlen, sizeOrType, ...rest) => words.push(name, ((kind & 0x1f) << 24) | (vlen & 0xffff), sizeOrType, ...rest);
  const ptr = (j) => b.next + 4 * j;
  const names = { a: str('a'), b: str('b'), next: str('next'), peer: str('peer'), s: str('s'), first: str('first') };
  for (let j = 0; j < structs; j++) {
    type(0, KIND.ptr, 0, ptr(j) + 1);
    type(
      str(`bench_m${m}_s${j}`),
      KIND.struct,
      4,
      32,
      names.a,
      b.int,
      0,
      names.b,
      b.ulong,
      64,
      names.next,
      ptr(j),
      128,
      names.peer,
      ptr((j + structs - 1) % structs),
      192,
    );
    type(0, KIND.funcProto, 1, b.int, names.s, ptr(j));
    type(str(`bench_m${m}_f${j}`), KIND.func, 1, ptr(j) + 2);
  }
  type(str('bench_module_root'), KIND.struct, 1, 8, names.first, ptr(0), 0);
  const typeBytes = Buffer.from(new Uint32Array(words).buffer);
  const strBytes = Buffer.from(strs.join(''), 'latin1');
  const header = Buffer.alloc(24);
  header.writeUInt16LE(0xeb9f, 0);
  header.writeUInt8(1, 2);
  header.writeUInt32LE(24, 4);
  header.writeUInt32LE(0, 8);
  header.writeUInt32LE(typeBytes.length, 12);
  header.writeUInt32LE(typeBytes.length, 16);
  header.writeUInt32LE(strBytes.length, 20);
  return Buffer.concat([header, typeBytes, strBytes]);
}

/** Writes count modules into dir (mod-000.btf, ...); returns their paths. */
export function writeModules(base, dir, count) {
  mkdirSync(dir, { recursive: true });
  return Array.from({ length: count }, (_, m) => {
    const path = join(dir, `mod-${String(m).padStart(3, '0')}.btf`);
    writeFileSync(path, moduleBtf(base, m));
    return path;
  });
}

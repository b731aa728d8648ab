/**
 * The one file that imports koffi: the libc functions the loader calls, bound
 * once. Everything above works with plain numbers, bigints and typed arrays.
 */
import koffi from 'koffi';

const libc = koffi.load('libc.so.6');

/** An address returned by libc (mmap), opaque to JavaScript. */
export type Pointer = unknown;

const mmapFn = libc.func('void *mmap(void *addr, size_t length, int prot, int flags, int fd, long offset)');
const munmapFn = libc.func('int munmap(void *addr, size_t length)');

/** MAP_FAILED is (void *)-1. */
const MAP_FAILED = 0xffffffffffffffffn;

export const PROT_READ = 0x1;
export const MAP_PRIVATE = 0x02;

/** mmap(2); returns the mapping, or a negative errno. */
export function mmap(length: number, prot: number, flags: number, fd: number, offset = 0): Pointer | number {
  const p = mmapFn(null, length, prot, flags, fd, offset) as Pointer;
  if (p === null || koffi.address(p) === MAP_FAILED) return -koffi.errno();
  return p;
}

export function munmap(p: Pointer, length: number): void {
  munmapFn(p, length);
}

/** The bytes of a mapping, as an ArrayBuffer over that memory (valid until munmap). */
export function view(p: Pointer, length: number): ArrayBuffer {
  return koffi.view(p, length) as ArrayBuffer;
}

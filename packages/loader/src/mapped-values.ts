/**
 * The values of an array map created with BPF_F_MMAPABLE mapped into this
 * process (libbpf skeleton style): read-write, or read-only when the map is
 * frozen (the kernel refuses a writable mapping of it).
 */
import { SyscallError } from './sys/errors.js';
import { MAP_SHARED, PROT_READ, PROT_WRITE, mmap, munmap, pageSize, view, type Pointer } from './sys/ffi.js';

const EPERM = 1;
const EACCES = 13;

export interface MappedValues {
  readonly ptr: Pointer;
  readonly length: number;
  /** Element i at i × (value size rounded up to 8). */
  readonly view: DataView;
  readonly writable: boolean;
}

/** Maps the `maxEntries` values of the array behind `fd`. */
export function mapArrayValues(fd: number, valueSize: number, maxEntries: number, context: string): MappedValues {
  const page = pageSize();
  const bytes = Math.ceil(valueSize / 8) * 8 * maxEntries;
  const length = Math.max(page, Math.ceil(bytes / page) * page);
  let ptr = mmap(length, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  let writable = true;
  if (typeof ptr === 'number' && (ptr === -EPERM || ptr === -EACCES)) {
    // A frozen map (.rodata) maps read-only.
    ptr = mmap(length, PROT_READ, MAP_SHARED, fd, 0);
    writable = false;
  }
  if (typeof ptr === 'number') throw new SyscallError('mmap', -ptr, context);
  return { ptr, length, writable, view: new DataView(view(ptr, length), 0, bytes) };
}

export function unmapArrayValues(m: MappedValues): void {
  munmap(m.ptr, m.length);
}

/**
 * BPF_OBJ_GET_INFO_BY_FD in the two calls the kernel's variable-length
 * parts need: the first reads the fixed fields and how long each array is,
 * the second, given native memory for the arrays asked for, their contents.
 * What comes back is copies (an InfoBlock and byte arrays); the native
 * memory is freed before returning.
 */
import { NativeBuffer } from './ffi.js';
import { getField, getName, setField } from './fields.js';
import type { Field } from './layouts.generated.js';
import { objGetInfoByFd } from './obj-cmds.js';

/** An info struct as the kernel filled it (a copy), read through its generated layout. */
export class InfoBlock {
  private readonly view: DataView;
  constructor(readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** An unsigned integer field (8-byte ones exact below 2^53), or a bit-field's value. */
  number(f: Field): number {
    const v = getField(this.view, f);
    if (f.bits === undefined) return v;
    return Math.floor(v / 2 ** (f.bit ?? 0)) % 2 ** f.bits;
  }

  /** A 64-bit field, exactly. */
  bigint(f: Field): bigint {
    return this.view.getBigUint64(f.offset, true);
  }

  /** A signed 32-bit field. */
  int(f: Field): number {
    return this.view.getInt32(f.offset, true);
  }

  /** A char array field up to its NUL. */
  name(f: Field): string {
    return getName(this.bytes, f);
  }

  /** A byte array field (a tag). */
  raw(f: Field): Uint8Array {
    return this.bytes.slice(f.offset, f.offset + f.size);
  }
}

/** A variable-length array of an info struct. */
export interface InfoArray {
  /** The field that says how many elements (the kernel writes how many there are). */
  count: Field;
  /** The field that takes the array's address. */
  pointer: Field;
  /** Bytes an element: a number, or the field the kernel gives it in (func_info_rec_size). */
  element: number | Field;
  /** Room for more elements than `count` says (a name whose length leaves out its NUL). */
  extra?: number;
}

const MAX_ARRAY_BYTES = 256 * 1024 * 1024;

/**
 * Reads the info of `fd` (`size` bytes of it), then, for the arrays that
 * `arrays(first)` asks for and that are not empty, their contents. An
 * array that grew between the calls is cut at the length read first.
 */
export function readInfoArrays<K extends string>(
  fd: number,
  size: number,
  arrays: (first: InfoBlock) => Partial<Record<K, InfoArray>>,
  context?: string,
): { info: InfoBlock; arrays: Partial<Record<K, Uint8Array>> } {
  const buffer = new NativeBuffer(size);
  const held: NativeBuffer[] = [];
  try {
    objGetInfoByFd(fd, buffer, context);
    const first = new InfoBlock(buffer.bytes.slice());
    const wanted = Object.entries(arrays(first)) as [K, InfoArray][];
    const plan: { name: K; array: InfoArray; memory: NativeBuffer; bytes: number; element: number }[] = [];
    for (const [name, array] of wanted) {
      const count = first.number(array.count) + (array.extra ?? 0);
      const element = typeof array.element === 'number' ? array.element : first.number(array.element);
      if (count === 0 || element === 0 || first.number(array.count) === 0) continue;
      const bytes = Math.min(count * element, MAX_ARRAY_BYTES);
      const memory = new NativeBuffer(bytes);
      held.push(memory);
      plan.push({ name, array, memory, bytes, element });
    }
    const out: Partial<Record<K, Uint8Array>> = {};
    if (plan.length === 0) return { info: first, arrays: out };
    buffer.bytes.fill(0);
    for (const p of plan) {
      setField(buffer.view, p.array.count, Math.floor(p.bytes / p.element));
      setField(buffer.view, p.array.pointer, p.memory.address);
      if (typeof p.array.element !== 'number') setField(buffer.view, p.array.element, p.element);
    }
    objGetInfoByFd(fd, buffer, context);
    for (const p of plan) {
      const filled = Math.min(getField(buffer.view, p.array.count) + (p.array.extra ?? 0), Math.floor(p.bytes / p.element));
      out[p.name] = p.memory.bytes.slice(0, filled * p.element);
    }
    return { info: first, arrays: out };
  } finally {
    buffer.free();
    for (const m of held) m.free();
  }
}

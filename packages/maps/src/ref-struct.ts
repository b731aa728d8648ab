/**
 * An adapter for ref-struct-di struct types (an optional peer dependency):
 * code that already describes its structs with ref-struct-di can use them as
 * map keys and values. Only the StructType's own interface is used, so
 * neither ref-struct-di nor a `ref` implementation is imported here.
 */
import type { Codec } from './codec.js';
import { CodecError } from './errors.js';

/** The parts of a ref-struct-di instance the adapter uses. */
export interface RefStructInstance<T> {
  ref(): Uint8Array;
  toObject(): T;
}

/** The parts of a ref-struct-di `StructType` the adapter uses. */
export interface RefStructType<T> {
  readonly size: number;
  readonly alignment: number;
  readonly fields: Readonly<Record<string, { readonly offset: number; readonly type: { readonly size: number } }>>;
  new (input?: Uint8Array | Partial<T>): RefStructInstance<T>;
}

/** A `Codec<T>` over a ref-struct-di struct type; values are its `toObject()` form. */
export function fromRefStruct<T extends object>(type: RefStructType<T>, name = 'ref-struct'): Codec<T> {
  if (!Number.isInteger(type.size) || type.size <= 0 || typeof type.fields !== 'object') {
    throw new CodecError('CODEC_LAYOUT', `${name}: not a ref-struct-di struct type`);
  }
  const size = type.size;
  return {
    name,
    size,
    align: type.alignment,
    decode(view, offset) {
      // A copy: the view is usually a reused native buffer, and ref-struct keeps the one it is given.
      const bytes = Buffer.from(new Uint8Array(view.buffer, view.byteOffset + offset, size));
      return new type(bytes).toObject();
    },
    encode(value, view, offset) {
      let bytes: Uint8Array;
      try {
        bytes = new type(value).ref();
      } catch (e) {
        throw new CodecError('CODEC_TYPE', `${name}: cannot encode ${JSON.stringify(value)}: ${(e as Error).message}`, { cause: e });
      }
      new Uint8Array(view.buffer, view.byteOffset + offset, size).set(bytes.subarray(0, size));
    },
  };
}

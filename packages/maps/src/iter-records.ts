/**
 * iterRecords: the output of a BPF iterator run as decoded fixed-size
 * records (what the program wrote with `bpf_seq_write`), an async iterable
 * over the link's byte stream, with the codec given or built from BTF.
 */
import { LoaderError, type IterLink } from '@tsbpf/loader';
import type { Btf } from '@tsbpf/object';
import { type Codec } from './codec.js';
import { CodecError } from './errors.js';
import { codecFromBtf } from './from-btf.js';

/** A record type by name in an object's BTF (`spec.btf`): a struct, union or typedef. */
export interface BtfRecordType {
  btf: Btf;
  type: string;
}

function recordCodec(type: BtfRecordType): Codec<unknown> {
  const { btf, type: name } = type;
  if (typeof name !== 'string') throw new LoaderError('INVALID_ARGUMENT', `type must be a type name, not ${typeof name}`);
  const found = btf.findByName(name, 'struct') ?? btf.findByName(name, 'union') ?? btf.findByName(name, 'typedef');
  if (!found)
    throw new CodecError(
      'CODEC_LAYOUT',
      `no struct, union or typedef ${name} in this BTF (a type only local variables use is not emitted: use it in a global)`,
    );
  return codecFromBtf(btf, found.id);
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** What IterLink.open() gives, as far as this file uses it (a Node Readable). */
type ByteStream = ReturnType<IterLink['open']>;

async function* decodeStream<T>(stream: ByteStream, codec: Codec<T>, what: string): AsyncGenerator<T, void, undefined> {
  const size = codec.size;
  let held = new Uint8Array(0);
  try {
    for await (const chunk of stream as AsyncIterable<Uint8Array>) {
      const bytes = held.length ? concat(held, chunk) : chunk;
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      const whole = bytes.length - (bytes.length % size);
      // Decode the chunk's records before yielding any: the next chunk is read only when they are consumed.
      const records: T[] = [];
      for (let at = 0; at < whole; at += size) records.push(codec.decode(view, at));
      held = bytes.slice(whole);
      yield* records;
    }
  } finally {
    stream.destroy(); // closes the iterator fd when the loop breaks early
  }
  if (held.length) {
    throw new CodecError('CODEC_SIZE', `the output ends with ${held.length} bytes, less than one ${size}-byte ${codec.name}`).addContext(what);
  }
}

/**
 * A new run of an iterator as records: every `codec.size` bytes of its
 * output decoded (an output that is no whole number of records ends with
 * CodecError CODEC_SIZE). The fd opens now (a closed link: CLOSED) and
 * closes when the iteration ends or breaks.
 */
export function iterRecords<T>(link: IterLink, codec: Codec<T>): AsyncIterableIterator<T>;
export function iterRecords(link: IterLink, type: BtfRecordType): AsyncIterableIterator<unknown>;
export function iterRecords(link: IterLink, codecOrType: Codec<unknown> | BtfRecordType): AsyncIterableIterator<unknown> {
  if (typeof codecOrType !== 'object' || codecOrType === null) throw new LoaderError('INVALID_ARGUMENT', 'give a codec or { btf, type }');
  const codec = 'btf' in codecOrType ? recordCodec(codecOrType) : codecOrType;
  if (!Number.isInteger(codec.size) || codec.size <= 0) {
    throw new LoaderError('INVALID_ARGUMENT', `records need a codec of at least one byte, not ${String(codec.size)}`);
  }
  return decodeStream(link.open(), codec, link.description);
}

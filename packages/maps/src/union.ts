/**
 * How unions encode: the member changed since the decode (decoded objects
 * remember their union's bytes), or the one given.
 */
import type { Codec } from './codec.js';
import { CodecError } from './errors.js';
import type { PlacedField } from './composite.js';

/**
 * What a C union's members were when they were decoded: the union's bytes,
 * remembered per decoded object (a named union's value, or the struct an
 * anonymous union's members were lifted into), so that encoding can tell
 * which member the caller changed. A union holds one thing: after a decode
 * every member is a view of the same bytes, and writing "the first member
 * given" would silently drop an edit to any other.
 */
const baselines = new WeakMap<object, Map<unknown, Uint8Array>>();

export function rememberUnionBytes(holder: object, union: unknown, bytes: Uint8Array): void {
  let m = baselines.get(holder);
  if (!m) baselines.set(holder, (m = new Map()));
  m.set(union, bytes);
}

function unionBytes(holder: object, union: unknown): Uint8Array | undefined {
  return baselines.get(holder)?.get(union);
}

/** Structural equality of decoded values: numbers, bigints, strings, booleans, typed arrays, arrays, plain objects. */
export function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (ArrayBuffer.isView(a) || ArrayBuffer.isView(b)) {
    if (!ArrayBuffer.isView(a) || !ArrayBuffer.isView(b) || a.constructor !== b.constructor) return false;
    const x = a as unknown as ArrayLike<unknown>;
    const y = b as unknown as ArrayLike<unknown>;
    if (x.length !== y.length) return false;
    for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
    return true;
  }
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  for (const k of ka) if (!sameValue((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])) return false;
  return true;
}

/**
 * A union member as encodeUnion weighs it: the fields it puts in the object
 * (one, or those of an anonymous struct, which change and are written together).
 */
export type UnionMember = readonly PlacedField[];

const label = (m: UnionMember) => (m.length === 1 ? m[0]!.name : `{ ${m.map((f) => f.name).join(', ')} }`);

/**
 * Writes a union: the member the caller changed since the decode (over the
 * bytes as they were), or, for values built by hand, the one member given,
 * or members that all say the same thing. Members that disagree with no
 * decode to tell which is new are an error, never a silent choice.
 */
export function encodeUnion(
  name: string,
  size: number,
  members: readonly UnionMember[],
  holder: object,
  union: unknown,
  given: Readonly<Record<string, unknown>>,
  view: DataView,
  offset: number,
  required: boolean,
): void {
  const region = new Uint8Array(view.buffer, view.byteOffset + offset, size);
  const defined = members.filter((m) => m.some((f) => given[f.name] !== undefined));
  const write = (m: UnionMember, into: DataView, at: number) => {
    for (const f of m) {
      try {
        f.codec.encode(given[f.name], into, at + f.offset);
      } catch (e) {
        if (e instanceof CodecError) e.addContext(`${name}.${f.name}`);
        throw e;
      }
    }
  };
  const agrees = (m: UnionMember, bytes: DataView) => m.every((f) => sameValue(f.codec.decode(bytes, f.offset), given[f.name]));

  const before = unionBytes(holder, union);
  if (before) {
    const old = new DataView(before.buffer, before.byteOffset, size);
    const changed = defined.filter((m) => !agrees(m, old));
    if (changed.length > 1) {
      throw new CodecError('CODEC_MEMBER', `${name}: ${changed.map(label).join(' and ')} both changed; a union holds one of them`);
    }
    region.set(before);
    if (changed.length === 1) write(changed[0]!, view, offset);
    return;
  }

  region.fill(0);
  if (defined.length === 0) {
    if (required) throw new CodecError('CODEC_MEMBER', `${name}: give one of ${members.map(label).join(', ')}`);
    return;
  }
  if (defined.length === 1) return write(defined[0]!, view, offset);
  // Built by hand with several members: fine if one of them accounts for all the others.
  const scratch = new DataView(new ArrayBuffer(size));
  const width = (m: UnionMember) => Math.max(...m.map((f) => f.offset + f.codec.size));
  for (const m of [...defined].sort((x, y) => width(y) - width(x))) {
    new Uint8Array(scratch.buffer).fill(0);
    write(m, scratch, 0);
    if (defined.every((o) => o === m || agrees(o, scratch))) {
      region.set(new Uint8Array(scratch.buffer));
      return;
    }
  }
  throw new CodecError(
    'CODEC_MEMBER',
    `${name}: ${defined.map(label).join(', ')} disagree, and this object is not one tsbpf decoded (a copy?), so which changed is unknown: ` +
      'a union holds one member; give only the one you mean, or change the decoded object in place',
  );
}

/** A codec whose decoded members are merged into the parent object (an anonymous member). */
export interface InlineCodec extends Codec<Record<string, unknown>> {
  decodeInto(target: Record<string, unknown>, view: DataView, offset: number): void;
}

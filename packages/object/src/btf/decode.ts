/** One BTF type record (words) decoded into its plain-object form. */
import { ObjectParseError } from '../errors.js';
import { BtfKind, type BtfMember, type BtfType } from './types.js';
import { kflagOf, kindOf, vlenOf } from './layout.js';

/** Kinds that only refer to another type, by number. */
const REF_KINDS: Partial<Record<number, 'ptr' | 'typedef' | 'volatile' | 'const' | 'restrict' | 'type_tag'>> = {
  [BtfKind.ptr]: 'ptr',
  [BtfKind.typedef]: 'typedef',
  [BtfKind.volatile]: 'volatile',
  [BtfKind.const]: 'const',
  [BtfKind.restrict]: 'restrict',
  [BtfKind.type_tag]: 'type_tag',
};

/**
 * Decodes the type record at word offset `off` (its extent already validated
 * by `indexTypes`) into its plain-object form. `str` maps a name offset to its
 * string (throwing BTF_INVALID when out of range); `typeCount` bounds the ids
 * that members, parameters and DATASEC entries may refer to, which the index
 * pass leaves to this point to stay fast.
 */
export function decodeType(words: Uint32Array, off: number, id: number, str: (offset: number) => string, typeCount: number): BtfType {
  const ref = (typeId: number): number => {
    if (typeId >= typeCount) {
      throw new ObjectParseError('BTF_INVALID', `type [${id}] refers to type [${typeId}], past the last type [${typeCount - 1}]`);
    }
    return typeId;
  };
  const info = words[off + 1]!;
  const kind = kindOf(info);
  const vlen = vlenOf(info);
  const kflag = kflagOf(info);
  const name = str(words[off]!);
  const sizeOrType = words[off + 2]!;
  const p = off + 3;
  switch (kind) {
    case BtfKind.int: {
      const v = words[p]!;
      const encoding = (v >>> 24) & 0x0f;
      return {
        kind: 'int',
        id,
        name,
        size: sizeOrType,
        encoding,
        signed: (encoding & 1) !== 0,
        bitOffset: (v >>> 16) & 0xff,
        bits: v & 0xff,
      };
    }
    case BtfKind.ptr:
    case BtfKind.typedef:
    case BtfKind.volatile:
    case BtfKind.const:
    case BtfKind.restrict:
    case BtfKind.type_tag:
      return { kind: REF_KINDS[kind]!, id, name, type: sizeOrType };
    case BtfKind.array:
      return { kind: 'array', id, name, type: words[p]!, indexType: words[p + 1]!, nelems: words[p + 2]! };
    case BtfKind.struct:
    case BtfKind.union: {
      const members: BtfMember[] = new Array(vlen);
      for (let i = 0; i < vlen; i++) {
        const m = p + i * 3;
        const offset = words[m + 2]!;
        members[i] = {
          name: str(words[m]!),
          type: ref(words[m + 1]!),
          // With kind_flag set, the offset word packs the bitfield size in its top byte.
          bitOffset: kflag ? offset & 0xffffff : offset,
          bitfieldSize: kflag ? offset >>> 24 : 0,
        };
      }
      return { kind: kind === BtfKind.struct ? 'struct' : 'union', id, name, size: sizeOrType, members };
    }
    case BtfKind.enum: {
      const values = new Array<{ name: string; value: number }>(vlen);
      for (let i = 0; i < vlen; i++) {
        const raw = words[p + i * 2 + 1]!;
        values[i] = { name: str(words[p + i * 2]!), value: kflag ? raw | 0 : raw };
      }
      return { kind: 'enum', id, name, size: sizeOrType, signed: kflag, values };
    }
    case BtfKind.enum64: {
      const values = new Array<{ name: string; value: bigint }>(vlen);
      for (let i = 0; i < vlen; i++) {
        const m = p + i * 3;
        const raw = (BigInt(words[m + 2]!) << 32n) | BigInt(words[m + 1]!);
        values[i] = { name: str(words[m]!), value: kflag ? BigInt.asIntN(64, raw) : raw };
      }
      return { kind: 'enum64', id, name, size: sizeOrType, signed: kflag, values };
    }
    case BtfKind.fwd:
      return { kind: 'fwd', id, name, fwdKind: kflag ? 'union' : 'struct' };
    case BtfKind.func:
      return { kind: 'func', id, name, type: sizeOrType, linkage: vlen };
    case BtfKind.func_proto: {
      const params = new Array<{ name: string; type: number }>(vlen);
      for (let i = 0; i < vlen; i++) params[i] = { name: str(words[p + i * 2]!), type: ref(words[p + i * 2 + 1]!) };
      return { kind: 'func_proto', id, name, returnType: sizeOrType, params };
    }
    case BtfKind.var:
      return { kind: 'var', id, name, type: sizeOrType, linkage: words[p]! };
    case BtfKind.datasec: {
      const vars = new Array<{ type: number; offset: number; size: number }>(vlen);
      for (let i = 0; i < vlen; i++) {
        const m = p + i * 3;
        vars[i] = { type: ref(words[m]!), offset: words[m + 1]!, size: words[m + 2]! };
      }
      return { kind: 'datasec', id, name, size: sizeOrType, vars };
    }
    case BtfKind.float:
      return { kind: 'float', id, name, size: sizeOrType };
    case BtfKind.decl_tag:
      return { kind: 'decl_tag', id, name, type: sizeOrType, componentIdx: words[p]! | 0 };
    default:
      // indexTypes rejects unknown kinds, so this is unreachable for indexed records.
      throw new Error(`unreachable: BTF kind ${kind}`);
  }
}

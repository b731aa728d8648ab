import type { ByteOrder } from '../errors.js';
import { BtfKind, type BtfKindName } from '../btf/types.js';

/**
 * Builds BTF blobs word by word for unit tests (edge cases no compiler emits
 * on demand). Names are interned into the string section; `add*` methods
 * return the new type's id.
 */
export class BtfBuilder {
  private readonly words: number[] = [];
  private readonly strings: string[] = [''];
  private readonly stringOffsets = new Map<string, number>([['', 0]]);
  private stringLength = 1;
  private nextId: number;

  constructor(
    /** For split BTF: the base's type count and string length. */
    private readonly base: { types: number; strLen: number } = { types: 1, strLen: 0 },
  ) {
    this.nextId = base.types;
    if (base.strLen > 0) {
      // Split BTF's own string section starts right after the base's.
      this.strings.length = 0;
      this.stringOffsets.clear();
      this.stringLength = 0;
    }
  }

  str(s: string): number {
    let off = this.stringOffsets.get(s);
    if (off === undefined) {
      off = this.base.strLen + this.stringLength;
      this.stringOffsets.set(s, off);
      this.strings.push(s);
      this.stringLength += new TextEncoder().encode(s).length + 1;
    }
    return off;
  }

  /** A raw record: common header + extra words. */
  raw(name: string, kind: BtfKindName | number, vlen: number, kflag: boolean, sizeOrType: number, extra: number[] = []): number {
    const k = typeof kind === 'number' ? kind : BtfKind[kind];
    this.words.push(this.str(name), ((kflag ? 1 : 0) << 31) | (k << 24) | vlen, sizeOrType);
    for (const w of extra) this.words.push(w); // one at a time: a record of 65535 members is too many arguments for push()
    return this.nextId++;
  }

  int(name: string, size: number, opts: { signed?: boolean; char?: boolean; bool?: boolean; bits?: number; offset?: number } = {}): number {
    const enc = (opts.signed ? 1 : 0) | (opts.char ? 2 : 0) | (opts.bool ? 4 : 0);
    return this.raw(name, 'int', 0, false, size, [(enc << 24) | ((opts.offset ?? 0) << 16) | (opts.bits ?? size * 8)]);
  }
  ref(kind: 'ptr' | 'typedef' | 'volatile' | 'const' | 'restrict' | 'type_tag', type: number, name = ''): number {
    return this.raw(name, kind, 0, false, type);
  }
  array(type: number, indexType: number, nelems: number): number {
    return this.raw('', 'array', 0, false, 0, [type, indexType, nelems]);
  }
  composite(kind: 'struct' | 'union', name: string, size: number, members: { name: string; type: number; bitOffset: number; bitfieldSize?: number }[]): number {
    const kflag = members.some((m) => (m.bitfieldSize ?? 0) > 0);
    const extra = members.flatMap((m) => [this.str(m.name), m.type, kflag ? (((m.bitfieldSize ?? 0) << 24) | m.bitOffset) >>> 0 : m.bitOffset]);
    return this.raw(name, kind, members.length, kflag, size, extra);
  }
  enum(name: string, size: number, values: [string, number][], signed = false): number {
    return this.raw(
      name,
      'enum',
      values.length,
      signed,
      size,
      values.flatMap(([n, v]) => [this.str(n), v >>> 0]),
    );
  }
  enum64(name: string, values: [string, bigint][], signed = false): number {
    return this.raw(
      name,
      'enum64',
      values.length,
      signed,
      8,
      values.flatMap(([n, v]) => {
        const u = BigInt.asUintN(64, v);
        return [this.str(n), Number(u & 0xffffffffn), Number(u >> 32n)];
      }),
    );
  }
  fwd(name: string, union = false): number {
    return this.raw(name, 'fwd', 0, union, 0);
  }
  func(name: string, proto: number, linkage = 1): number {
    return this.raw(name, 'func', linkage, false, proto);
  }
  funcProto(returnType: number, params: [string, number][]): number {
    return this.raw(
      '',
      'func_proto',
      params.length,
      false,
      returnType,
      params.flatMap(([n, t]) => [this.str(n), t]),
    );
  }
  variable(name: string, type: number, linkage = 1): number {
    return this.raw(name, 'var', 0, false, type, [linkage]);
  }
  datasec(name: string, size: number, vars: { type: number; offset: number; size: number }[]): number {
    return this.raw(
      name,
      'datasec',
      vars.length,
      false,
      size,
      vars.flatMap((v) => [v.type, v.offset, v.size]),
    );
  }
  float(name: string, size: number): number {
    return this.raw(name, 'float', 0, false, size);
  }
  declTag(name: string, type: number, componentIdx: number): number {
    return this.raw(name, 'decl_tag', 0, false, type, [componentIdx >>> 0]);
  }

  /** The id the next type added gets (for types that refer ahead, as cycles do). */
  get nextTypeId(): number {
    return this.nextId;
  }

  get typeSectionLength(): number {
    return this.words.length * 4;
  }
  get strLen(): number {
    return this.stringLength;
  }

  build(byteOrder: ByteOrder = 'little'): Uint8Array {
    const little = byteOrder === 'little';
    const encoder = new TextEncoder();
    const strBytes = new Uint8Array(this.stringLength);
    let at = 0;
    for (const s of this.strings) {
      strBytes.set(encoder.encode(s), at);
      at += encoder.encode(s).length + 1;
    }
    const typeLen = this.words.length * 4;
    const out = new Uint8Array(24 + typeLen + strBytes.length);
    const view = new DataView(out.buffer);
    view.setUint16(0, 0xeb9f, little);
    view.setUint8(2, 1);
    view.setUint32(4, 24, little);
    view.setUint32(8, 0, little);
    view.setUint32(12, typeLen, little);
    view.setUint32(16, typeLen, little);
    view.setUint32(20, strBytes.length, little);
    this.words.forEach((w, i) => view.setUint32(24 + i * 4, w >>> 0, little));
    out.set(strBytes, 24 + typeLen);
    return out;
  }
}

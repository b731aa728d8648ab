/**
 * How BTF types come out in formatBtfC's C: each type's alignment as
 * emitted, which structs need `__attribute__((packed))` to keep BTF's layout,
 * which enums C would give their BTF size, the qualifiers looked through, and
 * the typedefs clang predefines (never redefined).
 */
import { ObjectParseError } from '../errors.js';
import type { Btf } from './btf.js';
import { MAX_TYPE_DEPTH, TypeMemo, WalkDepth } from './type-memo.js';
import type { BtfComposite, BtfEnum, BtfEnum64 } from './types.js';

/** Typedefs clang predefines for every target (`__builtin_va_list`): never redefined. */
export function isCompilerTypedef(name: string): boolean {
  return name.startsWith('__builtin_');
}

/** Whether C gives this enum its BTF size, so members can use the enum type itself. */
export function enumAsItself(t: BtfEnum | BtfEnum64): boolean {
  if (!t.name) return false;
  if (t.kind === 'enum') return t.size === 4;
  return t.size === 8 && t.values.some((v) => v.value > 0xffffffffn || v.value < -0x80000000n);
}

/** The id under const/volatile/restrict/type_tag qualifiers. */
export function skipQualifiers(btf: Btf, id: number): number {
  let t = btf.type(id);
  for (let i = 0; i < 64 && (t.kind === 'const' || t.kind === 'volatile' || t.kind === 'restrict' || t.kind === 'type_tag'); i++) {
    id = t.type;
    t = btf.type(id);
  }
  return id;
}

/** Alignment and packing of types as formatBtfC emits them, cached per type. */
export class CLayout {
  /** One depth for both questions: they ask each other. */
  private readonly walk = new WalkDepth();
  private readonly guards = {
    // A failure leaves the layout unusable: formatBtfC stops there.
    cycle: (id: number): never => {
      throw new ObjectParseError('BTF_INVALID', `type [${id}] contains itself by value`);
    },
    tooDeep: (id: number): never => {
      throw new ObjectParseError('BTF_INVALID', `type [${id}] nests more than ${MAX_TYPE_DEPTH} types deep`);
    },
  };
  private readonly alignments = new TypeMemo<number>(this.guards, this.walk);
  private readonly packing = new TypeMemo<boolean>(this.guards, this.walk);

  constructor(private readonly btf: Btf) {}

  /**
   * Packed when natural alignment cannot give BTF's layout: a member off its
   * alignment, or a size that is not a multiple of the alignment.
   */
  isPacked(id: number): boolean {
    return this.packing.get(id, () => {
      const t = this.btf.type(id);
      let packed = false;
      if (t.kind === 'struct' || t.kind === 'union') {
        let align = 1;
        for (const m of t.members) {
          const a = this.alignOf(m.type);
          align = Math.max(align, a);
          if (m.bitfieldSize === 0 && m.bitOffset % (8 * a) !== 0) packed = true;
          if (m.bitfieldSize > 0) {
            // A bit-field must sit inside one storage unit of its type, unless packed.
            const unit = this.btf.sizeof(m.type) * 8;
            if (unit > 0 && Math.floor(m.bitOffset / unit) !== Math.floor((m.bitOffset + m.bitfieldSize - 1) / unit)) packed = true;
          }
        }
        if (t.size % align !== 0) packed = true;
        if (!packed && t.kind === 'struct') packed = this.naturalEnd(t, align) > t.size * 8;
      }
      return packed;
    });
  }

  /** Where the last member ends, rounded up to the struct's alignment (bits). */
  private naturalEnd(t: BtfComposite<'struct' | 'union'>, align: number): number {
    const last = t.members[t.members.length - 1];
    if (!last) return 0;
    const end = last.bitOffset + (last.bitfieldSize || this.btf.sizeof(last.type) * 8);
    const unit = align * 8;
    return Math.ceil(end / unit) * unit;
  }

  /** Alignment of the type as we emit it (1 for packed structs). */
  alignOf(id: number): number {
    return this.alignments.get(id, () => {
      const t = this.btf.type(id);
      switch (t.kind) {
        case 'int':
          return [1, 2, 4, 8, 16].includes(t.size) ? t.size : Math.min(t.size, 8);
        case 'float':
          return Math.min(t.size, 16);
        case 'ptr':
          return 8;
        case 'enum':
        case 'enum64':
          return Math.max(1, t.size);
        case 'array':
        case 'typedef':
        case 'const':
        case 'volatile':
        case 'restrict':
        case 'type_tag':
          return this.alignOf(t.type);
        case 'struct':
        case 'union':
          if (this.isPacked(id)) return 1;
          return t.members.reduce((x, m) => Math.max(x, this.alignOf(m.type)), 1);
        default:
          return 1;
      }
    });
  }
}

/**
 * How BTF types come out in formatBtfC's C: each type's alignment as
 * emitted, which structs need `__attribute__((packed))` to keep BTF's layout,
 * which enums C would give their BTF size, the qualifiers looked through, and
 * the typedefs clang predefines (never redefined).
 */
import { ObjectParseError } from '../errors.js';
import type { Btf } from './btf.js';
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
  private readonly alignCache = new Map<number, number>();
  private readonly packedCache = new Map<number, boolean>();
  /** Types being weighed now, by each question (a failure leaves the layout unusable: formatBtfC stops there). */
  private readonly aligning = new Set<number>();
  private readonly packing = new Set<number>();

  constructor(private readonly btf: Btf) {}

  /**
   * Packed when natural alignment cannot give BTF's layout: a member off its
   * alignment, or a size that is not a multiple of the alignment.
   */
  isPacked(id: number): boolean {
    let packed = this.packedCache.get(id);
    if (packed !== undefined) return packed;
    const t = this.btf.type(id);
    this.enter(this.packing, id);
    packed = false;
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
    this.packedCache.set(id, packed);
    this.packing.delete(id);
    return packed;
  }

  /** Marks `id` as being weighed: meeting it again inside itself is a cycle C cannot print. */
  private enter(inProgress: Set<number>, id: number): void {
    if (inProgress.has(id)) throw new ObjectParseError('BTF_INVALID', `type [${id}] contains itself by value`);
    inProgress.add(id);
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
    const cached = this.alignCache.get(id);
    if (cached !== undefined) return cached;
    const t = this.btf.type(id);
    this.enter(this.aligning, id);
    let a: number;
    switch (t.kind) {
      case 'int':
        a = [1, 2, 4, 8, 16].includes(t.size) ? t.size : Math.min(t.size, 8);
        break;
      case 'float':
        a = Math.min(t.size, 16);
        break;
      case 'ptr':
        a = 8;
        break;
      case 'enum':
      case 'enum64':
        a = Math.max(1, t.size);
        break;
      case 'array':
      case 'typedef':
      case 'const':
      case 'volatile':
      case 'restrict':
      case 'type_tag':
        a = this.alignOf(t.type);
        break;
      case 'struct':
      case 'union':
        if (this.isPacked(id)) a = 1;
        else a = t.members.reduce((x, m) => Math.max(x, this.alignOf(m.type)), 1);
        break;
      default:
        a = 1;
    }
    this.alignCache.set(id, a);
    this.aligning.delete(id);
    return a;
  }
}

/** The `.kconfig` map's layout: where each kconfig extern lives and how its value is encoded. */
import { ObjectParseError } from '../errors.js';
import type { CollectionSpec, ExternSpec } from '../spec.js';

/** How a `.kconfig` extern's value is encoded, from its C type (libbpf's rules). */
export type KconfigType = 'bool' | 'tristate' | 'char' | 'int' | 'string';

export interface KconfigSlot {
  readonly name: string;
  readonly type: KconfigType;
  readonly offset: number;
  readonly size: number;
  readonly signed: boolean;
  readonly weak: boolean;
}

export interface KconfigLayout {
  /** Bytes of the `.kconfig` map value. */
  readonly size: number;
  readonly slots: readonly KconfigSlot[];
}

/**
 * Where each `.kconfig` extern lives in the `.kconfig` map: ordered by
 * alignment (largest first), then size, then name, each at its natural
 * alignment, as libbpf lays them out.
 */
export function kconfigLayout(spec: CollectionSpec): KconfigLayout {
  const btf = spec.btf;
  const externs = Object.values(spec.externs).filter((e) => e.kind === 'kconfig');
  if (externs.length === 0) return { size: 0, slots: [] };
  if (!btf) throw new ObjectParseError('BTF_NOT_FOUND', '.kconfig externs need BTF');
  const typed = externs.map((e) => ({ e, ...kconfigType(spec, e) }));
  typed.sort((a, b) => b.align - a.align || a.size - b.size || (a.e.name < b.e.name ? -1 : a.e.name > b.e.name ? 1 : 0));
  let offset = 0;
  const slots: KconfigSlot[] = [];
  for (const t of typed) {
    offset = Math.ceil(offset / t.align) * t.align;
    slots.push({ name: t.e.name, type: t.type, offset, size: t.size, signed: t.signed, weak: t.e.weak });
    offset += t.size;
  }
  return { size: offset, slots };
}

function kconfigType(spec: CollectionSpec, e: ExternSpec): { type: KconfigType; size: number; align: number; signed: boolean } {
  const btf = spec.btf!;
  const v = btf.type(e.btfTypeId);
  if (v.kind !== 'var') throw new ObjectParseError('BTF_INVALID', `.kconfig extern ${e.name} is not a variable`);
  const t = btf.resolve(v.type);
  const bad = () => new ObjectParseError('BTF_INVALID', `.kconfig extern ${e.name} has a type libbpf cannot fill (${btf.typeName(v.type)})`);
  switch (t.kind) {
    case 'int':
      if (t.encoding & 4) return { type: 'bool', size: 1, align: 1, signed: false };
      if (t.size === 1 && t.encoding & 2) return { type: 'char', size: 1, align: 1, signed: false };
      if (![1, 2, 4, 8].includes(t.size)) throw bad();
      return { type: 'int', size: t.size, align: t.size, signed: t.signed };
    case 'enum':
      if (t.name === 'libbpf_tristate' && t.size === 4) return { type: 'tristate', size: 4, align: 4, signed: false };
      throw bad();
    case 'array': {
      const elem = btf.resolve(t.type);
      if (elem.kind === 'int' && elem.size === 1) return { type: 'string', size: t.nelems, align: 1, signed: false };
      throw bad();
    }
    default:
      throw bad();
  }
}

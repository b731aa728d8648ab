import type { Btf } from '../btf/btf.js';
import type { BtfType } from '../btf/types.js';

/**
 * The two type relations CO-RE decides with, as libbpf defines them
 * (relo_core.c): "compatible" for type exists/size/id relocations, and the
 * stricter "matches" for `bpf_core_type_matches()`.
 */

/** The name with any `___flavor` suffix removed. */
export function essentialName(name: string): string {
  // libbpf's rule: up to the last `X___Y` separator, X and Y not underscores (`a___b___c` is `a___b`).
  for (let i = name.length - 5; i >= 0; i--) {
    if (name[i] !== '_' && name.startsWith('___', i + 1) && name[i + 4] !== '_') return name.slice(0, i + 1);
  }
  return name;
}

/** Two names agree on their essential part; an anonymous target only matches an anonymous local. */
function namesMatch(local: string, target: string): boolean {
  if (target === '') return local === '';
  return essentialName(local) === essentialName(target);
}

const isEnum = (t: BtfType) => t.kind === 'enum' || t.kind === 'enum64';
const MAX_DEPTH = 32;

/**
 * libbpf's bpf_core_types_are_compat: the same kind (an enum may be an enum64),
 * integers of any size (but not the old bit-offset integers), pointers and
 * arrays compared through their element, function prototypes by arity and
 * each parameter. Names are not compared below the root.
 */
export function typesAreCompatible(local: Btf, localId: number, target: Btf, targetId: number, depth = MAX_DEPTH): boolean {
  if (depth < 0) return false;
  const l = local.resolve(localId);
  const t = target.resolve(targetId);
  if (l.kind !== t.kind && !(isEnum(l) && isEnum(t))) return false;
  switch (l.kind) {
    case 'void':
    case 'struct':
    case 'union':
    case 'enum':
    case 'enum64':
    case 'fwd':
      return true;
    case 'int':
      return l.bitOffset === 0 && (t as typeof l).bitOffset === 0;
    case 'ptr':
    case 'array':
      return typesAreCompatible(local, l.type, target, (t as typeof l).type, depth - 1);
    case 'func_proto': {
      const tp = t as typeof l;
      if (l.params.length !== tp.params.length) return false;
      if (!l.params.every((p, i) => typesAreCompatible(local, p.type, target, tp.params[i]!.type, depth - 1))) return false;
      return typesAreCompatible(local, l.returnType, target, tp.returnType, depth - 1);
    }
    default:
      return false;
  }
}

/**
 * libbpf's bpf_core_types_match (behind `bpf_core_type_matches()`): modifiers
 * and typedefs are looked through; names must agree (essential part);
 * composites must have every local member, by name, with a matching type in
 * the target (behind a pointer, a composite only needs the same kind, or a
 * forward declaration of it); integers the same size and signedness; enums the
 * same size with every local enumerator present by name; arrays the same
 * length; function prototypes the same arity, each parameter and the return
 * type matching.
 */
export function typesMatch(local: Btf, localId: number, target: Btf, targetId: number, behindPtr = false, depth = MAX_DEPTH): boolean {
  if (depth < 0) return false;
  const l = local.resolve(localId);
  const t = target.resolve(targetId);
  if (!namesMatch(l.name, t.name)) return false;
  switch (l.kind) {
    case 'void':
      return t.kind === 'void';
    case 'fwd': {
      if (t.kind === 'fwd') return l.fwdKind === t.fwdKind;
      // Behind a pointer a forward declaration stands for the full type of its kind.
      return behindPtr && t.kind === l.fwdKind;
    }
    case 'enum':
    case 'enum64': {
      if (!isEnum(t)) return false;
      const tv = t.values as readonly { name: string }[];
      if (l.size !== t.size || l.values.length > tv.length) return false;
      return (l.values as readonly { name: string }[]).every((v) => tv.some((x) => namesMatch(v.name, x.name)));
    }
    case 'struct':
    case 'union': {
      if (behindPtr) return t.kind === l.kind || (t.kind === 'fwd' && t.fwdKind === l.kind);
      if (t.kind !== l.kind) return false;
      if (l.members.length > t.members.length) return false;
      return l.members.every((m) => t.members.some((x) => namesMatch(m.name, x.name) && typesMatch(local, m.type, target, x.type, behindPtr, depth - 1)));
    }
    case 'int':
      return t.kind === 'int' && l.size === t.size && l.signed === t.signed;
    case 'ptr':
      return t.kind === 'ptr' && typesMatch(local, l.type, target, t.type, true, depth - 1);
    case 'array':
      return t.kind === 'array' && l.nelems === t.nelems && typesMatch(local, l.type, target, t.type, behindPtr, depth - 1);
    case 'func_proto': {
      if (t.kind !== 'func_proto' || l.params.length !== t.params.length) return false;
      if (!l.params.every((p, i) => typesMatch(local, p.type, target, t.params[i]!.type, behindPtr, depth - 1))) return false;
      return typesMatch(local, l.returnType, target, t.returnType, behindPtr, depth - 1);
    }
    default:
      return false;
  }
}

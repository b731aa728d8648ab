/**
 * The order of formatBtfC's top-level definitions: every named struct and
 * union, enum and typedef after the types it uses by value (members, array
 * elements, typedef'd types, enums used as themselves); pointers need only
 * the forward declarations printed first. A depth-first walk over the type
 * ids in order, so the output is deterministic.
 */
import { ObjectParseError } from '../errors.js';
import type { Btf } from './btf.js';
import { enumAsItself, isCompilerTypedef, skipQualifiers } from './format-c-layout.js';
import { MAX_TYPE_DEPTH } from './type-memo.js';

/** How far one definition's dependencies are followed (the kernel's own types go a few levels). */
const MAX_NEEDS_DEPTH = 64;

/** The ids of every type that gets a top-level definition, each after its by-value dependencies. */
export function definitionOrder(btf: Btf): number[] {
  const order: number[] = [];
  const state = new Map<number, 'visiting' | 'done'>();
  const visit = (id: number, depth: number): void => {
    if (state.has(id)) return;
    if (depth > MAX_TYPE_DEPTH)
      throw new ObjectParseError('BTF_INVALID', `type [${id}] is defined after more than ${MAX_TYPE_DEPTH} types it needs, each after the next`);
    const t = btf.type(id);
    const topLevel = ((t.kind === 'struct' || t.kind === 'union') && t.name !== '') || t.kind === 'enum' || t.kind === 'enum64' || t.kind === 'typedef';
    if (!topLevel) {
      state.set(id, 'done');
      return;
    }
    state.set(id, 'visiting');
    for (const dep of dependencies(btf, id)) {
      if (state.get(dep) !== 'visiting') visit(dep, depth + 1);
    }
    state.set(id, 'done');
    order.push(id);
  };
  for (let id = btf.firstTypeId; id < btf.length; id++) visit(id, 0);
  return order;
}

/** Top-level types that must be defined before `id`'s definition. */
function dependencies(btf: Btf, id: number): number[] {
  const t = btf.type(id);
  const deps: number[] = [];
  // Each (type, by value or not) is looked at once: function prototypes and anonymous
  // structs branch, and a walk that revisits them is exponential on hostile BTF.
  const seen = new Set<number>();
  if (t.kind === 'struct' || t.kind === 'union') {
    for (const m of t.members) needs(btf, m.type, true, deps, 0, seen);
  } else if (t.kind === 'typedef') {
    // `typedef struct foo foo_t;` needs only the forward declaration.
    const tt = btf.type(skipQualifiers(btf, t.type));
    if (!((tt.kind === 'struct' || tt.kind === 'union' || tt.kind === 'fwd') && tt.name)) needs(btf, t.type, true, deps, 0, seen);
  }
  return deps;
}

function needs(btf: Btf, id: number, byValue: boolean, deps: number[], depth: number, seen: Set<number>): void {
  const key = byValue ? id : -id - 1;
  if (seen.has(key)) return;
  if (depth > MAX_NEEDS_DEPTH)
    throw new ObjectParseError('BTF_INVALID', `type [${id}] is reached through more than ${MAX_NEEDS_DEPTH} pointers, qualifiers, arrays or anonymous types`);
  seen.add(key);
  const t = btf.type(id);
  switch (t.kind) {
    case 'ptr':
      needs(btf, t.type, false, deps, depth + 1, seen);
      return;
    case 'array':
      // Array elements must be complete, even behind a pointer.
      needs(btf, t.type, true, deps, depth + 1, seen);
      return;
    case 'const':
    case 'volatile':
    case 'restrict':
    case 'type_tag':
      needs(btf, t.type, byValue, deps, depth + 1, seen);
      return;
    case 'typedef':
      if (!isCompilerTypedef(t.name)) deps.push(id);
      if (byValue || isCompilerTypedef(t.name)) needs(btf, t.type, byValue, deps, depth + 1, seen);
      return;
    case 'struct':
    case 'union':
      if (t.name) {
        if (byValue) deps.push(id);
      } else {
        // Anonymous: defined inline, so its members are used by value here.
        for (const m of t.members) needs(btf, m.type, true, deps, depth + 1, seen);
      }
      return;
    case 'enum':
    case 'enum64':
      if (t.name && enumAsItself(t)) deps.push(id);
      return;
    case 'func_proto':
      needs(btf, t.returnType, false, deps, depth + 1, seen);
      for (const p of t.params) if (p.type !== 0) needs(btf, p.type, false, deps, depth + 1, seen);
      return;
    default:
      return;
  }
}

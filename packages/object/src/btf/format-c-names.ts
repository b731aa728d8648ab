/**
 * The C names formatBtfC gives BTF types: tags (struct, union, enum) share
 * one namespace and typedefs and enumerators another, as in C; a clashing
 * name gets libbpf's `___2`, `___3` suffix, and a FWD the name of the
 * definition it forward-declares.
 */
import { ObjectParseError } from '../errors.js';
import type { Btf } from './btf.js';

export class CNames {
  /** struct/union/enum/fwd id → tag name. */
  readonly tags = new Map<number, string>();
  /** typedef id → name. */
  readonly idents = new Map<number, string>();
  private readonly enumerators = new Map<string, string>();

  constructor(btf: Btf) {
    const tags = new Map<string, number>();
    const idents = new Map<string, number>();
    const unique = (seen: Map<string, number>, name: string) => {
      const n = (seen.get(name) ?? 0) + 1;
      seen.set(name, n);
      return n === 1 ? name : `${name}___${n}`;
    };
    // A FWD and the struct it forward-declares must share a name: name definitions first.
    const fwds: number[] = [];
    const tagByKindName = new Map<string, string>();
    for (let id = btf.firstTypeId; id < btf.length; id++) {
      const t = btf.type(id);
      // The kernel refuses a typedef without a name too: C has no way to print one.
      if (t.kind === 'typedef' && !t.name) throw new ObjectParseError('BTF_INVALID', `typedef [${id}] has no name`);
      if (!t.name) continue;
      if (t.kind === 'struct' || t.kind === 'union' || t.kind === 'enum' || t.kind === 'enum64') {
        const name = unique(tags, t.name);
        this.tags.set(id, name);
        if (!tagByKindName.has(`${t.kind}:${t.name}`)) tagByKindName.set(`${t.kind}:${t.name}`, name);
      } else if (t.kind === 'fwd') {
        fwds.push(id);
      } else if (t.kind === 'typedef') {
        this.idents.set(id, unique(idents, t.name));
      }
    }
    for (const id of fwds) {
      const t = btf.type(id);
      if (t.kind !== 'fwd') continue;
      this.tags.set(id, tagByKindName.get(`${t.fwdKind}:${t.name}`) ?? unique(tags, t.name));
    }
    for (let id = btf.firstTypeId; id < btf.length; id++) {
      const t = btf.type(id);
      if (t.kind !== 'enum' && t.kind !== 'enum64') continue;
      for (const v of t.values) this.enumerators.set(`${id}:${v.name}`, unique(idents, v.name));
    }
  }

  /** The C name of enumerator `name` of enum `enumId`. */
  enumerator(enumId: number, name: string): string {
    return this.enumerators.get(`${enumId}:${name}`) ?? name;
  }
}

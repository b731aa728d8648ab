/** BtfAnswers: what a Btf computes over its types and remembers (resolve, sizeof, alignof, typeName), guarded against hostile BTF. */
import { ObjectParseError } from '../errors.js';
import type { Btf } from './btf.js';
import { MAX_TYPE_DEPTH, TypeMemo, type TypeMemoGuards } from './type-memo.js';
import { isModifier, type BtfType } from './types.js';

/** The answers of one Btf; its public methods are Btf's of the same names. */
export class BtfAnswers {
  // Each made on first use: a parse that asks none of these questions allocates none of them.
  /** resolve's answers for types behind modifiers (null: a cycle of modifiers). */
  private resolvedMemo: Map<number, BtfType | null> | undefined;
  /** sizeof's answers, before the 4 GiB check (Infinity: far beyond). */
  private sizesMemo: Map<number, number> | undefined;
  /** sizeof's failures, for every type on a failed walk. */
  private sizeFailuresMemo: Map<number, ObjectParseError> | undefined;
  /** alignof's answers: a type met again inside itself, or nested too deep, is a typed error. */
  private alignments: TypeMemo<number> | undefined;
  /** typeName's answers: a name that refers back to itself, or nests too deep, says `...` there. */
  private typeNames: TypeMemo<string> | undefined;

  private get resolved(): Map<number, BtfType | null> {
    return (this.resolvedMemo ??= new Map());
  }
  private get sizes(): Map<number, number> {
    return (this.sizesMemo ??= new Map());
  }
  private get sizeFailures(): Map<number, ObjectParseError> {
    return (this.sizeFailuresMemo ??= new Map());
  }

  constructor(private readonly btf: Btf) {}

  /**
   * The type behind typedefs and const/volatile/restrict/type_tag (libbpf's
   * `skip_mods_and_typedefs`). Remembered for every type on the way, so a
   * chain of thousands of modifiers is walked once, not once per link.
   */
  resolve(id: number): BtfType {
    const first = this.btf.type(id);
    if (!isModifier(first.kind)) return first;
    const known = this.resolved.get(id);
    if (known === null) throw new ObjectParseError('BTF_INVALID', `type [${id}] is a cycle of modifiers`);
    if (known !== undefined) return known;
    const chain = new Set<number>();
    let t = first;
    let found: BtfType | null | undefined;
    while (found === undefined && isModifier(t.kind)) {
      if (chain.has(t.id)) found = null;
      else {
        chain.add(t.id);
        t = this.btf.type((t as { type: number }).type);
        found = this.resolved.get(t.id);
      }
    }
    const answer = found === undefined ? t : found;
    for (const c of chain) this.resolved.set(c, answer);
    if (answer === null) throw new ObjectParseError('BTF_INVALID', `type [${id}] is a cycle of modifiers`);
    return answer;
  }

  /**
   * Size in bytes of a value of this type (libbpf's `btf__resolve_size`).
   * Remembered for every type on the way (arrays multiply what is behind
   * them), so long chains cost one walk.
   */
  sizeof(id: number): number {
    const failed = this.sizeFailures.get(id);
    if (failed) throw failed;
    const size = this.sizes.get(id) ?? this.walkSize(id);
    if (size > 0xffffffff) throw new ObjectParseError('BTF_INVALID', `type [${id}] is larger than 4 GiB`);
    return size;
  }

  private walkSize(id: number): number {
    const chain: BtfType[] = [];
    try {
      return this.walkSizeChain(id, chain);
    } catch (e) {
      // Remembered for the whole chain: a chain of thousands ending in a cycle is walked once, not once per type.
      if (e instanceof ObjectParseError) for (const c of [id, ...chain.map((x) => x.id)]) this.sizeFailures.set(c, e);
      throw e;
    }
  }

  private walkSizeChain(id: number, chain: BtfType[]): number {
    const seen = new Set<number>();
    let t = this.btf.type(id);
    let size: number | undefined;
    while (size === undefined) {
      const failed = this.sizeFailures.get(t.id);
      if (failed) throw failed;
      size = this.sizes.get(t.id);
      if (size !== undefined) break;
      switch (t.kind) {
        case 'int':
        case 'enum':
        case 'enum64':
        case 'struct':
        case 'union':
        case 'datasec':
        case 'float':
          size = t.size;
          break;
        case 'ptr':
          size = this.btf.pointerSize();
          break;
        case 'typedef':
        case 'volatile':
        case 'const':
        case 'restrict':
        case 'type_tag':
        case 'var':
        case 'decl_tag':
        case 'array':
          if (seen.has(t.id)) throw new ObjectParseError('BTF_INVALID', `type [${id}] is a cycle`);
          seen.add(t.id);
          chain.push(t);
          t = this.btf.type(t.type);
          break;
        default:
          throw new ObjectParseError('BTF_INVALID', `type [${id}] (${t.kind}) has no size`);
      }
    }
    this.sizes.set(t.id, size);
    for (let i = chain.length - 1; i >= 0; i--) {
      const c = chain[i]!;
      // No elements take no bytes, even of a type too large to have a size.
      if (c.kind === 'array') size = c.nelems === 0 ? 0 : c.nelems * size;
      this.sizes.set(c.id, size);
    }
    return size;
  }

  /**
   * Alignment in bytes (libbpf's `btf__align_of`): 1 for packed structs.
   * Remembered per type (a struct used many times is weighed once: without
   * that, a DAG of 40 structs of two members each takes 2^40 steps); a type
   * that contains itself by value, or nests more than MAX_TYPE_DEPTH types
   * deep, is a typed error, not a stack overflow.
   */
  alignof(id: number): number {
    return (this.alignments ??= new TypeMemo<number>(ALIGN_GUARDS)).get(id, () => this.computeAlignof(id));
  }

  private computeAlignof(id: number): number {
    const t = this.resolve(id);
    // Through the type behind modifiers, so a cycle back to it is seen as one.
    if (t.id !== id) return this.alignof(t.id);
    switch (t.kind) {
      case 'int':
      case 'enum':
      case 'enum64':
      case 'float':
        return Math.max(1, Math.min(t.size, this.btf.pointerSize()));
      case 'ptr':
        return this.btf.pointerSize();
      case 'array':
        return this.alignof(t.type);
      case 'struct':
      case 'union': {
        let align = 1;
        for (const m of t.members) {
          const a = this.alignof(m.type);
          // A member that is not naturally aligned means the struct is packed.
          if (m.bitfieldSize === 0 && m.bitOffset % (8 * a) !== 0) return 1;
          align = Math.max(align, a);
        }
        return t.size % align === 0 ? align : 1;
      }
      default:
        throw new ObjectParseError('BTF_INVALID', `type [${id}] (${t.kind}) has no alignment`);
    }
  }

  /**
   * A C-like name for display: `struct task_struct`, `unsigned int`,
   * `char *`, `int[4]`. Remembered per type; a name that refers back to
   * itself (a function pointer taking itself), or nests more than
   * MAX_TYPE_DEPTH types deep, prints `...` there, and a name longer than
   * MAX_TYPE_NAME is cut with `...`, so hostile BTF costs at most one pass
   * over the types.
   */
  typeName(id: number): string {
    return (this.typeNames ??= new TypeMemo<string>(NAME_GUARDS)).get(id, () => {
      const name = this.computeTypeName(id);
      return name.length > MAX_TYPE_NAME ? `${name.slice(0, MAX_TYPE_NAME)}...` : name;
    });
  }

  private computeTypeName(id: number): string {
    const t = this.btf.type(id);
    switch (t.kind) {
      case 'void':
        return 'void';
      case 'struct':
      case 'union':
      case 'enum':
      case 'enum64':
        return `${t.kind === 'enum64' ? 'enum' : t.kind} ${t.name || '(anon)'}`;
      case 'fwd':
        return `${t.fwdKind} ${t.name}`;
      case 'ptr':
        return `${this.typeName(t.type)} *`;
      case 'const':
      case 'volatile':
      case 'restrict':
        return `${t.kind} ${this.typeName(t.type)}`;
      case 'type_tag':
        return this.typeName(t.type);
      case 'array':
        return `${this.typeName(t.type)}[${t.nelems}]`;
      case 'func_proto':
        return `${this.typeName(t.returnType)} (*)(${t.params.map((p) => (p.type === 0 ? '...' : this.typeName(p.type))).join(', ')})`;
      default:
        return t.name || `(anon ${t.kind})`;
    }
  }
}

/** typeName's longest answer: enough for any real declaration, bounded for a hostile one. */
const MAX_TYPE_NAME = 512;

const ALIGN_GUARDS: TypeMemoGuards<number> = {
  cycle: (id) => {
    throw new ObjectParseError('BTF_INVALID', `type [${id}] contains itself by value`);
  },
  tooDeep: (id) => {
    throw new ObjectParseError('BTF_INVALID', `type [${id}] nests more than ${MAX_TYPE_DEPTH} types deep`);
  },
};
const NAME_GUARDS: TypeMemoGuards<string> = { cycle: () => '...', tooDeep: () => '...' };

import type { Btf } from './btf.js';
import type { BtfComposite, BtfEnum, BtfEnum64, BtfType } from './types.js';

/**
 * C declarations for every type of a BTF: `vmlinux.h`. Like libbpf's
 * btf_dump (and so `bpftool btf dump ... format c`), with one deliberate
 * simplification that keeps the output compilable whatever the BTF holds:
 *
 * - every named struct and union is forward-declared first, so a pointer
 *   never needs its target's definition; definitions then follow in an order
 *   where everything used by value (members, array elements, typedef'd
 *   types, enums) comes before its user;
 * - struct layout is reproduced exactly: padding is explicit (unnamed
 *   `unsigned char` bit-fields, which add no alignment), and a struct whose
 *   offsets natural alignment cannot give is `__attribute__((packed))`;
 * - an enum whose size C would not give it (1, 2, or 8 with small values),
 *   and every anonymous enum, is used through an integer of its size: the
 *   enumerators are still declared (at top level for anonymous ones);
 * - clashing names get libbpf's `___2`, `___3` suffixes.
 *
 * Type tags are dropped (they do not change layout); FUNC, VAR, DATASEC and
 * DECL_TAG declare nothing, as in bpftool.
 */
export interface FormatBtfCOptions {
  /** Wrap everything in `preserve_access_index` for CO-RE, as bpftool does. Default true. */
  readonly preserveAccessIndex?: boolean;
  /** The include guard macro. Default `__VMLINUX_H__`. */
  readonly guard?: string;
}

export function formatBtfC(btf: Btf, options: FormatBtfCOptions = {}): string {
  return new CDumper(btf).dump(options);
}

/**
 * The C tag name `formatBtfC` gives each named struct/union/enum
 * (`name`, or `name___2` for the second type of that name), by type id.
 */
export function btfCTagNames(btf: Btf): ReadonlyMap<number, string> {
  return new CDumper(btf).tags();
}

const INDENT = '\t';

/** Typedefs clang predefines for every target (`__builtin_va_list`): never redefined. */
function isCompilerTypedef(name: string): boolean {
  return name.startsWith('__builtin_');
}

class CDumper {
  private readonly tagNames = new Map<number, string>();
  private readonly identNames = new Map<number, string>();
  private readonly enumeratorNames = new Map<string, string>();
  private readonly alignCache = new Map<number, number>();
  private readonly packedCache = new Map<number, boolean>();
  private readonly out: string[] = [];

  constructor(private readonly btf: Btf) {}

  tags(): ReadonlyMap<number, string> {
    this.assignNames();
    return this.tagNames;
  }

  dump(options: FormatBtfCOptions): string {
    const guard = options.guard ?? '__VMLINUX_H__';
    const btf = this.btf;
    this.assignNames();
    const out = this.out;
    out.push(`#ifndef ${guard}\n#define ${guard}\n\n`);
    if (options.preserveAccessIndex ?? true) {
      out.push('#ifndef BPF_NO_PRESERVE_ACCESS_INDEX\n#pragma clang attribute push (__attribute__((preserve_access_index)), apply_to = record)\n#endif\n\n');
    }
    // 1. Forward declarations: pointers never wait for a definition.
    const declared = new Set<string>();
    for (let id = btf.firstTypeId; id < btf.length; id++) {
      const t = btf.type(id);
      if ((t.kind === 'struct' || t.kind === 'union' || t.kind === 'fwd') && t.name) {
        const decl = `${this.tagKeyword(t)} ${this.tagNames.get(id)!}`;
        if (!declared.has(decl)) {
          declared.add(decl);
          out.push(`${decl};\n`);
        }
      }
    }
    out.push('\n');
    // 2. Definitions, each after what it uses by value.
    const state = new Map<number, 'visiting' | 'done'>();
    for (let id = btf.firstTypeId; id < btf.length; id++) this.emit(id, state);
    if (options.preserveAccessIndex ?? true) {
      out.push('#ifndef BPF_NO_PRESERVE_ACCESS_INDEX\n#pragma clang attribute pop\n#endif\n\n');
    }
    out.push(`#endif /* ${guard} */\n`);
    return out.join('');
  }

  // --- names -----------------------------------------------------------------

  /** Tags (struct/union/enum) share one C namespace; typedefs and enumerators another. */
  private assignNames(): void {
    const btf = this.btf;
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
      if (!t.name) continue;
      if (t.kind === 'struct' || t.kind === 'union' || t.kind === 'enum' || t.kind === 'enum64') {
        const name = unique(tags, t.name);
        this.tagNames.set(id, name);
        if (!tagByKindName.has(`${t.kind}:${t.name}`)) tagByKindName.set(`${t.kind}:${t.name}`, name);
      } else if (t.kind === 'fwd') {
        fwds.push(id);
      } else if (t.kind === 'typedef') {
        this.identNames.set(id, unique(idents, t.name));
      }
    }
    for (const id of fwds) {
      const t = btf.type(id);
      if (t.kind !== 'fwd') continue;
      this.tagNames.set(id, tagByKindName.get(`${t.fwdKind}:${t.name}`) ?? unique(tags, t.name));
    }
    for (let id = btf.firstTypeId; id < btf.length; id++) {
      const t = btf.type(id);
      if (t.kind !== 'enum' && t.kind !== 'enum64') continue;
      for (const v of t.values) {
        const key = `${id}:${v.name}`;
        this.enumeratorNames.set(key, unique(idents, v.name));
      }
    }
  }

  private tagKeyword(t: BtfType): string {
    if (t.kind === 'fwd') return t.fwdKind;
    return t.kind === 'enum64' ? 'enum' : t.kind;
  }

  // --- ordering and emission ---------------------------------------------------

  /** Emits a top-level definition for `id` (if it has one) after its by-value dependencies. */
  private emit(id: number, state: Map<number, 'visiting' | 'done'>): void {
    if (state.has(id)) return;
    const t = this.btf.type(id);
    const topLevel =
      ((t.kind === 'struct' || t.kind === 'union') && t.name !== '') ||
      t.kind === 'enum' ||
      t.kind === 'enum64' ||
      t.kind === 'typedef';
    if (!topLevel) {
      state.set(id, 'done');
      return;
    }
    state.set(id, 'visiting');
    for (const dep of this.dependencies(id)) {
      if (state.get(dep) !== 'visiting') this.emit(dep, state);
    }
    state.set(id, 'done');
    switch (t.kind) {
      case 'struct':
      case 'union':
        this.out.push(`${this.compositeDefinition(t, '')};\n\n`);
        break;
      case 'enum':
      case 'enum64':
        this.out.push(`${this.enumDefinition(t)};\n\n`);
        break;
      case 'typedef':
        // clang predefines these (__builtin_va_list); redefining them is an error.
        if (!isCompilerTypedef(t.name)) this.out.push(`typedef ${this.declaration(t.type, this.identNames.get(id)!, '')};\n\n`);
        break;
      default:
        break;
    }
  }

  /** Top-level types that must be defined before `id`'s definition. */
  private dependencies(id: number): number[] {
    const t = this.btf.type(id);
    const deps: number[] = [];
    if (t.kind === 'struct' || t.kind === 'union') {
      for (const m of t.members) this.needs(m.type, true, deps, 0);
    } else if (t.kind === 'typedef') {
      // `typedef struct foo foo_t;` needs only the forward declaration.
      const target = this.skipQualifiers(t.type);
      const tt = this.btf.type(target);
      if (!((tt.kind === 'struct' || tt.kind === 'union' || tt.kind === 'fwd') && tt.name)) this.needs(t.type, true, deps, 0);
    }
    return deps;
  }

  private needs(id: number, byValue: boolean, deps: number[], depth: number): void {
    if (depth > 64) return;
    const t = this.btf.type(id);
    switch (t.kind) {
      case 'ptr':
        this.needs(t.type, false, deps, depth + 1);
        return;
      case 'array':
        // Array elements must be complete, even behind a pointer.
        this.needs(t.type, true, deps, depth + 1);
        return;
      case 'const':
      case 'volatile':
      case 'restrict':
      case 'type_tag':
        this.needs(t.type, byValue, deps, depth + 1);
        return;
      case 'typedef':
        if (!isCompilerTypedef(t.name)) deps.push(id);
        if (byValue || isCompilerTypedef(t.name)) this.needs(t.type, byValue, deps, depth + 1);
        return;
      case 'struct':
      case 'union':
        if (t.name) {
          if (byValue) deps.push(id);
        } else {
          // Anonymous: defined inline, so its members are used by value here.
          for (const m of t.members) this.needs(m.type, true, deps, depth + 1);
        }
        return;
      case 'enum':
      case 'enum64':
        if (t.name && this.enumAsItself(t)) deps.push(id);
        return;
      case 'func_proto':
        this.needs(t.returnType, false, deps, depth + 1);
        for (const p of t.params) if (p.type !== 0) this.needs(p.type, false, deps, depth + 1);
        return;
      default:
        return;
    }
  }

  private skipQualifiers(id: number): number {
    let t = this.btf.type(id);
    for (let i = 0; i < 64 && (t.kind === 'const' || t.kind === 'volatile' || t.kind === 'restrict' || t.kind === 'type_tag'); i++) {
      id = t.type;
      t = this.btf.type(id);
    }
    return id;
  }

  // --- enums -------------------------------------------------------------------

  /** Whether C gives this enum its BTF size, so members can use the enum type itself. */
  private enumAsItself(t: BtfEnum | BtfEnum64): boolean {
    if (!t.name) return false;
    if (t.kind === 'enum') return t.size === 4;
    return t.size === 8 && t.values.some((v) => v.value > 0xffffffffn || v.value < -0x80000000n);
  }

  private enumDefinition(t: BtfEnum | BtfEnum64): string {
    const head = t.name ? `enum ${this.tagNames.get(t.id)!}` : 'enum';
    if (t.values.length === 0) return `${head} {\n${INDENT}__${t.name || 'anon'}_empty_${t.id} = 0,\n}`;
    const lines = (t.values as readonly { name: string; value: number | bigint }[]).map((v) => {
      const name = this.enumeratorNames.get(`${t.id}:${v.name}`) ?? v.name;
      const suffix = t.kind === 'enum64' ? (t.signed ? 'LL' : 'ULL') : '';
      return `${INDENT}${name} = ${v.value}${suffix},`;
    });
    return `${head} {\n${lines.join('\n')}\n}`;
  }

  /** An integer type of an enum's size and signedness, for enums used through one. */
  private enumIntType(t: BtfEnum | BtfEnum64): string {
    const base = { 1: 'char', 2: 'short', 4: 'int', 8: 'long long' }[t.size] ?? 'int';
    return `${t.signed ? 'signed' : 'unsigned'} ${base}`;
  }

  // --- structs and unions -------------------------------------------------------

  private compositeDefinition(t: BtfComposite<'struct' | 'union'>, indent: string): string {
    const head = t.name ? `${t.kind} ${this.tagNames.get(t.id)!}` : t.kind;
    const packed = this.isPacked(t.id);
    const inner = indent + INDENT;
    const lines: string[] = [];
    let pos = 0; // bits
    let pad = 0;
    const padTo = (target: number) => {
      // To a byte boundary with unnamed char bit-fields (exact, and they add no
      // alignment), then whole bytes as a char array.
      while (pos < target && pos % 8 !== 0) {
        const bits = Math.min(8 - (pos % 8), target - pos);
        lines.push(`${inner}unsigned char: ${bits};`);
        pos += bits;
      }
      if (target - pos >= 8) {
        const bytes = Math.floor((target - pos) / 8);
        lines.push(`${inner}unsigned char __pad_${t.id}_${pad++}[${bytes}];`);
        pos += bytes * 8;
      }
      if (pos < target) {
        lines.push(`${inner}unsigned char: ${target - pos};`);
        pos = target;
      }
    };
    const alignUp = (bits: number, bytes: number) => Math.ceil(bits / (bytes * 8)) * bytes * 8;
    /** Where clang would put the member with no padding: only a different place needs padding. */
    const natural = (m: { type: number; bitOffset: number; bitfieldSize: number }) => {
      if (packed) return pos;
      if (!m.bitfieldSize) return alignUp(pos, this.alignOf(m.type));
      const unit = this.btf.sizeof(m.type) * 8;
      const fits = unit === 0 || Math.floor(pos / unit) === Math.floor((pos + m.bitfieldSize - 1) / unit);
      return fits ? pos : alignUp(pos, unit / 8);
    };
    for (const m of t.members) {
      const size = m.bitfieldSize ? m.bitfieldSize : this.btf.sizeof(m.type) * 8;
      if (t.kind === 'struct' && natural(m) !== m.bitOffset) padTo(m.bitOffset);
      const name = m.name;
      if (m.bitfieldSize) {
        lines.push(`${inner}${this.declaration(m.type, name, inner)}: ${m.bitfieldSize};`);
      } else {
        lines.push(`${inner}${this.declaration(m.type, name, inner)};`);
      }
      if (t.kind === 'struct') pos = m.bitOffset + size;
      else pos = Math.max(pos, size);
    }
    const structAlign = packed ? 1 : t.members.reduce((a, m) => Math.max(a, this.alignOf(m.type)), 1);
    if (t.kind === 'struct') {
      if (alignUp(pos, structAlign) !== t.size * 8) padTo(t.size * 8);
    } else if (pos < t.size * 8) {
      lines.push(`${inner}unsigned char __pad_${t.id}_${pad++}[${t.size}];`);
    }
    return `${head} {\n${lines.join('\n')}\n${indent}}${packed ? ' __attribute__((packed))' : ''}`;
  }

  /**
   * Packed when natural alignment cannot give BTF's layout: a member off its
   * alignment, or a size that is not a multiple of the alignment.
   */
  private isPacked(id: number): boolean {
    let packed = this.packedCache.get(id);
    if (packed !== undefined) return packed;
    const t = this.btf.type(id);
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
    return packed;
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
  private alignOf(id: number): number {
    const cached = this.alignCache.get(id);
    if (cached !== undefined) return cached;
    const t = this.btf.type(id);
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
    return a;
  }

  // --- declarators ----------------------------------------------------------------

  /** `type name` in C declarator syntax (`int (*name)[4]`, `char *const name`). */
  declaration(id: number, name: string, indent: string): string {
    let inner = name;
    let t = this.btf.type(id);
    for (let depth = 0; depth < 64; depth++) {
      switch (t.kind) {
        case 'ptr': {
          const target = this.btf.type(this.skipQualifiers(t.type));
          inner = target.kind === 'array' || target.kind === 'func_proto' ? `(*${inner})` : `*${inner}`;
          t = this.btf.type(t.type);
          continue;
        }
        case 'const':
        case 'volatile':
        case 'restrict':
          // A qualifier on an array qualifies its elements, which BTF may say twice.
          if (!inner.startsWith(`${t.kind} `)) inner = `${t.kind} ${inner}`;
          t = this.btf.type(t.type);
          continue;
        case 'type_tag':
          t = this.btf.type(t.type);
          continue;
        case 'typedef':
          if (!isCompilerTypedef(t.name)) return this.finish(t, inner, indent);
          // Not redefinable: spell out the kernel's type instead (va_list keeps its 24 bytes).
          t = this.btf.type(t.type);
          continue;
        case 'array':
          inner = `${inner}[${t.nelems}]`;
          t = this.btf.type(t.type);
          continue;
        case 'func_proto': {
          const params = t.params.map((p) => (p.type === 0 ? '...' : this.declaration(p.type, '', indent)));
          inner = `${inner}(${params.length === 0 ? 'void' : params.join(', ')})`;
          t = this.btf.type(t.returnType);
          continue;
        }
        default:
          return this.finish(t, inner, indent);
      }
    }
    return `void ${inner}`;
  }

  private finish(t: BtfType, inner: string, indent: string): string {
    // Qualifiers of the base type read better in front: `const char *p`, not `char const *p`.
    const quals = /^((?:(?:const|volatile|restrict) )+)/.exec(inner)?.[1] ?? '';
    const rest = inner.slice(quals.length);
    return `${quals}${this.baseName(t, indent)}${rest ? ' ' + rest : ''}`.trimEnd();
  }

  private baseName(t: BtfType, indent: string): string {
    switch (t.kind) {
      case 'void':
        return 'void';
      case 'int':
      case 'float':
        return t.name;
      case 'typedef':
        return this.identNames.get(t.id)!;
      case 'struct':
      case 'union':
        return t.name ? `${t.kind} ${this.tagNames.get(t.id)!}` : this.compositeDefinition(t, indent);
      case 'fwd':
        return `${t.fwdKind} ${this.tagNames.get(t.id)!}`;
      case 'enum':
      case 'enum64':
        return this.enumAsItself(t) ? `enum ${this.tagNames.get(t.id)!}` : this.enumIntType(t);
      default:
        return 'void';
    }
  }
}

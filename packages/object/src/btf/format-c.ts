/**
 * C declarations for every type of a BTF: `vmlinux.h`. Like libbpf's
 * btf_dump (and so `bpftool btf dump ... format c`), with one deliberate
 * simplification that keeps the output compilable whatever the BTF holds:
 *
 * - every named struct and union is forward-declared first, so a pointer
 *   never needs its target's definition; definitions then follow in an order
 *   where everything used by value (members, array elements, typedef'd
 *   types, enums) comes before its user (format-c-order.ts);
 * - struct layout is reproduced exactly: padding is explicit (unnamed
 *   `unsigned char` bit-fields, which add no alignment), and a struct whose
 *   offsets natural alignment cannot give is `__attribute__((packed))`
 *   (format-c-layout.ts);
 * - an enum whose size C would not give it (1, 2, or 8 with small values),
 *   and every anonymous enum, is used through an integer of its size: the
 *   enumerators are still declared (at top level for anonymous ones);
 * - clashing names get libbpf's `___2`, `___3` suffixes (format-c-names.ts).
 *
 * Type tags are dropped (they do not change layout); FUNC, VAR, DATASEC and
 * DECL_TAG declare nothing, as in bpftool. This file prints; the others
 * decide names, order and layout.
 */
import { ObjectParseError } from '../errors.js';
import type { Btf } from './btf.js';
import { CLayout, enumAsItself, isCompilerTypedef, skipQualifiers } from './format-c-layout.js';
import { CNames } from './format-c-names.js';
import { definitionOrder } from './format-c-order.js';
import type { BtfComposite, BtfEnum, BtfEnum64, BtfType } from './types.js';

export interface FormatBtfCOptions {
  /** Wrap everything in `preserve_access_index` for CO-RE, as bpftool does. Default true. */
  readonly preserveAccessIndex?: boolean;
  /** The include guard macro. Default `__VMLINUX_H__`. */
  readonly guard?: string;
}

export function formatBtfC(btf: Btf, options: FormatBtfCOptions = {}): string {
  return new CPrinter(btf).dump(options);
}

/**
 * The C tag name `formatBtfC` gives each named struct/union/enum
 * (`name`, or `name___2` for the second type of that name), by type id.
 */
export function btfCTagNames(btf: Btf): ReadonlyMap<number, string> {
  return new CNames(btf).tags;
}

const INDENT = '\t';
/** Unnamed bit-field types for padding by unit width (bits). */
const PAD_TYPES: Readonly<Record<number, string>> = { 64: 'long', 32: 'int', 16: 'short', 8: 'char' };
/** Padding up to this wide is unnamed bit-fields (64 lines of `long: 64;` at most), wider a named array. */
const MAX_UNNAMED_PAD_BITS = 512 * 8;
/** Declarations inside declarations (parameters, anonymous members): far past any real type, short of the stack's end. */
const MAX_NESTING = 200;
/** Pointers, qualifiers and arrays in one declarator (`int *const (*x)[4]` has four). */
const MAX_DECLARATOR = 64;

class CPrinter {
  private nesting = 0;
  private readonly names: CNames;
  private readonly layout: CLayout;

  constructor(private readonly btf: Btf) {
    this.names = new CNames(btf);
    this.layout = new CLayout(btf);
  }

  dump(options: FormatBtfCOptions): string {
    const guard = options.guard ?? '__VMLINUX_H__';
    const btf = this.btf;
    const out: string[] = [];
    out.push(`#ifndef ${guard}\n#define ${guard}\n\n`);
    if (options.preserveAccessIndex ?? true) {
      out.push('#ifndef BPF_NO_PRESERVE_ACCESS_INDEX\n#pragma clang attribute push (__attribute__((preserve_access_index)), apply_to = record)\n#endif\n\n');
    }
    // 1. Forward declarations: pointers never wait for a definition.
    const declared = new Set<string>();
    for (let id = btf.firstTypeId; id < btf.length; id++) {
      const t = btf.type(id);
      if ((t.kind === 'struct' || t.kind === 'union' || t.kind === 'fwd') && t.name) {
        const decl = `${tagKeyword(t)} ${this.names.tags.get(id)!}`;
        if (!declared.has(decl)) {
          declared.add(decl);
          out.push(`${decl};\n`);
        }
      }
    }
    out.push('\n');
    // 2. Definitions, each after what it uses by value.
    for (const id of definitionOrder(btf)) {
      const definition = this.definition(btf.type(id));
      if (definition !== undefined) out.push(`${definition};\n\n`);
    }
    if (options.preserveAccessIndex ?? true) {
      out.push('#ifndef BPF_NO_PRESERVE_ACCESS_INDEX\n#pragma clang attribute pop\n#endif\n\n');
    }
    out.push(`#endif /* ${guard} */\n`);
    return out.join('');
  }

  /** The top-level definition of a struct, union, enum or typedef (none for clang's own typedefs). */
  private definition(t: BtfType): string | undefined {
    switch (t.kind) {
      case 'struct':
      case 'union':
        return this.compositeDefinition(t, '');
      case 'enum':
      case 'enum64':
        return this.enumDefinition(t);
      case 'typedef':
        // clang predefines these (__builtin_va_list); redefining them is an error.
        return isCompilerTypedef(t.name) ? undefined : `typedef ${this.declaration(t.type, this.names.idents.get(t.id)!, '')}`;
      default:
        return undefined;
    }
  }

  // --- enums -------------------------------------------------------------------

  private enumDefinition(t: BtfEnum | BtfEnum64): string {
    const head = t.name ? `enum ${this.names.tags.get(t.id)!}` : 'enum';
    if (t.values.length === 0) return `${head} {\n${INDENT}__${t.name || 'anon'}_empty_${t.id} = 0,\n}`;
    const lines = (t.values as readonly { name: string; value: number | bigint }[]).map((v) => {
      const name = this.names.enumerator(t.id, v.name);
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
    const head = t.name ? `${t.kind} ${this.names.tags.get(t.id)!}` : t.kind;
    const packed = this.layout.isPacked(t.id);
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
      // Whole bytes as unnamed bit-fields too, as bpftool writes them
      // (`long: 64;`): a named pad array would be a member that libbpf looks
      // for in the kernel's type (struct_ops values are matched by name).
      // Each piece is the widest unit that starts aligned here and fits.
      // A gap wider than any real one (hostile BTF: a struct of 4 GiB) is one
      // named array, so the text stays as small as the input.
      if (target - pos > MAX_UNNAMED_PAD_BITS) {
        const bytes = Math.floor((target - pos) / 8);
        lines.push(`${inner}unsigned char __pad_${t.id}_${pad++}[${bytes}];`);
        pos += bytes * 8;
      }
      while (target - pos >= 8) {
        const unit = [64, 32, 16, 8].find((u) => pos % u === 0 && target - pos >= u)!;
        lines.push(`${inner}${PAD_TYPES[unit]}: ${unit};`);
        pos += unit;
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
      if (!m.bitfieldSize) return alignUp(pos, this.layout.alignOf(m.type));
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
    const structAlign = packed ? 1 : t.members.reduce((a, m) => Math.max(a, this.layout.alignOf(m.type)), 1);
    if (t.kind === 'struct') {
      if (alignUp(pos, structAlign) !== t.size * 8) padTo(t.size * 8);
    } else if (pos < t.size * 8) {
      lines.push(`${inner}unsigned char __pad_${t.id}[${t.size}];`);
    }
    return `${head} {\n${lines.join('\n')}\n${indent}}${packed ? ' __attribute__((packed))' : ''}`;
  }

  // --- declarators ----------------------------------------------------------------

  /** `type name` in C declarator syntax (`int (*name)[4]`, `char *const name`). */
  private declaration(id: number, name: string, indent: string): string {
    // Parameters and anonymous members recurse: a type that reaches itself that way has no C spelling.
    if (++this.nesting > MAX_NESTING) {
      this.nesting = 0;
      throw new ObjectParseError(
        'BTF_INVALID',
        `type [${id}] nests more than ${MAX_NESTING} declarations deep (a function pointer or anonymous type that contains itself?)`,
      );
    }
    try {
      return this.declarator(id, name, indent);
    } finally {
      this.nesting = Math.max(0, this.nesting - 1);
    }
  }

  private declarator(id: number, name: string, indent: string): string {
    let inner = name;
    let t = this.btf.type(id);
    for (let depth = 0; depth < MAX_DECLARATOR; depth++) {
      switch (t.kind) {
        case 'ptr': {
          const target = this.btf.type(skipQualifiers(this.btf, t.type));
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
          // Clang describes `f()` (no prototype) as one void parameter: `(void)`, as libbpf prints it;
          // a void last parameter after others is the `...` of a variadic function.
          const all = t.params;
          const unprototyped = all.length === 0 || (all.length === 1 && all[0]!.type === 0);
          const params = all.map((p, i) => (p.type === 0 && i === all.length - 1 ? '...' : this.declaration(p.type, '', indent)));
          inner = `${inner}(${unprototyped ? 'void' : params.join(', ')})`;
          t = this.btf.type(t.returnType);
          continue;
        }
        default:
          return this.finish(t, inner, indent);
      }
    }
    throw new ObjectParseError('BTF_INVALID', `type [${id}] is more than ${MAX_DECLARATOR} pointers, qualifiers and arrays deep`);
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
        return this.names.idents.get(t.id)!;
      case 'struct':
      case 'union':
        return t.name ? `${t.kind} ${this.names.tags.get(t.id)!}` : this.compositeDefinition(t, indent);
      case 'fwd':
        return `${t.fwdKind} ${this.names.tags.get(t.id)!}`;
      case 'enum':
      case 'enum64':
        return enumAsItself(t) ? `enum ${this.names.tags.get(t.id)!}` : this.enumIntType(t);
      default:
        return 'void';
    }
  }
}

function tagKeyword(t: BtfType): string {
  if (t.kind === 'fwd') return t.fwdKind;
  return t.kind === 'enum64' ? 'enum' : t.kind;
}

/**
 * The TypeScript of codec plans for generated bindings: the type each plan
 * decodes to, the codec expression that builds it, and the declarations
 * named types need (an interface or enum type, and a codec constant of the
 * same name), each constant after the ones it uses.
 */
import type { Btf } from '@tsbpf/object';
import { planFromBtf, type BtfCodecOptions, type CodecPlan, type PlanField, type ScalarName, type StructPlan, type UnionPlan } from './codec-plan.js';
import { CodegenError } from './errors.js';
import { braces, grouped, indent, key, pascalCase, quote, typeAlias } from './codegen-text.js';

const SCALAR_TYPES: Readonly<Record<ScalarName, string>> = {
  u8: 'number',
  i8: 'number',
  u16: 'number',
  i16: 'number',
  u32: 'number',
  i32: 'number',
  u64: 'bigint',
  i64: 'bigint',
  u64AsNumber: 'number',
  i64AsNumber: 'number',
  bool: 'boolean',
  f32: 'number',
  f64: 'number',
  be16: 'number',
  be32: 'number',
  ipv4: 'string',
  ipv6: 'string',
};

/** The typed array `array()` decodes each numeric codec's elements into (composite.ts); plain arrays for the rest. */
const TYPED_ARRAYS: Partial<Record<ScalarName, string>> = {
  u8: 'Uint8Array',
  i8: 'Int8Array',
  u16: 'Uint16Array',
  i16: 'Int16Array',
  u32: 'Uint32Array',
  i32: 'Int32Array',
  u64: 'BigUint64Array',
  i64: 'BigInt64Array',
  f32: 'Float32Array',
  f64: 'Float64Array',
};

type Named = Extract<CodecPlan, { kind: 'struct' | 'union' | 'enum' | 'enum64' }>;

export class TypeWriter {
  /** What the codecs import from @tsbpf/maps. */
  readonly imports = new Set<string>();
  /** Interfaces and enum types, in the order first used. */
  readonly types: string[] = [];
  /** Codec constants, each after those it uses. */
  readonly codecs: string[] = [];
  /** Whether a codec is built from the object's BTF at run time (see `btfCodec` in the template). */
  usesBtf = false;
  private readonly typeNames = new Map<number, string>();
  private readonly codecNames = new Set<number>();
  private readonly taken: Set<string>;

  constructor(
    private readonly btf: Btf,
    private readonly options: BtfCodecOptions,
    /** Whether the object is embedded: types only BTF can decode are then built from it at load. */
    private readonly embedded: boolean,
    /** Names the rest of the file uses. */
    reserved: Iterable<string>,
  ) {
    this.taken = new Set(reserved);
  }

  /** The plan of BTF type `id`. */
  plan(id: number): CodecPlan {
    return planFromBtf(this.btf, id, this.options);
  }

  /** The TypeScript type a plan decodes to. */
  typeOf(plan: CodecPlan): string {
    switch (plan.kind) {
      case 'scalar':
        return SCALAR_TYPES[plan.scalar];
      case 'bytes':
        return 'Uint8Array';
      case 'cstring':
        return 'string';
      case 'array': {
        const typed = plan.element.kind === 'scalar' ? TYPED_ARRAYS[plan.element.scalar] : undefined;
        return typed ?? `${grouped(this.typeOf(plan.element))}[]`;
      }
      case 'int128':
        return 'bigint';
      case 'bitfield':
        return 'number';
      case 'enum':
      case 'enum64':
        return plan.cName ? this.declareType(plan) : enumAlternatives(plan).join(' | ');
      case 'struct':
      case 'union':
        return plan.cName ? this.declareType(plan) : `{ ${this.members(plan).join(' ').slice(0, -1)} }`;
    }
  }

  /**
   * The expression that builds a plan's codec, for a line indented `depth`
   * levels. `top`: the codec of a whole key, value or record, whose type
   * is what the array it may be says (a member's need not be).
   */
  codecOf(plan: CodecPlan, depth = 0, top = false): string {
    switch (plan.kind) {
      case 'scalar':
        this.imports.add(plan.scalar);
        return plan.scalar;
      case 'bytes':
      case 'cstring':
        this.imports.add(plan.kind);
        return `${plan.kind}(${plan.size})`;
      case 'array': {
        this.imports.add('array');
        const element = this.codecOf(plan.element, depth);
        const types = top ? `<${this.typeOf(plan.element)}, ${this.typeOf(plan)}>` : '';
        return `array${types}(${element}, ${plan.length})`;
      }
      case 'enum':
        return plan.cName ? this.declareCodec(plan) : this.enumCodec(plan, depth);
      case 'struct':
        if (plan.cName) return this.declareCodec(plan);
        return printable(plan) ? this.structCodec(plan, depth) : this.btfCodec(plan);
      case 'union':
      case 'enum64':
        return plan.cName ? this.declareCodec(plan) : this.btfCodec(plan);
      case 'int128':
        return this.btfCodec(plan);
      case 'bitfield':
        // Bit-fields are members of structs, whose codecs come from BTF whole (see printable).
        throw new CodegenError('GEN_NEEDS_OBJECT', 'a bit-field outside its struct');
    }
  }

  /** The interface or enum type of a named plan, declared at its first use; its name. */
  private declareType(plan: Named): string {
    const known = this.typeNames.get(plan.id);
    if (known) return known;
    const name = this.freeName(plan.cName);
    this.typeNames.set(plan.id, name);
    if (plan.kind === 'enum' || plan.kind === 'enum64') {
      this.types.push(`/** ${plan.name} */\n${typeAlias(name, enumAlternatives(plan))}`);
    } else {
      const doc = `/** ${plan.name} (${plan.size} bytes) */`;
      this.types.push(''); // its place: members may declare types of their own first
      const at = this.types.length - 1;
      this.types[at] = `${doc}\nexport interface ${name} ${braces(this.members(plan), 0)}`;
    }
    return name;
  }

  /** The codec constant of a named plan, declared at its first use; its name. */
  private declareCodec(plan: Named): string {
    const name = this.declareType(plan);
    if (this.codecNames.has(plan.id)) return name;
    this.codecNames.add(plan.id);
    let codec: string;
    if (plan.kind === 'enum') codec = this.enumCodec(plan, 0, name);
    else if (plan.kind === 'struct' && printable(plan)) codec = this.structCodec(plan, 0, name);
    else codec = this.btfCodec(plan, name);
    this.codecs.push(`export const ${name} = ${codec};`);
    return name;
  }

  private enumCodec(plan: Extract<CodecPlan, { kind: 'enum' }>, depth: number, type?: string): string {
    this.imports.add('enumOf');
    this.imports.add(plan.base);
    const names = type ? `Exclude<${type}, number>` : enumAlternatives(plan).slice(0, -1).join(' | ') || 'never';
    const values = plan.values.map(([n, v]) => `${key(n)}: ${v}`);
    const head = `enumOf<${names}>(${quote(plan.name)}, ${plan.base}, `;
    const flat = `${head}{ ${values.join(', ')} })`;
    if (values.length === 0) return `${head}{})`;
    return flat.length + depth * 2 <= 80
      ? flat
      : `${head}{\n${indent(
          values.map((v) => `${v},`),
          depth + 1,
        )}\n${'  '.repeat(depth)}})`;
  }

  private structCodec(plan: StructPlan, depth: number, type?: string): string {
    this.imports.add('structAt');
    const fields = plan.fields.map((f) => `{ name: ${quote(f.name)}, offset: ${f.offset}, codec: ${this.codecOf(f.plan, depth + 1)} },`);
    const head = `structAt<${type ?? this.typeOf(plan)}>(${quote(plan.name)}, ${plan.size}, ${plan.align}, `;
    return fields.length === 0 ? `${head}[])` : `${head}[\n${indent(fields, depth + 1)}\n${'  '.repeat(depth)}])`;
  }

  /** The codec of a type only the object's BTF describes (a union, a bit-field, a 64-bit enum, a 128-bit integer). */
  private btfCodec(plan: Exclude<CodecPlan, { kind: 'bitfield' }>, type?: string): string {
    if (!this.embedded) {
      throw new CodegenError(
        'GEN_NEEDS_OBJECT',
        `${describe(plan)} needs the object's BTF to decode at run time; generate with the object embedded (without --no-embed)`,
      );
    }
    this.usesBtf = true;
    return `btfCodec<${type ?? this.typeOf(plan)}>(${plan.id})`;
  }

  /** Members of an interface: C members by name (optional in a union), anonymous unions' members lifted and optional. */
  private members(plan: StructPlan | UnionPlan): string[] {
    const out = plan.kind === 'union' ? ['$bytes?: Uint8Array;'] : [];
    const optional = plan.kind === 'union' ? '?' : '';
    for (const f of plan.fields) out.push(...this.member(f, optional));
    return out;
  }

  private member(f: PlanField, optional: string): string[] {
    if (f.inline) return (f.plan as UnionPlan).fields.flatMap((inner) => this.member(inner, '?'));
    if (f.name === '') return []; // an unnamed bit-field: padding
    return [`${key(f.name)}${optional}: ${this.typeOf(f.plan)};`];
  }

  private freeName(cName: string): string {
    const base = pascalCase(cName);
    let name = base;
    for (let i = 2; this.taken.has(name); i++) name = `${base}${i}`;
    this.taken.add(name);
    return name;
  }
}

/** Whether a struct's codec can be written as structAt (no bit-fields, no anonymous unions: those need BTF). */
function printable(plan: StructPlan): boolean {
  return plan.fields.every((f) => !f.inline && f.plan.kind !== 'bitfield');
}

function enumAlternatives(plan: Extract<CodecPlan, { kind: 'enum' | 'enum64' }>): string[] {
  return [...plan.values.map(([n]) => quote(n)), plan.kind === 'enum64' ? 'bigint' : 'number'];
}

function describe(plan: CodecPlan): string {
  if ('name' in plan) return plan.name;
  return plan.kind === 'int128' ? '128-bit integer' : plan.kind;
}

/**
 * What codec a BTF type gets, as a plan: plain data saying which codec
 * builder each type and member takes. The one reading of BTF behind both
 * codecFromBtf (which builds the plan at run time) and tsbpf gen (which
 * writes it out as source, and derives the TypeScript types from it).
 */
import type { Btf, BtfMember, BtfType } from '@tsbpf/object';
import { SCALAR_SIZES, checkWork, planSize } from './codec-plan-work.js';
import { CodecError } from './errors.js';

export { SCALAR_SIZES };

export type ScalarName = keyof typeof SCALAR_SIZES;

export const isScalarName = (name: string): name is ScalarName => Object.hasOwn(SCALAR_SIZES, name);

export interface BtfCodecOptions {
  /** 64-bit integers as bigint (default) or as numbers (throws beyond 2^53). */
  int64?: 'bigint' | 'number';
  /** Struct and union member names as in C (default), or in camelCase (`endpoint_id` → `endpointId`). */
  memberNames?: 'c' | 'camel';
  /**
   * Types reached through a typedef of one of these names get the named
   * built-in codec instead of their own: `{ ipv4_addr: 'ipv4' }` reads a
   * `typedef __be32 ipv4_addr` as dotted text. The sizes must agree.
   */
  typedefs?: Readonly<Record<string, ScalarName>>;
}

/** A member at its byte offset; `inline` for an anonymous union, whose members are the parent's (C11). */
export interface PlanField {
  readonly name: string;
  readonly offset: number;
  readonly plan: CodecPlan;
  readonly inline?: boolean;
}

/**
 * A codec to build. Every kind but `bitfield` knows the BTF type `id` it
 * came from (past typedefs and modifiers); `name` is the C name (`struct flow_key`, `enum color`;
 * `struct (anon)` for anonymous ones) and `cName` the bare tag, '' when
 * anonymous.
 */
export type CodecPlan =
  | { readonly kind: 'scalar'; readonly id: number; readonly scalar: ScalarName }
  | { readonly kind: 'bytes'; readonly id: number; readonly size: number }
  | { readonly kind: 'cstring'; readonly id: number; readonly size: number }
  | { readonly kind: 'array'; readonly id: number; readonly element: CodecPlan; readonly length: number }
  | {
      readonly kind: 'enum';
      readonly id: number;
      readonly name: string;
      readonly cName: string;
      readonly base: ScalarName;
      readonly values: readonly (readonly [string, number])[];
    }
  | {
      readonly kind: 'enum64';
      readonly id: number;
      readonly name: string;
      readonly cName: string;
      readonly signed: boolean;
      readonly values: readonly (readonly [string, bigint])[];
    }
  | { readonly kind: 'int128'; readonly id: number; readonly signed: boolean }
  | { readonly kind: 'bitfield'; readonly shift: number; readonly bits: number; readonly signed: boolean }
  | StructPlan
  | UnionPlan;

/** What structs and unions share: the C name, size and alignment, and the members at their offsets. */
interface AggregatePlan {
  readonly id: number;
  readonly name: string;
  readonly cName: string;
  readonly size: number;
  readonly align: number;
  /** What a decode puts in the object: every member (an anonymous struct's fields lifted). */
  readonly fields: readonly PlanField[];
}

export interface StructPlan extends AggregatePlan {
  readonly kind: 'struct';
}

export interface UnionPlan extends AggregatePlan {
  readonly kind: 'union';
  /** What an encode weighs: each C member with the fields it writes together (see union.ts). */
  readonly members: readonly (readonly PlanField[])[];
}

/** How deep types may nest (struct in struct, array of struct, ...) before the plan is refused. */
export const MAX_NESTING = 32;

/**
 * The plan of the codec for BTF type `id`. Each type is planned once (a
 * type used many times, as in a DAG, costs one visit); a type that contains
 * itself, nesting past MAX_NESTING, a member outside its struct, or a plan
 * whose decode would build far more values than its bytes can hold (unions
 * of unions, arrays of empty structs) is a CodecError (`CODEC_LAYOUT`).
 */
export function planFromBtf(btf: Btf, id: number, options: BtfCodecOptions = {}): CodecPlan {
  const plan = new Planner(btf, options).plan(id, 0);
  checkWork(plan);
  return plan;
}

/** `endpoint_id` → `endpointId` (leading and doubled underscores kept as they are). */
export function camelCase(name: string): string {
  return name.replace(/([a-z0-9])_+([a-z0-9])/gi, (_, a: string, b: string) => a + b.toUpperCase());
}

type Aggregate = Extract<BtfType, { kind: 'struct' | 'union' }>;
type Union = Extract<BtfType, { kind: 'union' }>;

/** The kinds BTF's resolve() looks through. */
const MODIFIERS = new Set<string>(['typedef', 'const', 'volatile', 'restrict', 'type_tag']);

/** A planned type, with how many levels of nesting it holds below it. */
interface Planned<T> {
  readonly value: T;
  readonly height: number;
}
const IN_PROGRESS = null;

class Planner {
  /** Each type's plan, its fields (at offset 0), its union members: computed once. */
  private readonly plans = new Map<number, Planned<CodecPlan> | typeof IN_PROGRESS>();
  private readonly fieldLists = new Map<number, Planned<PlanField[]> | typeof IN_PROGRESS>();
  private readonly memberLists = new Map<number, Planned<PlanField[][]> | typeof IN_PROGRESS>();
  /** The deepest level the plan being made has reached. */
  private deepest = 0;

  constructor(
    private readonly btf: Btf,
    private readonly options: BtfCodecOptions,
  ) {}

  /** `compute()` once per type and cache; a type met again inside itself is a cycle; a cached one still counts its depth. */
  private once<T>(cache: Map<number, Planned<T> | typeof IN_PROGRESS>, id: number, depth: number, compute: () => T): T {
    if (depth > MAX_NESTING) throw new CodecError('CODEC_LAYOUT', `BTF type [${id}] nests more than ${MAX_NESTING} levels deep`);
    const known = cache.get(id);
    if (known === IN_PROGRESS) throw new CodecError('CODEC_LAYOUT', `BTF type [${id}] contains itself`);
    if (known !== undefined) {
      if (depth + known.height > MAX_NESTING) throw new CodecError('CODEC_LAYOUT', `BTF type [${id}] nests more than ${MAX_NESTING} levels deep`);
      this.deepest = Math.max(this.deepest, depth + known.height);
      return known.value;
    }
    cache.set(id, IN_PROGRESS);
    const outer = this.deepest;
    this.deepest = depth;
    const value = compute();
    cache.set(id, { value, height: this.deepest - depth });
    this.deepest = Math.max(outer, this.deepest);
    return value;
  }

  plan(id: number, depth: number): CodecPlan {
    return this.once(this.plans, id, depth, () => this.computePlan(id, depth));
  }

  private computePlan(id: number, depth: number): CodecPlan {
    const byTypedef = this.typedefScalar(id);
    if (byTypedef) return { kind: 'scalar', id, scalar: byTypedef };
    const t = this.btf.resolve(id);
    switch (t.kind) {
      case 'int':
        return this.int(t.id, t);
      case 'float':
        return t.size === 4 || t.size === 8 ? { kind: 'scalar', id: t.id, scalar: t.size === 4 ? 'f32' : 'f64' } : { kind: 'bytes', id: t.id, size: t.size };
      case 'ptr':
        return { kind: 'scalar', id: t.id, scalar: 'u64' };
      case 'enum': {
        const base = t.size === 1 || t.size === 2 || t.size === 4 ? intOfSize(t.size, t.signed) : 'u32';
        return { kind: 'enum', id: t.id, name: `enum ${t.name || '(anon)'}`, cName: t.name, base, values: t.values.map((v) => [v.name, v.value] as const) };
      }
      case 'enum64':
        return {
          kind: 'enum64',
          id: t.id,
          name: `enum ${t.name || '(anon)'}`,
          cName: t.name,
          signed: t.signed,
          values: t.values.map((v) => [v.name, v.value] as const),
        };
      case 'array': {
        const elem = this.btf.resolve(t.type);
        if (elem.kind === 'int' && elem.size === 1 && (elem.encoding & 2 || elem.name === 'char')) return { kind: 'cstring', id: t.id, size: t.nelems };
        return { kind: 'array', id: t.id, element: this.plan(t.type, depth + 1), length: t.nelems };
      }
      case 'struct': {
        // Fields first: a type nested too deep fails there, before alignof walks it.
        const fields = this.fields(t, depth);
        return { kind: 'struct', id: t.id, name: `struct ${t.name || '(anon)'}`, cName: t.name, size: t.size, align: this.align(t.id), fields };
      }
      case 'union':
        return this.computeUnion(t, depth);
      default:
        throw new CodecError('CODEC_LAYOUT', `BTF type [${id}] (${t.kind}) has no value codec`);
    }
  }

  /** The scalar a typedef on the way from `id` to its type is mapped to (modifiers and typedefs followed). */
  private typedefScalar(id: number): ScalarName | undefined {
    const mapped = this.options.typedefs;
    if (!mapped) return undefined;
    let t = this.btf.type(id);
    for (let hops = 0; MODIFIERS.has(t.kind) && hops < 32; hops++) {
      if (t.kind === 'typedef' && Object.hasOwn(mapped, t.name)) {
        const scalar = mapped[t.name]!;
        const size = this.btf.sizeof(t.id);
        if (size !== SCALAR_SIZES[scalar]) throw new CodecError('CODEC_LAYOUT', `typedef ${t.name} is ${size} bytes, ${scalar} is ${SCALAR_SIZES[scalar]}`);
        return scalar;
      }
      t = this.btf.type((t as { type: number }).type);
    }
    return undefined;
  }

  private int(id: number, t: Extract<BtfType, { kind: 'int' }>): CodecPlan {
    if (t.encoding & 4 && t.size === 1) return { kind: 'scalar', id, scalar: 'bool' };
    if (t.size === 1 || t.size === 2 || t.size === 4) return { kind: 'scalar', id, scalar: intOfSize(t.size, t.signed) };
    if (t.size === 8) {
      const asNumber = this.options.int64 === 'number';
      return { kind: 'scalar', id, scalar: t.signed ? (asNumber ? 'i64AsNumber' : 'i64') : asNumber ? 'u64AsNumber' : 'u64' };
    }
    if (t.size === 16) return { kind: 'int128', id, signed: t.signed };
    return { kind: 'bytes', id, size: t.size };
  }

  private align(id: number): number {
    try {
      return this.btf.alignof(id);
    } catch {
      return 1;
    }
  }

  private memberName(name: string): string {
    return this.options.memberNames === 'camel' ? camelCase(name) : name;
  }

  /** Members at their byte offsets; anonymous struct members' fields lifted into the parent, as C exposes them. */
  private fields(t: Aggregate, depth: number): PlanField[] {
    return this.once(this.fieldLists, t.id, depth, () => {
      const out: PlanField[] = [];
      for (const m of t.members) for (const f of this.memberFields(t, m, depth)) out.push(f);
      const names = new Set<string>();
      for (const { name } of out) {
        if (name !== '' && names.has(name)) throw new CodecError('CODEC_LAYOUT', `${t.kind} ${t.name || '(anon)'}: two members named ${name}`);
        names.add(name);
      }
      return out;
    });
  }

  /** The fields one member puts in its parent's object (several for an anonymous struct; none for an unnamed one of another kind). */
  private memberFields(t: Aggregate, m: BtfMember, depth: number): PlanField[] {
    const inside = (offset: number, plan: CodecPlan, name: string) => {
      const size = planSize(plan);
      if (offset + size > t.size) {
        throw new CodecError(
          'CODEC_LAYOUT',
          `${t.kind} ${t.name || '(anon)'}: member ${name || '(anon)'} (${size} bytes at ${offset}) lies outside its ${t.size} bytes`,
        );
      }
    };
    if (m.bitfieldSize > 0) {
      const target = this.btf.resolve(m.type);
      const signed = (target.kind === 'int' && target.signed) || (target.kind === 'enum' && target.signed);
      const byte = Math.floor(m.bitOffset / 8);
      const plan: CodecPlan = { kind: 'bitfield', shift: m.bitOffset - byte * 8, bits: m.bitfieldSize, signed };
      inside(byte, plan, m.name);
      return [{ name: this.memberName(m.name), offset: byte, plan }];
    }
    if (m.bitOffset % 8 !== 0) throw new CodecError('CODEC_LAYOUT', `member ${m.name} is not byte-aligned`);
    const member = this.btf.resolve(m.type);
    const offset = m.bitOffset / 8;
    if (m.name === '' && member.kind === 'struct') {
      // An anonymous struct's members are the parent's, at their own offsets.
      inside(offset, { kind: 'bytes', id: member.id, size: member.size }, '');
      return this.fields(member, depth + 1).map((f) => ({ ...f, offset: f.offset + offset }));
    }
    if (m.name === '' && member.kind === 'union') {
      // An anonymous union's members overlay the same bytes: each is read; writing takes the one changed since the decode.
      const plan = this.union(member, depth + 1);
      inside(offset, plan, '');
      return [{ name: '', offset, plan, inline: true }];
    }
    if (m.name === '') return [];
    const plan = this.plan(m.type, depth + 1);
    inside(offset, plan, m.name);
    return [{ name: this.memberName(m.name), offset, plan }];
  }

  private union(t: Union, depth: number): UnionPlan {
    const plan = this.plan(t.id, depth);
    if (plan.kind !== 'union') throw new CodecError('CODEC_LAYOUT', `BTF type [${t.id}] is no union`); // a typedef mapped to a scalar
    return plan;
  }

  private computeUnion(t: Union, depth: number): UnionPlan {
    const fields = this.fields(t, depth);
    const members = this.unionMembers(t, depth);
    return { kind: 'union', id: t.id, name: `union ${t.name || '(anon)'}`, cName: t.name, size: t.size, align: this.align(t.id), fields, members };
  }

  /**
   * A union's members as encodeUnion weighs them: each C member with the
   * fields it puts in the object (an anonymous struct's fields together). An
   * anonymous union among them overlays the same bytes, so its own members are
   * more members of this one, recursively. (An anonymous union inside an
   * anonymous struct member is not weighed: that member's bytes are kept as
   * they were.)
   */
  private unionMembers(t: Union, depth: number): PlanField[][] {
    return this.once(this.memberLists, t.id, depth, () => {
      const out: PlanField[][] = [];
      for (const m of t.members) {
        const member = this.btf.resolve(m.type);
        if (m.name === '' && m.bitfieldSize === 0 && member.kind === 'union') {
          const at = m.bitOffset / 8;
          for (const group of this.unionMembers(member, depth + 1)) out.push(group.map((f) => ({ ...f, offset: f.offset + at })));
          continue;
        }
        const fields = this.memberFields(t, m, depth);
        if (fields.length > 0 && !fields.some((f) => f.inline)) out.push(fields);
      }
      return out;
    });
  }
}

function intOfSize(size: 1 | 2 | 4, signed: boolean): ScalarName {
  return size === 1 ? (signed ? 'i8' : 'u8') : size === 2 ? (signed ? 'i16' : 'u16') : signed ? 'i32' : 'u32';
}

/**
 * CO-RE calculation: recompute what the program assumed about a kernel type
 * (a field's offset, size, existence, ...) against the running kernel's BTF,
 * as libbpf's relo_core does; core-apply.ts patches the instructions with the
 * answers. Pure: the kernel's BTF is an argument. Candidates are found by
 * essential name (`task_struct___old` matches `task_struct`); fields are
 * matched by name, through anonymous members, as C would reach them.
 */
import type { Btf } from '../btf/btf.js';
import type { BtfType } from '../btf/types.js';
import { ObjectParseError } from '../errors.js';
import { essentialName as essential, typesAreCompatible, typesMatch } from './core-types.js';

/** One CO-RE relocation of a linked program, as BTF.ext gives it. */
export interface CoreReloInput {
  /** Instruction slot in the linked program. */
  readonly insn: number;
  readonly typeId: number;
  readonly accessStr: string;
  readonly kindName: string;
}

export type CoreResult =
  | {
      readonly insn: number;
      readonly kind: string;
      /** The new value: a number, or for enumval_value the 64 bits as a bigint (ld_imm64 holds them all). */
      readonly value: number | bigint;
      readonly original: number | bigint;
      /**
       * Whether the instruction must hold `original` before patching. Not for
       * bit-fields: clang picks its own load unit there, so libbpf doesn't check.
       */
      readonly validate: boolean;
      /**
       * A field_byte_offset on a plain (non bit-field) field: its size locally
       * and in the target. A load or store of the field changes width with it
       * when that is safe (pointers, unsigned integers), as libbpf does.
       */
      readonly memSize?: { readonly original: number; readonly value: number; readonly adjustable: boolean };
      readonly poison?: undefined;
    }
  | { readonly insn: number; readonly kind: string; readonly poison: string };

type Step = { kind: 'member'; name: string; index: number } | { kind: 'array'; index: number };

interface FieldSpec {
  /** Root type (after modifiers). */
  readonly root: BtfType;
  /** The named steps from the root (anonymous members are found again by name in the target). */
  readonly path: readonly Step[];
  /** The first access index: an index into an array of the root type. */
  readonly firstIndex: number;
}

interface FieldLocation {
  bitOffset: number;
  /** The field's type id (after the last access). */
  type: number;
  bitfieldSize: number;
}

function parseAccess(accessStr: string): number[] {
  const parts = accessStr.split(':').map((p) => Number(p));
  if (parts.length === 0 || parts.some((p) => !Number.isInteger(p) || p < 0)) {
    throw new ObjectParseError('BTF_EXT_INVALID', `CO-RE access string ${JSON.stringify(accessStr)} is malformed`);
  }
  return parts;
}

/** Walks the local type along the access indexes, recording named steps. */
function localSpec(btf: Btf, typeId: number, access: number[]): { spec: FieldSpec; loc: FieldLocation } {
  const root = btf.resolve(typeId);
  const [first, ...rest] = access;
  let bitOffset = first! * sizeOr(btf, root.id) * 8;
  let t = root;
  let type = root.id;
  let bitfieldSize = 0;
  const path: Step[] = [];
  for (const idx of rest) {
    if (t.kind === 'struct' || t.kind === 'union') {
      const m = t.members[idx];
      if (!m) throw new ObjectParseError('BTF_EXT_INVALID', `CO-RE access ${access.join(':')}: member ${idx} of ${t.name || '(anon)'} does not exist`);
      bitOffset += m.bitOffset;
      bitfieldSize = m.bitfieldSize;
      if (m.name) path.push({ kind: 'member', name: m.name, index: idx });
      type = m.type;
      t = btf.resolve(m.type);
    } else if (t.kind === 'array') {
      bitOffset += idx * sizeOr(btf, t.type) * 8;
      path.push({ kind: 'array', index: idx });
      type = t.type;
      t = btf.resolve(t.type);
      bitfieldSize = 0;
    } else {
      throw new ObjectParseError('BTF_EXT_INVALID', `CO-RE access ${access.join(':')} goes into a ${t.kind}`);
    }
  }
  return { spec: { root, path, firstIndex: first! }, loc: { bitOffset, type, bitfieldSize } };
}

function sizeOr(btf: Btf, id: number): number {
  try {
    return btf.sizeof(id);
  } catch {
    return 0;
  }
}

/** libbpf's bpf_core_fields_are_compat: same broad kind, recursively for arrays. */
function fieldsCompatible(local: Btf, lid: number, target: Btf, tid: number, depth = 0): boolean {
  const l = local.resolve(lid);
  const t = target.resolve(tid);
  const scalar = (x: BtfType) => x.kind === 'int' || x.kind === 'enum' || x.kind === 'enum64';
  if (scalar(l) && scalar(t)) return true;
  if (l.kind === 'float' && t.kind === 'float') return true;
  if (l.kind === 'fwd' || t.kind === 'fwd') return true;
  if (l.kind !== t.kind) return false;
  if (l.kind === 'ptr' || l.kind === 'struct' || l.kind === 'union') return true;
  if (l.kind === 'array' && t.kind === 'array' && depth < 16) return fieldsCompatible(local, l.type, target, t.type, depth + 1);
  return false;
}

/** Finds a member by name in a target composite, through anonymous members; bit offset relative to `t`. */
function findMember(btf: Btf, t: BtfType, name: string, depth = 0): { bitOffset: number; type: number; bitfieldSize: number } | undefined {
  if ((t.kind !== 'struct' && t.kind !== 'union') || depth > 16) return undefined;
  for (const m of t.members) {
    if (m.name === name) return { bitOffset: m.bitOffset, type: m.type, bitfieldSize: m.bitfieldSize };
    if (m.name === '') {
      const inner = findMember(btf, btf.resolve(m.type), name, depth + 1);
      if (inner) return { ...inner, bitOffset: inner.bitOffset + m.bitOffset };
    }
  }
  return undefined;
}

/** Follows the local spec's named path in a target candidate: the field's location there, or undefined. */
function matchField(local: Btf, spec: FieldSpec, localLeaf: number, target: Btf, named: BtfType): FieldLocation | undefined {
  const candidate = target.resolve(named.id);
  let bitOffset = spec.firstIndex * sizeOr(target, candidate.id) * 8;
  let t = candidate;
  let type = candidate.id;
  let bitfieldSize = 0;
  for (const step of spec.path) {
    if (step.kind === 'member') {
      const m = findMember(target, t, step.name);
      if (!m) return undefined;
      bitOffset += m.bitOffset;
      bitfieldSize = m.bitfieldSize;
      type = m.type;
      t = target.resolve(m.type);
    } else {
      if (t.kind !== 'array') return undefined;
      if (t.nelems > 0 && step.index >= t.nelems) return undefined;
      bitOffset += step.index * sizeOr(target, t.type) * 8;
      type = t.type;
      t = target.resolve(t.type);
      bitfieldSize = 0;
    }
  }
  if (!fieldsCompatible(local, localLeaf, target, type)) return undefined;
  return { bitOffset, type, bitfieldSize };
}

/** The size of a plain field, for load-width adjustment; undefined for bit-fields and other kinds. */
function fieldMemSize(btf: Btf, loc: FieldLocation, kind: string): number | undefined {
  return kind === 'field_byte_offset' && !loc.bitfieldSize ? sizeOr(btf, loc.type) : undefined;
}

/** Loads may change width only where no sign extension is lost: pointers, or unsigned integers on both sides. */
function widthAdjustable(local: Btf, lid: number, target: Btf, tid: number): boolean {
  const l = local.resolve(lid);
  const t = target.resolve(tid);
  if (l.kind === 'ptr' && t.kind === 'ptr') return true;
  return l.kind === 'int' && t.kind === 'int' && !l.signed && !t.signed;
}

/** libbpf's bpf_core_calc_field_relo for one side (local or target). */
function fieldValue(btf: Btf, loc: FieldLocation, kind: string): number {
  const t = btf.resolve(loc.type);
  const size = sizeOr(btf, loc.type);
  const bitSize = loc.bitfieldSize || size * 8;
  if (loc.bitfieldSize ? size === 0 : loc.bitOffset % 8 !== 0)
    throw new ObjectParseError(
      'BTF_INVALID',
      `CO-RE field at bit ${loc.bitOffset} (type [${loc.type}]) is neither byte-aligned nor a bit-field of a sized type`,
    );
  // A bit-field is read through the naturally aligned storage unit that holds it.
  let byteSize = size;
  let byteOff = loc.bitfieldSize ? Math.floor(loc.bitOffset / 8 / size) * size : loc.bitOffset / 8;
  if (loc.bitfieldSize) {
    while (loc.bitOffset + bitSize - byteOff * 8 > byteSize * 8) {
      if (byteSize >= 8) break;
      byteSize *= 2;
      byteOff = Math.floor(loc.bitOffset / 8 / byteSize) * byteSize;
    }
  }
  switch (kind) {
    case 'field_byte_offset':
      return byteOff;
    case 'field_byte_size':
      return byteSize;
    case 'field_exists':
      return 1;
    case 'field_signed':
      return t.kind === 'int' ? (t.signed ? 1 : 0) : t.kind === 'enum' || t.kind === 'enum64' ? (t.signed ? 1 : 0) : 0;
    case 'field_lshift_u64':
      // The program loads byteSize bytes into a u64 and shifts the field to the top.
      return btf.byteOrder === 'big' ? (8 - byteSize) * 8 + (loc.bitOffset - byteOff * 8) : 64 - (loc.bitOffset + bitSize - byteOff * 8);
    case 'field_rshift_u64':
      return 64 - bitSize;
    default:
      throw new ObjectParseError('BTF_EXT_INVALID', `unknown field relocation ${kind}`);
  }
}

/**
 * Target candidates: same kind (an enum may be an enum64), same essential
 * name on both sides (libbpf's rule: a local `foo` finds `foo` and
 * `foo___x` alike, and more than one that disagree is an error). `local` is the relocation's own type, not looked through: a typedef
 * finds typedefs of that name, as in libbpf.
 */
function candidates(target: Btf, local: BtfType): BtfType[] {
  const name = essential(local.name);
  if (!name) return [];
  const kinds: BtfType['kind'][] =
    local.kind === 'enum' || local.kind === 'enum64' ? ['enum', 'enum64'] : local.kind === 'fwd' ? ['struct', 'union'] : [local.kind];
  const out: BtfType[] = [];
  // As libbpf: the target's names are compared by their essential part too (`foo___x` is a `foo`).
  for (const k of kinds) for (const t of target.findAllByNamePrefix(name, k)) if (essential(t.name) === name) out.push(t);
  return out;
}

/**
 * The value each CO-RE relocation must have against `target` (or a poison
 * marker where libbpf would poison the instruction), with the value the
 * object was compiled with, to check against the instruction.
 */
export function calculateCoreRelos(local: Btf, target: Btf, relos: readonly CoreReloInput[], options: { modules?: () => readonly Btf[] } = {}): CoreResult[] {
  let modules: readonly Btf[] | undefined;
  return relos.map((r) => {
    const result = calculate(local, target, r);
    // As libbpf: kernel modules are searched only when vmlinux has no candidate at all.
    if (!options.modules || (!('poison' in result && result.poison !== undefined) && !isZeroExists(result))) return result;
    modules ??= options.modules();
    for (const m of modules) {
      const again = calculate(local, m, r);
      if (!('poison' in again && again.poison !== undefined) && !isZeroExists(again)) return again;
    }
    return result;
  });
}

/** An "exists" answer of 0: worth asking the modules too. */
function isZeroExists(r: CoreResult): boolean {
  return r.poison === undefined && r.value === 0 && /exists|matches/.test(r.kind);
}

/**
 * An enumerator's value as the 64 bits libbpf puts in the instruction: a
 * 32-bit enum's value is signed there whatever the enum's signedness
 * (`struct btf_enum` holds an `__s32`), so -5 becomes 0xfffffffffffffffb; an
 * enum64's is its unsigned 64 bits.
 */
function enumValue64(kind: 'enum' | 'enum64', value: number | bigint): bigint {
  return kind === 'enum' ? BigInt.asUintN(64, BigInt(Number(value) | 0)) : BigInt.asUintN(64, BigInt(value));
}

/** One answer from several candidates, or an error when they disagree (libbpf refuses to guess). */
function agree<T extends { value: number | bigint }>(r: CoreReloInput, values: T[]): T | undefined {
  if (values.length === 0) return undefined;
  const first = values[0]!;
  if (values.some((v) => v.value !== first.value)) {
    throw new ObjectParseError(
      'RELOCATION_INVALID',
      `CO-RE ${r.kindName} at instruction ${r.insn}: candidates disagree (${values.map((v) => v.value).join(', ')})`,
    );
  }
  return first;
}

function calculate(local: Btf, target: Btf, r: CoreReloInput): CoreResult {
  const kind = r.kindName;
  const access = parseAccess(r.accessStr);
  const root = local.type(r.typeId);

  if (kind === 'type_id_local') return { insn: r.insn, kind, value: r.typeId, original: r.typeId, validate: true };
  if (kind.startsWith('type_')) {
    const original = kind === 'type_size' ? sizeOr(local, root.id) : kind === 'type_id_target' ? r.typeId : 1;
    const related = kind === 'type_matches' ? typesMatch : typesAreCompatible;
    const found = candidates(target, root).filter((c) => related(local, root.id, target, c.id));
    const chosen = agree(
      r,
      found.map((c) => ({ value: kind === 'type_size' ? sizeOr(target, c.id) : kind === 'type_id_target' ? c.id : 1 })),
    );
    // A target type id may change when objects are linked: libbpf does not hold the instruction to it.
    const validate = kind !== 'type_id_target';
    // As libbpf: every type-based relocation is 0 when the target has no such type (never poisoned).
    return { insn: r.insn, kind, value: chosen?.value ?? 0, original, validate };
  }

  if (kind.startsWith('enumval_')) {
    const en = local.resolve(r.typeId);
    if (en.kind !== 'enum' && en.kind !== 'enum64') throw new ObjectParseError('BTF_EXT_INVALID', `enum relocation on a ${en.kind}`);
    const enumerator = en.values[access[0]!];
    if (!enumerator) throw new ObjectParseError('BTF_EXT_INVALID', `enumerator ${access[0]} of ${en.name} does not exist`);
    const name = essential(enumerator.name);
    const original = kind === 'enumval_exists' ? 1 : enumValue64(en.kind, enumerator.value);
    const values: { value: number | bigint }[] = [];
    for (const candidate of candidates(target, root)) {
      const c = target.resolve(candidate.id);
      if (c.kind !== 'enum' && c.kind !== 'enum64') continue;
      const v = (c.values as readonly { name: string; value: number | bigint }[]).find((e) => essential(e.name) === name);
      if (v) values.push({ value: kind === 'enumval_exists' ? 1 : enumValue64(c.kind, v.value) });
    }
    const chosen = agree(r, values);
    if (chosen) return { insn: r.insn, kind, value: chosen.value, original, validate: true };
    if (kind === 'enumval_exists') return { insn: r.insn, kind, value: 0, original, validate: true };
    return { insn: r.insn, kind, poison: `no enumerator ${name} in the target's enum ${essential(root.name)}` };
  }

  const { spec, loc } = localSpec(local, r.typeId, access);
  const original = fieldValue(local, loc, kind);
  const validate = loc.bitfieldSize === 0;
  const localSize = fieldMemSize(local, loc, kind);
  const matches: { value: number; original: number; found: FieldLocation }[] = [];
  for (const c of candidates(target, root)) {
    const found = matchField(local, spec, loc.type, target, c);
    if (found) matches.push({ value: fieldValue(target, found, kind), original, found });
  }
  const chosen = agree(r, matches);
  if (chosen) {
    const targetSize = fieldMemSize(target, chosen.found, kind);
    const memSize =
      localSize !== undefined && targetSize !== undefined
        ? { original: localSize, value: targetSize, adjustable: localSize === targetSize || widthAdjustable(local, loc.type, target, chosen.found.type) }
        : undefined;
    return { insn: r.insn, kind, value: chosen.value, original, validate, ...(memSize ? { memSize } : {}) };
  }
  if (kind === 'field_exists') return { insn: r.insn, kind, value: 0, original, validate };
  return {
    insn: r.insn,
    kind,
    poison: `${essential(root.name)}.${spec.path.map((p) => (p.kind === 'member' ? p.name : `[${p.index}]`)).join('.')} is not in the target BTF`,
  };
}

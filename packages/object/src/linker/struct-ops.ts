/**
 * struct_ops maps fitted to the running kernel (pure): the kernel struct the
 * object's variable names (`tcp_congestion_ops`), the map's value type
 * (`bpf_struct_ops_<name>`) and size, the value's bytes with each data
 * member copied to the kernel member of the same name, and which kernel
 * member (offset, index) each program fills, as libbpf matches them.
 */
import type { Btf } from '../btf/btf.js';
import type { BtfType } from '../btf/types.js';
import { LinkError } from '../errors.js';
import type { CollectionSpec, MapSpec } from '../spec.js';
import { MapType } from '../uapi.js';

/** One function pointer of the kernel struct, set to a program. */
export interface StructOpsProgramSlot {
  /** The member's name (`ssthresh`). */
  readonly member: string;
  /** Its position in the kernel struct: the program's `expected_attach_type`. */
  readonly memberIndex: number;
  /** Byte offset in the map's value where the program's fd goes (8 bytes). */
  readonly offset: number;
  readonly program: string;
}

/** A struct_ops map as this kernel wants it. */
export interface StructOpsLayout {
  readonly map: string;
  /** The kernel struct's name (`tcp_congestion_ops`). */
  readonly typeName: string;
  /** Kernel BTF id of that struct: each of the map's programs' `attach_btf_id`. */
  readonly structTypeId: number;
  /** Kernel BTF id of `bpf_struct_ops_<name>`: the map's `btf_vmlinux_value_type_id`. */
  readonly valueTypeId: number;
  readonly valueSize: number;
  /** The value: data members copied at their kernel offsets; function pointers and everything else zero. */
  readonly value: Uint8Array;
  readonly programs: readonly StructOpsProgramSlot[];
  /** BPF_F_LINK: registered through a link (`.struct_ops.link`), not by writing the value. */
  readonly link: boolean;
}

/** BPF_F_LINK. */
const BPF_F_LINK = 1 << 13;

function isFuncPointer(btf: Btf, t: BtfType): boolean {
  return t.kind === 'ptr' && btf.resolve(t.type).kind === 'func_proto';
}

/**
 * Fits one struct_ops map of the spec to the kernel's BTF. Throws LinkError
 * ATTACH_TARGET_NOT_FOUND when the kernel has no such struct_ops type, and
 * STRUCT_OPS_INVALID when the object's struct cannot be matched to it (a
 * member the kernel lacks that is not zero, sizes or kinds that differ, a
 * bitfield, a program in a data member).
 */
export function structOpsLayout(spec: CollectionSpec, mapName: string, kernel: Btf): StructOpsLayout {
  const m: MapSpec | undefined = spec.maps[mapName];
  if (!m || m.type !== MapType.struct_ops) throw new LinkError('SPEC_INVALID', `no struct_ops map named ${mapName}`);
  const btf = spec.btf;
  if (!btf) throw new LinkError('SPEC_INVALID', `map ${mapName}: struct_ops maps need the object's BTF`);
  const bad = (message: string) => new LinkError('STRUCT_OPS_INVALID', `map ${mapName}: ${message}`);
  const local = btf.resolve(m.btfValueTypeId);
  if (local.kind !== 'struct') throw bad(`its type is a ${local.kind}, not a struct`);
  const typeName = local.name;
  const kernType = kernel.findByName(typeName, 'struct');
  const valueName = `bpf_struct_ops_${typeName}`;
  const valueType = kernel.findByName(valueName, 'struct');
  if (kernType?.kind !== 'struct' || valueType?.kind !== 'struct') {
    throw new LinkError(
      'ATTACH_TARGET_NOT_FOUND',
      `map ${mapName}: the kernel's BTF has no struct_ops type ${typeName} (no struct ${valueName}; types of kernel modules are not supported)`,
    );
  }
  // The kernel struct sits in the value type as its member of that type (`data`), after the common header.
  const data = valueType.members.find((x) => kernel.resolve(x.type).id === kernType.id);
  if (!data) throw new LinkError('ATTACH_TARGET_NOT_FOUND', `map ${mapName}: struct ${valueName} has no member of type ${typeName}`);
  const dataOffset = data.bitOffset / 8;
  const value = new Uint8Array(valueType.size);
  const initial = m.initialValue ?? new Uint8Array(local.size);
  const slotOf = new Map(m.slots.filter((s) => s.program !== undefined).map((s) => [s.index, s.program!]));
  const programs: StructOpsProgramSlot[] = [];
  local.members.forEach((member, i) => {
    const program = slotOf.get(i);
    if (member.bitfieldSize !== 0 || member.bitOffset % 8 !== 0) throw bad(`member ${member.name} is a bitfield, which struct_ops cannot copy`);
    const at = member.bitOffset / 8;
    const size = btf.sizeof(member.type);
    const bytes = initial.subarray(at, at + size);
    const kIndex = kernType.members.findIndex((k) => k.name === member.name);
    if (kIndex < 0) {
      // The object was built against another kernel: a member this one lacks may stay only if it is unset.
      if (program !== undefined || bytes.some((b) => b !== 0)) throw bad(`member ${member.name} is set, but the kernel's ${typeName} has no such member`);
      return;
    }
    const k = kernType.members[kIndex]!;
    if (k.bitfieldSize !== 0 || k.bitOffset % 8 !== 0) throw bad(`the kernel's ${typeName}.${member.name} is a bitfield, which struct_ops cannot fill`);
    const kOffset = dataOffset + k.bitOffset / 8;
    const mine = btf.resolve(member.type);
    const theirs = kernel.resolve(k.type);
    if (mine.kind !== theirs.kind) throw bad(`member ${member.name} is a ${mine.kind} here but a ${theirs.kind} in the kernel`);
    if (program !== undefined) {
      if (!isFuncPointer(kernel, theirs)) throw bad(`member ${member.name} is set to program ${program}, but the kernel's member is not a function pointer`);
      programs.push({ member: member.name, memberIndex: kIndex, offset: kOffset, program });
      return;
    }
    if (mine.kind === 'ptr') {
      // A pointer set to nothing the object resolves (no relocation) must be NULL: the kernel takes no addresses.
      if (bytes.some((b) => b !== 0)) throw bad(`member ${member.name} is a pointer set to something other than a program`);
      return;
    }
    const kSize = kernel.sizeof(k.type);
    if (kSize !== size) throw bad(`member ${member.name} is ${size} bytes here but ${kSize} in the kernel`);
    value.set(bytes, kOffset);
  });
  return {
    map: mapName,
    typeName,
    structTypeId: kernType.id,
    valueTypeId: valueType.id,
    valueSize: valueType.size,
    value,
    programs,
    link: (m.flags & BPF_F_LINK) !== 0,
  };
}

/**
 * Every struct_ops map of the spec fitted to the kernel, and for each
 * program they use, what it attaches to (`attach_btf_id`, `expected_attach_type`).
 * A program used by two maps must fill the same member of the same struct.
 */
export function structOpsLayouts(
  spec: CollectionSpec,
  kernel: Btf,
): { readonly maps: readonly StructOpsLayout[]; readonly programs: ReadonlyMap<string, { readonly attachBtfId: number; readonly memberIndex: number }> } {
  const maps = Object.values(spec.maps)
    .filter((m) => m.type === MapType.struct_ops)
    .map((m) => structOpsLayout(spec, m.name, kernel));
  const programs = new Map<string, { attachBtfId: number; memberIndex: number }>();
  for (const layout of maps) {
    for (const slot of layout.programs) {
      const seen = programs.get(slot.program);
      if (seen && (seen.attachBtfId !== layout.structTypeId || seen.memberIndex !== slot.memberIndex)) {
        throw new LinkError('STRUCT_OPS_INVALID', `program ${slot.program} fills two different struct_ops members (map ${layout.map}: ${slot.member})`);
      }
      programs.set(slot.program, { attachBtfId: layout.structTypeId, memberIndex: slot.memberIndex });
    }
  }
  return { maps, programs };
}

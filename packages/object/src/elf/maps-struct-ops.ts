/**
 * struct_ops maps: each variable of a `.struct_ops` or `.struct_ops.link`
 * section is one map of type BPF_MAP_TYPE_STRUCT_OPS whose value is the
 * variable's struct (a kernel ops table such as `tcp_congestion_ops`), its
 * function pointers set to programs by relocations (`.rel.struct_ops*`), as
 * libbpf reads them. `.struct_ops.link` maps carry BPF_F_LINK (attached
 * through a link rather than by updating the map).
 */
import { ObjectParseError } from '../errors.js';
import type { MapSlotValue, MapSpec } from '../spec.js';
import { MapType, mapTypeName } from '../uapi.js';
import type { ObjectContext } from './context.js';
import { STT } from './symbols.js';

export const STRUCT_OPS_SECTIONS = ['.struct_ops', '.struct_ops.link'] as const;

/** BPF_F_LINK: the map is registered through a link (BPF_LINK_CREATE), not when its value is set. */
const BPF_F_LINK = 1 << 13;

export function parseStructOpsMaps(ctx: ObjectContext): MapSpec[] {
  const out: MapSpec[] = [];
  for (const sectionName of STRUCT_OPS_SECTIONS) {
    const section = ctx.elf.sectionByName(sectionName);
    if (!section) continue;
    const err = (message: string) => new ObjectParseError('MAP_INVALID', message, { section: sectionName });
    const btf = ctx.btf;
    if (!btf) throw err('struct_ops maps need a .BTF section');
    const datasec = btf.findByName(sectionName, 'datasec');
    if (datasec?.kind !== 'datasec') throw err(`no DATASEC ${sectionName} in BTF`);
    const symbols = new Map(ctx.symbols.filter((s) => s.sectionIndex === section.index && s.type === STT.OBJECT && s.name !== '').map((s) => [s.name, s]));
    const relocations = ctx.relocations.get(section.index) ?? [];
    for (const v of datasec.vars) {
      const variable = btf.type(v.type);
      if (variable.kind !== 'var') throw err(`DATASEC entry ${v.type} is a ${variable.kind}, not a var`);
      const name = variable.name;
      const symbol = symbols.get(name);
      if (!symbol) throw err(`map ${name}: no ELF symbol for the struct_ops variable`);
      const struct = btf.resolve(variable.type);
      if (struct.kind !== 'struct') throw err(`map ${name}: a struct_ops variable must be a struct, not ${struct.kind}`);
      if (symbol.value + struct.size > section.size) throw err(`map ${name}: its struct runs past the end of the section`);
      // Function pointer members set to programs: relocations inside the variable, by member offset.
      const slots: MapSlotValue[] = [];
      for (const r of relocations) {
        if (r.offset < symbol.value || r.offset >= symbol.value + struct.size) continue;
        const at = (r.offset - symbol.value) * 8;
        const index = struct.members.findIndex((m) => m.bitOffset === at);
        if (index < 0) throw err(`map ${name}: a relocation at offset ${r.offset - symbol.value} is not at a member`);
        if (r.symbol.type !== STT.FUNC) throw err(`map ${name}: member ${struct.members[index]!.name} is not set to a program`);
        slots.push({ index, member: struct.members[index]!.name, program: r.symbol.name });
      }
      out.push({
        name,
        kind: 'struct_ops',
        sectionName,
        type: MapType.struct_ops,
        typeName: mapTypeName(MapType.struct_ops),
        keySize: 4,
        valueSize: struct.size,
        maxEntries: 1,
        flags: sectionName === '.struct_ops.link' ? BPF_F_LINK : 0,
        numaNode: 0,
        mapExtra: 0n,
        pinning: 0,
        btfKeyTypeId: 0,
        btfValueTypeId: struct.id,
        innerMap: undefined,
        slots: slots.sort((a, b) => a.index - b.index),
        initialValue: section.copy(symbol.value, symbol.value + struct.size),
        freeze: false,
        variables: [],
      });
    }
  }
  return out;
}

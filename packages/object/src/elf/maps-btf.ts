import type { Btf, BtfType } from '../btf/index.js';
import { ObjectParseError } from '../errors.js';
import type { MapSlotValue, MapSpec } from '../spec.js';
import { MapType, mapTypeName } from '../uapi.js';
import { MAPS_SECTION, type ObjectContext } from './context.js';
import { STT } from './symbols.js';

/**
 * BTF-defined maps: each variable in `.maps` is an anonymous struct whose
 * members encode the definition in their *types*, not in data:
 *   __uint(name, N)  → `int (*name)[N]`   (the number is the array length)
 *   __ulong(name, N) → an anonymous enum (enum64 past 32 bits) of one value N
 *                      (libbpf's form for 64-bit attributes: map_extra)
 *   __type(name, T)  → `T *name`          (key/value by type)
 *   __array(values, struct inner) → `struct inner *values[]` (map-in-map inner
 *     definition or prog array), whose initial entries are relocations in `.rel.maps`.
 */
export function parseBtfMaps(ctx: ObjectContext): MapSpec[] {
  const section = ctx.elf.sectionByName(MAPS_SECTION);
  if (!section) return [];
  const err = (message: string, map?: string) => new ObjectParseError('MAP_INVALID', map ? `map ${map}: ${message}` : message, { section: MAPS_SECTION });
  const btf = ctx.btf;
  if (!btf) throw err('BTF-defined maps need a .BTF section');
  const datasec = btf.findByName(MAPS_SECTION, 'datasec');
  if (!datasec || datasec.kind !== 'datasec') throw err('no DATASEC .maps in BTF');

  const symbolsByName = new Map(ctx.symbols.filter((s) => s.sectionIndex === section.index && s.type !== STT.SECTION && s.name !== '').map((s) => [s.name, s]));
  const relocations = ctx.relocations.get(section.index) ?? [];

  return datasec.vars.map((v) => {
    const variable = btf.type(v.type);
    if (variable.kind !== 'var') throw err(`DATASEC entry ${v.type} is a ${variable.kind}, not a var`);
    const name = variable.name;
    const symbol = symbolsByName.get(name);
    if (!symbol) throw err('no ELF symbol for the map variable', name);
    const def = parseDefinition(btf, variable.type, name, err);

    // Initial values: relocations that land inside this map's `values` array.
    const slots: MapSlotValue[] = [];
    if (def.valuesOffset !== undefined) {
      const start = symbol.value + def.valuesOffset;
      for (const r of relocations) {
        if (r.offset < symbol.value || r.offset >= symbol.value + Math.max(symbol.size, 1)) continue;
        if (r.offset < start || (r.offset - start) % 8 !== 0) throw err(`relocation at ${r.offset} is not a values slot`, name);
        const index = (r.offset - start) / 8;
        if (def.type === MapType.prog_array) {
          if (r.symbol.type !== STT.FUNC) throw err(`values[${index}] is not a program`, name);
          slots.push({ index, program: r.symbol.name });
        } else {
          if (r.symbol.sectionIndex !== section.index) throw err(`values[${index}] is not a map`, name);
          slots.push({ index, map: r.symbol.name });
        }
      }
      slots.sort((a, b) => a.index - b.index);
    }
    return { ...def.spec, name, slots, innerMap: def.inner };
  });
}

interface Definition {
  spec: Omit<MapSpec, 'name' | 'slots' | 'innerMap'>;
  type: number;
  inner: MapSpec | undefined;
  /** Byte offset of the `values` member inside the definition struct. */
  valuesOffset: number | undefined;
}

function parseDefinition(btf: Btf, typeId: number, name: string, err: (message: string, map?: string) => ObjectParseError): Definition {
  const def = btf.resolve(typeId);
  if (def.kind !== 'struct') throw err(`definition is a ${def.kind}, not a struct`, name);

  const uints = new Map<string, number>();
  let mapExtra = 0n;
  let keyTypeId = 0;
  let valueTypeId = 0;
  let inner: MapSpec | undefined;
  let valuesOffset: number | undefined;
  let valuesIsProgArray = false;

  for (const member of def.members) {
    const memberType = btf.resolve(member.type);
    switch (member.name) {
      case 'type':
      case 'max_entries':
      case 'map_flags':
      case 'numa_node':
      case 'key_size':
      case 'value_size':
      case 'pinning':
        uints.set(member.name, uintValue(btf, memberType, name, member.name, err));
        break;
      case 'map_extra':
        mapExtra = ulongValue(btf, memberType, name, member.name, err);
        break;
      case 'key':
      case 'value':
        if (memberType.kind !== 'ptr') throw err(`member ${member.name} must be a pointer (__type)`, name);
        if (member.name === 'key') keyTypeId = memberType.type;
        else valueTypeId = memberType.type;
        break;
      case 'values': {
        if (memberType.kind !== 'array') throw err('member values must be an array (__array)', name);
        const elem = btf.resolve(memberType.type);
        if (elem.kind !== 'ptr') throw err('values[] elements must be pointers', name);
        const target = btf.resolve(elem.type);
        valuesOffset = member.bitOffset / 8;
        if (target.kind === 'func_proto') {
          valuesIsProgArray = true;
        } else if (target.kind === 'struct') {
          const innerDef = parseDefinition(btf, elem.type, `${name}.inner`, err);
          if (innerDef.inner) throw err('an inner map cannot itself hold maps', name);
          inner = { ...innerDef.spec, name: `${name}.inner`, slots: [], innerMap: undefined };
        } else {
          throw err(`values[] must point to a map definition or a function prototype, not ${target.kind}`, name);
        }
        break;
      }
      default:
        throw err(`unknown member ${JSON.stringify(member.name)} in map definition`, name);
    }
  }

  const type = uints.get('type');
  if (type === undefined) throw err('no type', name);
  if (valuesIsProgArray && type !== MapType.prog_array) throw err('function values[] need BPF_MAP_TYPE_PROG_ARRAY', name);
  if (inner && type !== MapType.array_of_maps && type !== MapType.hash_of_maps) {
    throw err('map values[] need an array/hash of maps', name);
  }
  const keySize = sizeFrom(btf, 'key', keyTypeId, uints.get('key_size'), name, err);
  let valueSize = sizeFrom(btf, 'value', valueTypeId, uints.get('value_size'), name, err);
  if (inner || valuesIsProgArray) {
    // Map-in-map and prog-array values are fds (u32), whatever the pointer size.
    if (uints.has('value_size') && uints.get('value_size') !== 4) throw err('value_size must be 4', name);
    valueSize = 4;
  }
  return {
    type,
    inner,
    valuesOffset,
    spec: {
      kind: 'btf',
      sectionName: MAPS_SECTION,
      type,
      typeName: mapTypeName(type),
      keySize,
      valueSize,
      maxEntries: uints.get('max_entries') ?? 0,
      flags: uints.get('map_flags') ?? 0,
      numaNode: uints.get('numa_node') ?? 0,
      mapExtra,
      pinning: uints.get('pinning') ?? 0,
      btfKeyTypeId: keyTypeId,
      btfValueTypeId: valueTypeId,
      initialValue: undefined,
      freeze: false,
      variables: [],
    },
  };
}

/** `__uint(name, N)` is `int (*name)[N]`: N is the array's element count. */
function uintValue(btf: Btf, type: BtfType, map: string, member: string, err: (message: string, map?: string) => ObjectParseError): number {
  if (type.kind !== 'ptr') throw err(`member ${member} must be a pointer to an array (__uint)`, map);
  const array = btf.resolve(type.type);
  if (array.kind !== 'array') throw err(`member ${member} must point to an array (__uint)`, map);
  return array.nelems;
}

/**
 * A 64-bit attribute: `__uint(name, N)` as above, or `__ulong(name, N)`, an
 * enum (or enum64) with a single enumerator whose value is N.
 */
function ulongValue(btf: Btf, type: BtfType, map: string, member: string, err: (message: string, map?: string) => ObjectParseError): bigint {
  if (type.kind === 'ptr') return BigInt(uintValue(btf, type, map, member, err));
  if (type.kind !== 'enum' && type.kind !== 'enum64')
    throw err(`member ${member} must be __uint (a pointer to an array) or __ulong (an enum), not ${type.kind}`, map);
  if (type.values.length !== 1) throw err(`member ${member}: __ulong is an enum of one value, this one has ${type.values.length}`, map);
  return BigInt.asUintN(64, BigInt(type.values[0]!.value));
}

function sizeFrom(
  btf: Btf,
  what: 'key' | 'value',
  typeId: number,
  explicit: number | undefined,
  map: string,
  err: (message: string, map?: string) => ObjectParseError,
): number {
  if (typeId === 0) return explicit ?? 0;
  let size: number;
  try {
    size = btf.sizeof(typeId);
  } catch (cause) {
    throw err(`${what} type has no size: ${(cause as Error).message}`, map);
  }
  if (explicit !== undefined && explicit !== size) {
    throw err(`${what}_size ${explicit} contradicts the ${what} type's size ${size}`, map);
  }
  return size;
}

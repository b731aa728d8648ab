/** Maps defined the pre-BTF way: `struct bpf_map_def` in `SEC("maps")`. */
import { ByteReader } from '../bytes.js';
import { ObjectParseError } from '../errors.js';
import type { MapSpec } from '../spec.js';
import { mapTypeName } from '../uapi.js';
import { LEGACY_MAPS_SECTION, type ObjectContext } from './context.js';
import { STT } from './symbols.js';

/** `struct bpf_map_def`: type, key_size, value_size, max_entries, map_flags (u32 each). */
const LEGACY_DEF_SIZE = 20;

/**
 * The pre-BTF `SEC("maps")` convention: an array of `struct bpf_map_def`, one
 * per symbol. As libbpf does, the size of one definition is the section size
 * divided by the number of map symbols; bytes past the five known fields must
 * be zero (we do not guess at other loaders' extensions).
 */
export function parseLegacyMaps(ctx: ObjectContext): MapSpec[] {
  const section = ctx.elf.sectionByName(LEGACY_MAPS_SECTION);
  if (!section) return [];
  const err = (message: string, offset?: number) =>
    new ObjectParseError('MAP_INVALID', message, { section: LEGACY_MAPS_SECTION, offset });
  const symbols = ctx.symbols
    .filter((s) => s.sectionIndex === section.index && s.type !== STT.SECTION && s.name !== '')
    .sort((a, b) => a.value - b.value);
  if (symbols.length === 0) return [];
  if (section.size % symbols.length !== 0) throw err(`size ${section.size} is not a multiple of ${symbols.length} maps`);
  const defSize = section.size / symbols.length;
  if (defSize < LEGACY_DEF_SIZE) throw err(`map definitions of ${defSize} bytes are shorter than bpf_map_def`);
  const r = new ByteReader(section.data, ctx.byteOrder, 'MAP_INVALID', LEGACY_MAPS_SECTION);

  return symbols.map((symbol) => {
    const o = symbol.value;
    if (o % defSize !== 0) throw err(`map ${symbol.name} is not at a definition boundary`, o);
    for (let extra = o + LEGACY_DEF_SIZE; extra < o + defSize; extra++) {
      if (r.u8(extra) !== 0) throw err(`map ${symbol.name}: unsupported non-zero bytes past bpf_map_def`, extra);
    }
    const type = r.u32(o);
    return {
      name: symbol.name,
      kind: 'legacy',
      sectionName: LEGACY_MAPS_SECTION,
      type,
      typeName: mapTypeName(type),
      keySize: r.u32(o + 4),
      valueSize: r.u32(o + 8),
      maxEntries: r.u32(o + 12),
      flags: r.u32(o + 16),
      numaNode: 0,
      mapExtra: 0n,
      pinning: 0,
      btfKeyTypeId: 0,
      btfValueTypeId: 0,
      innerMap: undefined,
      slots: [],
      initialValue: undefined,
      freeze: false,
      variables: [],
    };
  });
}

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
 * The pre-BTF `SEC("maps")` convention: one definition per symbol, starting
 * with the five fields of `struct bpf_map_def`. A definition spans its
 * symbol's size (objects from `bpftool gen object` leave gaps between
 * them); where symbols have no size (older clang), the section is divided
 * evenly, as libbpf did. Bytes past the five fields (iproute2's
 * `bpf_elf_map`: id, pinning, inner_id, inner_idx) are kept as `extra`, as
 * cilium/ebpf keeps them: the loader refuses to create a map whose extra
 * bytes are not all zero, since their meaning is another loader's.
 */
export function parseLegacyMaps(ctx: ObjectContext): MapSpec[] {
  const section = ctx.elf.sectionByName(LEGACY_MAPS_SECTION);
  if (!section) return [];
  const err = (message: string, offset?: number) => new ObjectParseError('MAP_INVALID', message, { section: LEGACY_MAPS_SECTION, offset });
  const symbols = ctx.symbols.filter((s) => s.sectionIndex === section.index && s.type !== STT.SECTION && s.name !== '').sort((a, b) => a.value - b.value);
  if (symbols.length === 0) return [];
  const sized = symbols.every((s) => s.size > 0);
  if (!sized && section.size % symbols.length !== 0) throw err(`size ${section.size} is not a multiple of ${symbols.length} maps`);
  const evenSize = section.size / symbols.length;
  const r = new ByteReader(section.data, ctx.byteOrder, 'MAP_INVALID', LEGACY_MAPS_SECTION);

  return symbols.map((symbol) => {
    const o = symbol.value;
    const size = sized ? symbol.size : evenSize;
    if (size < LEGACY_DEF_SIZE) throw err(`map ${symbol.name}: a definition of ${size} bytes is shorter than bpf_map_def`, o);
    if (!sized && o % size !== 0) throw err(`map ${symbol.name} is not at a definition boundary`, o);
    if (o + size > section.size) throw err(`map ${symbol.name}: its definition runs past the end of the section`, o);
    const extra = section.data.slice(o + LEGACY_DEF_SIZE, o + size);
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
      extra: extra.length > 0 ? extra : undefined,
    };
  });
}

import { ObjectParseError } from '../errors.js';
import type { MapSpec } from '../spec.js';
import { MapFlags, MapType, mapTypeName } from '../uapi.js';
import type { ObjectContext } from './context.js';
import { SHT } from './elf-file.js';
import { STT, STV } from './symbols.js';

/**
 * Global variables: every non-empty `.data*`, `.rodata*` and `.bss` section is
 * a single-element array map whose value is the section (libbpf's "internal
 * maps"). `.rodata` is read-only for programs and frozen after it is filled.
 * Flags follow what libbpf sets at open time: BPF_F_MMAPABLE only for a
 * section whose BTF DATASEC holds a variable visible outside the object (a
 * global that is not hidden), since only those are user space's to map
 * (`.rodata.str1.1` of string literals, or a section of statics, is not).
 */
const BTF_VAR_STATIC = 0;

/** Far above any kernel's array value limit; guards against allocating a corrupt `.bss` size. */
const MAX_DATA_SECTION = 1 << 30;

export function parseDataMaps(ctx: ObjectContext): MapSpec[] {
  const maps: MapSpec[] = [];
  for (const section of ctx.elf.dataSections) {
    if (section.size === 0) continue;
    if (section.type !== SHT.PROGBITS && section.type !== SHT.NOBITS) continue;
    if (section.size > MAX_DATA_SECTION) {
      throw new ObjectParseError('SECTION_INVALID', `${section.size} bytes of global data is more than a map value can hold`, {
        section: section.name,
      });
    }
    const kind = section.name.startsWith('.rodata') ? 'rodata' : section.name === '.bss' ? 'bss' : 'data';
    const datasec = ctx.btf?.findByName(section.name, 'datasec');
    const btfVars = new Map<string, { id: number; linkage: number }>();
    if (ctx.btf && datasec?.kind === 'datasec') {
      for (const v of datasec.vars) {
        const t = ctx.btf.type(v.type);
        if (t.kind === 'var') btfVars.set(t.name, { id: t.id, linkage: t.linkage });
      }
    }
    const symbols = ctx.symbols
      .filter((s) => s.sectionIndex === section.index && s.type === STT.OBJECT && s.name !== '')
      .sort((a, b) => a.value - b.value || (a.name < b.name ? -1 : 1));
    for (const s of symbols) {
      if (s.value + s.size > section.size) {
        throw new ObjectParseError('SYMBOL_INVALID', `${s.name} (${s.size} bytes at ${s.value}) lies outside its ${section.size} bytes`, {
          section: section.name,
        });
      }
    }
    const variables = symbols.map((s) => ({ name: s.name, offset: s.value, size: s.size, btfTypeId: btfVars.get(s.name)?.id ?? 0 }));
    // libbpf's rule: a non-static VAR, where a hidden or internal symbol counts as static.
    const hidden = new Set(symbols.filter((s) => s.visibility === STV.INTERNAL || s.visibility === STV.HIDDEN).map((s) => s.name));
    const mmapable = [...btfVars].some(([name, v]) => v.linkage !== BTF_VAR_STATIC && !hidden.has(name));
    const readOnly = kind === 'rodata';
    maps.push({
      name: section.name,
      kind,
      sectionName: section.name,
      type: MapType.array,
      typeName: mapTypeName(MapType.array),
      keySize: 4,
      valueSize: section.size,
      maxEntries: 1,
      flags: (readOnly ? MapFlags.RDONLY_PROG : 0) | (mmapable ? MapFlags.MMAPABLE : 0),
      numaNode: 0,
      mapExtra: 0n,
      pinning: 0,
      btfKeyTypeId: 0,
      btfValueTypeId: datasec?.id ?? 0,
      innerMap: undefined,
      slots: [],
      // `.bss` has no bytes in the file, and the kernel creates arrays zeroed: nothing to allocate
      // (a small hostile object can claim a section of a gigabyte).
      initialValue: section.type === SHT.NOBITS ? undefined : section.copy(),
      freeze: readOnly,
      variables,
    });
  }
  return maps;
}

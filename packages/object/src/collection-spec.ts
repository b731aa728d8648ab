/** parseCollectionSpec: ELF bytes to a CollectionSpec, the builders in elf/ run in order. */
import { Btf, parseBtfExt, type BtfExt } from './btf/index.js';
import { word } from './btf/layout.js';
import { ByteReader, cString, plainBytes } from './bytes.js';
import { ObjectParseError } from './errors.js';
import { LEGACY_MAPS_SECTION, MAPS_SECTION, type ObjectContext } from './elf/context.js';
import { SHT, readElf } from './elf/elf-file.js';
import { parseExterns } from './elf/externs.js';
import { parseBtfMaps } from './elf/maps-btf.js';
import { parseDataMaps } from './elf/maps-data.js';
import { parseLegacyMaps } from './elf/maps-legacy.js';
import { STRUCT_OPS_SECTIONS, parseStructOpsMaps } from './elf/maps-struct-ops.js';
import { parsePrograms } from './elf/programs.js';
import { readRelocations } from './elf/relocations.js';
import { readSymbols } from './elf/symbols.js';
import type { CollectionSpec, DataSectionFacts, ExternSpec, MapSpec, ProgramSpec } from './spec.js';
import { STT } from './elf/symbols.js';

export interface ParseOptions {
  /**
   * A program in an executable section whose name follows no `SEC()`
   * convention: by default it is parsed with type 0 (`unspec`), as libbpf
   * opens it, and only loading it fails; `'error'` refuses the object
   * (UNKNOWN_SECTION) and `'ignore'` leaves such programs out.
   */
  unknownSections?: 'unspec' | 'error' | 'ignore';
}

/**
 * Parses a BPF ELF object (clang `-target bpfel` or `bpfeb`) into plain data.
 * Pure and deterministic: no file system, no system calls. Malformed input of
 * any kind throws `ObjectParseError` with a stable `code`.
 */
export function parseCollectionSpec(bytes: Uint8Array, options: ParseOptions = {}): CollectionSpec {
  try {
    return parse(plainBytes(bytes), options);
  } catch (e) {
    if (e instanceof ObjectParseError) throw e;
    // Anything else is a gap in our validation; keep the contract (typed errors only) and the evidence.
    throw new ObjectParseError('ELF_INVALID', `malformed object: ${(e as Error)?.message ?? String(e)}`, { cause: e });
  }
}

function parse(bytes: Uint8Array, options: ParseOptions): CollectionSpec {
  const elf = readElf(bytes);
  const symbols = readSymbols(elf);
  const relocations = readRelocations(elf, symbols);

  const btfSection = elf.sectionByName('.BTF');
  // A copy: the spec is plain data of its own, not a view a caller reusing its buffer could corrupt.
  const btf = btfSection ? Btf.parse(btfSection.copy()) : undefined;
  const extSection = elf.sectionByName('.BTF.ext');
  let btfExt: BtfExt | undefined;
  if (extSection && btf) btfExt = parseBtfExt(extSection.data, btf);

  const licenseSection = elf.sectionByName('license');
  const license = licenseSection ? cString(licenseSection.data, 0) : '';
  const versionSection = elf.sectionByName('version');
  let kernelVersion: number | undefined;
  if (versionSection) {
    if (versionSection.size !== 4) {
      throw new ObjectParseError('SECTION_INVALID', `size ${versionSection.size} is not 4`, { section: 'version' });
    }
    // A section without bytes (SHT_NOBITS) fails the reader's bounds check, as it did.
    kernelVersion =
      versionSection.type === SHT.NOBITS || versionSection.type === SHT.NULL
        ? new ByteReader(versionSection.data, elf.byteOrder, 'SECTION_INVALID', 'version').u32(0)
        : elf.view.getUint32(versionSection.offset, elf.little);
  }

  const ctx: ObjectContext = { elf, byteOrder: elf.byteOrder, symbols, relocations, btf, btfExt };
  // One array, pushed in the builders' order (no spread of four, mostly empty, arrays).
  // A builder runs only if its section is there (each would look and return nothing): fewer calls a parse.
  const mapList: MapSpec[] = elf.sectionByName(MAPS_SECTION) ? parseBtfMaps(ctx) : [];
  if (elf.sectionByName(LEGACY_MAPS_SECTION)) pushAll(mapList, parseLegacyMaps(ctx));
  if (elf.dataSections.length > 0) pushAll(mapList, parseDataMaps(ctx));
  if (elf.sectionByName(STRUCT_OPS_SECTIONS[0]) || elf.sectionByName(STRUCT_OPS_SECTIONS[1])) pushAll(mapList, parseStructOpsMaps(ctx));
  const maps = byName('map', mapList);
  const externs = byName('extern', parseExterns(ctx));
  const { programs, subprograms } = parsePrograms(ctx, {
    unknownSections: options.unknownSections ?? 'unspec',
    license,
    kernelVersion,
  });
  checkReferences(programs, maps, externs);
  checkReferences(subprograms, maps, externs);
  for (const map of mapList.length === 0 ? mapList : Object.values(maps)) {
    for (const slot of map.slots) {
      if (slot.program !== undefined && !programs.some((p) => p.name === slot.program)) {
        throw new ObjectParseError('MAP_INVALID', `map ${map.name}: values[${slot.index}] names no program`);
      }
      if (slot.map !== undefined && !(slot.map in maps)) {
        throw new ObjectParseError('MAP_INVALID', `map ${map.name}: values[${slot.index}] names no map`);
      }
    }
  }

  return {
    byteOrder: elf.byteOrder,
    license,
    kernelVersion,
    programs: byName('program', programs),
    subprograms: byName('subprogram', subprograms),
    maps,
    externs,
    btf,
    btfExt,
    dataSections: dataSectionFacts(ctx),
  };
}

/**
 * Size and symbol offsets of each ELF section a BTF DATASEC names. The
 * DATASEC is read off its raw record (name, then each entry's type checked as
 * `btf.type()` would, with its error), not decoded: nothing else in a load of
 * a plain object decodes a type.
 */
function dataSectionFacts(ctx: ObjectContext): Record<string, DataSectionFacts> {
  const out: Record<string, DataSectionFacts> = nullRecord();
  if (!ctx.btf) return out;
  const btf = ctx.btf;
  const raw = btf.raw;
  const little = btf.byteOrder === 'little';
  const count = btf.length;
  for (let id = btf.firstTypeId; id < count; id++) {
    if (btf.kindOf(id) !== 'datasec') continue; // no need to read the rest
    const at = btf.recordOffset(id);
    const name = btf.string(word(raw, at, little));
    const vlen = word(raw, at + 4, little) & 0xffff;
    for (let i = 0, e = at + 12; i < vlen; i++, e += 12) {
      const typeId = word(raw, e, little);
      if (typeId >= count) {
        throw new ObjectParseError('BTF_INVALID', `type [${id}] refers to type [${typeId}], past the last type [${count - 1}]`);
      }
    }
    const section = ctx.elf.sectionByName(name);
    if (!section) continue;
    const symbols: Record<string, number> = nullRecord();
    for (const s of ctx.symbols) {
      if (s.sectionIndex === section.index && s.name !== '' && s.type !== STT.SECTION) symbols[s.name] = s.value;
    }
    out[name] = { size: section.size, symbols };
  }
  return out;
}

function pushAll<T>(to: T[], from: readonly T[]): void {
  for (let i = 0; i < from.length; i++) to.push(from[i]!);
}

// The records above and below are keyed by names decoded from this object's
// string tables: fresh strings on every parse. They were filled with
// Reflect.set when keyed stores missed their inline caches on every parse
// and kept these functions from being optimized (13:00); with today's code
// both are optimized and stay so, and the keyed store `out[name] = v` is the
// cheaper (~300 ns a name less in a micro-benchmark, ~1-2 µs a load in
// place, 2026-12-03 evening). On a null-prototype record it makes an own
// entry for every name, `__proto__` included; Object.hasOwn checks.
/**
 * A record with no prototype (so `in` and lookups see only its own names,
 * `constructor` included) and fast properties: Object.create(null) makes a
 * dictionary-mode object, on which every Object.values/keys/entries the load
 * makes takes V8's slow path (about twice the time here).
 */
function nullRecord<T>(): Record<string, T> {
  return Object.setPrototypeOf({}, null) as Record<string, T>;
}

function byName<T extends { name: string }>(what: string, items: readonly T[]): Record<string, T> {
  const out: Record<string, T> = nullRecord();
  for (let i = 0; i < items.length; i++) {
    const item = items[i]!;
    // A lookup, not Object.hasOwn: the record has no prototype and holds only objects.
    if (out[item.name] !== undefined) throw new ObjectParseError('SYMBOL_INVALID', `two ${what}s are named ${item.name}`);
    out[item.name] = item;
  }
  return out;
}

function checkReferences(programs: readonly ProgramSpec[], maps: Record<string, MapSpec>, externs: Record<string, ExternSpec>): void {
  for (const p of programs) {
    for (const r of p.relocations) {
      const missing =
        (r.kind === 'map' || r.kind === 'map_value') && !(r.map in maps)
          ? `map ${r.map}`
          : r.kind === 'extern' && !(r.extern in externs)
            ? `extern ${r.extern}`
            : undefined;
      if (missing) {
        throw new ObjectParseError('RELOCATION_INVALID', `program ${p.name}: instruction ${r.insn} references unknown ${missing}`, {
          section: p.sectionName,
        });
      }
    }
  }
}

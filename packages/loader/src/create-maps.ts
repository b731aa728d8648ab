/**
 * A collection's maps in the kernel: each map created from its spec (BTF
 * key/value types where the kernel takes them, global data written, `.rodata`
 * frozen), pin-by-name maps reused or pinned, map-in-map slots filled, the
 * `.kconfig` map written from the running kernel's configuration, and
 * prog-array slots filled once the programs are loaded (struct_ops maps are
 * struct-ops.ts's).
 */
import { MapFlags, MapType, NO_BTF_MAP_TYPES, kconfigLayout, type CollectionSpec, type KconfigLayout, type MapSpec } from '@tsbpf/object';
import { join } from 'node:path';
import { LoaderError, NotSupportedError } from './errors.js';
import { withContext } from '@tsbpf/object';
import { kconfigValue } from './kconfig.js';
import { BpfMap, possibleCpus, type MapOptions } from './map.js';
import { adoptPinned, mapId, pinOrAdopt, type PinMade } from './pin-by-name.js';
import type { Program } from './program.js';

/** LIBBPF_PIN_BY_NAME, as `__uint(pinning, ...)` gives it. */
export const PIN_BY_NAME = 1;

function u32(n: number): Uint8Array {
  return new Uint8Array(new Uint32Array([n]).buffer);
}

function mapOptions(m: MapSpec, btfFd: number | undefined): MapOptions {
  const withBtf = btfFd !== undefined && !NO_BTF_MAP_TYPES.has(m.type) && (m.btfKeyTypeId !== 0 || m.btfValueTypeId !== 0);
  return {
    type: m.type,
    keySize: m.keySize,
    valueSize: m.valueSize,
    // As libbpf: a perf event array without a size gets one slot per possible CPU.
    maxEntries: m.type === MapType.perf_event_array && m.maxEntries === 0 ? possibleCpus() : m.maxEntries,
    flags: m.flags,
    name: m.name,
    numaNode: m.numaNode,
    mapExtra: m.mapExtra,
    btfFd: withBtf ? btfFd : undefined,
    btfKeyTypeId: withBtf ? m.btfKeyTypeId : undefined,
    btfValueTypeId: withBtf ? m.btfValueTypeId : undefined,
  };
}

/**
 * Creates the spec's maps into `maps` (so that a failure part way leaves
 * what was made there, for the caller to close), plain maps first, then the
 * maps of maps that refer to them. Pins made now are pushed on `pinnedNow`.
 * With a `pinRoot`, the caller holds its lock (pin-by-name.ts says why): a
 * pin found is adopted, and a new map is pinned only once its initial
 * values are written and it is frozen, so an adopter never sees it half made.
 */
export function createMaps(
  spec: CollectionSpec,
  maps: Record<string, BpfMap>,
  btfFd: number | undefined,
  pinRoot: string | undefined,
  pinnedNow: PinMade[],
): void {
  // struct_ops maps are struct-ops.ts's: their value type is the kernel's.
  const all = Object.values(spec.maps).filter((m) => m.type !== MapType.struct_ops);
  for (const m of all.filter((x) => !x.innerMap)) {
    const pinPath = pinRoot !== undefined && m.pinning === PIN_BY_NAME ? join(pinRoot, m.name) : undefined;
    const options = mapOptions(m, btfFd);
    const reused = pinPath ? adoptPinned(m, pinPath, { ...options, flags: options.flags ?? 0 }) : undefined;
    if (reused) {
      maps[m.name] = reused; // its contents are the pinned map's, not the object's initial values
      continue;
    }
    if (m.extra?.some((b) => b !== 0)) {
      // As cilium/ebpf: bytes another loader gave a meaning to (iproute2's bpf_elf_map: id, pinning, inner_id, inner_idx).
      throw new NotSupportedError(
        `map ${m.name}: its legacy definition has ${m.extra.length} bytes past struct bpf_map_def that are not zero (iproute2's bpf_elf_map?); their meaning is another loader's: load a copy of the spec without \`extra\``,
      );
    }
    const map = withContext(`map ${m.name}`, () => BpfMap.create(options));
    maps[m.name] = map;
    if (m.initialValue) {
      map.update(u32(0), m.initialValue);
    }
    if (m.freeze) map.freeze();
    if (pinPath) {
      const r = pinOrAdopt(map, m, pinPath, { ...options, flags: options.flags ?? 0 });
      maps[m.name] = r.map;
      if (r.pinned) pinnedNow.push({ path: pinPath, mapId: mapId(r.map) });
    }
  }
  for (const m of all.filter((x) => x.innerMap)) {
    // A map of maps pinned by name is adopted or pinned like any other (as libbpf); an adopted one keeps its slots.
    const pinPath = pinRoot !== undefined && m.pinning === PIN_BY_NAME ? join(pinRoot, m.name) : undefined;
    const options = mapOptions(m, btfFd);
    const want = { ...options, flags: options.flags ?? 0 };
    const reused = pinPath ? adoptPinned(m, pinPath, want) : undefined;
    if (reused) {
      maps[m.name] = reused;
      continue;
    }
    const template = withContext(`map ${m.name}: inner map`, () => BpfMap.create(mapOptions(m.innerMap!, btfFd)));
    try {
      maps[m.name] = withContext(`map ${m.name}`, () => BpfMap.create({ ...options, innerMapFd: template.fd }));
    } finally {
      template.close();
    }
    for (const slot of m.slots) {
      if (slot.map === undefined) continue;
      maps[m.name]!.update(u32(slot.index), u32(maps[slot.map]!.fd));
    }
    if (pinPath) {
      const r = pinOrAdopt(maps[m.name]!, m, pinPath, want);
      maps[m.name] = r.map;
      if (r.pinned) pinnedNow.push({ path: pinPath, mapId: mapId(r.map) });
    }
  }
}

/** The `.kconfig` map: every kconfig extern's value, laid out as the BTF fix-up says, frozen; undefined without kconfig externs. */
export function createKconfigMap(
  spec: CollectionSpec,
  maps: Record<string, BpfMap>,
  btfFd: number | undefined,
): { readonly fd: number; readonly layout: KconfigLayout } | undefined {
  const layout = kconfigLayout(spec);
  if (layout.slots.length === 0) return undefined;
  const datasec = spec.btf?.findByName('.kconfig', 'datasec');
  const map = withContext('map .kconfig', () =>
    BpfMap.create({
      type: MapType.array,
      keySize: 4,
      valueSize: Math.max(layout.size, 1),
      maxEntries: 1,
      flags: MapFlags.RDONLY_PROG | MapFlags.MMAPABLE,
      name: '.kconfig',
      btfFd: btfFd !== undefined && datasec ? btfFd : undefined,
      btfValueTypeId: btfFd !== undefined && datasec ? datasec.id : undefined,
    }),
  );
  maps['.kconfig'] = map;
  const value = new Uint8Array(Math.max(layout.size, 1));
  value.set(kconfigValue(layout));
  map.update(u32(0), value);
  map.freeze();
  return { fd: map.fd, layout };
}

/**
 * Each prog array's initial slots (`.values = { [1] = &prog }`), once its
 * programs are loaded. A slot naming a program left out of the load is an
 * error, as in libbpf (which fails the load) and cilium/ebpf: a tail call
 * that silently goes nowhere is worse.
 */
export function fillProgArrays(spec: CollectionSpec, maps: Record<string, BpfMap>, programs: Record<string, Program>): void {
  for (const m of Object.values(spec.maps)) {
    if (m.type !== MapType.prog_array) continue;
    for (const slot of m.slots) {
      if (slot.program === undefined) continue;
      const p = programs[slot.program];
      if (!p) {
        throw new LoaderError(
          'LOAD_OPTIONS',
          `map ${m.name}: slot ${slot.index} is initialised with program ${slot.program}, which is not being loaded (add it to \`programs\`)`,
        );
      }
      maps[m.name]!.update(u32(slot.index), u32(p.fd));
    }
  }
}

/**
 * A collection's maps in the kernel: each map created from its spec (BTF
 * key/value types where the kernel takes them, global data written, `.rodata`
 * frozen), pin-by-name maps reused or pinned, map-in-map slots filled, the
 * `.kconfig` map written from the running kernel's configuration, and
 * prog-array slots filled once the programs are loaded.
 */
import { MapFlags, MapType, NO_BTF_MAP_TYPES, kconfigLayout, type CollectionSpec, type KconfigLayout, type MapSpec } from '@tsbpf/object';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { LoaderError, MapIncompatibleError, NotSupportedError } from './errors.js';
import { withContext } from '@tsbpf/object';
import { kconfigValue } from './kconfig.js';
import { BpfMap, possibleCpus, type MapOptions } from './map.js';
import type { Program } from './program.js';

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

/** An existing pin for a BY_NAME map, if compatible; throws when it exists but differs. */
function reusePinned(m: MapSpec, path: string): BpfMap | undefined {
  if (!existsSync(path)) return undefined;
  const pinned = BpfMap.fromPin(path);
  const same =
    pinned.type === m.type &&
    pinned.keySize === m.keySize &&
    pinned.valueSize === m.valueSize &&
    pinned.maxEntries === m.maxEntries &&
    pinned.flags === m.flags;
  if (!same) {
    pinned.close();
    throw new MapIncompatibleError(
      `map ${m.name}: the map pinned at ${path} differs from the object's definition (type ${m.typeName}, key ${m.keySize}, value ${m.valueSize}, max ${m.maxEntries}, flags 0x${m.flags.toString(16)})`,
    );
  }
  return pinned;
}

/**
 * Creates the spec's maps into `maps` (so that a failure part way leaves
 * what was made there, for the caller to close), plain maps first, then the
 * maps of maps that refer to them. Pins made now are pushed on `pinnedNow`.
 */
export function createMaps(
  spec: CollectionSpec,
  maps: Record<string, BpfMap>,
  btfFd: number | undefined,
  pinRoot: string | undefined,
  pinnedNow: string[],
): void {
  const all = Object.values(spec.maps);
  const structOps = all.find((m) => m.type === MapType.struct_ops);
  if (structOps) {
    // Said by name before anything is created: the kernel would refuse it with a bare EINVAL.
    throw new NotSupportedError(`map ${structOps.name}: struct_ops maps (${structOps.sectionName}) are not supported by tsbpf yet`);
  }
  for (const m of all.filter((x) => !x.innerMap)) {
    const pinPath = pinRoot !== undefined && m.pinning === 1 ? join(pinRoot, m.name) : undefined;
    const reused = pinPath ? reusePinned(m, pinPath) : undefined;
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
    const map = withContext(`map ${m.name}`, () => BpfMap.create(mapOptions(m, btfFd)));
    maps[m.name] = map;
    if (pinPath) {
      map.pin(pinPath);
      pinnedNow.push(pinPath);
    }
    if (m.initialValue) {
      map.update(u32(0), m.initialValue);
    }
    if (m.freeze) map.freeze();
  }
  for (const m of all.filter((x) => x.innerMap)) {
    const template = withContext(`map ${m.name}: inner map`, () => BpfMap.create(mapOptions(m.innerMap!, btfFd)));
    try {
      maps[m.name] = withContext(`map ${m.name}`, () => BpfMap.create({ ...mapOptions(m, btfFd), innerMapFd: template.fd }));
    } finally {
      template.close();
    }
    for (const slot of m.slots) {
      if (slot.map === undefined) continue;
      maps[m.name]!.update(u32(slot.index), u32(maps[slot.map]!.fd));
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

import type { Collection } from '@tsbpf/loader';
import { MapType, type CollectionSpec } from '@tsbpf/object';
import type { Codec } from './codec.js';
import { codecFromBtf, type BtfCodecOptions } from './from-btf.js';
import { bytes } from './primitives.js';
import { cidrKey, lpmKeyFamily } from './special-maps.js';
import { PerCpuMap, TypedMap } from './typed-map.js';

const PERCPU = new Set<number>([MapType.percpu_hash, MapType.percpu_array, MapType.lru_percpu_hash, MapType.percpu_cgroup_storage]);
/** Maps whose elements are not plain key/value data (rings, fds, programs). */
const NOT_DATA = new Set<number>([
  MapType.ringbuf,
  MapType.user_ringbuf,
  MapType.perf_event_array,
  MapType.prog_array,
  MapType.array_of_maps,
  MapType.hash_of_maps,
]);

/**
 * A typed view of every map an object declares (`.maps` or legacy `maps`)
 * that holds key/value data, codecs derived from the object's BTF (raw bytes
 * where a map gives only sizes; CIDR text for the keys of an LPM trie keyed
 * `{ prefixlen, addr[4|16] }`). Global-data maps (`.data`, `.bss`, `.rodata*`)
 * are not here: their values are sections of variables, read and written by
 * name through `Globals`. Closing the collection closes the maps; these views
 * need no closing of their own.
 */
export function typedMaps(
  collection: Collection,
  spec: CollectionSpec,
  options: BtfCodecOptions = {},
): Record<string, TypedMap<unknown, unknown> | PerCpuMap<unknown, unknown>> {
  const out: Record<string, TypedMap<unknown, unknown> | PerCpuMap<unknown, unknown>> = {};
  for (const [name, m] of Object.entries(spec.maps)) {
    const live = collection.maps[name];
    if (!live || NOT_DATA.has(m.type) || (m.kind !== 'btf' && m.kind !== 'legacy')) continue;
    const codec = (typeId: number, size: number): Codec<unknown> =>
      spec.btf && typeId !== 0 ? codecFromBtf(spec.btf, typeId, options) : (bytes(size) as Codec<unknown>);
    const lpm = lpmKeyFamily(m, spec.btf);
    const key = lpm ? (cidrKey(lpm) as Codec<unknown>) : codec(m.btfKeyTypeId, m.keySize);
    const value = codec(m.btfValueTypeId, m.valueSize);
    out[name] = PERCPU.has(m.type) ? new PerCpuMap(live, key, value) : new TypedMap(live, key, value);
  }
  return out;
}

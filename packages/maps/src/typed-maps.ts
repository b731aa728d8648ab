import type { Collection } from '@tsbpf/loader';
import { NON_DATA_MAP_TYPES, PER_CPU_MAP_TYPES, type CollectionSpec } from '@tsbpf/object';
import type { Codec } from './codec.js';
import { codecFromBtf, type BtfCodecOptions } from './from-btf.js';
import { bytes } from './primitives.js';
import { cidrKey, lpmKeyFamily } from './special-maps.js';
import { PerCpuMap, TypedMap } from './typed-map.js';

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
    if (!live || NON_DATA_MAP_TYPES.has(m.type) || (m.kind !== 'btf' && m.kind !== 'legacy')) continue;
    const codec = (typeId: number, size: number): Codec<unknown> =>
      spec.btf && typeId !== 0 ? codecFromBtf(spec.btf, typeId, options) : (bytes(size) as Codec<unknown>);
    const lpm = lpmKeyFamily(m, spec.btf);
    const key = lpm ? (cidrKey(lpm) as Codec<unknown>) : codec(m.btfKeyTypeId, m.keySize);
    const value = codec(m.btfValueTypeId, m.valueSize);
    out[name] = PER_CPU_MAP_TYPES.has(m.type) ? new PerCpuMap(live, key, value) : new TypedMap(live, key, value);
  }
  return out;
}

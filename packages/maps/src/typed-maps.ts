/**
 * typedMaps: every key/value map of a loaded object as a TypedMap or
 * PerCpuMap, codecs from the object's BTF (the table of map-binding.ts).
 */
import type { Collection } from '@tsbpf/loader';
import type { Btf, CollectionSpec } from '@tsbpf/object';
import type { Codec } from './codec.js';
import { codecFromBtf, type BtfCodecOptions } from './from-btf.js';
import { mapBinding, type CodecSource } from './map-binding.js';
import { bytes } from './primitives.js';
import { cidrKey } from './special-maps.js';
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
    const binding = mapBinding(m, spec.btf);
    if (!live || (binding?.kind !== 'TypedMap' && binding?.kind !== 'PerCpuMap')) continue;
    const key = codecOf(binding.key, spec.btf, options);
    const value = codecOf(binding.value, spec.btf, options);
    out[name] = binding.kind === 'PerCpuMap' ? new PerCpuMap(live, key, value) : new TypedMap(live, key, value);
  }
  return out;
}

function codecOf(source: CodecSource, btf: Btf | undefined, options: BtfCodecOptions): Codec<unknown> {
  switch (source.kind) {
    case 'btf':
      return codecFromBtf(btf!, source.typeId, options);
    case 'bytes':
      return bytes(source.size) as Codec<unknown>;
    case 'cidr':
      return cidrKey(source.family) as Codec<unknown>;
  }
}

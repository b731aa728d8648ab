/**
 * The checks that a codec and a class fit the map they are put on: codec
 * sizes against the map's key and value sizes, and the map's type.
 */
import type { BpfMap } from '@tsbpf/loader';
import type { Codec } from './codec.js';
import { MapSchemaError } from './errors.js';

/** Throws MAP_SCHEMA unless the codec is as large as the map's keys (or values). */
export function expectCodecSize(map: BpfMap, role: 'key' | 'value', codec: Codec<unknown>): void {
  const size = role === 'key' ? map.keySize : map.valueSize;
  if (codec.size !== size) {
    throw new MapSchemaError('MAP_SCHEMA', `map ${map.name}: ${role} codec ${codec.name} is ${codec.size} bytes, the map's ${role}s are ${size}`);
  }
}

/** Throws MAP_TYPE (`map NAME <problem>`) unless the map's type `fits`. */
export function expectMapType(map: BpfMap, fits: boolean, problem: string): void {
  if (!fits) throw new MapSchemaError('MAP_TYPE', `map ${map.name} ${problem}`);
}

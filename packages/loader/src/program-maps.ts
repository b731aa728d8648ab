/** The maps a program was loaded with (its collection's), for attach kinds that fill maps of the object, such as USDT's spec maps. */
import type { BpfMap } from './map.js';
import type { Program } from './program.js';

const mapsOf = new WeakMap<Program, Readonly<Record<string, BpfMap>>>();

/** Records that `programs` were loaded together with `maps` (loadCollection does). */
export function noteProgramMaps(programs: Iterable<Program>, maps: Readonly<Record<string, BpfMap>>): void {
  for (const p of programs) mapsOf.set(p, maps);
}

/** The maps loaded with `program`, by name (undefined for a program not loaded by loadCollection, or loaded in a collection without maps). */
export function programMaps(program: Program): Readonly<Record<string, BpfMap>> | undefined {
  return mapsOf.get(program);
}

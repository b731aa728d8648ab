/**
 * Switching the local fast path of a running instance: its programs were
 * loaded with the `fast_path` constant of the choice of that time (see
 * fast-path.ts), so they are loaded again with the new one, from the object
 * they were loaded from (kept in the run directory by up and upgrade), and
 * every pod's links moved to them as `upgrade` does. An object without the
 * constant (a build from before it) is left running: it always looks
 * `local_pods` up, and the map's contents alone switch it.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fastPathConstants } from './fast-path.js';
import type { InstanceDirs } from './instance.js';
import type { Session } from './session.js';
import { datapathSpec, DEFAULT_SOURCE, swapDatapath } from './upgrade.js';

const objectFile = (dirs: InstanceDirs) => join(dirs.run, 'datapath.o');

/** Keeps the object the running programs were loaded from (0600, beside state.json), for a later switch. */
export function keepObject(dirs: InstanceDirs, object: Uint8Array): void {
  writeFileSync(objectFile(dirs), object, { mode: 0o600 });
}

/**
 * Loads the running datapath again with the switch at `on` and moves every
 * pod's links to it; the caller holds the exclusive lock, has brought the
 * machine in line with the enforced state and recorded the choice. Nothing is
 * loaded for an instance whose object was not kept (made before the switch:
 * its programs always look `local_pods` up) or has no switch.
 */
export function reloadForFastPath(s: Session, on: boolean): void {
  const file = objectFile(s.dirs);
  if (!existsSync(file)) return;
  const source = s.stateFile.datapath?.object ?? DEFAULT_SOURCE;
  const spec = datapathSpec(readFileSync(file), source);
  if (Object.keys(fastPathConstants(spec, on)).length === 0) return;
  const result = swapDatapath(s.dirs, s.enforced.pods, spec, source, source, on);
  s.recordDatapath(result.after);
}

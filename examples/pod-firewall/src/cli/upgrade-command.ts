/**
 * `pod-firewall upgrade [--object FILE]`: the running datapath replaced on
 * every pod's veth with no gap (the firewall's own source compiled now, or
 * a BPF object file), and what ran before and runs now printed.
 */
import { closeSync, fstatSync, openSync, readFileSync } from 'node:fs';
import { CliError } from '../errors.js';
import { PodFirewall } from '../firewall.js';
import { out, requireRoot, seconds } from './plumbing.js';

/** An object bigger than this is not a datapath (the firewall's is about 100 KB). */
const MAX_OBJECT_BYTES = 64 << 20;

function readObject(file: string): Uint8Array {
  let fd: number | undefined;
  try {
    fd = openSync(file, 'r');
    const st = fstatSync(fd);
    if (!st.isFile()) throw new CliError('FILE_UNREADABLE', `${file}: not a regular file`);
    if (st.size > MAX_OBJECT_BYTES) throw new CliError('FILE_UNREADABLE', `${file}: ${st.size} bytes, more than a BPF object of ${MAX_OBJECT_BYTES} bytes`);
    return new Uint8Array(readFileSync(fd));
  } catch (e) {
    if (e instanceof CliError) throw e;
    throw new CliError('FILE_UNREADABLE', `${file}: ${(e as Error).message}`, { cause: e });
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

const describe = (d: { object: string; programs: Record<string, { id: number; tag: string }> }) =>
  `${d.object} (${Object.entries(d.programs)
    .map(([name, p]) => `${name} id ${p.id} tag ${p.tag}`)
    .join(', ')})`;

export async function upgradeCommand(name: string, opts: { object?: string }): Promise<void> {
  requireRoot();
  const object = opts.object === undefined ? undefined : readObject(opts.object);
  using fw = PodFirewall.open({ name });
  const started = performance.now();
  const r = await fw.upgrade(object ? { object, source: opts.object } : {});
  out(`${name}: datapath upgraded on ${r.links / 2} pods (${r.links} tcx links, no gap) in ${seconds(performance.now() - started)}`);
  out(`  was: ${describe(r.before)}`);
  out(`  now: ${describe(r.after)}`);
}

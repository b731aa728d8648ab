/**
 * `pod-firewall upgrade`: replaces the running datapath programs with those
 * of a new object without a gap. The new object must define every pinned
 * map as the running one does (checked before anything changes); it is
 * loaded onto the pinned maps, every pod's tcx links are moved to its
 * programs with BPF_LINK_UPDATE (expecting the old program, so a link
 * someone else changed is not overwritten), and the pinned programs are
 * replaced. A failure half-way moves the links already moved back. Also
 * what the datapath is (program ids and tags) and which program each link runs.
 */
import { existsSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { compile as compileC } from '@tsbpf/compiler';
import { BpfMap, Link, loadCollection, Program, programInfo, queryTcx, SyscallError, withNetns } from '@tsbpf/loader';
import { parseCollectionSpec, type CollectionSpec } from '@tsbpf/object';
import { packageDir } from '../cluster/agents.js';
import { netnsPath, nodeNetns, type PodNetwork } from '../cluster/topology.js';
import { FirewallError } from '../errors.js';
import { crashPoint } from './failpoint.js';
import { fastPathConstants } from './fast-path.js';
import type { InstanceDirs } from './instance.js';

/** The datapath's two programs by their names in the object, and the tcx hook each runs on. */
export const PROGRAMS = { fromPod: 'from_pod', toPod: 'to_pod' } as const;
const HOOKS = [
  { hook: 'ingress', program: PROGRAMS.fromPod },
  { hook: 'egress', program: PROGRAMS.toPod },
] as const;
type Hook = (typeof HOOKS)[number]['hook'];

const PIN_BY_NAME = 1;
/** How state.json names the object `up` compiles. */
export const DEFAULT_SOURCE = 'bpf/firewall.bpf.c';

/** What runs: the pinned programs (kernel ids and tags), and where the object came from. */
export interface DatapathRecord {
  readonly object: string;
  readonly programs: Readonly<Record<(typeof PROGRAMS)[keyof typeof PROGRAMS], { readonly id: number; readonly tag: string }>>;
}

export const linkPin = (dirs: InstanceDirs, veth: string, hook: Hook) => join(dirs.pins, 'links', `${veth}-${hook}`);
export const progPin = (dirs: InstanceDirs, program: string) => join(dirs.pins, 'progs', program);

/** The default datapath object: `bpf/firewall.bpf.c` compiled (cached). */
export async function defaultObject(): Promise<{ object: Uint8Array; source: string }> {
  const { object } = await compileC({ source: join(packageDir(), DEFAULT_SOURCE) });
  return { object, source: DEFAULT_SOURCE };
}

/** Parses an object and checks it has the datapath's programs. */
export function datapathSpec(object: Uint8Array, source: string): CollectionSpec {
  let spec: CollectionSpec;
  try {
    spec = parseCollectionSpec(object);
  } catch (e) {
    throw new FirewallError('DATAPATH_INVALID', `${source}: not a BPF object the loader reads (${(e as Error).message})`, { cause: e });
  }
  const missing = Object.values(PROGRAMS).filter((p) => !spec.programs[p]);
  if (missing.length > 0) throw new FirewallError('DATAPATH_INVALID', `${source}: no program ${missing.join(', ')} (a datapath has from_pod and to_pod)`);
  return spec;
}

/** The ids and tags of the programs pinned under `progs/`. */
export function pinnedDatapath(dirs: InstanceDirs, object: string): DatapathRecord {
  const one = (name: string) => {
    using p = Program.fromPin(progPin(dirs, name));
    const info = programInfo(p.id());
    return { id: info.id, tag: info.tag };
  };
  return { object, programs: { from_pod: one(PROGRAMS.fromPod), to_pod: one(PROGRAMS.toPod) } };
}

/** The maps the datapath keeps its state in: a new datapath must use these pins, or policies, conntrack and counters would not carry over. */
const STATE_MAPS = ['endpoints', 'ipcache', 'policy', 'port_ranges', 'frags', 'ct', 'config', 'counters', 'events'] as const;

/**
 * DATAPATH_INCOMPATIBLE when the object does not pin by name every map the
 * datapath keeps its state in, or defines a map that is pinned with another
 * type, key or value size, max entries or flags: the new programs must read
 * the pinned maps as the running ones do. Maps of its own (not pinned yet)
 * are made with it.
 */
export function checkMaps(dirs: InstanceDirs, spec: CollectionSpec, source: string): void {
  const wrong: string[] = [];
  for (const name of STATE_MAPS) {
    const m = spec.maps[name];
    if (!m) wrong.push(`${name} (missing)`);
    else if (m.pinning !== PIN_BY_NAME) wrong.push(`${name} (not pinned by name: the new programs would get an empty map of their own)`);
  }
  for (const m of Object.values(spec.maps)) {
    const path = join(dirs.pins, m.name);
    if (m.pinning !== PIN_BY_NAME || !existsSync(path)) continue; // a new map: made (and pinned) by the load
    using pinned = BpfMap.fromPin(path);
    const diff = (
      [
        ['type', pinned.typeName, m.typeName],
        ['key size', pinned.keySize, m.keySize],
        ['value size', pinned.valueSize, m.valueSize],
        ['max entries', pinned.maxEntries, m.maxEntries],
        ['flags', pinned.flags, m.flags],
      ] as const
    ).filter(([, a, b]) => a !== b);
    if (diff.length > 0) wrong.push(`${m.name} (${diff.map(([what, a, b]) => `${what} ${b}, running ${a}`).join(', ')})`);
  }
  if (wrong.length > 0) {
    throw new FirewallError(
      'DATAPATH_INCOMPATIBLE',
      `${source}: its maps differ from the pinned ones the datapath runs on: ${wrong.join('; ')}; nothing changed`,
    );
  }
}

export interface UpgradeResult {
  readonly before: DatapathRecord;
  readonly after: DatapathRecord;
  /** Links moved to the new programs (two per pod). */
  readonly links: number;
}

/**
 * Loads `spec` onto the pinned maps (its fast path switch, if it has one, at
 * `fastPath`: the instance's choice) and moves every link of `pods` to its
 * programs; the caller holds the exclusive lock. All links or none: on a
 * failure the links already moved go back to the old programs, and the
 * error says so.
 */
export function swapDatapath(
  dirs: InstanceDirs,
  pods: readonly PodNetwork[],
  spec: CollectionSpec,
  source: string,
  running: string = DEFAULT_SOURCE,
  fastPath = false,
): UpgradeResult {
  checkMaps(dirs, spec, source);
  const before = pinnedDatapath(dirs, running);
  using collection = loadCollection(spec, { pinRoot: dirs.pins, constants: fastPathConstants(spec, fastPath) });
  const fresh = { from_pod: collection.programs[PROGRAMS.fromPod]!, to_pod: collection.programs[PROGRAMS.toPod]! };
  using oldFrom = Program.fromPin(progPin(dirs, PROGRAMS.fromPod));
  using oldTo = Program.fromPin(progPin(dirs, PROGRAMS.toPod));
  // A killed upgrade leaves its programs pinned aside, and links it moved running them: those count as old too.
  using leftFrom = openIfPinned(nextPin(dirs, PROGRAMS.fromPod));
  using leftTo = openIfPinned(nextPin(dirs, PROGRAMS.toPod));
  const old = { from_pod: [oldFrom, leftFrom], to_pod: [oldTo, leftTo] };
  // Pinned aside first (bpffs names have no dots): the old pins stay until every link runs the new programs.
  for (const name of Object.values(PROGRAMS)) {
    rmSync(nextPin(dirs, name), { force: true });
    fresh[name].pin(nextPin(dirs, name));
  }
  const moved: Moved[] = [];
  try {
    for (const pod of pods) {
      for (const { hook, program } of HOOKS) {
        const link = Link.fromPin(linkPin(dirs, pod.hostVeth, hook));
        try {
          moved.push({ link, fresh: fresh[program], had: moveLink(link, fresh[program], old[program]) });
        } catch (e) {
          link.close();
          throw new FirewallError('UPGRADE_FAILED', `${pod.pod} ${hook} (${pod.hostVeth}): ${(e as Error).message}`, { cause: e });
        }
        if (moved.length === 1) crashPoint('upgrade-half');
      }
    }
  } catch (e) {
    const failed = swapBack(moved);
    for (const name of Object.values(PROGRAMS)) rmSync(nextPin(dirs, name), { force: true });
    const how =
      failed.length === 0
        ? `the ${moved.length} links moved before it were moved back; the old datapath runs`
        : `moving back failed for ${failed.join('; ')}: those run the new programs (status names them; pod-firewall upgrade again)`;
    throw new FirewallError('UPGRADE_FAILED', `upgrade to ${source} failed: ${(e as Error).message}; ${how}`, { cause: e });
  } finally {
    for (const m of moved) m.link.close();
  }
  // bpffs renames over an existing pin in one step: pods added from now on get the new programs.
  for (const name of Object.values(PROGRAMS)) renameSync(nextPin(dirs, name), progPin(dirs, name));
  return { before, after: pinnedDatapath(dirs, source), links: moved.length };
}

interface Moved {
  readonly link: Link;
  readonly fresh: Program;
  /** The program it ran before. */
  readonly had: Program;
}

const nextPin = (dirs: InstanceDirs, program: string) => `${progPin(dirs, program)}-next`;

function openIfPinned(path: string): Program | undefined {
  return existsSync(path) ? Program.fromPin(path) : undefined;
}

/** Moves a link to `to` if it runs one of `from` (the kernel checks: EPERM when it runs another); returns the one it ran. */
function moveLink(link: Link, to: Program, from: readonly (Program | undefined)[]): Program {
  const candidates = from.filter((p): p is Program => p !== undefined);
  for (const [i, p] of candidates.entries()) {
    try {
      link.update(to, { expected: p });
      return p;
    } catch (e) {
      if (!(e instanceof SyscallError && e.errnoName === 'EPERM') || i === candidates.length - 1) throw e;
    }
  }
  throw new FirewallError('UPGRADE_FAILED', 'no program to expect'); // unreachable: the pinned program is always a candidate
}

/** Moves links back to what they ran (last moved first); returns those that could not be. */
function swapBack(moved: readonly Moved[]): string[] {
  const failed: string[] = [];
  for (const { link, fresh, had } of [...moved].reverse()) {
    try {
      link.update(had, { expected: fresh });
    } catch (e) {
      failed.push(`${link.description}: ${(e as Error).message}`);
    }
  }
  return failed;
}

/** Which programs the links of each pod's veth run (tcx ingress, egress), read from the kernel; none where the veth is gone. */
export function attachedPrograms(
  dirs: InstanceDirs,
  pods: readonly PodNetwork[],
): { pod: string; veth: string; ifindex: number; ingress: number[]; egress: number[] }[] {
  const node = netnsPath(nodeNetns(dirs.name));
  if (!existsSync(node)) return pods.map((p) => ({ pod: p.pod, veth: p.hostVeth, ifindex: p.ifindex, ingress: [], egress: [] })); // the node is gone: nothing runs
  return withNetns(node, () =>
    pods.map((p) => ({
      pod: p.pod,
      veth: p.hostVeth,
      ifindex: p.ifindex,
      ingress: programIds(p.ifindex, 'ingress'),
      egress: programIds(p.ifindex, 'egress'),
    })),
  );
}

function programIds(ifindex: number, hook: Hook): number[] {
  try {
    return queryTcx(ifindex, hook).programs.map((x) => x.progId);
  } catch (e) {
    // A veth a crashed command left half-made or removed: status reports it as running nothing.
    if (e instanceof SyscallError && e.errnoName === 'ENODEV') return [];
    throw e;
  }
}

/** What `status` says of the datapath: the pinned programs, and the pods whose links run something else (none, normally). */
export function datapathStatus(dirs: InstanceDirs, pods: readonly PodNetwork[], recorded: DatapathRecord | undefined) {
  const pinned = pinnedDatapath(dirs, recorded?.object ?? DEFAULT_SOURCE);
  const want = { ingress: pinned.programs.from_pod.id, egress: pinned.programs.to_pod.id };
  const links = attachedPrograms(dirs, pods);
  const elsewhere = links
    .filter((a) => !a.ingress.includes(want.ingress) || !a.egress.includes(want.egress))
    .map((a) => `${a.pod} (ingress ${a.ingress.join(',') || 'none'}, egress ${a.egress.join(',') || 'none'})`);
  return { ...pinned, onEveryPod: elsewhere.length === 0, elsewhere, links };
}

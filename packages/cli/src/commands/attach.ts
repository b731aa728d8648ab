/**
 * `tsbpf attach OBJ --program P [--to TARGET]`: loads an object, attaches
 * one program (by its section, or to the target given), prints the records
 * its ring buffers and perf event arrays carry, decoded from BTF, one line
 * each (or JSON), and holds until SIGINT or SIGTERM, then detaches and
 * closes everything. Target parsing and record formatting are pure.
 */
import { readFileSync } from 'node:fs';
import { MapType, ProgramType, type Btf, type CollectionSpec, type ProgramSpec } from '@tsbpf/object';
import {
  TsbpfError,
  VerifierError,
  attach,
  attachKprobe,
  attachKprobeMulti,
  attachKsyscall,
  attachTracepoint,
  attachUprobe,
  formatVerifierError,
  loadCollection,
  type AutoAttachTarget,
  type BpfMap,
  type Collection,
  type Link,
  type Program,
} from '@tsbpf/loader';
import { PerfBuffer, RingBuffer, codecFromBtf, jsonText, toJsonData, type Codec } from '@tsbpf/maps';
import { CliError, type CliIo } from '../io.js';
import { parseObjectFile } from './inspect.js';

export interface AttachOptions {
  program: string;
  to?: string;
  map?: string[];
  type?: string;
  json?: boolean;
  verbose?: boolean;
}

/** How a program is attached: by its section, or to what --to names. */
export type AttachPlan =
  | { how: 'section'; target: AutoAttachTarget }
  | { how: 'tracepoint'; category: string; name: string }
  | { how: 'kprobe'; func: string; retprobe: boolean }
  | { how: 'ksyscall'; syscall: string; retprobe: boolean }
  | { how: 'multi'; pattern: string; retprobe: boolean; session: boolean }
  | { how: 'uprobe'; binary: string; func: string; retprobe: boolean };

/** An interface's index (`eth0`, or a number as it is). */
function ifindexOf(name: string): number {
  if (/^[0-9]+$/.test(name)) return Number(name);
  try {
    return Number(readFileSync(`/sys/class/net/${name}/ifindex`, 'utf8'));
  } catch {
    throw new CliError(`--to ${name}: no such network interface`, 1, 'USAGE');
  }
}

/**
 * What `--to` means for this program (pure but for an interface name's
 * index): an interface for XDP and tcx, a cgroup directory for cgroup
 * programs, a netns path for sk_lookup and flow_dissector, BINARY:FUNC for
 * uprobes, a kernel function for kprobes, a syscall for ksyscall, a glob
 * for kprobe.multi and kprobe.session, CATEGORY/NAME for tracepoints.
 * Without --to, the program's section must say where.
 */
export function attachPlan(p: ProgramSpec, to: string | undefined): AttachPlan {
  if (to === undefined) return { how: 'section', target: {} };
  const retprobe = /^(kretprobe|uretprobe)/.test(p.sectionName);
  switch (p.type) {
    case ProgramType.xdp:
    case ProgramType.sched_cls:
      return { how: 'section', target: { ifindex: ifindexOf(to) } };
    case ProgramType.sk_lookup:
    case ProgramType.flow_dissector:
      return { how: 'section', target: { netns: to } };
    case ProgramType.tracepoint: {
      const m = /^([^/]+)\/([^/]+)$/.exec(to);
      if (!m) throw new CliError(`--to ${to}: a tracepoint is CATEGORY/NAME (syscalls/sys_enter_openat)`, 1, 'USAGE');
      return { how: 'tracepoint', category: m[1]!, name: m[2]! };
    }
    case ProgramType.kprobe: {
      if (/^u(ret)?probe/.test(p.sectionName)) {
        const m = /^(.+):([^:]+)$/.exec(to);
        if (!m) throw new CliError(`--to ${to}: a uprobe target is BINARY:FUNCTION (/usr/bin/node:main)`, 1, 'USAGE');
        return { how: 'uprobe', binary: m[1]!, func: m[2]!, retprobe };
      }
      if (/^k(ret)?syscall(\/|$)/.test(p.sectionName)) return { how: 'ksyscall', syscall: to, retprobe: p.sectionName.startsWith('kretsyscall') };
      const multi = /^(kprobe\.multi|kretprobe\.multi|kprobe\.session)(\/|$)/.exec(p.sectionName);
      if (multi) return { how: 'multi', pattern: to, retprobe: multi[1] === 'kretprobe.multi', session: multi[1] === 'kprobe.session' };
      if (!/^k(ret)?probe(\/|$)/.test(p.sectionName))
        throw new CliError(`--to: program ${p.name} (SEC("${p.sectionName}")) attaches by its section only`, 1, 'USAGE');
      return { how: 'kprobe', func: to, retprobe };
    }
    default:
      if (p.attachType !== undefined && p.typeName.startsWith('cgroup')) return { how: 'section', target: { cgroup: to } };
      if (p.type === ProgramType.sock_ops) return { how: 'section', target: { cgroup: to } };
      throw new CliError(`--to: program ${p.name} (SEC("${p.sectionName}"), ${p.typeName}) takes no target; leave --to out`, 1, 'USAGE');
  }
}

function attachBy(program: Program, spec: ProgramSpec, plan: AttachPlan): Link {
  switch (plan.how) {
    case 'section':
      return attach(program, spec, plan.target);
    case 'tracepoint':
      return attachTracepoint(program, plan.category, plan.name);
    case 'kprobe':
      return attachKprobe(program, plan.func, { retprobe: plan.retprobe });
    case 'uprobe':
      return attachUprobe(program, plan.binary, plan.func, { retprobe: plan.retprobe });
    case 'ksyscall':
      return attachKsyscall(program, plan.syscall, { retprobe: plan.retprobe });
    case 'multi':
      return attachKprobeMulti(program, { pattern: plan.pattern, retprobe: plan.retprobe, session: plan.session });
  }
}

/** The record type of a ring buffer or perf event array: --type, else the `unused_<map>` pointer global (as `tsbpf gen`), else the only `unused_*`. */
function recordCodec(btf: Btf | undefined, mapName: string, type: string | undefined): Codec<unknown> {
  if (!btf) throw new CliError(`map ${mapName}: the object has no BTF to decode records with`, 1, 'NO_BTF');
  if (type !== undefined) {
    const t = btf.findByName(type, 'struct') ?? btf.findByName(type, 'union') ?? btf.findByName(type, 'typedef');
    if (!t) throw new CliError(`--type ${type}: no struct, union or typedef of that name in the object's BTF`, 1, 'USAGE');
    return codecFromBtf(btf, t.id);
  }
  const unused = btf.findAllByName(`unused_${mapName}`, 'var');
  const candidates = unused.length > 0 ? unused : [...btf.types()].filter((t) => t.kind === 'var' && t.name.startsWith('unused_'));
  const v = candidates.length === 1 ? candidates[0]! : undefined;
  const pointer = v?.kind === 'var' ? btf.resolve(v.type) : undefined;
  if (pointer?.kind === 'ptr') return codecFromBtf(btf, pointer.type);
  throw new CliError(
    `map ${mapName}: which struct are its records? Name it with --type STRUCT (or declare a global \`struct rec *unused_${mapName};\`)`,
    1,
    'USAGE',
  );
}

/** One record as one line: `map cpu N: field=value ...` (values as JSON), or a JSON object with --json. Pure. */
export function formatRecord(map: string, record: unknown, cpu: number | undefined, json: boolean): string {
  const data = toJsonData(record);
  if (json) return jsonText({ map, ...(cpu !== undefined ? { cpu } : {}), record: data });
  const fields =
    data !== null && typeof data === 'object' && !Array.isArray(data)
      ? Object.entries(data)
          .map(([k, v]) => `${k}=${jsonText(v)}`)
          .join(' ')
      : jsonText(data);
  return `${map}${cpu !== undefined ? ` cpu ${cpu}` : ''}: ${fields}`;
}

const RECORD_MAPS: ReadonlySet<number> = new Set([MapType.ringbuf, MapType.perf_event_array]);

function recordMaps(spec: CollectionSpec, c: Collection, named: readonly string[]): [string, BpfMap][] {
  for (const name of named) {
    const m = spec.maps[name];
    if (!m || !RECORD_MAPS.has(m.type))
      throw new CliError(`--map ${name}: ${m ? `a ${m.typeName}, not a ring buffer or perf event array` : 'no such map in the object'}`, 1, 'USAGE');
    if (!c.maps[name]) throw new CliError(`--map ${name}: program does not use it`, 1, 'USAGE');
  }
  return Object.entries(c.maps).filter(([name, m]) => (named.length ? named.includes(name) : RECORD_MAPS.has(m.type)));
}

/** Runs the command; resolves after SIGINT or SIGTERM, with everything closed. */
export async function attachCommand(io: CliIo, file: string, opts: AttachOptions): Promise<void> {
  const spec = parseObjectFile(file);
  const progSpec = spec.programs[opts.program];
  if (!progSpec)
    throw new CliError(`no program ${opts.program} in ${file} (programs: ${Object.keys(spec.programs).join(', ') || 'none'})`, 1, 'NO_SUCH_PROGRAM');
  const plan = attachPlan(progSpec, opts.to);
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  let c: Collection | undefined;
  let link: Link | undefined;
  const streams: (RingBuffer<unknown> | PerfBuffer<unknown>)[] = [];
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    try {
      c = loadCollection(spec, { programs: [opts.program] });
    } catch (e) {
      if (e instanceof VerifierError) {
        io.err(formatVerifierError(e, { verbose: opts.verbose ?? false }));
        throw new CliError('', 1);
      }
      throw e;
    }
    const maps = recordMaps(spec, c, opts.map ?? []);
    const names = maps.map(([n]) => n);
    for (const [name, map] of maps) {
      const codec = recordCodec(spec.btf, name, opts.type);
      const s = map.type === MapType.ringbuf ? new RingBuffer(map, codec, { signal: stop.signal }) : new PerfBuffer(map, codec, { signal: stop.signal });
      streams.push(s);
    }
    link = attachBy(c.programs[opts.program]!, progSpec, plan);
    io.err(`attached ${opts.program} (${link.description})${names.length ? `; records of ${names.join(', ')}` : ''}; Ctrl-C to detach\n`);
    const json = opts.json === true;
    await Promise.all([
      new Promise<void>((resolve) => (stop.signal.aborted ? resolve() : stop.signal.addEventListener('abort', () => resolve(), { once: true }))),
      ...streams.map(async (s, i) => {
        for await (const r of s as AsyncIterable<unknown>) {
          if (s instanceof PerfBuffer) {
            const { cpu, record } = r as { cpu: number; record: unknown };
            io.out(`${formatRecord(names[i]!, record, cpu, json)}\n`);
          } else io.out(`${formatRecord(names[i]!, r, undefined, json)}\n`);
        }
      }),
    ]);
    io.err(`detached ${opts.program}\n`);
  } catch (e) {
    if (TsbpfError.is(e) && !(e instanceof CliError)) throw new CliError(`${file}: ${e.message}`, 1, 'COMMAND_FAILED', { cause: e });
    throw e;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    stop.abort();
    link?.close();
    for (const s of streams) s.close();
    c?.close();
  }
}

/**
 * Kprobes and uprobes through tracefs, for kernels without the kprobe or
 * uprobe PMU (and for kretprobe maxactive, which only tracefs takes): the
 * probe event is written to kprobe_events / uprobe_events (`p:kprobes/
 * tsbpf_<pid>_<n> func+0x10`, `r64:...`, `p:uprobes/... /bin/x:0x1130`), its
 * id read from events/<group>/<name>/id, opened as a tracepoint perf event
 * with the program on it, and the event removed again when the link closes
 * (or when any step after its creation fails).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { Program } from './program.js';
import { Link } from './link.js';
import * as sys from './sys/bpf.js';
import { SyscallError } from './sys/errors.js';
import { attachToPerfEvent, checkCookie, openPerfEvent, PerfType } from './perf-event.js';
import { INT_MAX, checkInteger, describeValue } from './args.js';
import { LoaderError, NotSupportedError } from './errors.js';

/** Where tracefs is mounted, in the order the loader looks. */
export const TRACEFS_ROOTS = ['/sys/kernel/tracing', '/sys/kernel/debug/tracing'] as const;

/** Where a probe goes: a kernel function (+ offset), or a file offset in a binary. */
export type ProbeTarget =
  | { kind: 'kprobe'; func: string; offset?: number; retprobe?: boolean; maxactive?: number }
  | { kind: 'uprobe'; binary: string; offset: number; retprobe?: boolean };

/** A probe event as tracefs takes it: a target and the event's name. */
export type ProbeEvent = ProbeTarget & { name: string };

/** The group each kind's events are made in (the kernel's defaults). */
export const PROBE_GROUP = { kprobe: 'kprobes', uprobe: 'uprobes' } as const;

/** The file of tracefs each kind is written to. */
export const PROBE_EVENTS_FILE = { kprobe: 'kprobe_events', uprobe: 'uprobe_events' } as const;

const EVENT_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Kernel symbols as kprobe_events takes them: no blanks, no `+`/`:` (those are the syntax). */
const KERNEL_SYMBOL = /^[A-Za-z0-9_.$]+$/;
/** The kernel's MAXACTIVE_MAX (kernel/trace/trace_kprobe.c). */
export const MAX_ACTIVE_MAX = 4096;

/** The name of the n-th probe event this process makes: `tsbpf_<pid>_<n>`. */
export function probeEventName(pid: number, n: number): string {
  return `tsbpf_${pid}_${n}`;
}

/**
 * The line that creates `event` in kprobe_events or uprobe_events:
 * `p:kprobes/NAME func+0x10`, `r64:kprobes/NAME func` (a kretprobe with
 * maxactive 64), `p:uprobes/NAME /path:0x1130`. Pure; refuses what tracefs
 * would misread (a blank in a path, a `:` in a symbol) with INVALID_ARGUMENT.
 */
export function probeEventLine(event: ProbeEvent): string {
  const context = `${event.kind} event ${event.name}`;
  if (!EVENT_NAME.test(event.name))
    throw new LoaderError('INVALID_ARGUMENT', `event name ${describeValue(event.name)} is not a tracefs event name`).addContext(context);
  const group = PROBE_GROUP[event.kind];
  if (event.kind === 'kprobe') {
    if (!KERNEL_SYMBOL.test(event.func))
      throw new LoaderError('INVALID_ARGUMENT', `kernel function ${describeValue(event.func)} is not a symbol name`).addContext(context);
    const offset = checkInteger(event.offset ?? 0, 'offset', 0, INT_MAX, context);
    let type = 'p';
    if (event.maxactive !== undefined) {
      if (!event.retprobe) throw new LoaderError('INVALID_ARGUMENT', 'maxactive applies to kretprobes only').addContext(context);
      type = `r${checkInteger(event.maxactive, 'maxactive', 1, MAX_ACTIVE_MAX, context)}`;
    } else if (event.retprobe) type = 'r';
    return `${type}:${group}/${event.name} ${event.func}${offset ? `+0x${offset.toString(16)}` : ''}`;
  }
  if (typeof event.binary !== 'string' || !event.binary.startsWith('/') || /[\s:]/.test(event.binary))
    throw new LoaderError('INVALID_ARGUMENT', `uprobe_events needs an absolute path without blanks or colons, not ${describeValue(event.binary)}`).addContext(
      context,
    );
  const offset = checkInteger(event.offset, 'offset', 0, Number.MAX_SAFE_INTEGER, context);
  return `${event.retprobe ? 'r' : 'p'}:${group}/${event.name} ${event.binary}:0x${offset.toString(16)}`;
}

/** The line that removes an event: `-:kprobes/NAME`. */
export function removeEventLine(kind: ProbeEvent['kind'], name: string): string {
  return `-:${PROBE_GROUP[kind]}/${name}`;
}

/** The tracefs directory that has this kind's events file, or undefined. */
export function tracefsRootFor(kind: ProbeEvent['kind']): string | undefined {
  return TRACEFS_ROOTS.find((root) => existsSync(`${root}/${PROBE_EVENTS_FILE[kind]}`));
}

/** The probe events this process made and has not removed yet (`kprobes/tsbpf_1_0`). */
export function liveProbeEvents(): string[] {
  return [...live];
}

const live = new Set<string>();
let counter = 0;

function writeEvents(file: string, line: string, what: string): void {
  try {
    writeFileSync(file, `${line}\n`, { flag: 'a' });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const errno = (e as NodeJS.ErrnoException).errno;
    if (code && errno !== undefined) throw new SyscallError(`write(${file})`, -errno, what, `tracefs refused \`${line}\``);
    throw e;
  }
}

export interface TracefsProbeOptions {
  /** Only this process (uprobes); default every process. */
  pid?: number;
  /** What bpf_get_attach_cookie() returns (needs a perf link, Linux 5.15+). */
  cookie?: bigint;
}

/**
 * Makes the probe event, opens it as a tracepoint perf event and runs
 * `program` on it (a BPF_PERF_EVENT link, or PERF_EVENT_IOC_SET_BPF where
 * links are missing). The Link closes the perf event and then removes the
 * event from tracefs. The event is named here (`tsbpf_<pid>_<n>`).
 */
export function attachProbeTracefs(program: Program, event: ProbeTarget, options: TracefsProbeOptions = {}): Link {
  const target = event.kind === 'kprobe' ? event.func : `${event.binary}:0x${event.offset.toString(16)}`;
  const what = `${event.retprobe ? (event.kind === 'kprobe' ? 'kretprobe' : 'uretprobe') : event.kind} ${target} (tracefs)`;
  const context = `program ${program.name}: attach ${what}`;
  const cookie = checkCookie(options.cookie, context);
  const pid = options.pid === undefined ? -1 : checkInteger(options.pid, 'pid', -1, INT_MAX, context);
  void program.fd; // CLOSED before anything is made
  const root = tracefsRootFor(event.kind);
  if (!root)
    throw new NotSupportedError(
      `no ${PROBE_EVENTS_FILE[event.kind]} in tracefs (${TRACEFS_ROOTS.join(' or ')}): this kernel has no ${event.kind} events`,
    ).addContext(context);
  const name = probeEventName(process.pid, counter++);
  const line = probeEventLine({ ...event, name });
  const file = `${root}/${PROBE_EVENTS_FILE[event.kind]}`;
  const key = `${PROBE_GROUP[event.kind]}/${name}`;
  writeEvents(file, line, context);
  live.add(key);
  const remove = () => {
    live.delete(key);
    try {
      writeEvents(file, removeEventLine(event.kind, name), `remove ${key}`);
    } catch {
      // gone already (someone cleared the events file)
    }
  };
  let perfFd: number | undefined;
  try {
    let id: number;
    try {
      id = Number(readFileSync(`${root}/events/${key}/id`, 'utf8'));
    } catch (e) {
      throw new NotSupportedError(`tracefs made ${key} but has no events/${key}/id to open it by`, { cause: e }).addContext(context);
    }
    perfFd = openPerfEvent({ type: PerfType.tracepoint, config: BigInt(id), period: 1 }, pid, pid === -1 ? 0 : -1, what);
    const linkFd = attachToPerfEvent(program, perfFd, { cookie }, what);
    return linkFd === undefined ? new Link(perfFd, what, [], remove) : new Link(linkFd, what, [perfFd], remove);
  } catch (e) {
    if (perfFd !== undefined) sys.closeFd(perfFd);
    remove();
    throw e;
  }
}

/**
 * Perf events and programs on them: opening a perf event (software,
 * hardware, tracepoint, k/uprobe PMU), attaching a program to one (a
 * BPF_PERF_EVENT link with its bpf_cookie, or PERF_EVENT_IOC_SET_BPF where
 * the kernel has no perf links), and attachPerfEvent: a perf_event program
 * sampling on every CPU or in one process, as one PerfEventLink.
 */
import { AttachType } from '@tsbpf/object';
import { readFileSync } from 'node:fs';
import type { Program } from './program.js';
import * as sys from './sys/bpf.js';
import { SyscallError } from './sys/errors.js';
import { NativeBuffer, ioctlInt, perfEventOpen } from './sys/ffi.js';
import { setField } from './sys/fields.js';
import { perfEventAttr as P, perfEventAttrSize } from './sys/layouts.generated.js';
import { INT_MAX, checkInteger, describeValue } from './args.js';
import { LoaderError, NotSupportedError } from './errors.js';

/** PERF_TYPE_* (include/uapi/linux/perf_event.h). */
export const PerfType = { hardware: 0, software: 1, tracepoint: 2, hwCache: 3, raw: 4, breakpoint: 5 } as const;

/** PERF_COUNT_SW_*: the software events, by the names perf(1) gives them. */
export const SoftwareEvent = {
  'cpu-clock': 0,
  'task-clock': 1,
  'page-faults': 2,
  'context-switches': 3,
  'cpu-migrations': 4,
  'minor-faults': 5,
  'major-faults': 6,
  'alignment-faults': 7,
  'emulation-faults': 8,
  dummy: 9,
  'bpf-output': 10,
  'cgroup-switches': 11,
} as const;

/** PERF_COUNT_HW_*: the generic hardware events (a machine without a PMU, such as most VMs, has none). */
export const HardwareEvent = {
  cycles: 0,
  instructions: 1,
  'cache-references': 2,
  'cache-misses': 3,
  'branch-instructions': 4,
  'branch-misses': 5,
  'bus-cycles': 6,
  'stalled-cycles-frontend': 7,
  'stalled-cycles-backend': 8,
  'ref-cycles': 9,
} as const;

/** What perf_event_open opens: perf_event_attr's type, config(s), and the sampling. */
export interface PerfEventSpec {
  type: number;
  config: bigint;
  config1?: bigint;
  config2?: bigint;
  /** Samples per second (attr.freq = 1); or */
  frequency?: number;
  /** one sample every `period` events (1: every event, what tracepoints and probes use). */
  period?: number;
  /** Open disabled (PERF_EVENT_IOC_ENABLE starts it). */
  disabled?: boolean;
}

const PERF_FLAG_FD_CLOEXEC = 8;
const PERF_EVENT_IOC_ENABLE = 0x2400;
/** _IOW('$', 8, __u32). */
const PERF_EVENT_IOC_SET_BPF = 0x40042408;

/** perf_event_open(spec, pid, cpu): the event's fd, owned by the caller. `strings` (config1 pointers) are freed. */
export function openPerfEvent(spec: PerfEventSpec, pid: number, cpu: number, what: string, strings: NativeBuffer[] = []): number {
  const attr = new NativeBuffer(perfEventAttrSize);
  try {
    setField(attr.view, P.type, spec.type);
    setField(attr.view, P.size, perfEventAttrSize);
    setField(attr.view, P.config, spec.config);
    if (spec.frequency !== undefined) {
      setField(attr.view, P.sample_freq, spec.frequency);
      setField(attr.view, P.freq, 1);
    } else setField(attr.view, P.sample_period, spec.period ?? 1);
    if (spec.disabled) setField(attr.view, P.disabled, 1);
    setField(attr.view, P.config1, spec.config1 ?? 0n);
    setField(attr.view, P.config2, spec.config2 ?? 0n);
    const r = perfEventOpen(attr, pid, cpu, -1, PERF_FLAG_FD_CLOEXEC);
    if (r < 0) throw new SyscallError('perf_event_open', -r, `${what} (pid ${pid}, cpu ${cpu})`);
    return sys.ownFd(r);
  } finally {
    attr.free();
    for (const b of strings) b.free();
  }
}

function ioctlOrThrow(fd: number, request: number, arg: number, name: string, what: string): void {
  const r = ioctlInt(fd, request, arg);
  if (r < 0) throw new SyscallError(`ioctl(${name})`, -r, what);
}

export interface PerfAttachOptions {
  /** The value bpf_get_attach_cookie() returns in the program (needs perf links, Linux 5.15+). */
  cookie?: bigint;
  /** Use PERF_EVENT_IOC_SET_BPF even where perf links work (what kernels before 5.15 need). */
  legacy?: boolean;
}

const NO_LINK = ['EINVAL', 'EOPNOTSUPP', 'ENOTSUPP'];

/**
 * Runs `program` on the perf event `perfFd`, and enables the event: a
 * BPF_PERF_EVENT link (its fd is returned) where the kernel has them, else
 * PERF_EVENT_IOC_SET_BPF (undefined is returned: closing the perf event
 * detaches), as libbpf falls back. A cookie needs the link.
 */
export function attachToPerfEvent(program: Program, perfFd: number, options: PerfAttachOptions, what: string): number | undefined {
  const context = `program ${program.name}: attach ${what}`;
  let linkError: SyscallError | undefined;
  let linkFd: number | undefined;
  if (!options.legacy) {
    try {
      linkFd = sys.linkCreate(
        {
          progFd: program.fd,
          target: perfFd,
          attachType: AttachType.perf_event,
          ...(options.cookie !== undefined ? { perfEvent: { bpfCookie: options.cookie } } : {}),
        },
        context,
      );
    } catch (e) {
      if (!(e instanceof SyscallError) || !NO_LINK.includes(e.errnoName)) throw e;
      linkError = e;
    }
  }
  if (linkFd === undefined) {
    if (options.cookie !== undefined) {
      throw new NotSupportedError(
        `a bpf_cookie needs a BPF_PERF_EVENT link (Linux 5.15+)${linkError ? `; BPF_LINK_CREATE answered ${linkError.errnoName}` : ''}`,
      ).addContext(context);
    }
    try {
      ioctlOrThrow(perfFd, PERF_EVENT_IOC_SET_BPF, program.fd, 'PERF_EVENT_IOC_SET_BPF', context);
    } catch (e) {
      if (e instanceof SyscallError && linkError)
        throw new SyscallError(e.syscall, e.errno, context, `${e.hint ? `${e.hint}; ` : ''}after BPF_LINK_CREATE: ${linkError.detail}`, {
          cause: linkError,
        });
      throw e;
    }
  }
  try {
    ioctlOrThrow(perfFd, PERF_EVENT_IOC_ENABLE, 0, 'PERF_EVENT_IOC_ENABLE', context);
  } catch (e) {
    if (linkFd !== undefined) sys.closeFd(linkFd);
    throw e;
  }
  return linkFd;
}

/** The CPUs online now (/sys/devices/system/cpu/online: `0-3,8`). */
export function onlineCpus(): number[] {
  const text = readFileSync('/sys/devices/system/cpu/online', 'utf8').trim();
  const cpus: number[] = [];
  for (const range of text.split(',')) {
    const [lo, hi] = range.split('-').map(Number);
    for (let c = lo!; c <= (hi ?? lo!); c++) cpus.push(c);
  }
  return cpus;
}

export interface PerfEventOptions extends PerfAttachOptions {
  /** A software event (default `cpu-clock`), a hardware event, or perf_event_attr's type and config. */
  event?: keyof typeof SoftwareEvent | keyof typeof HardwareEvent | { type: number; config: bigint | number };
  /** Samples per second per event (attr.freq); the default is 49 when no period is given. */
  frequency?: number;
  /** One sample every `period` events (cpu-clock: nanoseconds). */
  period?: number;
  /** Only this process (thread id): one event following it on any CPU (unless `cpus` is given). */
  pid?: number;
  /** The CPUs to sample on (default: every online CPU; with a pid: any CPU, one event). */
  cpus?: readonly number[];
}

/** One opened event of a PerfEventLink. */
export interface PerfEventAttachment {
  /** The CPU, or -1: every CPU (a per-process event). */
  readonly cpu: number;
  readonly perfFd: number;
  /** The BPF link's fd; undefined on the PERF_EVENT_IOC_SET_BPF path. */
  readonly linkFd: number | undefined;
}

const registry = new FinalizationRegistry<number[]>((fds) => fds.forEach((fd) => sys.closeFd(fd)));

/** A program on a set of perf events (one per CPU, or one per process); closing closes every link and perf event. */
export class PerfEventLink implements Disposable {
  private closed = false;
  constructor(
    private readonly list: readonly PerfEventAttachment[],
    readonly description: string,
  ) {
    registry.register(this, this.fds(), this);
  }

  private fds(): number[] {
    return this.list.flatMap((a) => (a.linkFd === undefined ? [a.perfFd] : [a.linkFd, a.perfFd]));
  }

  /** The events, one per CPU (or one, cpu -1, for a process). */
  get events(): readonly PerfEventAttachment[] {
    if (this.closed) throw new LoaderError('CLOSED', 'closed').addContext(this.description);
    return this.list;
  }

  /** True where the kernel had no perf links (or `legacy` was asked): PERF_EVENT_IOC_SET_BPF. */
  get legacy(): boolean {
    return this.list.some((a) => a.linkFd === undefined);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    registry.unregister(this);
    for (const fd of this.fds()) sys.closeFd(fd);
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

function eventOf(event: PerfEventOptions['event'], context: string): { type: number; config: bigint; name: string } {
  if (event === undefined) return { type: PerfType.software, config: 0n, name: 'cpu-clock' };
  if (typeof event === 'string') {
    if (Object.hasOwn(SoftwareEvent, event))
      return { type: PerfType.software, config: BigInt(SoftwareEvent[event as keyof typeof SoftwareEvent]), name: event };
    if (Object.hasOwn(HardwareEvent, event))
      return { type: PerfType.hardware, config: BigInt(HardwareEvent[event as keyof typeof HardwareEvent]), name: event };
  } else if (typeof event === 'object' && event !== null) {
    const type = checkInteger(event.type, 'event.type', 0, 0xffffffff, context);
    if (typeof event.config === 'bigint' ? event.config >= 0n && event.config < 1n << 64n : Number.isSafeInteger(event.config) && event.config >= 0)
      return { type, config: BigInt(event.config), name: `type ${type} config ${event.config}` };
    throw new LoaderError('INVALID_ARGUMENT', `event.config must be a u64, not ${describeValue(event.config)}`).addContext(context);
  }
  throw new LoaderError(
    'INVALID_ARGUMENT',
    `event must be one of ${[...Object.keys(SoftwareEvent), ...Object.keys(HardwareEvent)].join(', ')} or { type, config }, not ${describeValue(event)}`,
  ).addContext(context);
}

/** Checks a cookie: a u64 as a bigint. */
export function checkCookie(cookie: unknown, context: string): bigint | undefined {
  if (cookie === undefined) return undefined;
  if (typeof cookie !== 'bigint' || cookie < 0n || cookie >= 1n << 64n)
    throw new LoaderError('INVALID_ARGUMENT', `cookie must be a u64 bigint, not ${describeValue(cookie)}`).addContext(context);
  return cookie;
}

/**
 * A perf_event program sampling a perf event: by default `cpu-clock` at 49
 * Hz on every online CPU (pid -1, one event per CPU), or in one process
 * (`pid`, cpu -1). Each event gets a BPF_PERF_EVENT link (with `cookie`),
 * or PERF_EVENT_IOC_SET_BPF where the kernel has no perf links.
 */
export function attachPerfEvent(program: Program, options: PerfEventOptions = {}): PerfEventLink {
  const context = `program ${program.name}: attach perf event`;
  const ev = eventOf(options.event, context);
  if (options.frequency !== undefined && options.period !== undefined)
    throw new LoaderError('INVALID_ARGUMENT', 'give a frequency or a period, not both').addContext(context);
  const frequency = options.frequency === undefined ? undefined : checkInteger(options.frequency, 'frequency', 1, INT_MAX, context);
  const period = options.period === undefined ? undefined : checkInteger(options.period, 'period', 1, Number.MAX_SAFE_INTEGER, context);
  const pid = options.pid === undefined ? -1 : checkInteger(options.pid, 'pid', 0, INT_MAX, context);
  const cookie = checkCookie(options.cookie, context);
  let cpus: number[];
  if (options.cpus !== undefined) {
    if (!Array.isArray(options.cpus) || options.cpus.length === 0)
      throw new LoaderError('INVALID_ARGUMENT', `cpus must be a non-empty array of CPU numbers, not ${describeValue(options.cpus)}`).addContext(context);
    const online = onlineCpus();
    cpus = options.cpus.map((c) => {
      checkInteger(c, 'cpu', 0, INT_MAX, context);
      if (!online.includes(c)) throw new LoaderError('INVALID_ARGUMENT', `CPU ${c} is not online (online: ${online.join(',')})`).addContext(context);
      return c;
    });
    if (new Set(cpus).size !== cpus.length) throw new LoaderError('INVALID_ARGUMENT', `cpus lists a CPU twice: ${cpus.join(',')}`).addContext(context);
  } else cpus = pid === -1 ? onlineCpus() : [-1];
  const spec: PerfEventSpec = { type: ev.type, config: ev.config, disabled: true, ...(period !== undefined ? { period } : { frequency: frequency ?? 49 }) };
  const what = `perf event ${ev.name}${pid === -1 ? '' : ` pid ${pid}`}`;
  void program.fd; // CLOSED before any event is opened
  const done: PerfEventAttachment[] = [];
  try {
    for (const cpu of cpus) {
      let perfFd: number;
      try {
        perfFd = openPerfEvent(spec, pid, cpu, what);
      } catch (e) {
        if (ev.type === PerfType.hardware && e instanceof SyscallError && ['ENOENT', 'EOPNOTSUPP'].includes(e.errnoName))
          throw new NotSupportedError(`no hardware perf event ${ev.name} on this machine (perf_event_open: ${e.errnoName}; VMs often have no PMU)`, {
            cause: e,
          }).addContext(context);
        throw e;
      }
      try {
        const linkFd = attachToPerfEvent(program, perfFd, { cookie, legacy: options.legacy }, `${what} cpu ${cpu}`);
        done.push({ cpu, perfFd, linkFd });
      } catch (e) {
        sys.closeFd(perfFd);
        throw e;
      }
    }
  } catch (e) {
    for (const a of done) {
      if (a.linkFd !== undefined) sys.closeFd(a.linkFd);
      sys.closeFd(a.perfFd);
    }
    throw e;
  }
  return new PerfEventLink(
    done,
    `${what} on ${cpus[0] === -1 ? 'any CPU' : `CPUs ${cpus.join(',')}`}${done.some((a) => a.linkFd === undefined) ? ' (ioctl)' : ''}`,
  );
}

/**
 * Link and the ways to attach a program: XDP, cgroup (a link, or
 * BPF_PROG_ATTACH where links are missing), tracepoint and uprobe (one
 * perf-event path, which kprobe.ts shares; the uprobe front is
 * uprobe-attach.ts), raw tracepoint, tracing, netfilter, and attach() by the
 * program's section (tcx is tcx.ts, the kprobe family kprobe*.ts).
 */
import { AttachType, ProgramType } from '@tsbpf/object';
import { closeSync, openSync, readFileSync } from 'node:fs';
import type { Program } from './program.js';
import { attachUprobe } from './uprobe-attach.js';
import { attachUprobeMulti } from './uprobe-multi.js';
import { attachNetns } from './netns-attach.js';
import { attachNetkit } from './netkit.js';
import { attachTcx } from './tcx.js';
import { attachKprobeSection } from './kprobe-sections.js';
import * as sys from './sys/bpf.js';
import { SyscallError } from './sys/errors.js';
import { NativeBuffer } from './sys/ffi.js';
import { checkCookie, openPerfEvent } from './perf-event.js';
import { INT_MAX, checkInteger, checkU32, describeValue } from './args.js';
import { LoaderError, NotSupportedError } from './errors.js';

export { attachUprobe, attachUprobeAt, type UprobeOptions } from './uprobe-attach.js';

const registry = new FinalizationRegistry<number[]>((fds) => fds.forEach((fd) => sys.closeFd(fd)));

/**
 * An attachment of a program to a hook. Closing it detaches the program
 * (unless it was pinned); `detach()` detaches even a pinned link.
 */
export class Link implements Disposable {
  private closed = false;
  constructor(
    private readonly fdValue: number,
    readonly description: string,
    /** More fds the link keeps open (the perf event of a tracepoint link). */
    private readonly extraFds: readonly number[] = [],
    /** Runs after the fds are closed (removes a tracefs probe event). */
    private readonly onClose?: () => void,
  ) {
    registry.register(this, [fdValue, ...extraFds], this);
  }

  /** The link's fd; after close() an error, as Program's and BpfMap's (the number may be another file's by then). */
  get fd(): number {
    if (this.closed) throw new LoaderError('CLOSED', 'closed').addContext(this.description);
    return this.fdValue;
  }

  pin(path: string): void {
    sys.objPin(this.fd, path);
  }

  /** Opens a link pinned on bpffs (closing it does not detach: the pin still holds it). */
  static fromPin(path: string): Link {
    return new Link(sys.objGet(path), `pinned link ${path}`);
  }

  /**
   * BPF_LINK_UPDATE: the hook runs `program` from now on, with no moment
   * where it runs neither (the kernel swaps one pointer). With `expected`,
   * only if that program is what the link runs now (else EPERM), so two
   * updaters cannot overwrite each other unknowingly. XDP, tcx, cgroup,
   * netkit and struct_ops links support it; perf-event and tracing links
   * answer EOPNOTSUPP or EINVAL.
   */
  update(program: Program, options: { expected?: Program } = {}): void {
    sys.linkUpdate(this.fd, program.fd, options.expected?.fd, `${this.description}: update to program ${program.name}`);
  }

  /**
   * BPF_LINK_DETACH: the program is detached now, even if the link is pinned.
   * Links made through perf events (tracepoints, uprobes) and raw tracepoint
   * or tracing links cannot be detached this way: close them (and unpin).
   */
  detach(): void {
    sys.linkDetach(this.fd, this.description);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    registry.unregister(this);
    sys.closeFd(this.fdValue);
    for (const fd of this.extraFds) sys.closeFd(fd);
    this.onClose?.();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/** XDP attach modes (XDP_FLAGS_*). */
export const XdpMode = { default: 0, generic: 1 << 1, driver: 1 << 2, offload: 1 << 3 } as const;

/** An XDP program on an interface (by ifindex, in the calling thread's network namespace). */
export function attachXdp(program: Program, ifindex: number, mode: keyof typeof XdpMode = 'default'): Link {
  checkU32(ifindex, 'ifindex', `program ${program.name}: attach XDP`);
  if (!Object.hasOwn(XdpMode, mode))
    throw new LoaderError('INVALID_ARGUMENT', `mode must be one of ${Object.keys(XdpMode).join(', ')}, not ${describeValue(mode)}`);
  const fd = sys.linkCreate(
    { progFd: program.fd, target: ifindex, attachType: AttachType.xdp, flags: XdpMode[mode] },
    `program ${program.name}: attach XDP to ifindex ${ifindex}`,
  );
  return new Link(fd, `xdp ifindex ${ifindex}`);
}

/**
 * A program attached the pre-link way (BPF_PROG_ATTACH): there is no link
 * fd, so closing detaches explicitly (BPF_PROG_DETACH).
 */
export class LegacyAttachment implements Disposable {
  private closed = false;
  constructor(
    private readonly targetFd: number,
    private readonly progFd: number,
    private readonly attachType: number,
    readonly description: string,
  ) {}

  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      sys.progDetach(this.targetFd, this.progFd, this.attachType, this.description);
    } finally {
      closeSync(this.targetFd);
    }
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

export interface CgroupAttachOptions {
  /** Use BPF_PROG_ATTACH even where links work (what kernels before 5.7 need). */
  legacy?: boolean;
  /** BPF_F_ALLOW_MULTI for the legacy path (default true). */
  allowMulti?: boolean;
}

const BPF_F_ALLOW_MULTI = 2;

/**
 * A cgroup program on a cgroup v2 directory: a BPF link where the kernel has
 * them (5.7+), otherwise BPF_PROG_ATTACH, as libbpf falls back.
 */
export function attachCgroup(program: Program, cgroupPath: string, attachType: number, options: CgroupAttachOptions = {}): Link | LegacyAttachment {
  checkU32(attachType, 'attachType', `program ${program.name}: attach to cgroup ${cgroupPath}`);
  const progFd = program.fd; // CLOSED before the cgroup is opened
  const cg = openSync(cgroupPath, 'r');
  const context = `program ${program.name}: attach to cgroup ${cgroupPath}`;
  let linkError: SyscallError | undefined;
  if (!options.legacy) {
    try {
      const fd = sys.linkCreate({ progFd, target: cg, attachType }, context);
      closeSync(cg);
      return new Link(fd, `cgroup ${cgroupPath}`);
    } catch (e) {
      if (!(e instanceof SyscallError) || !['EINVAL', 'EOPNOTSUPP', 'ENOTSUPP'].includes(e.errnoName)) {
        closeSync(cg);
        throw e;
      }
      linkError = e;
    }
  }
  try {
    sys.progAttach(cg, progFd, attachType, options.allowMulti === false ? 0 : BPF_F_ALLOW_MULTI, context);
  } catch (e) {
    closeSync(cg);
    if (e instanceof SyscallError && linkError) {
      // Both ways failed: say what the link attempt answered too.
      throw new SyscallError(e.syscall, e.errno, context, `${e.hint ?? e.errnoName}; after BPF_LINK_CREATE: ${linkError.detail}`, { cause: linkError });
    }
    throw e;
  }
  return new LegacyAttachment(cg, progFd, attachType, `cgroup ${cgroupPath} (BPF_PROG_ATTACH)`);
}

const TRACEFS = ['/sys/kernel/tracing', '/sys/kernel/debug/tracing'];

function tracepointId(category: string, name: string): number {
  for (const root of TRACEFS) {
    try {
      return Number(readFileSync(`${root}/events/${category}/${name}/id`, 'utf8'));
    } catch {
      // try the next mount point
    }
  }
  throw new LoaderError('ATTACH_TARGET', `no such tracepoint (or tracefs is not mounted at ${TRACEFS.join(' or ')})`).addContext(
    `tracepoint ${category}/${name}`,
  );
}

const PERF_TYPE_TRACEPOINT = 2;

/** A tracepoint program on `category/name`, through a perf event and a BPF link (`cookie`: what bpf_get_attach_cookie() returns). */
export function attachTracepoint(program: Program, category: string, name: string, options: { cookie?: bigint } = {}): Link {
  const event = { type: PERF_TYPE_TRACEPOINT, config: BigInt(tracepointId(category, name)) };
  return perfEventLink(program, event, `tracepoint ${category}/${name}`, options.cookie);
}

interface PerfEvent {
  /** perf_event_attr.type and .config, and config1/config2 (kprobe/uprobe: a string pointer and an offset). */
  type: number;
  config: bigint;
  config1?: bigint;
  config2?: bigint;
  pid?: number;
}

/**
 * Opens a perf event and links a program to it (BPF_LINK_CREATE with
 * BPF_PERF_EVENT, with its cookie): the shared path of tracepoints, kprobes
 * and uprobes. The link keeps the perf event's fd and closes it with itself.
 */
export function perfEventLink(program: Program, event: PerfEvent, what: string, cookie: unknown, strings: NativeBuffer[] = []): Link {
  let checked: bigint | undefined;
  try {
    checked = checkCookie(cookie, `program ${program.name}: attach ${what}`);
  } catch (e) {
    for (const b of strings) b.free();
    throw e;
  }
  // pid -1 needs a cpu; the program runs on every CPU all the same.
  const perfFd = openPerfEvent({ ...event, period: 1 }, event.pid ?? -1, event.pid === undefined ? 0 : -1, what, strings);
  try {
    const fd = sys.linkCreate(
      {
        progFd: program.fd,
        target: perfFd,
        attachType: AttachType.perf_event,
        ...(checked !== undefined ? { perfEvent: { bpfCookie: checked } } : {}),
      },
      `program ${program.name}: attach ${what}`,
    );
    return new Link(fd, what, [perfFd]);
  } catch (e) {
    sys.closeFd(perfFd);
    throw e;
  }
}

export function pmuType(pmu: string): number {
  try {
    return Number(readFileSync(`/sys/bus/event_source/devices/${pmu}/type`, 'utf8'));
  } catch {
    throw new NotSupportedError(`no ${pmu} support in this kernel (/sys/bus/event_source/devices/${pmu}/type is missing)`);
  }
}

/** The config bit the `retprobe` format names (`config:0`). */
export function retprobeBit(pmu: string): number {
  return formatBit(pmu, 'retprobe');
}

/** The first config bit of a PMU format field (`config:0`, `config:32-63`). */
export function formatBit(pmu: string, field: string): number {
  let text: string;
  try {
    text = readFileSync(`/sys/bus/event_source/devices/${pmu}/format/${field}`, 'utf8').trim();
  } catch {
    throw new NotSupportedError(`this kernel's ${pmu} PMU has no ${field} (/sys/bus/event_source/devices/${pmu}/format/${field})`);
  }
  const m = /^config:(\d+)(?:-\d+)?$/.exec(text);
  if (!m) throw new NotSupportedError(`${pmu}: unexpected ${field} format ${text}`);
  return Number(m[1]);
}

/** Netfilter hook numbers (NF_INET_*) and families (NFPROTO_*). */
export const NetfilterHook = { pre_routing: 0, local_in: 1, forward: 2, local_out: 3, post_routing: 4 } as const;
export const NetfilterFamily = { ipv4: 2, ipv6: 10 } as const;

/** A netfilter program on a hook of the calling thread's network namespace (Linux 6.4+). */
export function attachNetfilter(
  program: Program,
  options: { family: keyof typeof NetfilterFamily; hook: keyof typeof NetfilterHook; priority: number; defragment?: boolean },
): Link {
  const context = `program ${program.name}: attach netfilter`;
  if (!Object.hasOwn(NetfilterFamily, options.family))
    throw new LoaderError('INVALID_ARGUMENT', `family must be ipv4 or ipv6, not ${describeValue(options.family)}`).addContext(context);
  if (!Object.hasOwn(NetfilterHook, options.hook))
    throw new LoaderError('INVALID_ARGUMENT', `hook must be one of ${Object.keys(NetfilterHook).join(', ')}, not ${describeValue(options.hook)}`).addContext(
      context,
    );
  checkInteger(options.priority, 'priority', -INT_MAX - 1, INT_MAX, context);
  const fd = sys.linkCreate(
    {
      progFd: program.fd,
      target: 0,
      attachType: AttachType.netfilter,
      netfilter: { pf: NetfilterFamily[options.family], hooknum: NetfilterHook[options.hook], priority: options.priority, flags: options.defragment ? 1 : 0 },
    },
    `program ${program.name}: attach netfilter ${options.family}/${options.hook}`,
  );
  return new Link(fd, `netfilter ${options.family}/${options.hook} priority ${options.priority}`);
}

/** A raw tracepoint program (`raw_tp/<name>`); `cookie` for bpf_get_attach_cookie() (Linux 6.10+). */
export function attachRawTracepoint(program: Program, name: string, options: { cookie?: bigint } = {}): Link {
  const context = `program ${program.name}: raw tracepoint ${name}`;
  return new Link(sys.rawTracepointOpen(program.fd, name, context, checkCookie(options.cookie, context)), `raw_tp ${name}`);
}

/** A BTF-typed tracing program (tp_btf, fentry, fexit, lsm): the target was fixed at load; `cookie` for bpf_get_attach_cookie(). */
export function attachTracing(program: Program, attachType: number, options: { cookie?: bigint } = {}): Link {
  checkU32(attachType, 'attachType', `program ${program.name}: attach tracing`);
  const cookie = checkCookie(options.cookie, `program ${program.name}: attach tracing`);
  const tracing = cookie !== undefined ? { tracing: { cookie } } : {};
  const fd = sys.linkCreate({ progFd: program.fd, target: 0, attachType, ...tracing }, `program ${program.name}: attach tracing`);
  return new Link(fd, `tracing ${program.name}`);
}

export interface AutoAttachTarget {
  /** For XDP, tcx and netkit: the interface (netkit: the primary device). */
  ifindex?: number;
  /** For cgroup programs: the cgroup v2 directory. */
  cgroup?: string;
  /** For sk_lookup and flow_dissector: the network namespace (a path such as /var/run/netns/NAME). */
  netns?: string;
}

/**
 * Attaches by the program's section, as libbpf's bpf_program__attach does:
 * `tracepoint/<cat>/<name>`, `raw_tp/<name>`, `tp_btf/...`, `fentry/...`,
 * the kprobe family (kprobe-sections.ts), `uprobe//path:func`, `uprobe.multi/path:glob`,
 * `xdp`, `tcx/*` and `netkit/*` (need an ifindex; netkit's: the primary's), `cgroup*` (need a cgroup).
 */
export function attach(
  program: Program,
  spec: { sectionName: string; type: number; attachType: number | undefined; attachTo: string },
  target: AutoAttachTarget = {},
): Link {
  const need = (what: keyof AutoAttachTarget) => {
    const v = target[what];
    if (v === undefined) throw new LoaderError('ATTACH_TARGET', `program ${program.name} (SEC("${spec.sectionName}")) needs a ${what} to attach to`);
    return v;
  };
  switch (spec.type) {
    case ProgramType.tracepoint: {
      const [category, name] = spec.attachTo.split('/');
      if (!category || !name) throw new LoaderError('ATTACH_TARGET', `program ${program.name}: SEC("${spec.sectionName}") names no tracepoint`);
      return attachTracepoint(program, category, name);
    }
    case ProgramType.raw_tracepoint:
      return attachRawTracepoint(program, spec.attachTo);
    case ProgramType.kprobe: {
      const retprobe = /^(uretprobe|kretprobe)/.test(spec.sectionName);
      if (spec.attachType === AttachType.trace_uprobe_multi) {
        // SEC("uprobe.multi//path/to/binary:glob") or a library name: libc.so.6:getp*
        const m = /^(.+):([^:]+)$/.exec(spec.attachTo);
        if (!m) throw new LoaderError('ATTACH_TARGET', `program ${program.name}: SEC("${spec.sectionName}") names no binary:pattern; use attachUprobeMulti`);
        return attachUprobeMulti(program, m[1]!, m[2]!, { retprobe });
      }
      if (/^usdt(\.s)?(\/|$)/.test(spec.sectionName))
        throw new LoaderError('ATTACH_TARGET', `program ${program.name}: a USDT program attaches with attachUsdt or attachUsdtSection, not attach()`);
      if (spec.sectionName.startsWith('uprobe') || spec.sectionName.startsWith('uretprobe')) {
        // SEC("uprobe//path/to/binary:function")
        const m = /^(.+):([^:]+)$/.exec(spec.attachTo);
        if (!m) throw new LoaderError('ATTACH_TARGET', `program ${program.name}: SEC("${spec.sectionName}") names no binary:function; use attachUprobe`);
        return attachUprobe(program, m[1]!, m[2]!, { retprobe });
      }
      return attachKprobeSection(program, spec.sectionName);
    }
    case ProgramType.tracing:
    case ProgramType.lsm:
      return attachTracing(program, spec.attachType ?? 0);
    case ProgramType.xdp:
      return attachXdp(program, need('ifindex') as number);
    case ProgramType.sk_lookup:
    case ProgramType.flow_dissector:
      return attachNetns(program, need('netns') as string);
    case ProgramType.sched_cls:
      if (spec.attachType === AttachType.tcx_ingress) return attachTcx(program, need('ifindex') as number, 'ingress');
      if (spec.attachType === AttachType.tcx_egress) return attachTcx(program, need('ifindex') as number, 'egress');
      if (spec.attachType === AttachType.netkit_primary) return attachNetkit(program, need('ifindex') as number, { attachType: 'primary' });
      if (spec.attachType === AttachType.netkit_peer) return attachNetkit(program, need('ifindex') as number, { attachType: 'peer' });
      break;
    default:
      if (spec.attachType !== undefined && target.cgroup !== undefined) {
        const a = attachCgroup(program, target.cgroup, spec.attachType);
        if (a instanceof Link) return a;
        a.close();
        throw new NotSupportedError(`program ${program.name}: this kernel has no cgroup links; use attachCgroup for BPF_PROG_ATTACH`);
      }
  }
  throw new LoaderError('ATTACH_TARGET', `program ${program.name}: no automatic attach for SEC("${spec.sectionName}")`);
}

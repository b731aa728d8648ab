/**
 * Classic tc through netlink, for kernels before tcx (6.6): the clsact
 * qdisc on an interface, and a cls_bpf filter in direct-action mode on its
 * ingress or egress at a priority and handle, replaced or deleted.
 */
import { ProgramType } from '@tsbpf/object';
import { checkInteger, checkU32, describeValue } from './args.js';
import { LoaderError } from './errors.js';
import type { Program } from './program.js';
import { SyscallError } from './sys/errors.js';
import { NetlinkSocket } from './sys/netlink.js';
import { NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE, stringAttr, tcmsg, u32Attr, type NlAttr } from './sys/netlink-codec.js';

const RTM_NEWQDISC = 36;
const RTM_NEWTFILTER = 44;
const RTM_DELTFILTER = 45;
const TCA_KIND = 1;
const TCA_OPTIONS = 2;
const TCA_BPF_FD = 6;
const TCA_BPF_NAME = 7;
const TCA_BPF_FLAGS = 8;
const TCA_BPF_FLAG_ACT_DIRECT = 1;
/** TC_H_CLSACT, the clsact qdisc's parent and major; its ingress and egress minors. */
const TC_H_CLSACT = 0xfffffff1;
const TC_H_MIN_INGRESS = 0xfff2;
const TC_H_MIN_EGRESS = 0xfff3;
const ETH_P_ALL_BE16 = 0x0300; // htons(ETH_P_ALL)

export interface TcOptions {
  /** The filter's priority, 1–65535 (default 1): lower runs first. */
  priority?: number;
  /** The filter's handle, a nonzero u32 (default 1). */
  handle?: number;
  /** Replace a filter already at this priority and handle (default: refuse with EEXIST). */
  replace?: boolean;
}

function checkDirection(direction: unknown): asserts direction is 'ingress' | 'egress' {
  if (direction !== 'ingress' && direction !== 'egress')
    throw new LoaderError('INVALID_ARGUMENT', `direction must be ingress or egress, not ${describeValue(direction)}`);
}

function checkProgram(program: Program, context: string): void {
  if (program.type !== ProgramType.sched_cls && program.type !== ProgramType.sched_act)
    throw new LoaderError('INVALID_ARGUMENT', `program ${program.name} is not a sched_cls program (type ${program.type})`).addContext(context);
}

/** Creates the clsact qdisc on an interface if it has none (an existing one is kept). */
export function ensureClsact(nl: NetlinkSocket, ifindex: number, context: string): void {
  try {
    nl.request('RTM_NEWQDISC', RTM_NEWQDISC, NLM_F_CREATE | NLM_F_EXCL, tcmsg(ifindex, 0xffff0000, TC_H_CLSACT, 0), [stringAttr(TCA_KIND, 'clsact')], context);
  } catch (e) {
    if (!(e instanceof SyscallError && e.errnoName === 'EEXIST')) throw e;
  }
}

/** Creates (or replaces) the clsact qdisc in the calling thread's network namespace; idempotent. */
export function createClsact(ifindex: number): void {
  checkU32(ifindex, 'ifindex', 'create clsact qdisc');
  using nl = new NetlinkSocket('create clsact qdisc');
  ensureClsact(nl, ifindex, `create clsact qdisc on ifindex ${ifindex}`);
}

/**
 * A cls_bpf filter attached through netlink. It keeps the netlink socket of
 * the namespace it was made in, so close() deletes the filter there from
 * wherever it is called. The clsact qdisc stays (other filters may use it).
 */
export class TcFilter implements Disposable {
  private readonly header: Uint8Array;
  constructor(
    private readonly nl: NetlinkSocket,
    readonly ifindex: number,
    readonly direction: 'ingress' | 'egress',
    readonly priority: number,
    readonly handle: number,
  ) {
    const parent = (TC_H_CLSACT & 0xffff0000) | (direction === 'ingress' ? TC_H_MIN_INGRESS : TC_H_MIN_EGRESS);
    this.header = tcmsg(ifindex, handle, parent >>> 0, ((priority << 16) | ETH_P_ALL_BE16) >>> 0);
  }

  get description(): string {
    return `tc/${this.direction} ifindex ${this.ifindex} pref ${this.priority} handle 0x${this.handle.toString(16)}`;
  }

  /** Sends the filter with `program` (create, or replace what is at this priority and handle). */
  put(program: Program, replace: boolean, context: string): void {
    checkProgram(program, context);
    const options: NlAttr[] = [u32Attr(TCA_BPF_FD, program.fd), stringAttr(TCA_BPF_NAME, program.name), u32Attr(TCA_BPF_FLAGS, TCA_BPF_FLAG_ACT_DIRECT)];
    const attrs: NlAttr[] = [stringAttr(TCA_KIND, 'bpf'), { type: TCA_OPTIONS, value: options }];
    const flags = NLM_F_CREATE | (replace ? NLM_F_REPLACE : NLM_F_EXCL);
    this.nl.request('RTM_NEWTFILTER', RTM_NEWTFILTER, flags, this.header, attrs, context);
  }

  /** The filter runs `program` from now on (the kernel swaps it in place: no packet sees no filter). */
  update(program: Program): void {
    if (this.nl.isClosed) throw new LoaderError('CLOSED', 'closed').addContext(this.description);
    this.put(program, true, `${this.description}: update to program ${program.name}`);
  }

  /** Deletes the filter (once; a filter already gone, with its interface or namespace, is no error). */
  close(): void {
    if (this.nl.isClosed) return;
    try {
      this.nl.request('RTM_DELTFILTER', RTM_DELTFILTER, 0, this.header, [stringAttr(TCA_KIND, 'bpf')], `${this.description}: delete`);
    } catch (e) {
      // ENOENT: no such filter; EINVAL: no clsact qdisc any more ("Parent Qdisc doesn't exists"); ENODEV: no interface.
      if (!(e instanceof SyscallError && ['ENOENT', 'EINVAL', 'ENODEV'].includes(e.errnoName))) throw e;
    } finally {
      this.nl.close();
    }
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/**
 * A sched_cls program on an interface's ingress or egress the classic way
 * (any kernel with clsact, 4.5+): the clsact qdisc is created if missing,
 * then a direct-action cls_bpf filter at `priority` and `handle`. Works in
 * the calling thread's network namespace; closing deletes the filter.
 */
export function attachTc(program: Program, ifindex: number, direction: 'ingress' | 'egress', options: TcOptions = {}): TcFilter {
  const context = `program ${program.name}: attach tc/${String(direction)} to ifindex ${String(ifindex)}`;
  checkU32(ifindex, 'ifindex', context);
  checkDirection(direction);
  const priority = checkInteger(options.priority ?? 1, 'priority', 1, 0xffff, context);
  const handle = checkInteger(options.handle ?? 1, 'handle', 1, 0xffffffff, context);
  checkProgram(program, context);
  void program.fd; // CLOSED before any socket is opened
  const nl = new NetlinkSocket(context);
  try {
    ensureClsact(nl, ifindex, context);
    const filter = new TcFilter(nl, ifindex, direction, priority, handle);
    filter.put(program, options.replace === true, context);
    return filter;
  } catch (e) {
    nl.close();
    throw e;
  }
}

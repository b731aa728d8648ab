/**
 * tcx, the multi-program tc hook of Linux 6.6+: a program attached at a
 * place in an interface's list (before or after another, first, last, only
 * at an expected revision of the list), and the list read back in run order.
 */
import { AttachType } from '@tsbpf/object';
import { checkU32, describeValue } from './args.js';
import { LoaderError } from './errors.js';
import { Link } from './link.js';
import type { Program } from './program.js';
import * as sys from './sys/bpf.js';
import { SyscallError } from './sys/errors.js';

/**
 * Where a program goes in a multi-program hook's list (tcx; cgroup hooks from
 * Linux 6.16, see attachCgroupOrdered): before or after a program or link
 * already there, first, or last (the default), and, optionally, only if the
 * list is still at `expectedRevision` (see queryTcx, queryCgroup), else ESTALE.
 */
export interface MultiProgOrder {
  before?: Program | Link;
  after?: Program | Link;
  first?: boolean;
  last?: boolean;
  expectedRevision?: number;
}

// The uapi's mprog flags (#defines, so not in kernel BTF).
const BPF_F_BEFORE = 1 << 3;
const BPF_F_AFTER = 1 << 4;
/** The relative fd is a link's, not a program's (enum bpf_link_flags in BTF). */
const BPF_F_LINK = 1 << 13;

/** The link_create flags and relative fd of an order. */
export function multiProgPlacement(order: MultiProgOrder): { flags: number; relative: number } {
  const given = [order.before, order.after, order.first || undefined, order.last || undefined].filter((x) => x !== undefined);
  if (given.length > 1) throw new LoaderError('INVALID_ARGUMENT', 'give at most one of before, after, first and last');
  const anchor = order.before ?? order.after;
  const flags = order.before || order.first ? BPF_F_BEFORE : order.after || order.last ? BPF_F_AFTER : 0;
  return { flags: flags | (anchor instanceof Link ? BPF_F_LINK : 0), relative: anchor?.fd ?? 0 };
}

function checkDirection(direction: unknown): void {
  if (direction !== 'ingress' && direction !== 'egress')
    throw new LoaderError('INVALID_ARGUMENT', `direction must be ingress or egress, not ${describeValue(direction)}`);
}

/** A tc program on an interface's ingress or egress through tcx (Linux 6.6+), last in its list unless `order` says where. */
export function attachTcx(program: Program, ifindex: number, direction: 'ingress' | 'egress', order: MultiProgOrder = {}): Link {
  checkU32(ifindex, 'ifindex', `program ${program.name}: attach tcx`);
  checkDirection(direction);
  if (order.expectedRevision !== undefined) checkU32(order.expectedRevision, 'expectedRevision', `program ${program.name}: attach tcx`);
  const attachType = direction === 'ingress' ? AttachType.tcx_ingress : AttachType.tcx_egress;
  const context = `program ${program.name}: attach tcx/${direction} to ifindex ${ifindex}`;
  const { flags, relative } = multiProgPlacement(order);
  try {
    const tcx = { relative, expectedRevision: order.expectedRevision ?? 0 };
    return new Link(sys.linkCreate({ progFd: program.fd, target: ifindex, attachType, flags, tcx }, context), `tcx/${direction} ifindex ${ifindex}`);
  } catch (e) {
    if (e instanceof SyscallError && e.errnoName === 'EINVAL') {
      throw new SyscallError(e.syscall, e.errno, context, `${e.hint ?? e.errnoName}; tcx needs Linux 6.6 or later`, { cause: e });
    }
    throw e;
  }
}

/** What an interface's tcx hook runs, in order. */
export interface TcxList {
  /** Program ids in run order, and the link holding each (0: none). */
  programs: { progId: number; linkId: number }[];
  /** The list's revision: it grows with every change; give it as `expectedRevision` to change the list only if it is still this one. */
  revision: number;
}

/** BPF_PROG_QUERY on an interface's tcx ingress or egress (in the calling thread's network namespace). */
export function queryTcx(ifindex: number, direction: 'ingress' | 'egress'): TcxList {
  checkU32(ifindex, 'ifindex', 'query tcx');
  checkDirection(direction);
  const attachType = direction === 'ingress' ? AttachType.tcx_ingress : AttachType.tcx_egress;
  const r = sys.progQuery(ifindex, attachType, 0, `query tcx/${direction} of ifindex ${ifindex}`);
  return { programs: r.progIds.map((progId, i) => ({ progId, linkId: r.linkIds[i] ?? 0 })), revision: r.revision };
}

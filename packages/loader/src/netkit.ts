/**
 * netkit (Linux 6.7+, CONFIG_NETKIT): a program attached to a netkit
 * device pair's primary or peer list through a BPF link, placed like tcx
 * (before/after/first/last, expected revision), and the list read back;
 * a kernel without netkit gets a NotSupportedError saying so.
 */
import { AttachType } from '@tsbpf/object';
import { checkU32, describeValue } from './args.js';
import { LoaderError, NotSupportedError } from './errors.js';
import { Link } from './link.js';
import { attachTypeSupported } from './probes.js';
import type { Program } from './program.js';
import * as sys from './sys/bpf.js';
import { SyscallError } from './sys/errors.js';
import { multiProgPlacement, type MultiProgOrder, type TcxList } from './tcx.js';

/** Which side of a netkit pair runs the program: the primary device's list or its peer's (both named by the primary's ifindex). */
export type NetkitAttachType = 'primary' | 'peer';

/** Where the program goes (see MultiProgOrder) and on which side of the pair. */
export interface NetkitOptions extends MultiProgOrder {
  /** The primary device's list (the default) or the peer's. */
  attachType?: NetkitAttachType;
}

/** What an ifindex's netkit list runs, in order (the same shape as tcx's). */
export type NetkitList = TcxList;

const NO_NETKIT = 'this kernel has no netkit (built without CONFIG_NETKIT, or older than Linux 6.7): BPF_LINK_CREATE refuses netkit attach types';

function attachTypeOf(side: unknown, context: string): number {
  if (side === 'primary') return AttachType.netkit_primary;
  if (side === 'peer') return AttachType.netkit_peer;
  throw new LoaderError('INVALID_ARGUMENT', `${context}: attachType must be primary or peer, not ${describeValue(side)}`);
}

/** An EINVAL from a kernel that does not know netkit becomes NOT_SUPPORTED; one from a kernel that does keeps its errno, with a hint. */
function explain(e: unknown, attachType: number, context: string, hint: string): unknown {
  if (!(e instanceof SyscallError) || e.errnoName !== 'EINVAL') return e;
  if (!attachTypeSupported(attachType)) return new NotSupportedError(`${context}: ${NO_NETKIT}`, { cause: e });
  return new SyscallError(e.syscall, e.errno, context, `${e.hint ?? e.errnoName}; ${hint}`, { cause: e });
}

/**
 * A sched_cls program on a netkit pair (`ifindex` is the primary device's,
 * in the calling thread's network namespace; see withNetns), last in the
 * list unless `options` says where. `Link.update` swaps its program.
 */
export function attachNetkit(program: Program, ifindex: number, options: NetkitOptions = {}): Link {
  const side = options.attachType ?? 'primary';
  const what = `program ${program.name}: attach netkit/${String(side)}`;
  checkU32(ifindex, 'ifindex', what);
  const attachType = attachTypeOf(side, what);
  if (options.expectedRevision !== undefined) checkU32(options.expectedRevision, 'expectedRevision', what);
  const context = `${what} to ifindex ${ifindex}`;
  const { flags, relative } = multiProgPlacement(options);
  try {
    const netkit = { relative, expectedRevision: options.expectedRevision ?? 0 };
    return new Link(sys.linkCreate({ progFd: program.fd, target: ifindex, attachType, flags, netkit }, context), `netkit/${side} ifindex ${ifindex}`);
  } catch (e) {
    throw explain(e, attachType, context, 'the ifindex must be a netkit primary device, the program sched_cls');
  }
}

/** BPF_PROG_QUERY on a netkit pair's primary or peer list (by the primary's ifindex, in the calling thread's network namespace). */
export function queryNetkit(ifindex: number, attachType: NetkitAttachType = 'primary'): NetkitList {
  checkU32(ifindex, 'ifindex', 'query netkit');
  const type = attachTypeOf(attachType, 'query netkit');
  const context = `query netkit/${attachType} of ifindex ${ifindex}`;
  try {
    const r = sys.progQuery(ifindex, type, 0, context);
    return { programs: r.progIds.map((progId, i) => ({ progId, linkId: r.linkIds[i] ?? 0 })), revision: r.revision };
  } catch (e) {
    throw explain(e, type, context, 'the ifindex must be a netkit device');
  }
}

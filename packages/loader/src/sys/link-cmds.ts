/**
 * The bpf() commands that attach programs through BPF links: create one
 * (every link type's part of the attr), detach one, and open a raw
 * tracepoint (a link of its own kind).
 */
import { begin, call, ownFd, put, withCString } from './attr.js';
import { linkCreateAttr as C, linkDetachAttr as D, rawTracepointOpenAttr as R } from './layouts.generated.js';

export interface LinkCreateAttr {
  progFd: number;
  /** An fd (cgroup, perf event) or an ifindex (XDP, tcx). */
  target: number;
  attachType: number;
  flags?: number;
  /** Tracing links: the BTF id (0 when the program already names it). */
  targetBtfId?: number;
  /** Netfilter links: protocol family, hook, priority, flags. */
  netfilter?: { pf: number; hooknum: number; priority: number; flags?: number };
}

/** BPF_LINK_CREATE: the link's fd. */
export function linkCreate(l: LinkCreateAttr, context?: string): number {
  begin('LINK_CREATE');
  put(C.prog_fd, l.progFd);
  put(C.target_fd, l.target);
  put(C.attach_type, l.attachType);
  put(C.flags, l.flags ?? 0);
  if (l.targetBtfId) put(C.target_btf_id, l.targetBtfId);
  if (l.netfilter) {
    put(C['netfilter.pf'], l.netfilter.pf);
    put(C['netfilter.hooknum'], l.netfilter.hooknum);
    put(C['netfilter.priority'], l.netfilter.priority);
    put(C['netfilter.flags'], l.netfilter.flags ?? 0);
  }
  return ownFd(call('LINK_CREATE', context));
}

/** BPF_LINK_DETACH: the program is detached; the link fd stays open (defunct). */
export function linkDetach(linkFd: number, context?: string): void {
  begin('LINK_DETACH');
  put(D.link_fd, linkFd);
  call('LINK_DETACH', context);
}

/** BPF_RAW_TRACEPOINT_OPEN: the link's fd (no name: the program's own attach target). */
export function rawTracepointOpen(progFd: number, name: string | undefined, context?: string): number {
  const open = (address: bigint) => {
    begin('RAW_TRACEPOINT_OPEN');
    put(R.name, address);
    put(R.prog_fd, progFd);
    return ownFd(call('RAW_TRACEPOINT_OPEN', context));
  };
  return name ? withCString(name, open) : open(0n);
}

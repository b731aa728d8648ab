/**
 * The bpf() commands that attach programs through BPF links: create one
 * (every link type's part of the attr), swap its program, detach one, and
 * open a raw tracepoint (a link of its own kind), and open an iterator
 * link's output (BPF_ITER_CREATE).
 */
import { begin, call, ownFd, put, putMemory, withCString } from './attr.js';
import type { NativeMemory } from './ffi.js';
import { iterCreateAttr as I, linkCreateAttr as C, linkDetachAttr as D, linkUpdateAttr as U, rawTracepointOpenAttr as R } from './layouts.generated.js';

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
  /** tcx links: where in the interface's list (the anchor's fd or id, by `flags`), and the list revision expected. */
  tcx?: { relative?: number; expectedRevision?: number };
  /** cgroup links (Linux 6.16+ orders them): the same, for a cgroup's list. */
  cgroup?: { relative?: number; expectedRevision?: number };
  /** netkit links: the same, for a netkit device's primary or peer list. */
  netkit?: { relative?: number; expectedRevision?: number };
  /** Perf-event links (tracepoints, kprobes, uprobes, perf_event programs): the value bpf_get_attach_cookie() returns. */
  perfEvent?: { bpfCookie: bigint };
  /** Tracing links (fentry, fexit, tp_btf, lsm): the value bpf_get_attach_cookie() returns. */
  tracing?: { cookie: bigint };
  /** Iterator links: a union bpf_iter_link_info (the map fd of a map iterator, a task iterator's tid or pid). */
  iterInfo?: NativeMemory;
  /** kprobe.multi and kprobe.session links: flags (BPF_F_KPROBE_MULTI_RETURN), and arrays of `count` symbol pointers or addresses, and cookies. */
  kprobeMulti?: { flags: number; count: number; syms?: bigint; addrs?: bigint; cookies?: bigint };
  /** uprobe.multi links: the binary's path and arrays of `cnt` u64 offsets, ref_ctr_offsets, cookies (addresses; 0 for none). */
  uprobeMulti?: { path: bigint; offsets: bigint; refCtrOffsets: bigint; cookies: bigint; cnt: number; flags: number; pid: number };
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
  if (l.tcx) {
    put(C['tcx.relative_fd'], l.tcx.relative ?? 0);
    put(C['tcx.expected_revision'], l.tcx.expectedRevision ?? 0);
  }
  if (l.cgroup) {
    put(C['cgroup.relative_fd'], l.cgroup.relative ?? 0);
    put(C['cgroup.expected_revision'], l.cgroup.expectedRevision ?? 0);
  }
  if (l.netkit) {
    put(C['netkit.relative_fd'], l.netkit.relative ?? 0);
    put(C['netkit.expected_revision'], l.netkit.expectedRevision ?? 0);
  }
  if (l.perfEvent) put(C['perf_event.bpf_cookie'], l.perfEvent.bpfCookie);
  if (l.tracing) put(C['tracing.cookie'], l.tracing.cookie);
  putMemory(C.iter_info_len, C.iter_info, l.iterInfo);
  if (l.kprobeMulti) {
    put(C['kprobe_multi.flags'], l.kprobeMulti.flags);
    put(C['kprobe_multi.cnt'], l.kprobeMulti.count);
    put(C['kprobe_multi.syms'], l.kprobeMulti.syms ?? 0n);
    put(C['kprobe_multi.addrs'], l.kprobeMulti.addrs ?? 0n);
    put(C['kprobe_multi.cookies'], l.kprobeMulti.cookies ?? 0n);
  }
  if (l.uprobeMulti) {
    const u = l.uprobeMulti;
    put(C['uprobe_multi.path'], u.path);
    put(C['uprobe_multi.offsets'], u.offsets);
    put(C['uprobe_multi.ref_ctr_offsets'], u.refCtrOffsets);
    put(C['uprobe_multi.cookies'], u.cookies);
    put(C['uprobe_multi.cnt'], u.cnt);
    put(C['uprobe_multi.flags'], u.flags);
    put(C['uprobe_multi.pid'], u.pid);
  }
  return ownFd(call('LINK_CREATE', context));
}

/** BPF_ITER_CREATE: a new fd whose reads run the iterator link's program over its objects. */
export function iterCreate(linkFd: number, context?: string): number {
  begin('ITER_CREATE');
  put(I.link_fd, linkFd);
  return ownFd(call('ITER_CREATE', context));
}

/** BPF_F_REPLACE: BPF_LINK_UPDATE swaps only if `old_prog_fd` is the program attached now. */
export const BPF_F_REPLACE = 1 << 2;

/** BPF_LINK_UPDATE: the link runs `newProgFd` from now on (only if `oldProgFd` is what it runs, when given). */
export function linkUpdate(linkFd: number, newProgFd: number, oldProgFd: number | undefined, context?: string): void {
  begin('LINK_UPDATE');
  put(U.link_fd, linkFd);
  put(U.new_prog_fd, newProgFd);
  if (oldProgFd !== undefined) {
    put(U.flags, BPF_F_REPLACE);
    put(U.old_prog_fd, oldProgFd);
  }
  call('LINK_UPDATE', context);
}

/** BPF_LINK_DETACH: the program is detached; the link fd stays open (defunct). */
export function linkDetach(linkFd: number, context?: string): void {
  begin('LINK_DETACH');
  put(D.link_fd, linkFd);
  call('LINK_DETACH', context);
}

/** BPF_RAW_TRACEPOINT_OPEN: the link's fd (no name: the program's own attach target; a cookie: Linux 6.10+). */
export function rawTracepointOpen(progFd: number, name: string | undefined, context?: string, cookie?: bigint): number {
  const open = (address: bigint) => {
    begin('RAW_TRACEPOINT_OPEN');
    put(R.name, address);
    put(R.prog_fd, progFd);
    if (cookie !== undefined) put(R.cookie, cookie);
    return ownFd(call('RAW_TRACEPOINT_OPEN', context));
  };
  return name ? withCString(name, open) : open(0n);
}

import { AttachType, ProgramType, type AttachTypeName, type ProgramTypeName } from './uapi.js';

/**
 * Program section names, following libbpf's `SEC()` conventions: the section
 * name alone says what kind of program a function is. A pattern is either
 *  - exact:          `"syscall"` matches only `syscall`;
 *  - `type+`:        matches `type` or `type/anything`;
 *  - `type/`:        matches only `type/anything` (the part after `/` is required).
 * The first matching definition wins, so more specific entries come first.
 */
interface SectionDefRow {
  readonly pattern: string;
  readonly type: ProgramTypeName;
  readonly attachType?: AttachTypeName;
  /** Loaded with BPF_F_SLEEPABLE. */
  readonly sleepable?: boolean;
  /** Loaded with BPF_F_XDP_HAS_FRAGS. */
  readonly xdpFrags?: boolean;
  /** The part after the prefix names a kernel BTF type/function to attach to (tp_btf, fentry, lsm, ...). */
  readonly btfTarget?: boolean;
}

const ROWS: readonly SectionDefRow[] = [
  { pattern: 'socket+', type: 'socket_filter' },
  { pattern: 'sk_reuseport/migrate', type: 'sk_reuseport', attachType: 'sk_reuseport_select_or_migrate' },
  { pattern: 'sk_reuseport', type: 'sk_reuseport', attachType: 'sk_reuseport_select' },
  { pattern: 'kprobe+', type: 'kprobe' },
  { pattern: 'uprobe+', type: 'kprobe' },
  { pattern: 'uprobe.s+', type: 'kprobe', sleepable: true },
  { pattern: 'kretprobe+', type: 'kprobe' },
  { pattern: 'uretprobe+', type: 'kprobe' },
  { pattern: 'uretprobe.s+', type: 'kprobe', sleepable: true },
  { pattern: 'kprobe.multi+', type: 'kprobe', attachType: 'trace_kprobe_multi' },
  { pattern: 'kretprobe.multi+', type: 'kprobe', attachType: 'trace_kprobe_multi' },
  { pattern: 'kprobe.session+', type: 'kprobe', attachType: 'trace_kprobe_session' },
  { pattern: 'uprobe.multi+', type: 'kprobe', attachType: 'trace_uprobe_multi' },
  { pattern: 'uretprobe.multi+', type: 'kprobe', attachType: 'trace_uprobe_multi' },
  { pattern: 'uprobe.multi.s+', type: 'kprobe', attachType: 'trace_uprobe_multi', sleepable: true },
  { pattern: 'uretprobe.multi.s+', type: 'kprobe', attachType: 'trace_uprobe_multi', sleepable: true },
  { pattern: 'uprobe.session+', type: 'kprobe', attachType: 'trace_uprobe_session' },
  { pattern: 'ksyscall+', type: 'kprobe' },
  { pattern: 'kretsyscall+', type: 'kprobe' },
  { pattern: 'usdt+', type: 'kprobe' },
  { pattern: 'usdt.s+', type: 'kprobe', sleepable: true },
  { pattern: 'tc/ingress', type: 'sched_cls', attachType: 'tcx_ingress' },
  { pattern: 'tc/egress', type: 'sched_cls', attachType: 'tcx_egress' },
  { pattern: 'tcx/ingress', type: 'sched_cls', attachType: 'tcx_ingress' },
  { pattern: 'tcx/egress', type: 'sched_cls', attachType: 'tcx_egress' },
  { pattern: 'tc+', type: 'sched_cls' },
  { pattern: 'classifier+', type: 'sched_cls' },
  { pattern: 'action+', type: 'sched_act' },
  { pattern: 'netkit/primary', type: 'sched_cls', attachType: 'netkit_primary' },
  { pattern: 'netkit/peer', type: 'sched_cls', attachType: 'netkit_peer' },
  { pattern: 'tracepoint+', type: 'tracepoint' },
  { pattern: 'tp+', type: 'tracepoint' },
  { pattern: 'raw_tracepoint+', type: 'raw_tracepoint' },
  { pattern: 'raw_tp+', type: 'raw_tracepoint' },
  { pattern: 'raw_tracepoint.w+', type: 'raw_tracepoint_writable' },
  { pattern: 'raw_tp.w+', type: 'raw_tracepoint_writable' },
  { pattern: 'tp_btf+', type: 'tracing', attachType: 'trace_raw_tp', btfTarget: true },
  { pattern: 'fentry+', type: 'tracing', attachType: 'trace_fentry', btfTarget: true },
  { pattern: 'fmod_ret+', type: 'tracing', attachType: 'modify_return', btfTarget: true },
  { pattern: 'fexit+', type: 'tracing', attachType: 'trace_fexit', btfTarget: true },
  { pattern: 'fentry.s+', type: 'tracing', attachType: 'trace_fentry', btfTarget: true, sleepable: true },
  { pattern: 'fmod_ret.s+', type: 'tracing', attachType: 'modify_return', btfTarget: true, sleepable: true },
  { pattern: 'fexit.s+', type: 'tracing', attachType: 'trace_fexit', btfTarget: true, sleepable: true },
  { pattern: 'freplace+', type: 'ext', btfTarget: true },
  { pattern: 'lsm+', type: 'lsm', attachType: 'lsm_mac', btfTarget: true },
  { pattern: 'lsm.s+', type: 'lsm', attachType: 'lsm_mac', btfTarget: true, sleepable: true },
  { pattern: 'lsm_cgroup+', type: 'lsm', attachType: 'lsm_cgroup', btfTarget: true },
  { pattern: 'iter+', type: 'tracing', attachType: 'trace_iter', btfTarget: true },
  { pattern: 'iter.s+', type: 'tracing', attachType: 'trace_iter', btfTarget: true, sleepable: true },
  { pattern: 'syscall', type: 'syscall', sleepable: true },
  { pattern: 'xdp.frags/devmap', type: 'xdp', attachType: 'xdp_devmap', xdpFrags: true },
  { pattern: 'xdp/devmap', type: 'xdp', attachType: 'xdp_devmap' },
  { pattern: 'xdp.frags/cpumap', type: 'xdp', attachType: 'xdp_cpumap', xdpFrags: true },
  { pattern: 'xdp/cpumap', type: 'xdp', attachType: 'xdp_cpumap' },
  { pattern: 'xdp.frags', type: 'xdp', attachType: 'xdp', xdpFrags: true },
  { pattern: 'xdp+', type: 'xdp', attachType: 'xdp' },
  { pattern: 'perf_event', type: 'perf_event' },
  { pattern: 'lwt_in', type: 'lwt_in' },
  { pattern: 'lwt_out', type: 'lwt_out' },
  { pattern: 'lwt_xmit', type: 'lwt_xmit' },
  { pattern: 'lwt_seg6local', type: 'lwt_seg6local' },
  { pattern: 'sockops', type: 'sock_ops', attachType: 'cgroup_sock_ops' },
  { pattern: 'sk_skb/stream_parser', type: 'sk_skb', attachType: 'sk_skb_stream_parser' },
  { pattern: 'sk_skb/stream_verdict', type: 'sk_skb', attachType: 'sk_skb_stream_verdict' },
  { pattern: 'sk_skb/verdict', type: 'sk_skb', attachType: 'sk_skb_verdict' },
  { pattern: 'sk_skb', type: 'sk_skb' },
  { pattern: 'sk_msg', type: 'sk_msg', attachType: 'sk_msg_verdict' },
  { pattern: 'lirc_mode2', type: 'lirc_mode2', attachType: 'lirc_mode2' },
  { pattern: 'flow_dissector', type: 'flow_dissector', attachType: 'flow_dissector' },
  { pattern: 'cgroup_skb/ingress', type: 'cgroup_skb', attachType: 'cgroup_inet_ingress' },
  { pattern: 'cgroup_skb/egress', type: 'cgroup_skb', attachType: 'cgroup_inet_egress' },
  { pattern: 'cgroup/skb', type: 'cgroup_skb' },
  { pattern: 'cgroup/sock_create', type: 'cgroup_sock', attachType: 'cgroup_inet_sock_create' },
  { pattern: 'cgroup/sock_release', type: 'cgroup_sock', attachType: 'cgroup_inet_sock_release' },
  { pattern: 'cgroup/sock', type: 'cgroup_sock', attachType: 'cgroup_inet_sock_create' },
  { pattern: 'cgroup/post_bind4', type: 'cgroup_sock', attachType: 'cgroup_inet4_post_bind' },
  { pattern: 'cgroup/post_bind6', type: 'cgroup_sock', attachType: 'cgroup_inet6_post_bind' },
  { pattern: 'cgroup/bind4', type: 'cgroup_sock_addr', attachType: 'cgroup_inet4_bind' },
  { pattern: 'cgroup/bind6', type: 'cgroup_sock_addr', attachType: 'cgroup_inet6_bind' },
  { pattern: 'cgroup/connect4', type: 'cgroup_sock_addr', attachType: 'cgroup_inet4_connect' },
  { pattern: 'cgroup/connect6', type: 'cgroup_sock_addr', attachType: 'cgroup_inet6_connect' },
  { pattern: 'cgroup/connect_unix', type: 'cgroup_sock_addr', attachType: 'cgroup_unix_connect' },
  { pattern: 'cgroup/sendmsg4', type: 'cgroup_sock_addr', attachType: 'cgroup_udp4_sendmsg' },
  { pattern: 'cgroup/sendmsg6', type: 'cgroup_sock_addr', attachType: 'cgroup_udp6_sendmsg' },
  { pattern: 'cgroup/sendmsg_unix', type: 'cgroup_sock_addr', attachType: 'cgroup_unix_sendmsg' },
  { pattern: 'cgroup/recvmsg4', type: 'cgroup_sock_addr', attachType: 'cgroup_udp4_recvmsg' },
  { pattern: 'cgroup/recvmsg6', type: 'cgroup_sock_addr', attachType: 'cgroup_udp6_recvmsg' },
  { pattern: 'cgroup/recvmsg_unix', type: 'cgroup_sock_addr', attachType: 'cgroup_unix_recvmsg' },
  { pattern: 'cgroup/getpeername4', type: 'cgroup_sock_addr', attachType: 'cgroup_inet4_getpeername' },
  { pattern: 'cgroup/getpeername6', type: 'cgroup_sock_addr', attachType: 'cgroup_inet6_getpeername' },
  { pattern: 'cgroup/getpeername_unix', type: 'cgroup_sock_addr', attachType: 'cgroup_unix_getpeername' },
  { pattern: 'cgroup/getsockname4', type: 'cgroup_sock_addr', attachType: 'cgroup_inet4_getsockname' },
  { pattern: 'cgroup/getsockname6', type: 'cgroup_sock_addr', attachType: 'cgroup_inet6_getsockname' },
  { pattern: 'cgroup/getsockname_unix', type: 'cgroup_sock_addr', attachType: 'cgroup_unix_getsockname' },
  { pattern: 'cgroup/sysctl', type: 'cgroup_sysctl', attachType: 'cgroup_sysctl' },
  { pattern: 'cgroup/getsockopt', type: 'cgroup_sockopt', attachType: 'cgroup_getsockopt' },
  { pattern: 'cgroup/setsockopt', type: 'cgroup_sockopt', attachType: 'cgroup_setsockopt' },
  { pattern: 'cgroup/dev', type: 'cgroup_device', attachType: 'cgroup_device' },
  { pattern: 'struct_ops+', type: 'struct_ops' },
  { pattern: 'struct_ops.s+', type: 'struct_ops', sleepable: true },
  { pattern: 'sk_lookup', type: 'sk_lookup', attachType: 'sk_lookup' },
  { pattern: 'netfilter', type: 'netfilter', attachType: 'netfilter' },
];

export interface SectionDef {
  /** The matching pattern, e.g. `tp_btf+`. */
  readonly pattern: string;
  readonly type: number;
  readonly typeName: ProgramTypeName;
  /** The expected attach type passed at load, when the convention fixes one. */
  readonly attachType: number | undefined;
  readonly attachTypeName: AttachTypeName | undefined;
  readonly sleepable: boolean;
  readonly xdpFrags: boolean;
  /**
   * What follows the prefix: the tracepoint (`syscalls/sys_enter_execve`),
   * the BTF function for fentry/lsm/tp_btf, the kprobe target, ...
   * Empty when the section is just the prefix.
   */
  readonly attachTo: string;
  readonly needsBtfTarget: boolean;
}

/** Each row's pattern taken apart once, so matching a name builds no strings but the answer. */
const MATCHERS = ROWS.map((row) => {
  const p = row.pattern;
  if (p.endsWith('+')) return { row, prefix: p.slice(0, -1), bare: true, slash: true };
  if (p.endsWith('/')) return { row, prefix: p.slice(0, -1), bare: false, slash: true };
  return { row, prefix: p, bare: true, slash: false };
});
const SLASH = 0x2f;

/** What follows the prefix ('' for the bare prefix), or undefined if the name does not match. */
function matches(m: { prefix: string; bare: boolean; slash: boolean }, name: string): string | undefined {
  const { prefix } = m;
  if (!name.startsWith(prefix)) return undefined;
  if (name.length === prefix.length) return m.bare ? '' : undefined;
  return m.slash && name.charCodeAt(prefix.length) === SLASH ? name.slice(prefix.length + 1) : undefined;
}

/** The definition for a program section name, or undefined if it follows no known convention. */
export function sectionDef(sectionName: string): SectionDef | undefined {
  for (const m of MATCHERS) {
    const attachTo = matches(m, sectionName);
    if (attachTo === undefined) continue;
    const row = m.row;
    return {
      pattern: row.pattern,
      type: ProgramType[row.type],
      typeName: row.type,
      attachType: row.attachType === undefined ? undefined : AttachType[row.attachType],
      attachTypeName: row.attachType,
      sleepable: row.sleepable ?? false,
      xdpFrags: row.xdpFrags ?? false,
      attachTo,
      needsBtfTarget: row.btfTarget ?? false,
    };
  }
  return undefined;
}

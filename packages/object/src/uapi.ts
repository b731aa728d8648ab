/**
 * Kernel UAPI enums (include/uapi/linux/bpf.h, up to Linux 6.18) with the
 * lower-case names libbpf prints (`libbpf_bpf_prog_type_str` and friends):
 * the index in each names array is the enum value. Values only ever get
 * appended upstream, so a plain array is the whole mapping.
 */

const PROG_TYPE_NAMES = [
  'unspec',
  'socket_filter',
  'kprobe',
  'sched_cls',
  'sched_act',
  'tracepoint',
  'xdp',
  'perf_event',
  'cgroup_skb',
  'cgroup_sock',
  'lwt_in',
  'lwt_out',
  'lwt_xmit',
  'sock_ops',
  'sk_skb',
  'cgroup_device',
  'sk_msg',
  'raw_tracepoint',
  'cgroup_sock_addr',
  'lwt_seg6local',
  'lirc_mode2',
  'sk_reuseport',
  'flow_dissector',
  'cgroup_sysctl',
  'raw_tracepoint_writable',
  'cgroup_sockopt',
  'tracing',
  'struct_ops',
  'ext',
  'lsm',
  'sk_lookup',
  'syscall',
  'netfilter',
] as const;

const MAP_TYPE_NAMES = [
  'unspec',
  'hash',
  'array',
  'prog_array',
  'perf_event_array',
  'percpu_hash',
  'percpu_array',
  'stack_trace',
  'cgroup_array',
  'lru_hash',
  'lru_percpu_hash',
  'lpm_trie',
  'array_of_maps',
  'hash_of_maps',
  'devmap',
  'sockmap',
  'cpumap',
  'xskmap',
  'sockhash',
  'cgroup_storage',
  'reuseport_sockarray',
  'percpu_cgroup_storage',
  'queue',
  'stack',
  'sk_storage',
  'devmap_hash',
  'struct_ops',
  'ringbuf',
  'inode_storage',
  'task_storage',
  'bloom_filter',
  'user_ringbuf',
  'cgrp_storage',
  'arena',
] as const;

const ATTACH_TYPE_NAMES = [
  'cgroup_inet_ingress',
  'cgroup_inet_egress',
  'cgroup_inet_sock_create',
  'cgroup_sock_ops',
  'sk_skb_stream_parser',
  'sk_skb_stream_verdict',
  'cgroup_device',
  'sk_msg_verdict',
  'cgroup_inet4_bind',
  'cgroup_inet6_bind',
  'cgroup_inet4_connect',
  'cgroup_inet6_connect',
  'cgroup_inet4_post_bind',
  'cgroup_inet6_post_bind',
  'cgroup_udp4_sendmsg',
  'cgroup_udp6_sendmsg',
  'lirc_mode2',
  'flow_dissector',
  'cgroup_sysctl',
  'cgroup_udp4_recvmsg',
  'cgroup_udp6_recvmsg',
  'cgroup_getsockopt',
  'cgroup_setsockopt',
  'trace_raw_tp',
  'trace_fentry',
  'trace_fexit',
  'modify_return',
  'lsm_mac',
  'trace_iter',
  'cgroup_inet4_getpeername',
  'cgroup_inet6_getpeername',
  'cgroup_inet4_getsockname',
  'cgroup_inet6_getsockname',
  'xdp_devmap',
  'cgroup_inet_sock_release',
  'xdp_cpumap',
  'sk_lookup',
  'xdp',
  'sk_skb_verdict',
  'sk_reuseport_select',
  'sk_reuseport_select_or_migrate',
  'perf_event',
  'trace_kprobe_multi',
  'lsm_cgroup',
  'struct_ops',
  'netfilter',
  'tcx_ingress',
  'tcx_egress',
  'trace_uprobe_multi',
  'cgroup_unix_connect',
  'cgroup_unix_sendmsg',
  'cgroup_unix_recvmsg',
  'cgroup_unix_getpeername',
  'cgroup_unix_getsockname',
  'netkit_primary',
  'netkit_peer',
  'trace_kprobe_session',
  'trace_uprobe_session',
] as const;

export type ProgramTypeName = (typeof PROG_TYPE_NAMES)[number];
export type MapTypeName = (typeof MAP_TYPE_NAMES)[number];
export type AttachTypeName = (typeof ATTACH_TYPE_NAMES)[number];

function enumOf<const T extends readonly string[]>(names: T): { readonly [K in T[number]]: number } {
  return Object.freeze(Object.fromEntries(names.map((n, i) => [n, i]))) as { readonly [K in T[number]]: number };
}

/** `ProgramType.xdp === 6` (BPF_PROG_TYPE_XDP). */
export const ProgramType = enumOf(PROG_TYPE_NAMES);
/** `MapType.lpm_trie === 11` (BPF_MAP_TYPE_LPM_TRIE). */
export const MapType = enumOf(MAP_TYPE_NAMES);
/** `AttachType.tcx_ingress === 46` (BPF_TCX_INGRESS). */
export const AttachType = enumOf(ATTACH_TYPE_NAMES);

/**
 * Map types whose value is one slot per possible CPU, each rounded up to 8
 * bytes, in every lookup and update from user space.
 */
export const PER_CPU_MAP_TYPES: ReadonlySet<number> = new Set([
  MapType.percpu_hash,
  MapType.percpu_array,
  MapType.lru_percpu_hash,
  MapType.percpu_cgroup_storage,
]);

/** Map types indexed 0..max_entries-1, every slot always there: BPF_MAP_DELETE_ELEM is EINVAL (fd arrays, not here, do clear slots). */
export const ARRAY_MAP_TYPES: ReadonlySet<number> = new Set([MapType.array, MapType.percpu_array]);

/**
 * Map types whose elements are not plain key/value data to read and write
 * from user space: rings and perf events (read as streams), and the fds of
 * programs or maps (set with a Program or a BpfMap).
 */
export const NON_DATA_MAP_TYPES: ReadonlySet<number> = new Set([
  MapType.ringbuf,
  MapType.user_ringbuf,
  MapType.perf_event_array,
  MapType.prog_array,
  MapType.array_of_maps,
  MapType.hash_of_maps,
]);

/**
 * Map types the kernel refuses BTF key/value types for (its map_check_btf):
 * libbpf leaves the ids out for these too.
 */
export const NO_BTF_MAP_TYPES: ReadonlySet<number> = new Set([
  MapType.prog_array,
  MapType.perf_event_array,
  MapType.cgroup_array,
  MapType.stack_trace,
  MapType.array_of_maps,
  MapType.hash_of_maps,
  MapType.devmap,
  MapType.devmap_hash,
  MapType.cpumap,
  MapType.xskmap,
  MapType.sockmap,
  MapType.sockhash,
  MapType.queue,
  MapType.stack,
  MapType.ringbuf,
]);

/** libbpf's name for a program type, or `unknown(<n>)` for a value newer than this table. */
export function programTypeName(type: number): string {
  return PROG_TYPE_NAMES[type] ?? `unknown(${type})`;
}
export function mapTypeName(type: number): string {
  return MAP_TYPE_NAMES[type] ?? `unknown(${type})`;
}
export function attachTypeName(type: number): string {
  return ATTACH_TYPE_NAMES[type] ?? `unknown(${type})`;
}

/** Map creation flags (BPF_F_*) that the object parser sets or reads. */
export const MapFlags = {
  NO_PREALLOC: 1 << 0,
  NO_COMMON_LRU: 1 << 1,
  NUMA_NODE: 1 << 2,
  RDONLY: 1 << 3,
  WRONLY: 1 << 4,
  STACK_BUILD_ID: 1 << 5,
  ZERO_SEED: 1 << 6,
  RDONLY_PROG: 1 << 7,
  WRONLY_PROG: 1 << 8,
  CLONE: 1 << 9,
  MMAPABLE: 1 << 10,
  PRESERVE_ELEMS: 1 << 11,
  INNER_MAP: 1 << 12,
} as const;

/** `pinning` values of BTF-defined maps (libbpf's enum libbpf_pin_type). */
export const PinType = { none: 0, byName: 1 } as const;

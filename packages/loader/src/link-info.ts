/**
 * What the kernel says about a link behind an fd: bpf_link_info decoded,
 * with its target by link type (interface, cgroup, attach type,
 * tracepoint or function name read in the second info call).
 */
import { attachTypeName } from '@tsbpf/object';
import { cString } from './info.js';
import { InfoBlock, readInfoArrays, type InfoArray } from './sys/info-arrays.js';
import { layoutEnd } from './sys/fields.js';
import { linkInfo as L } from './sys/layouts.generated.js';

/** bpf_link_type names, as libbpf prints them (the index is the enum value). */
const LINK_TYPE_NAMES = [
  'unspec',
  'raw_tracepoint',
  'tracing',
  'cgroup',
  'iter',
  'netns',
  'xdp',
  'perf_event',
  'kprobe_multi',
  'struct_ops',
  'netfilter',
  'tcx',
  'uprobe_multi',
  'netkit',
  'sockmap',
] as const;

/** libbpf's name for a link type, or `unknown(<n>)`. */
export function linkTypeName(type: number): string {
  return LINK_TYPE_NAMES[type] ?? `unknown(${type})`;
}

/** bpf_perf_event_type names (a perf_event link's kind). */
const PERF_EVENT_TYPE_NAMES = ['unspec', 'uprobe', 'uretprobe', 'kprobe', 'kretprobe', 'tracepoint', 'event'] as const;

/** What a link attaches to: the fields its type has (others absent). */
export interface LinkTarget {
  attachType?: number;
  attachTypeName?: string;
  ifindex?: number;
  cgroupId?: bigint;
  netnsIno?: number;
  /** raw_tracepoint, perf_event tracepoint: the tracepoint's name. */
  tracepoint?: string;
  /** tracing: the BTF object and type of the function attached to. */
  targetObjId?: number;
  targetBtfId?: number;
  /** iter: the iterator's target (`bpf_map_elem`), and its map. */
  iterTarget?: string;
  mapId?: number;
  /** netfilter. */
  netfilter?: { pf: number; hooknum: number; priority: number; flags: number };
  /** perf_event: uprobe, uretprobe, kprobe, kretprobe, tracepoint, event. */
  perfEventType?: string;
  /** kprobe: the function; uprobe: the file. */
  func?: string;
  file?: string;
  offset?: number;
  address?: bigint;
  missed?: bigint;
  /** kprobe_multi, uprobe_multi: how many probes. */
  count?: number;
  pid?: number;
}

export interface LinkInfo extends LinkTarget {
  id: number;
  type: number;
  typeName: string;
  progId: number;
}

const linkSize = layoutEnd(L);

const LINK = {
  raw_tracepoint: 1,
  tracing: 2,
  cgroup: 3,
  iter: 4,
  netns: 5,
  xdp: 6,
  perf_event: 7,
  kprobe_multi: 8,
  struct_ops: 9,
  netfilter: 10,
  tcx: 11,
  uprobe_multi: 12,
  netkit: 13,
  sockmap: 14,
};
const PERF = { uprobe: 1, uretprobe: 2, kprobe: 3, kretprobe: 4, tracepoint: 5, event: 6 };

/** The names a link's info points to, by its type (the second call fills them). */
function linkArrays(first: InfoBlock): Partial<Record<string, InfoArray>> {
  switch (first.number(L.type)) {
    case LINK.raw_tracepoint:
      return { name: { count: L['raw_tracepoint.tp_name_len'], pointer: L['raw_tracepoint.tp_name'], element: 1 } };
    case LINK.iter:
      return { name: { count: L['iter.target_name_len'], pointer: L['iter.target_name'], element: 1 } };
    case LINK.uprobe_multi:
      return { name: { count: L['uprobe_multi.path_size'], pointer: L['uprobe_multi.path'], element: 1 } };
    case LINK.perf_event:
      switch (first.number(L['perf_event.type'])) {
        case PERF.uprobe:
        case PERF.uretprobe:
          return { name: { count: L['perf_event.uprobe.name_len'], pointer: L['perf_event.uprobe.file_name'], element: 1 } };
        case PERF.kprobe:
        case PERF.kretprobe:
          return { name: { count: L['perf_event.kprobe.name_len'], pointer: L['perf_event.kprobe.func_name'], element: 1 } };
        case PERF.tracepoint:
          return { name: { count: L['perf_event.tracepoint.name_len'], pointer: L['perf_event.tracepoint.tp_name'], element: 1 } };
      }
  }
  return {};
}

/** The info of the link behind `fd`, with its target. */
export function linkInfoByFd(fd: number, context?: string): LinkInfo {
  const { info, arrays } = readInfoArrays(fd, linkSize, linkArrays, context);
  const type = info.number(L.type);
  const name = arrays.name ? cString(arrays.name) : undefined;
  const withAttach = (f: (typeof L)[keyof typeof L]) => {
    const t = info.number(f);
    return { attachType: t, attachTypeName: attachTypeName(t) };
  };
  let target: LinkTarget = {};
  switch (type) {
    case LINK.raw_tracepoint:
      target = { tracepoint: name ?? '' };
      break;
    case LINK.tracing:
      target = {
        ...withAttach(L['tracing.attach_type']),
        targetObjId: info.number(L['tracing.target_obj_id']),
        targetBtfId: info.number(L['tracing.target_btf_id']),
      };
      break;
    case LINK.cgroup:
      target = { ...withAttach(L['cgroup.attach_type']), cgroupId: info.bigint(L['cgroup.cgroup_id']) };
      break;
    case LINK.iter:
      target = { iterTarget: name ?? '', ...(info.number(L['iter.map.map_id']) ? { mapId: info.number(L['iter.map.map_id']) } : {}) };
      break;
    case LINK.netns:
      target = { ...withAttach(L['netns.attach_type']), netnsIno: info.number(L['netns.netns_ino']) };
      break;
    case LINK.xdp:
      target = { ifindex: info.number(L['xdp.ifindex']) };
      break;
    case LINK.struct_ops:
      target = { mapId: info.number(L['struct_ops.map_id']) };
      break;
    case LINK.netfilter:
      target = {
        netfilter: {
          pf: info.number(L['netfilter.pf']),
          hooknum: info.number(L['netfilter.hooknum']),
          priority: info.int(L['netfilter.priority']),
          flags: info.number(L['netfilter.flags']),
        },
      };
      break;
    case LINK.kprobe_multi:
      target = { count: info.number(L['kprobe_multi.count']), missed: info.bigint(L['kprobe_multi.missed']) };
      break;
    case LINK.uprobe_multi:
      target = { file: name ?? '', count: info.number(L['uprobe_multi.count']), pid: info.number(L['uprobe_multi.pid']) };
      break;
    case LINK.perf_event: {
      const kind = info.number(L['perf_event.type']);
      const perfEventType = PERF_EVENT_TYPE_NAMES[kind] ?? `unknown(${kind})`;
      if (kind === PERF.uprobe || kind === PERF.uretprobe) target = { perfEventType, file: name ?? '', offset: info.number(L['perf_event.uprobe.offset']) };
      else if (kind === PERF.kprobe || kind === PERF.kretprobe) {
        target = {
          perfEventType,
          func: name ?? '',
          offset: info.number(L['perf_event.kprobe.offset']),
          address: info.bigint(L['perf_event.kprobe.addr']),
          missed: info.bigint(L['perf_event.kprobe.missed']),
        };
      } else if (kind === PERF.tracepoint) target = { perfEventType, tracepoint: name ?? '' };
      else target = { perfEventType };
      break;
    }
    case LINK.tcx:
      target = { ...withAttach(L['tcx.attach_type']), ifindex: info.number(L['tcx.ifindex']) };
      break;
    case LINK.netkit:
      target = { ...withAttach(L['netkit.attach_type']), ifindex: info.number(L['netkit.ifindex']) };
      break;
    case LINK.sockmap:
      target = { ...withAttach(L['sockmap.attach_type']), mapId: info.number(L['sockmap.map_id']) };
      break;
  }
  return { id: info.number(L.id), type, typeName: linkTypeName(type), progId: info.number(L.prog_id), ...target };
}

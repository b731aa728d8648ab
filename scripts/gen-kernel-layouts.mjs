#!/usr/bin/env node
// Generates packages/loader/src/sys/layouts.generated.ts from kernel BTF: where
// `union bpf_attr` (one anonymous or named struct per bpf() command), the
// bpf_*_info structs, perf_event_attr and the few other kernel structs the
// loader fills in or reads put the fields it uses, the bpf_cmd numbers, and
// each command's attr size (offsetofend of the last field libbpf sets). The
// loader writes no offset by hand: this table is the only source.
//
// Usage: node scripts/gen-kernel-layouts.mjs [path/to/vmlinux-btf] [out.ts]
// (defaults: /sys/kernel/btf/vmlinux and the checked-in file; needs
// `npm run build` for @tsbpf/object). packages/loader/src/sys/layouts.test.ts
// runs renderKernelLayouts against the running kernel and compares.
import { readFileSync, writeFileSync } from 'node:fs';
import { machine, release } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Btf } from '@tsbpf/object';

/**
 * The layouts: which C type, where in it (`member`: a named member of the
 * union; `holding`: the anonymous member through which that field is
 * reached), and the fields the loader uses, as C member paths relative to
 * that member (`netfilter.pf`; anonymous members are looked through, as in
 * C). Offsets are from the start of the C type (the attr or info block).
 */
const LAYOUTS = [
  {
    name: 'mapCreateAttr',
    doc: 'union bpf_attr for BPF_MAP_CREATE',
    type: ['bpf_attr', 'union'],
    holding: 'map_type',
    fields: [
      'map_type',
      'key_size',
      'value_size',
      'max_entries',
      'map_flags',
      'inner_map_fd',
      'numa_node',
      'map_name',
      'btf_fd',
      'btf_key_type_id',
      'btf_value_type_id',
      'btf_vmlinux_value_type_id',
      'map_extra',
      'map_token_fd',
    ],
  },
  {
    name: 'mapElemAttr',
    doc: 'union bpf_attr for the element commands (BPF_MAP_*_ELEM, BPF_MAP_GET_NEXT_KEY) and BPF_MAP_FREEZE',
    type: ['bpf_attr', 'union'],
    holding: 'next_key',
    fields: ['map_fd', 'key', 'value', 'next_key', 'flags'],
  },
  {
    name: 'mapBatchAttr',
    doc: 'union bpf_attr for BPF_MAP_*_BATCH',
    type: ['bpf_attr', 'union'],
    member: 'batch',
    fields: ['in_batch', 'out_batch', 'keys', 'values', 'count', 'map_fd', 'elem_flags', 'flags'],
  },
  {
    name: 'progLoadAttr',
    doc: 'union bpf_attr for BPF_PROG_LOAD',
    type: ['bpf_attr', 'union'],
    holding: 'prog_type',
    fields: [
      'prog_type',
      'insn_cnt',
      'insns',
      'license',
      'log_level',
      'log_size',
      'log_buf',
      'kern_version',
      'prog_flags',
      'prog_name',
      'expected_attach_type',
      'prog_btf_fd',
      'func_info_rec_size',
      'func_info',
      'func_info_cnt',
      'line_info_rec_size',
      'line_info',
      'line_info_cnt',
      'attach_btf_id',
      'attach_btf_obj_fd',
      'fd_array',
      'prog_token_fd',
    ],
  },
  {
    name: 'objAttr',
    doc: 'union bpf_attr for BPF_OBJ_PIN and BPF_OBJ_GET',
    type: ['bpf_attr', 'union'],
    holding: 'pathname',
    fields: ['pathname', 'bpf_fd', 'file_flags'],
  },
  {
    name: 'progAttachAttr',
    doc: 'union bpf_attr for BPF_PROG_ATTACH and BPF_PROG_DETACH',
    type: ['bpf_attr', 'union'],
    holding: 'attach_bpf_fd',
    fields: ['target_fd', 'attach_bpf_fd', 'attach_type', 'attach_flags', 'replace_bpf_fd', 'relative_fd', 'expected_revision'],
  },
  {
    name: 'progTestRunAttr',
    doc: 'union bpf_attr for BPF_PROG_TEST_RUN',
    type: ['bpf_attr', 'union'],
    member: 'test',
    fields: [
      'prog_fd',
      'retval',
      'data_size_in',
      'data_size_out',
      'data_in',
      'data_out',
      'repeat',
      'duration',
      'ctx_size_in',
      'ctx_size_out',
      'ctx_in',
      'ctx_out',
      'flags',
      'cpu',
      'batch_size',
    ],
  },
  {
    name: 'objInfoAttr',
    doc: 'union bpf_attr for BPF_OBJ_GET_INFO_BY_FD',
    type: ['bpf_attr', 'union'],
    member: 'info',
    fields: ['bpf_fd', 'info_len', 'info'],
  },
  {
    name: 'rawTracepointOpenAttr',
    doc: 'union bpf_attr for BPF_RAW_TRACEPOINT_OPEN',
    type: ['bpf_attr', 'union'],
    member: 'raw_tracepoint',
    fields: ['name', 'prog_fd', 'cookie'],
  },
  {
    name: 'btfLoadAttr',
    doc: 'union bpf_attr for BPF_BTF_LOAD',
    type: ['bpf_attr', 'union'],
    holding: 'btf_log_buf',
    fields: ['btf', 'btf_log_buf', 'btf_size', 'btf_log_size', 'btf_log_level', 'btf_flags', 'btf_token_fd'],
  },
  {
    name: 'linkCreateAttr',
    doc: 'union bpf_attr for BPF_LINK_CREATE',
    type: ['bpf_attr', 'union'],
    member: 'link_create',
    fields: [
      'prog_fd',
      'target_fd',
      'attach_type',
      'flags',
      'target_btf_id',
      'netfilter.pf',
      'netfilter.hooknum',
      'netfilter.priority',
      'netfilter.flags',
      'tcx.relative_fd',
      'tcx.expected_revision',
      'cgroup.relative_fd',
      'cgroup.expected_revision',
      'netkit.relative_fd',
      'netkit.expected_revision',
      'perf_event.bpf_cookie',
      'tracing.cookie',
      'iter_info',
      'iter_info_len',
      'kprobe_multi.flags',
      'kprobe_multi.cnt',
      'kprobe_multi.syms',
      'kprobe_multi.addrs',
      'kprobe_multi.cookies',
      'uprobe_multi.path',
      'uprobe_multi.offsets',
      'uprobe_multi.ref_ctr_offsets',
      'uprobe_multi.cookies',
      'uprobe_multi.cnt',
      'uprobe_multi.flags',
      'uprobe_multi.pid',
    ],
  },
  {
    name: 'iterCreateAttr',
    doc: 'union bpf_attr for BPF_ITER_CREATE',
    type: ['bpf_attr', 'union'],
    member: 'iter_create',
    fields: ['link_fd', 'flags'],
  },
  {
    name: 'iterLinkInfo',
    doc: 'union bpf_iter_link_info (what BPF_LINK_CREATE of an iterator points iter_info at)',
    type: ['bpf_iter_link_info', 'union'],
    fields: ['map.map_fd', 'task.tid', 'task.pid', 'task.pid_fd'],
  },
  {
    name: 'linkUpdateAttr',
    doc: 'union bpf_attr for BPF_LINK_UPDATE',
    type: ['bpf_attr', 'union'],
    member: 'link_update',
    fields: ['link_fd', 'new_prog_fd', 'flags', 'old_prog_fd'],
  },
  {
    name: 'progQueryAttr',
    doc: 'union bpf_attr for BPF_PROG_QUERY',
    type: ['bpf_attr', 'union'],
    member: 'query',
    fields: [
      'target_fd',
      'attach_type',
      'query_flags',
      'attach_flags',
      'prog_ids',
      'prog_cnt',
      'prog_attach_flags',
      'link_ids',
      'link_attach_flags',
      'revision',
    ],
  },
  {
    name: 'progBindMapAttr',
    doc: 'union bpf_attr for BPF_PROG_BIND_MAP',
    type: ['bpf_attr', 'union'],
    member: 'prog_bind_map',
    fields: ['prog_fd', 'map_fd', 'flags'],
  },
  {
    name: 'linkDetachAttr',
    doc: 'union bpf_attr for BPF_LINK_DETACH',
    type: ['bpf_attr', 'union'],
    member: 'link_detach',
    fields: ['link_fd'],
  },
  {
    name: 'idAttr',
    doc: 'union bpf_attr for BPF_*_GET_NEXT_ID and BPF_*_GET_FD_BY_ID',
    type: ['bpf_attr', 'union'],
    holding: 'next_id',
    fields: ['start_id', 'prog_id', 'map_id', 'btf_id', 'link_id', 'next_id', 'open_flags', 'fd_by_id_token_fd'],
  },
  { name: 'enableStatsAttr', doc: 'union bpf_attr for BPF_ENABLE_STATS', type: ['bpf_attr', 'union'], member: 'enable_stats', fields: ['type'] },
  { name: 'tokenCreateAttr', doc: 'union bpf_attr for BPF_TOKEN_CREATE', type: ['bpf_attr', 'union'], member: 'token_create', fields: ['flags', 'bpffs_fd'] },
  {
    name: 'progInfo',
    doc: 'struct bpf_prog_info',
    type: ['bpf_prog_info', 'struct'],
    fields: [
      'type',
      'id',
      'tag',
      'jited_prog_len',
      'xlated_prog_len',
      'jited_prog_insns',
      'xlated_prog_insns',
      'load_time',
      'created_by_uid',
      'nr_map_ids',
      'map_ids',
      'name',
      'ifindex',
      'gpl_compatible',
      'netns_dev',
      'netns_ino',
      'nr_jited_ksyms',
      'nr_jited_func_lens',
      'jited_ksyms',
      'jited_func_lens',
      'btf_id',
      'func_info_rec_size',
      'func_info',
      'nr_func_info',
      'nr_line_info',
      'line_info',
      'jited_line_info',
      'nr_jited_line_info',
      'line_info_rec_size',
      'jited_line_info_rec_size',
      'nr_prog_tags',
      'prog_tags',
      'run_time_ns',
      'run_cnt',
      'recursion_misses',
      'verified_insns',
      'attach_btf_obj_id',
      'attach_btf_id',
    ],
  },
  {
    name: 'mapInfo',
    doc: 'struct bpf_map_info',
    type: ['bpf_map_info', 'struct'],
    fields: [
      'type',
      'id',
      'key_size',
      'value_size',
      'max_entries',
      'map_flags',
      'name',
      'ifindex',
      'btf_vmlinux_value_type_id',
      'netns_dev',
      'netns_ino',
      'btf_id',
      'btf_key_type_id',
      'btf_value_type_id',
      'btf_vmlinux_id',
      'map_extra',
    ],
  },
  {
    name: 'linkInfo',
    doc: 'struct bpf_link_info',
    type: ['bpf_link_info', 'struct'],
    fields: [
      'type',
      'id',
      'prog_id',
      'raw_tracepoint.tp_name',
      'raw_tracepoint.tp_name_len',
      'tracing.attach_type',
      'tracing.target_obj_id',
      'tracing.target_btf_id',
      'cgroup.cgroup_id',
      'cgroup.attach_type',
      'iter.target_name',
      'iter.target_name_len',
      'iter.map.map_id',
      'netns.netns_ino',
      'netns.attach_type',
      'xdp.ifindex',
      'struct_ops.map_id',
      'netfilter.pf',
      'netfilter.hooknum',
      'netfilter.priority',
      'netfilter.flags',
      'kprobe_multi.count',
      'kprobe_multi.flags',
      'kprobe_multi.missed',
      'uprobe_multi.path',
      'uprobe_multi.path_size',
      'uprobe_multi.count',
      'uprobe_multi.flags',
      'uprobe_multi.pid',
      'perf_event.type',
      'perf_event.uprobe.file_name',
      'perf_event.uprobe.name_len',
      'perf_event.uprobe.offset',
      'perf_event.kprobe.func_name',
      'perf_event.kprobe.name_len',
      'perf_event.kprobe.offset',
      'perf_event.kprobe.addr',
      'perf_event.kprobe.missed',
      'perf_event.tracepoint.tp_name',
      'perf_event.tracepoint.name_len',
      'perf_event.event.config',
      'perf_event.event.type',
      'tcx.ifindex',
      'tcx.attach_type',
      'netkit.ifindex',
      'netkit.attach_type',
      'sockmap.map_id',
      'sockmap.attach_type',
    ],
  },
  { name: 'btfInfo', doc: 'struct bpf_btf_info', type: ['bpf_btf_info', 'struct'], fields: ['btf', 'btf_size', 'id', 'name', 'name_len', 'kernel_btf'] },
  {
    name: 'perfEventAttr',
    doc: 'struct perf_event_attr (perf_event_open)',
    type: ['perf_event_attr', 'struct'],
    fields: ['type', 'size', 'config', 'sample_period', 'sample_freq', 'sample_type', 'disabled', 'freq', 'wakeup_events', 'config1', 'config2'],
  },
  {
    name: 'perfEventMmapPage',
    doc: 'struct perf_event_mmap_page (the first page of a perf ring)',
    type: ['perf_event_mmap_page', 'struct'],
    fields: ['data_head', 'data_tail'],
  },
  { name: 'perfEventHeader', doc: 'struct perf_event_header (each record in a perf ring)', type: ['perf_event_header', 'struct'], fields: ['type', 'size'] },
  { name: 'epollEvent', doc: 'struct epoll_event (packed on x86-64)', type: ['epoll_event', 'struct'], fields: ['events', 'data'] },
];

/**
 * The size each bpf() command passes: offsetofend(union bpf_attr, field)
 * for the last field libbpf sets for that command (`null`: the whole
 * member, as libbpf passes all of link_create).
 */
const ATTR_SIZES = [
  ['MAP_CREATE', 'mapCreateAttr', 'map_token_fd'],
  ['MAP_LOOKUP_ELEM', 'mapElemAttr', 'flags'],
  ['MAP_UPDATE_ELEM', 'mapElemAttr', 'flags'],
  ['MAP_DELETE_ELEM', 'mapElemAttr', 'flags'],
  ['MAP_GET_NEXT_KEY', 'mapElemAttr', 'next_key'],
  ['MAP_LOOKUP_AND_DELETE_ELEM', 'mapElemAttr', 'flags'],
  ['MAP_FREEZE', 'mapElemAttr', 'map_fd'],
  ['MAP_LOOKUP_BATCH', 'mapBatchAttr', 'flags'],
  ['MAP_UPDATE_BATCH', 'mapBatchAttr', 'flags'],
  ['MAP_DELETE_BATCH', 'mapBatchAttr', 'flags'],
  ['PROG_LOAD', 'progLoadAttr', 'prog_token_fd'],
  ['OBJ_PIN', 'objAttr', 'file_flags'],
  ['OBJ_GET', 'objAttr', 'file_flags'],
  ['PROG_ATTACH', 'progAttachAttr', 'expected_revision'],
  ['PROG_DETACH', 'progAttachAttr', 'replace_bpf_fd'],
  ['PROG_TEST_RUN', 'progTestRunAttr', 'batch_size'],
  ['OBJ_GET_INFO_BY_FD', 'objInfoAttr', 'info'],
  ['RAW_TRACEPOINT_OPEN', 'rawTracepointOpenAttr', 'cookie'],
  ['BTF_LOAD', 'btfLoadAttr', 'btf_token_fd'],
  ['LINK_CREATE', 'linkCreateAttr', null],
  ['LINK_DETACH', 'linkDetachAttr', 'link_fd'],
  ['ITER_CREATE', 'iterCreateAttr', 'flags'],
  ['PROG_BIND_MAP', 'progBindMapAttr', null],
  ['LINK_UPDATE', 'linkUpdateAttr', null],
  ['PROG_QUERY', 'progQueryAttr', null],
  ['PROG_GET_NEXT_ID', 'idAttr', 'next_id'],
  ['MAP_GET_NEXT_ID', 'idAttr', 'next_id'],
  ['BTF_GET_NEXT_ID', 'idAttr', 'next_id'],
  ['LINK_GET_NEXT_ID', 'idAttr', 'next_id'],
  ['PROG_GET_FD_BY_ID', 'idAttr', 'open_flags'],
  ['MAP_GET_FD_BY_ID', 'idAttr', 'open_flags'],
  ['BTF_GET_FD_BY_ID', 'idAttr', 'open_flags'],
  ['LINK_GET_FD_BY_ID', 'idAttr', 'open_flags'],
  ['ENABLE_STATS', 'enableStatsAttr', null],
  ['TOKEN_CREATE', 'tokenCreateAttr', null],
];

/** Other sizes the loader passes: [name, layout, last field (null: the whole struct), why]. */
const STRUCT_SIZES = [
  ['perfEventAttrSize', 'perfEventAttr', 'config2', "perf_event_attr.size: offsetofend(config2), the kernel's PERF_ATTR_SIZE_VER1"],
  ['epollEventSize', 'epollEvent', null, 'sizeof(struct epoll_event): one slot of the epoll_wait array'],
  ['iterLinkInfoSize', 'iterLinkInfo', null, 'sizeof(union bpf_iter_link_info): iter_info_len of an iterator link'],
];

function fail(message) {
  throw new Error(`gen-kernel-layouts: ${message}`);
}

/** The struct or union named `name` of `kind`. */
function composite(btf, name, kind) {
  const t = btf.findByName(name, kind);
  if (!t) fail(`${kind} ${name} is not in this BTF`);
  return t;
}

/**
 * Finds member `name` in composite `id` as C does (looking through anonymous
 * members): its byte offset from the start of `id`, and its type; undefined
 * when absent.
 */
function findMember(btf, id, name) {
  for (const m of btf.members(id)) {
    if (m.bitfieldSize !== 0 && m.name === name) {
      // A bit-field: the aligned storage unit of its type that holds it, and its bits in that unit.
      const unit = btf.sizeof(m.type) * 8;
      const start = m.bitOffset - (m.bitOffset % unit);
      if (m.bitOffset + m.bitfieldSize > start + unit) fail(`bit-field ${name} straddles its storage unit`);
      return { offset: start / 8, type: m.type, bit: m.bitOffset - start, bits: m.bitfieldSize };
    }
    if (m.bitfieldSize !== 0 || m.bitOffset % 8 !== 0) continue;
    if (m.name === name) return { offset: m.bitOffset / 8, type: m.type };
    if (m.name === '') {
      const kind = btf.resolve(m.type).kind;
      if (kind !== 'struct' && kind !== 'union') continue;
      const inner = findMember(btf, m.type, name);
      if (inner) return { offset: m.bitOffset / 8 + inner.offset, type: inner.type };
    }
  }
  return undefined;
}

/** A dotted member path from composite `id`: offset and type of its last part. */
function findPath(btf, id, path) {
  let at = { offset: 0, type: id };
  for (const part of path.split('.')) {
    const next = findMember(btf, at.type, part);
    if (!next) return undefined;
    at = { offset: at.offset + next.offset, type: next.type, bit: next.bit, bits: next.bits };
  }
  return at;
}

/** Where a layout's member starts in its C type, and the member's type id. */
function layoutRoot(btf, layout) {
  const [typeName, kind] = layout.type;
  const root = composite(btf, typeName, kind);
  if (layout.member) {
    const m = findMember(btf, root.id, layout.member);
    if (!m) fail(`${kind} ${typeName} has no member ${layout.member}`);
    return m;
  }
  if (layout.holding) {
    // The top-level (anonymous) member through which the field is reached.
    for (const m of btf.members(root.id)) {
      if (m.name !== '') continue;
      const inner = findMember(btf, m.type, layout.holding);
      if (inner) return { offset: m.bitOffset / 8, type: m.type };
    }
    fail(`${kind} ${typeName} has no anonymous member holding ${layout.holding}`);
  }
  return { offset: 0, type: root.id };
}

/** Each layout's fields: { name, fields: [[path, offset, size]], end } where end is the member's own end. */
export function kernelLayouts(btf) {
  const out = new Map();
  for (const layout of LAYOUTS) {
    const root = layoutRoot(btf, layout);
    const fields = layout.fields.map((path) => {
      const f = findPath(btf, root.type, path);
      if (!f) fail(`${layout.doc}: no field ${path}`);
      return [path, root.offset + f.offset, btf.sizeof(f.type), f.bits === undefined ? undefined : [f.bit, f.bits]];
    });
    out.set(layout.name, { ...layout, fields, end: root.offset + btf.sizeof(root.type) });
  }
  return out;
}

/** The numbers of the bpf() commands the attr sizes name (enum bpf_cmd). */
function bpfCommands(btf) {
  const e = btf.findByName('bpf_cmd', 'enum');
  if (!e) fail('enum bpf_cmd is not in this BTF');
  return ATTR_SIZES.map(([cmd]) => {
    const v = e.values.find((x) => x.name === `BPF_${cmd}`);
    if (!v) fail(`enum bpf_cmd has no BPF_${cmd}`);
    return [cmd, v.value];
  });
}

function endOf(layouts, layoutName, field) {
  const layout = layouts.get(layoutName);
  if (field === null) return layout.end;
  const f = layout.fields.find(([path]) => path === field);
  if (!f) fail(`${layoutName} lists no field ${field}`);
  return f[1] + f[2];
}

const key = (path) => (/^[A-Za-z_]\w*$/.test(path) ? path : `'${path}'`);

/** The generated module's text for `btf`; `source` names the kernel in the header. */
export function renderKernelLayouts(btf, source) {
  const layouts = kernelLayouts(btf);
  const lines = [
    `// Generated by scripts/gen-kernel-layouts.mjs from the BTF of ${source}; do not edit.`,
    '/**',
    ' * Where the kernel puts the fields the loader fills in and reads: offsets',
    ' * and sizes in bytes, from the start of the C type (for union bpf_attr, of',
    ' * the attr block). Regenerate with `node scripts/gen-kernel-layouts.mjs`;',
    ' * layouts.test.ts checks every field against the running kernel.',
    ' */',
    '',
    '/** A field of a kernel struct: byte offset and size. */',
    'export interface Field {',
    '  readonly offset: number;',
    '  readonly size: number;',
    '  /** A bit-field: its first bit (from the least significant) and width in the `size`-byte unit at `offset`. */',
    '  readonly bit?: number;',
    '  readonly bits?: number;',
    '}',
    '',
    '/** enum bpf_cmd: the bpf() commands the loader issues. */',
    'export const bpfCmd = {',
    ...bpfCommands(btf).map(([cmd, n]) => `  ${cmd}: ${n},`),
    '} as const;',
    '',
    '/** A bpf() command the loader issues. */',
    'export type BpfCmdName = keyof typeof bpfCmd;',
  ];
  for (const layout of layouts.values()) {
    lines.push('', `/** ${layout.doc}. */`, `export const ${layout.name} = {`);
    for (const [path, offset, size, bits] of layout.fields) {
      lines.push(`  ${key(path)}: { offset: ${offset}, size: ${size}${bits ? `, bit: ${bits[0]}, bits: ${bits[1]}` : ''} },`);
    }
    lines.push('} as const satisfies Record<string, Field>;');
  }
  lines.push(
    '',
    '/** The attr size each command passes: offsetofend(union bpf_attr, the last field libbpf sets). */',
    'export const attrSize: Readonly<Record<BpfCmdName, number>> = {',
  );
  for (const [cmd, layoutName, field] of ATTR_SIZES) {
    lines.push(
      `  ${cmd}: ${endOf(layouts, layoutName, field)}, // ${layouts.get(layoutName).member ?? ''}${field === null ? ' (all of it)' : `${layouts.get(layoutName).member ? '.' : ''}${field}`}`,
    );
  }
  lines.push('};');
  for (const [name, layoutName, field, why] of STRUCT_SIZES) {
    lines.push('', `/** ${why}. */`, `export const ${name} = ${endOf(layouts, layoutName, field)};`);
  }
  return `${lines.join('\n')}\n`;
}

/** How the header names a kernel: `Linux <release> (<arch>)`. */
export function runningKernelName() {
  return `Linux ${release()} (${machine()})`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const from = process.argv[2] ?? '/sys/kernel/btf/vmlinux';
  const out = process.argv[3] ?? fileURLToPath(new URL('../packages/loader/src/sys/layouts.generated.ts', import.meta.url));
  const btf = Btf.parse(new Uint8Array(readFileSync(from)));
  writeFileSync(out, renderKernelLayouts(btf, from === '/sys/kernel/btf/vmlinux' ? runningKernelName() : from));
  console.log(`wrote ${out}`);
}

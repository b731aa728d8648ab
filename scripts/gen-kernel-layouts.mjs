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
      'map_extra',
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
    fields: ['target_fd', 'attach_bpf_fd', 'attach_type', 'attach_flags', 'replace_bpf_fd'],
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
    fields: ['name', 'prog_fd'],
  },
  {
    name: 'btfLoadAttr',
    doc: 'union bpf_attr for BPF_BTF_LOAD',
    type: ['bpf_attr', 'union'],
    holding: 'btf_log_buf',
    fields: ['btf', 'btf_log_buf', 'btf_size', 'btf_log_size', 'btf_log_level'],
  },
  {
    name: 'linkCreateAttr',
    doc: 'union bpf_attr for BPF_LINK_CREATE',
    type: ['bpf_attr', 'union'],
    member: 'link_create',
    fields: ['prog_fd', 'target_fd', 'attach_type', 'flags', 'target_btf_id', 'netfilter.pf', 'netfilter.hooknum', 'netfilter.priority', 'netfilter.flags'],
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
  { name: 'progInfo', doc: 'struct bpf_prog_info', type: ['bpf_prog_info', 'struct'], fields: ['type', 'id', 'name'] },
  {
    name: 'mapInfo',
    doc: 'struct bpf_map_info',
    type: ['bpf_map_info', 'struct'],
    fields: ['type', 'id', 'key_size', 'value_size', 'max_entries', 'map_flags', 'name'],
  },
  { name: 'linkInfo', doc: 'struct bpf_link_info', type: ['bpf_link_info', 'struct'], fields: ['type', 'id', 'prog_id'] },
  { name: 'btfInfo', doc: 'struct bpf_btf_info', type: ['bpf_btf_info', 'struct'], fields: ['btf', 'btf_size', 'id', 'name', 'name_len', 'kernel_btf'] },
  {
    name: 'perfEventAttr',
    doc: 'struct perf_event_attr (perf_event_open)',
    type: ['perf_event_attr', 'struct'],
    fields: ['type', 'size', 'config', 'sample_period', 'sample_type', 'wakeup_events', 'config1', 'config2'],
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
  ['MAP_CREATE', 'mapCreateAttr', 'map_extra'],
  ['MAP_LOOKUP_ELEM', 'mapElemAttr', 'flags'],
  ['MAP_UPDATE_ELEM', 'mapElemAttr', 'flags'],
  ['MAP_DELETE_ELEM', 'mapElemAttr', 'flags'],
  ['MAP_GET_NEXT_KEY', 'mapElemAttr', 'next_key'],
  ['MAP_LOOKUP_AND_DELETE_ELEM', 'mapElemAttr', 'flags'],
  ['MAP_FREEZE', 'mapElemAttr', 'map_fd'],
  ['MAP_LOOKUP_BATCH', 'mapBatchAttr', 'flags'],
  ['MAP_UPDATE_BATCH', 'mapBatchAttr', 'flags'],
  ['MAP_DELETE_BATCH', 'mapBatchAttr', 'flags'],
  ['PROG_LOAD', 'progLoadAttr', 'fd_array'],
  ['OBJ_PIN', 'objAttr', 'file_flags'],
  ['OBJ_GET', 'objAttr', 'file_flags'],
  ['PROG_ATTACH', 'progAttachAttr', 'replace_bpf_fd'],
  ['PROG_DETACH', 'progAttachAttr', 'replace_bpf_fd'],
  ['PROG_TEST_RUN', 'progTestRunAttr', 'batch_size'],
  ['OBJ_GET_INFO_BY_FD', 'objInfoAttr', 'info'],
  ['RAW_TRACEPOINT_OPEN', 'rawTracepointOpenAttr', 'prog_fd'],
  ['BTF_LOAD', 'btfLoadAttr', 'btf_log_level'],
  ['LINK_CREATE', 'linkCreateAttr', null],
  ['LINK_DETACH', 'linkDetachAttr', 'link_fd'],
  ['PROG_BIND_MAP', 'progBindMapAttr', null],
];

/** Other sizes the loader passes: [name, layout, last field (null: the whole struct), why]. */
const STRUCT_SIZES = [
  ['perfEventAttrSize', 'perfEventAttr', 'config2', "perf_event_attr.size: offsetofend(config2), the kernel's PERF_ATTR_SIZE_VER1"],
  ['epollEventSize', 'epollEvent', null, 'sizeof(struct epoll_event): one slot of the epoll_wait array'],
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
    at = { offset: at.offset + next.offset, type: next.type };
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
      return [path, root.offset + f.offset, btf.sizeof(f.type)];
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
    for (const [path, offset, size] of layout.fields) lines.push(`  ${key(path)}: { offset: ${offset}, size: ${size} },`);
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

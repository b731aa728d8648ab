import type { Btf } from './btf.js';
import type { BtfType } from './types.js';

/**
 * The `raw` dump, line for line what `bpftool btf dump file FILE format raw`
 * prints (bpftool's kind names, "(anon)" for empty names, its field order and
 * spellings), so the two can be diffed. Split BTF dumps only its own types.
 */
export function formatBtfRaw(btf: Btf): string {
  const out: string[] = [];
  for (const t of btf.types()) out.push(rawLine(btf, t));
  return out.join('');
}

const KIND = {
  void: 'UNKNOWN',
  int: 'INT',
  ptr: 'PTR',
  array: 'ARRAY',
  struct: 'STRUCT',
  union: 'UNION',
  enum: 'ENUM',
  fwd: 'FWD',
  typedef: 'TYPEDEF',
  volatile: 'VOLATILE',
  const: 'CONST',
  restrict: 'RESTRICT',
  func: 'FUNC',
  func_proto: 'FUNC_PROTO',
  var: 'VAR',
  datasec: 'DATASEC',
  float: 'FLOAT',
  decl_tag: 'DECL_TAG',
  type_tag: 'TYPE_TAG',
  enum64: 'ENUM64',
} as const;

const name = (s: string) => s || '(anon)';

export function intEncodingName(encoding: number): string {
  switch (encoding) {
    case 0:
      return '(none)';
    case 1:
      return 'SIGNED';
    case 2:
      return 'CHAR';
    case 4:
      return 'BOOL';
    default:
      return 'UNKN';
  }
}

/** FUNC and VAR linkage names (both use 0 static, 1 global, 2 extern). */
export function linkageName(linkage: number): string {
  return ['static', 'global', 'extern'][linkage] ?? '(unknown)';
}

function rawLine(btf: Btf, t: BtfType): string {
  let s = `[${t.id}] ${KIND[t.kind]} '${name(t.name)}'`;
  switch (t.kind) {
    case 'int':
      s += ` size=${t.size} bits_offset=${t.bitOffset} nr_bits=${t.bits} encoding=${intEncodingName(t.encoding)}`;
      break;
    case 'ptr':
    case 'const':
    case 'volatile':
    case 'restrict':
    case 'typedef':
    case 'type_tag':
      s += ` type_id=${t.type}`;
      break;
    case 'array':
      s += ` type_id=${t.type} index_type_id=${t.indexType} nr_elems=${t.nelems}`;
      break;
    case 'struct':
    case 'union':
      s += ` size=${t.size} vlen=${t.members.length}`;
      for (const m of t.members) {
        s += `\n\t'${name(m.name)}' type_id=${m.type} bits_offset=${m.bitOffset}`;
        if (m.bitfieldSize) s += ` bitfield_size=${m.bitfieldSize}`;
      }
      break;
    case 'enum':
      s += ` encoding=${t.signed ? 'SIGNED' : 'UNSIGNED'} size=${t.size} vlen=${t.values.length}`;
      for (const v of t.values) s += `\n\t'${name(v.name)}' val=${v.value}`;
      break;
    case 'enum64':
      s += ` encoding=${t.signed ? 'SIGNED' : 'UNSIGNED'} size=${t.size} vlen=${t.values.length}`;
      for (const v of t.values) s += `\n\t'${name(v.name)}' val=${v.value}${t.signed ? 'LL' : 'ULL'}`;
      break;
    case 'fwd':
      s += ` fwd_kind=${t.fwdKind}`;
      break;
    case 'func':
      s += ` type_id=${t.type} linkage=${linkageName(t.linkage)}`;
      break;
    case 'func_proto':
      s += ` ret_type_id=${t.returnType} vlen=${t.params.length}`;
      for (const p of t.params) s += `\n\t'${name(p.name)}' type_id=${p.type}`;
      break;
    case 'var':
      // bpftool prints a comma here, and only here.
      s += ` type_id=${t.type}, linkage=${linkageName(t.linkage)}`;
      break;
    case 'datasec':
      s += ` size=${t.size} vlen=${t.vars.length}`;
      for (const v of t.vars) {
        s += `\n\ttype_id=${v.type} offset=${v.offset} size=${v.size}`;
        if (v.type < btf.length) {
          const vt = btf.type(v.type);
          s += ` (${KIND[vt.kind]} '${name(vt.name)}')`;
        }
      }
      break;
    case 'float':
      s += ` size=${t.size}`;
      break;
    case 'decl_tag':
      s += ` type_id=${t.type} component_idx=${t.componentIdx}`;
      break;
    case 'void':
      break;
  }
  return s + '\n';
}

/**
 * The JSON dump: the same object bpftool prints with `-j btf dump file FILE`
 * (`{"types":[{"id","kind","name",...}]}`), as text, because ENUM64 values
 * do not fit in a JavaScript number.
 */
export function formatBtfJson(btf: Btf): string {
  const types: unknown[] = [];
  for (const t of btf.types()) types.push(jsonType(btf, t));
  return JSON.stringify({ types }, (_key, value: unknown) => (typeof value === 'bigint' ? `${BIG}${value.toString()}` : value)).replace(BIG_RE, '$1');
}

const BIG = '\u0000big:';
const BIG_RE = /"\\u0000big:(-?\d+)"/g;

function jsonType(btf: Btf, t: BtfType): Record<string, unknown> {
  const o: Record<string, unknown> = { id: t.id, kind: KIND[t.kind], name: name(t.name) };
  switch (t.kind) {
    case 'int':
      return { ...o, size: t.size, bits_offset: t.bitOffset, nr_bits: t.bits, encoding: intEncodingName(t.encoding) };
    case 'ptr':
    case 'const':
    case 'volatile':
    case 'restrict':
    case 'typedef':
    case 'type_tag':
      return { ...o, type_id: t.type };
    case 'array':
      return { ...o, type_id: t.type, index_type_id: t.indexType, nr_elems: t.nelems };
    case 'struct':
    case 'union':
      return {
        ...o,
        size: t.size,
        vlen: t.members.length,
        members: t.members.map((m) => ({
          name: name(m.name),
          type_id: m.type,
          bits_offset: m.bitOffset,
          ...(m.bitfieldSize ? { bitfield_size: m.bitfieldSize } : {}),
        })),
      };
    case 'enum':
    case 'enum64':
      return {
        ...o,
        encoding: t.signed ? 'SIGNED' : 'UNSIGNED',
        size: t.size,
        vlen: t.values.length,
        values: t.values.map((v) => ({ name: name(v.name), val: v.value })),
      };
    case 'fwd':
      return { ...o, fwd_kind: t.fwdKind };
    case 'func':
      return { ...o, type_id: t.type, linkage: linkageName(t.linkage) };
    case 'func_proto':
      return {
        ...o,
        ret_type_id: t.returnType,
        vlen: t.params.length,
        params: t.params.map((p) => ({ name: name(p.name), type_id: p.type })),
      };
    case 'var':
      return { ...o, type_id: t.type, linkage: linkageName(t.linkage) };
    case 'datasec':
      return { ...o, size: t.size, vlen: t.vars.length, vars: t.vars.map((v) => ({ type_id: v.type, offset: v.offset, size: v.size })) };
    case 'float':
      return { ...o, size: t.size };
    case 'decl_tag':
      return { ...o, type_id: t.type, component_idx: t.componentIdx };
    case 'void':
      return o;
  }
}

/**
 * Any map on the host as typed JavaScript: a map opened by kernel id with
 * key and value codecs from its own BTF (the kernel's copy, bpf_map_info's
 * btf_id), whoever loaded it; a global-data map's value as its variables by
 * name; raw bytes where the map has no BTF. Also the JSON forms of decoded
 * values (u64 as exact digits, bytes as hex) and the way back.
 */
import { btfFromId, listPrograms, mapFromId, mapInfo as readMapInfo, type BpfMap, type MapInfo } from '@tsbpf/loader';
import { MapType, NON_DATA_MAP_TYPES, PER_CPU_MAP_TYPES, type Btf } from '@tsbpf/object';
import type { Codec } from './codec.js';
import { structAt, type PlacedField } from './composite.js';
import { CodecError } from './errors.js';
import { codecFromBtf, type BtfCodecOptions } from './from-btf.js';
import { bytes, u32 } from './primitives.js';
import { PerCpuMap, TypedMap } from './typed-map.js';

/** Map types whose values read from user space as the ids of what they hold (programs, maps). */
const ID_VALUED = new Set<number>([MapType.prog_array, MapType.array_of_maps, MapType.hash_of_maps]);

/** The key and value codecs of a map from what the kernel says about it and its BTF (undefined: none). */
export function hostMapCodecs(info: MapInfo, btf: Btf | undefined, options: BtfCodecOptions = {}): { key: Codec<unknown>; value: Codec<unknown> } {
  const key =
    btf && info.btfKeyTypeId !== 0
      ? codecFromBtf(btf, info.btfKeyTypeId, options)
      : info.keySize === 4 && (info.type === MapType.array || info.type === MapType.percpu_array || ID_VALUED.has(info.type))
        ? u32
        : bytes(info.keySize);
  let value: Codec<unknown>;
  if (ID_VALUED.has(info.type) && info.valueSize === 4) value = u32;
  else if (btf && info.btfValueTypeId !== 0) value = valueCodec(btf, info.btfValueTypeId, info.valueSize, options);
  else value = bytes(info.valueSize);
  return { key: key as Codec<unknown>, value: value as Codec<unknown> };
}

/** A value type's codec; a DATASEC (`.data`, `.bss`, `.rodata`) as a struct of its variables by name. */
function valueCodec(btf: Btf, typeId: number, size: number, options: BtfCodecOptions): Codec<unknown> {
  const t = btf.type(typeId);
  if (t.kind !== 'datasec') return codecFromBtf(btf, typeId, options);
  const fields: PlacedField[] = [];
  for (const v of t.vars) {
    const variable = btf.type(v.type);
    if (variable.kind !== 'var') continue;
    fields.push({ name: variable.name, offset: v.offset, codec: codecFromBtf(btf, variable.type, options) });
  }
  return structAt(t.name, size, 8, fields) as Codec<unknown>;
}

/** A map of the host opened by id, typed from its BTF. */
export interface HostMap extends Disposable {
  readonly map: BpfMap;
  readonly info: MapInfo;
  /** The map's BTF, when it has one. */
  readonly btf: Btf | undefined;
  readonly key: Codec<unknown>;
  readonly value: Codec<unknown>;
  /** Key/value access (PerCpuMap for per-CPU types); undefined for maps without elements to read (ring buffers, perf arrays, queues, sockmaps). */
  readonly typed: TypedMap<unknown, unknown> | PerCpuMap<unknown, unknown> | undefined;
  close(): void;
}

/**
 * Opens the map with that kernel id and types it from its own BTF: `typed`
 * reads it as JavaScript values. Close it (the map stays loaded while others
 * hold it).
 */
export function openHostMap(id: number, options: BtfCodecOptions = {}): HostMap {
  const info = readMapInfo(id);
  const btf = info.btfId !== 0 ? btfFromId(info.btfId) : undefined;
  const { key, value } = hostMapCodecs(info, btf, options);
  const map = mapFromId(id);
  const readable = !NON_DATA_MAP_TYPES.has(info.type) || ID_VALUED.has(info.type);
  const typed = !readable ? undefined : PER_CPU_MAP_TYPES.has(info.type) ? new PerCpuMap(map, key, value) : new TypedMap(map, key, value);
  const close = () => map.close();
  return { map, info, btf, key, value, typed, close, [Symbol.dispose]: close };
}

/**
 * The record type of a ring buffer on the host, from BTF: the map's own, or
 * (ring buffers are created without BTF) that of a program using it. The
 * struct named `record`, else the `unused_<map>` pointer global's, else the
 * only `unused_*` one's (tsbpf gen's convention); undefined when none says.
 */
export function hostRecordCodec(info: MapInfo, record?: string, options: BtfCodecOptions = {}): Codec<unknown> | undefined {
  const btfIds = info.btfId !== 0 ? [info.btfId] : [...new Set(listPrograms().flatMap((p) => (p.mapIds.includes(info.id) && p.btfId ? [p.btfId] : [])))];
  for (const id of btfIds) {
    let btf: Btf;
    try {
      btf = btfFromId(id);
    } catch {
      continue;
    }
    if (record) {
      const t = btf.findByName(record, 'struct');
      if (t) return codecFromBtf(btf, t.id, options);
      continue;
    }
    const unused = btf.findAllByName(`unused_${info.name}`, 'var');
    const candidates = unused.length > 0 ? unused : [...btf.types()].filter((t) => t.kind === 'var' && t.name.startsWith('unused_'));
    const v = candidates.length === 1 ? candidates[0]! : undefined;
    const pointer = v?.kind === 'var' ? btf.resolve(v.type) : undefined;
    if (pointer?.kind === 'ptr') return codecFromBtf(btf, pointer.type, options);
  }
  if (record) throw new CodecError('CODEC_LAYOUT', `map ${info.name}: no struct ${record} in the BTF of the map or of a program using it`);
  return undefined;
}

/**
 * A decoded value as JSON-ready data: bigints stay bigints (jsonText prints
 * their digits), byte arrays become hex strings, nested objects and arrays
 * are converted member by member.
 */
export function toJsonData(v: unknown): unknown {
  if (v instanceof Uint8Array) return hexOf(v);
  if (Array.isArray(v)) return v.map(toJsonData);
  if (ArrayBuffer.isView(v)) return Array.from(v as unknown as ArrayLike<number | bigint>);
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, toJsonData(x)]));
  return v;
}

/** JSON text of data from toJsonData: bigints as exact digits (JSON numbers have no size limit). */
export function jsonText(v: unknown, indent = 0): string {
  const pad = (n: number) => (indent ? `\n${' '.repeat(n * indent)}` : '');
  const walk = (x: unknown, depth: number): string => {
    if (typeof x === 'bigint') return x.toString();
    if (x instanceof Uint8Array) return JSON.stringify(hexOf(x));
    if (ArrayBuffer.isView(x) && !(x instanceof DataView)) x = Array.from(x as unknown as ArrayLike<number | bigint>);
    if (Array.isArray(x)) return x.length === 0 ? '[]' : `[${x.map((e) => pad(depth + 1) + walk(e, depth + 1)).join(',')}${pad(depth)}]`;
    if (x !== null && typeof x === 'object') {
      const entries = Object.entries(x).filter(([, e]) => e !== undefined);
      if (entries.length === 0) return '{}';
      return `{${entries.map(([k, e]) => `${pad(depth + 1)}${JSON.stringify(k)}:${indent ? ' ' : ''}${walk(e, depth + 1)}`).join(',')}${pad(depth)}}`;
    }
    return JSON.stringify(x) ?? 'null';
  };
  return walk(v, 0);
}

/**
 * A value given as JSON (parsed) turned into what `codec` encodes: shaped
 * after the codec's decode of zero bytes, so members that are bigints there
 * (u64) take numbers or digit strings, byte arrays take hex strings.
 */
export function fromJsonData(codec: Codec<unknown>, input: unknown): unknown {
  const zero = new DataView(new ArrayBuffer(codec.size));
  let template: unknown;
  try {
    template = codec.decode(zero, 0);
  } catch {
    return input;
  }
  return shape(template, input, codec.name);
}

function shape(template: unknown, input: unknown, where: string): unknown {
  if (typeof template === 'bigint' && (typeof input === 'number' || typeof input === 'string')) {
    try {
      return BigInt(input);
    } catch {
      throw new CodecError('CODEC_TYPE', `${where}: ${JSON.stringify(input)} is not an integer`);
    }
  }
  if (template instanceof Uint8Array && typeof input === 'string') return parseHex(input, where);
  if (ArrayBuffer.isView(template) && !(template instanceof DataView) && Array.isArray(input)) {
    const big = (template as unknown as ArrayLike<unknown>)[0];
    return typeof big === 'bigint' ? input.map((x) => shape(0n, x, where)) : input;
  }
  if (Array.isArray(template) && Array.isArray(input)) return input.map((x, i) => shape(template[i] ?? template[0], x, `${where}[${i}]`));
  if (template !== null && typeof template === 'object' && input !== null && typeof input === 'object' && !Array.isArray(input)) {
    const t = template as Record<string, unknown>;
    return Object.fromEntries(Object.entries(input).map(([k, x]) => [k, k in t ? shape(t[k], x, `${where}.${k}`) : x]));
  }
  return input;
}

function hexOf(b: Uint8Array): string {
  let s = '';
  for (const x of b) s += x.toString(16).padStart(2, '0');
  return s;
}

/** Hex digits (spaces and a 0x prefix allowed) as bytes. */
export function parseHex(text: string, where = 'bytes'): Uint8Array {
  const digits = text.replace(/^0x/i, '').replace(/\s+/g, '');
  if (!/^([0-9a-f]{2})*$/i.test(digits)) throw new CodecError('CODEC_FORMAT', `${where}: ${JSON.stringify(text)} is not hex bytes`);
  return Uint8Array.from(digits.match(/../g) ?? [], (h) => parseInt(h, 16));
}

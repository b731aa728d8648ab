/**
 * Which class wraps a map of an object, and with which key and value
 * codecs: the one table typedMaps() and tsbpf gen both follow.
 */
import { MapType, NON_DATA_MAP_TYPES, PER_CPU_MAP_TYPES, type Btf, type MapSpec } from '@tsbpf/object';
import { lpmKeyFamily } from './special-maps.js';

/** Where a key or value codec comes from. */
export type CodecSource =
  | { readonly kind: 'btf'; readonly typeId: number }
  /** No BTF for it: raw bytes of the map's size. */
  | { readonly kind: 'bytes'; readonly size: number }
  /** An LPM trie keyed `{ prefixlen, addr[4|16] }`: CIDR text. */
  | { readonly kind: 'cidr'; readonly family: 'ipv4' | 'ipv6' };

export type MapBinding =
  /** Key/value data: TypedMap, or PerCpuMap for the per-CPU types. */
  | { readonly kind: 'TypedMap' | 'PerCpuMap'; readonly key: CodecSource; readonly value: CodecSource }
  /** Read as a stream of records (RingBuffer), when the record type is known. */
  | { readonly kind: 'RingBuffer' }
  /** Slots of programs. */
  | { readonly kind: 'ProgramArray' }
  /** Slots of maps, by key. */
  | { readonly kind: 'MapOfMaps'; readonly key: CodecSource }
  /** Perf event arrays, user ring buffers: the BpfMap as it is. */
  | { readonly kind: 'BpfMap' };

/**
 * How a map of an object is wrapped; undefined for global data (`.data`,
 * `.bss`, `.rodata`: sections of variables, read by name through Globals)
 * and struct_ops maps.
 */
export function mapBinding(m: MapSpec, btf: Btf | undefined): MapBinding | undefined {
  if (m.kind !== 'btf' && m.kind !== 'legacy') return undefined;
  const codec = (typeId: number, size: number): CodecSource => (btf && typeId !== 0 ? { kind: 'btf', typeId } : { kind: 'bytes', size });
  if (m.type === MapType.ringbuf) return { kind: 'RingBuffer' };
  if (m.type === MapType.prog_array) return { kind: 'ProgramArray' };
  if (m.type === MapType.array_of_maps || m.type === MapType.hash_of_maps) return { kind: 'MapOfMaps', key: codec(m.btfKeyTypeId, m.keySize) };
  if (NON_DATA_MAP_TYPES.has(m.type)) return { kind: 'BpfMap' };
  const family = lpmKeyFamily(m, btf);
  return {
    kind: PER_CPU_MAP_TYPES.has(m.type) ? 'PerCpuMap' : 'TypedMap',
    key: family ? { kind: 'cidr', family } : codec(m.btfKeyTypeId, m.keySize),
    value: codec(m.btfValueTypeId, m.valueSize),
  };
}

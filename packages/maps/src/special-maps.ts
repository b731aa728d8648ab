/**
 * The map kinds that are not key/value stores of data: LPM trie keys as
 * CIDR text, prog arrays, maps of maps, queues and stacks, bloom filters.
 */
import type { BpfMap, Program } from '@tsbpf/loader';
import { MapType, type Btf, type MapSpec } from '@tsbpf/object';
import { decode, encode, type Codec } from './codec.js';
import { CodecError } from './errors.js';
import { expectCodecSize, expectMapType } from './map-checks.js';
import { formatIpv6, parseIpv4, parseIpv6, u32 } from './primitives.js';

function expectType(map: BpfMap, types: readonly number[], what: string): void {
  expectMapType(map, types.includes(map.type), `is a ${map.typeName}, not ${what}`);
}

/**
 * An LPM trie key (`struct { u32 prefixlen; u8 addr[4|16]; }`) as CIDR text:
 * `set("10.0.0.0/8", v)`, `get("10.1.2.3")` (a bare address is a /32 or
 * /128, so a lookup returns the most specific prefix that covers it). The
 * text is an address as the ipv4 or ipv6 codec reads it, then optionally
 * `/` and a prefix length of 1 to 3 decimal digits, at most 32 (128);
 * anything else (`"10.0.0.0/"`, `"10.0.0.0/8/9"`, `" 10.0.0.0/8"`) is
 * CODEC_FORMAT, never a prefix of 0 that matches everything. Address bits
 * past the prefix are kept as given (the kernel's lookups ignore them).
 */
export function cidrKey(family: 'ipv4' | 'ipv6'): Codec<string> {
  const bytes = family === 'ipv4' ? 4 : 16;
  const max = bytes * 8;
  const name = `lpm key (${family})`;
  return {
    name,
    size: 4 + bytes,
    align: 4,
    decode(view, offset) {
      const len = view.getUint32(offset, true);
      const addr = new Uint8Array(view.buffer, view.byteOffset + offset + 4, bytes);
      const text = family === 'ipv4' ? [...addr].join('.') : formatIpv6(addr);
      return `${text}/${len}`;
    },
    encode(value, view, offset) {
      if (typeof value !== 'string') throw new CodecError('CODEC_TYPE', `${name}: a ${typeof value} is not CIDR text`);
      const slash = value.indexOf('/');
      let prefix = max;
      if (slash >= 0) {
        const len = value.slice(slash + 1);
        if (!/^[0-9]{1,3}$/.test(len) || Number(len) > max)
          throw new CodecError('CODEC_FORMAT', `lpm key: bad prefix length in ${JSON.stringify(value)} (want /0 to /${max})`);
        prefix = Number(len);
      }
      const text = slash < 0 ? value : value.slice(0, slash);
      let raw: Uint8Array;
      try {
        raw = family === 'ipv4' ? parseIpv4(text) : parseIpv6(text);
      } catch (e) {
        if (e instanceof CodecError)
          throw new CodecError('CODEC_FORMAT', `lpm key: bad ${family === 'ipv4' ? 'IPv4' : 'IPv6'} address in ${JSON.stringify(value)}`);
        throw e;
      }
      view.setUint32(offset, prefix, true);
      new Uint8Array(view.buffer, view.byteOffset + offset + 4, bytes).set(raw);
    },
  };
}

/**
 * Whether a map is an LPM trie keyed the usual way (`struct { __u32 prefixlen;
 * __u8 addr[4|16]; }`), so its keys can be CIDR text: the family, or undefined.
 * With BTF the key must be a struct of that size whose first member is a
 * 4-byte integer at offset 0; without, the size decides.
 */
export function lpmKeyFamily(m: Pick<MapSpec, 'type' | 'keySize' | 'btfKeyTypeId'>, btf: Btf | undefined): 'ipv4' | 'ipv6' | undefined {
  if (m.type !== MapType.lpm_trie || (m.keySize !== 8 && m.keySize !== 20)) return undefined;
  if (btf && m.btfKeyTypeId) {
    const t = btf.resolve(m.btfKeyTypeId);
    if (t.kind !== 'struct' || t.size !== m.keySize || t.members.length === 0) return undefined;
    const first = t.members[0]!;
    const ft = btf.resolve(first.type);
    if (first.bitOffset !== 0 || ft.kind !== 'int' || ft.size !== 4) return undefined;
  }
  return m.keySize === 8 ? 'ipv4' : 'ipv6';
}

/** A prog array: slots hold programs (for tail calls). Reading a slot gives the program's id. */
export class ProgramArray {
  constructor(readonly map: BpfMap) {
    expectType(map, [MapType.prog_array], 'a prog array');
  }
  set(index: number, program: Program): void {
    this.map.update(encode(u32, index), encode(u32, program.fd));
  }
  /** The id of the program in the slot, or undefined. */
  get(index: number): number | undefined {
    const v = this.map.lookup(encode(u32, index));
    return v === undefined ? undefined : decode(u32, v);
  }
  delete(index: number): boolean {
    return this.map.delete(encode(u32, index));
  }
}

/** An array or hash of maps: values are maps. Reading gives the inner map's id. */
export class MapOfMaps<K> {
  constructor(
    readonly map: BpfMap,
    readonly key: Codec<K>,
  ) {
    expectType(map, [MapType.array_of_maps, MapType.hash_of_maps], 'an array or hash of maps');
  }
  set(key: K, inner: BpfMap): void {
    this.map.update(encode(this.key, key), encode(u32, inner.fd));
  }
  get(key: K): number | undefined {
    const v = this.map.lookup(encode(this.key, key));
    return v === undefined ? undefined : decode(u32, v);
  }
  delete(key: K): boolean {
    return this.map.delete(encode(this.key, key));
  }
}

/** A queue (FIFO) or stack (LIFO) of typed values. */
export class QueueMap<V> {
  constructor(
    readonly map: BpfMap,
    readonly value: Codec<V>,
  ) {
    expectType(map, [MapType.queue, MapType.stack], 'a queue or stack');
    expectCodecSize(map, 'value', value as Codec<unknown>);
  }
  push(v: V): void {
    this.map.push(encode(this.value, v));
  }
  pop(): V | undefined {
    const raw = this.map.pop();
    return raw === undefined ? undefined : decode(this.value, raw);
  }
  peek(): V | undefined {
    const raw = this.map.peek();
    return raw === undefined ? undefined : decode(this.value, raw);
  }
}

/** A bloom filter: `add`, and `mayContain` (false: certainly absent). */
export class BloomFilter<V> {
  constructor(
    readonly map: BpfMap,
    readonly value: Codec<V>,
  ) {
    expectType(map, [MapType.bloom_filter], 'a bloom filter');
    expectCodecSize(map, 'value', value as Codec<unknown>);
  }
  add(v: V): void {
    this.map.push(encode(this.value, v));
  }
  mayContain(v: V): boolean {
    return this.map.mayContain(encode(this.value, v));
  }
}

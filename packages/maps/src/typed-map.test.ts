import { expect, it, vi } from 'vitest';
import { BpfMap, loadCollection } from '@tsbpf/loader';
import { MapType, parseCollectionSpec } from '@tsbpf/object';
import { readFixture } from '@tsbpf/fixtures';
import { struct } from './composite.js';
import { u32, u64, u64AsNumber, u8, u16 } from './primitives.js';
import { cidrKey } from './special-maps.js';
import { CodecError, MapSchemaError } from './errors.js';
import { PerCpuMap, TypedMap, sum } from './typed-map.js';
import { typedMaps } from './typed-maps.js';
import { describeNeeds, isRoot } from '../../../test/support/env.js';

type FlowKey = { saddr: number; daddr: number; sport: number; dport: number; proto: number };
type FlowStats = { packets: bigint; bytes: bigint };

describeNeeds([isRoot()], 'typed maps against the kernel', () => {
  it('padding in keys stays zero, even after a raw operation left other bytes in the native key buffer', () => {
    const Key = struct({ a: u32, b: u8, c: u16 }); // one byte of padding after b
    using raw = BpfMap.create({ type: MapType.hash, keySize: Key.size, valueSize: 4, maxEntries: 8 });
    const m = new TypedMap(raw, Key, u32);
    m.set({ a: 1, b: 2, c: 3 }, 7);
    raw.lookup(new Uint8Array(Key.size).fill(0xff)); // the map's key buffer now holds 0xff everywhere
    expect(m.get({ a: 1, b: 2, c: 3 })).toBe(7);
    expect([...raw.keys()].map((k) => [...k])).toEqual([[1, 0, 0, 0, 2, 0, 3, 0]]);
  });

  it('BTF-typed hash map: Map-like API, and a program updates what we set', () => {
    const spec = parseCollectionSpec(readFixture('maps_btf.bpf.o'));
    using c = loadCollection(spec);
    const maps = typedMaps(c, spec);
    const flows = maps.flows as TypedMap<FlowKey, FlowStats>;
    const key: FlowKey = { saddr: 0, daddr: 0, sport: 0, dport: 0, proto: 6 }; // the key use_maps looks up
    expect(flows.get(key)).toBeUndefined();
    flows.set(key, { packets: 10n, bytes: 0n });
    expect(flows.has(key)).toBe(true);
    c.programs.use_maps!.testRun({ data: new Uint8Array(64) });
    expect(flows.get(key)).toEqual({ packets: 11n, bytes: 0n }); // __sync_fetch_and_add(&stats->packets, 1)

    const many = Array.from(
      { length: 300 },
      (_, i) =>
        [
          { saddr: i, daddr: 1, sport: 2, dport: 3, proto: 17 },
          { packets: BigInt(i), bytes: 1n },
        ] as const,
    );
    expect(flows.setMany(many)).toBe(300);
    expect(flows.size).toBe(301);
    expect(flows.getMany([many[7]![0], { ...key, proto: 99 }])).toEqual([{ packets: 7n, bytes: 1n }, undefined]);
    const seen = new Map([...flows.entries()].map(([k, v]) => [k.saddr * 1000 + k.proto, v.packets]));
    expect(seen.get(299 * 1000 + 17)).toBe(299n);
    expect(flows.deleteMany(many.slice(0, 100).map(([k]) => k))).toBe(100);
    expect(flows.delete(key)).toBe(true);
    expect(flows.delete(key)).toBe(false);
    expect(flows.size).toBe(200);
    flows.clear();
    expect(flows.size).toBe(0);
    expect(() => flows.set(key, { packets: 1n, bytes: 1n }, { flags: 'exist' })).toThrow(/ENOENT/);
  });

  it('entries() walks batches in place: several batches, two walks at once, early exit, a map closed under a walk', () => {
    const raw = BpfMap.create({ type: MapType.hash, keySize: 4, valueSize: 16, maxEntries: 4096 });
    try {
      const m = new TypedMap(raw, u32, struct({ packets: u64, bytes: u64 }));
      expect(m.setMany(Array.from({ length: 2500 }, (_, i) => [i, { packets: BigInt(i), bytes: BigInt(2 * i) }] as const))).toBe(2500);
      const walked = [...m.entries()];
      expect(walked.length).toBe(2500); // three batches of up to 1,024
      expect(walked.every(([k, v]) => v.packets === BigInt(k) && v.bytes === BigInt(2 * k))).toBe(true);
      expect(new Set(walked.map(([k]) => k)).size).toBe(2500);
      expect(m.size).toBe(2500);
      expect([...m.keys()].sort((a, b) => a - b)).toEqual(Array.from({ length: 2500 }, (_, i) => i));

      // A walk inside a walk gets buffers of its own; both see everything.
      let outer = 0;
      let inner = 0;
      for (const [k] of m.entries()) {
        outer++;
        if (k === 7) for (const [, v] of m.entries()) inner += v.packets === undefined ? 0 : 1;
      }
      expect([outer, inner]).toEqual([2500, 2500]);

      // forEach: (value, key, map), as Map's.
      let sum = 0n;
      let visits = 0;
      m.forEach((v, k, map) => {
        expect(map).toBe(m);
        expect(v.packets).toBe(BigInt(k));
        sum += v.bytes;
        visits++;
      });
      expect([visits, sum]).toEqual([2500, BigInt(2 * ((2499 * 2500) / 2))]);

      // Leaving early releases the walk: the next one starts from the beginning.
      for (const _ of m.entries()) break;
      expect([...m.values()].length).toBe(2500);

      // The protocol by hand: done stays done, return() ends a walk, values() and keys() as entries().
      const pairs = m.entries();
      for (let n = 0; n < 2500; n++) expect(pairs.next().done).toBe(false);
      expect(pairs.next().done).toBe(true);
      expect(pairs.next().done).toBe(true);
      const values = m.values();
      expect(values.next()).toEqual({ value: expect.objectContaining({ packets: expect.any(BigInt) }), done: false });
      expect(values.return!()).toEqual({ value: undefined, done: true });
      expect(values.next()).toEqual({ value: undefined, done: true });
      const keys = m.keys();
      expect(typeof keys.next().value).toBe('number');
      keys.return!();
      expect(keys.next().done).toBe(true);
      expect([...m.values()].reduce((a, v) => a + v.packets, 0n)).toBe(BigInt((2499 * 2500) / 2));

      const it = m.entries();
      it.next();
      raw.close();
      expect(() => it.next()).toThrow(/closed/);
    } finally {
      raw.close();
    }
  });

  it('a walk holds the map batch buffers only while it runs: not before its first next(), not after a value fails to decode', () => {
    using raw = BpfMap.create({ type: MapType.hash, keySize: 4, valueSize: 8, maxEntries: 64 });
    const m = new TypedMap(raw, u32, u64AsNumber);
    m.setMany([
      [1, 5],
      [2, 6],
    ]);
    const busy = () => (raw as unknown as { cursorBuffersBusy: boolean }).cursorBuffersBusy;
    const open = vi.spyOn(raw, 'batchCursor');
    const unused = m.entries();
    m.keys();
    m.values();
    expect(open).not.toHaveBeenCalled(); // made, never used: nothing held
    expect([...m.values()].sort()).toEqual([5, 6]);
    expect(busy()).toBe(false);
    unused.next();
    expect(busy()).toBe(true); // the first walk to start has the map's own buffers
    unused.return!();
    open.mockRestore();

    raw.update(new Uint8Array([3, 0, 0, 0]), new Uint8Array(new BigUint64Array([2n ** 53n + 2n]).buffer)); // u64AsNumber refuses to decode it
    expect(() => [...m.entries()]).toThrow(/not a safe integer/);
    expect(busy()).toBe(false); // for-of does not call return() when next() throws: the walk gave them back itself
    expect(() => [...m.values()]).toThrow(/not a safe integer/);
    expect(busy()).toBe(false);
  });

  it('entries() of a map type without batch lookups (devmap) walks key by key', () => {
    using raw = BpfMap.create({ type: MapType.devmap, keySize: 4, valueSize: 4, maxEntries: 4 });
    expect(() => raw.batchCursor().next()).toThrow(expect.objectContaining({ errnoName: 'ENOTSUPP' })); // the kernel's 524
    const m = new TypedMap(raw, u32, u32);
    m.set(2, 1); // slot 2 → ifindex 1 (lo, in every namespace)
    expect([...m.entries()]).toEqual([[2, 1]]);
    expect([...m.values()]).toEqual([1]);
    const byHand = m.entries();
    expect(byHand.next()).toEqual({ value: [2, 1], done: false });
    expect(byHand.next().done).toBe(true);
    expect([...m.keys()]).toEqual([0, 1, 2, 3]); // a devmap's key walk visits every slot
    expect(m.size).toBe(4);
    const seen: [number, number][] = [];
    m.forEach((v, k) => seen.push([k, v]));
    expect(seen).toEqual([[2, 1]]);
  });

  it('typedMaps: the declared data maps, not global-data sections (those are Globals)', () => {
    const spec = parseCollectionSpec(readFixture('maps_btf.bpf.o'));
    using c = loadCollection(spec);
    const names = Object.keys(typedMaps(c, spec)).sort();
    const declared = Object.values(spec.maps).filter(
      (m) => m.kind === 'btf' && !['ringbuf', 'prog_array', 'array_of_maps', 'hash_of_maps'].includes(m.typeName),
    );
    expect(names).toEqual(declared.map((m) => m.name).sort());
    expect(Object.values(spec.maps).some((m) => m.kind === 'rodata')).toBe(true); // there was one to leave out
    const cidrs = typedMaps(c, spec).cidrs as TypedMap<string, number>; // struct lpm_v4_key { __u32 prefixlen; __u8 addr[4]; }
    cidrs.set('10.0.0.0/8', 1).set('10.1.0.0/16', 2);
    expect([cidrs.get('10.1.2.3'), cidrs.get('10.9.9.9'), cidrs.get('11.0.0.1')]).toEqual([2, 1, undefined]);

    const globals = parseCollectionSpec(readFixture('global_data.bpf.o'));
    using g = loadCollection(globals);
    expect(typedMaps(g, globals)).toEqual({}); // .data, .bss and .rodata only: used to throw on their DATASEC types
  });

  it('per-CPU values come back per CPU, and sum', () => {
    const spec = parseCollectionSpec(readFixture('maps_btf.bpf.o'));
    using c = loadCollection(spec);
    const counters = typedMaps(c, spec).counters as PerCpuMap<number, bigint>;
    expect(counters).toBeInstanceOf(PerCpuMap);
    counters.set(0, 5n); // every CPU
    const values = counters.get(0)!;
    expect(values.length).toBeGreaterThanOrEqual(1);
    expect(values.every((v) => v === 5n)).toBe(true);
    expect(sum(values)).toBe(5n * BigInt(values.length));
    counters.set(
      1,
      values.map((_, cpu) => BigInt(cpu)),
    );
    expect(counters.get(1)).toEqual(values.map((_, cpu) => BigInt(cpu)));
  });

  it('setMany on a per-CPU hash: every CPU slot written, the padding of each 8-byte slot zero', () => {
    using raw = BpfMap.create({ type: MapType.percpu_hash, keySize: 4, valueSize: 4, maxEntries: 8 });
    const m = new PerCpuMap(raw, u32, u32);
    raw.lookup(new Uint8Array(4)); // leave the map's buffers in some state
    const cpus = raw.valueBufferSize / 8;
    expect(
      m.setMany([
        [1, 7],
        [2, Array.from({ length: cpus }, (_, i) => i)],
      ] as never),
    ).toBe(2);
    expect(m.get(1)).toEqual(Array.from({ length: cpus }, () => 7));
    expect(m.get(2)).toEqual(Array.from({ length: cpus }, (_, i) => i));
    const bytes = raw.lookup(new Uint8Array([1, 0, 0, 0]))!;
    for (let cpu = 0; cpu < cpus; cpu++) expect([...bytes.subarray(cpu * 8 + 4, cpu * 8 + 8)]).toEqual([0, 0, 0, 0]);
  });

  it('getMany for much of a map walks it once, and answers as get() does for every key shape and kind', () => {
    const shapes = [
      { name: 'u32 keys', key: u32, make: (i: number) => i },
      { name: '8-byte keys with padding', key: struct({ a: u32, b: u8, c: u16 }), make: (i: number) => ({ a: i, b: i & 0xff, c: 7 }) },
      { name: '12-byte keys', key: struct({ a: u32, b: u32, c: u16 }), make: (i: number) => ({ a: i, b: ~i >>> 0, c: 1 }) },
    ] as const;
    for (const kind of [MapType.hash, MapType.lru_hash, MapType.array]) {
      for (const shape of shapes) {
        if (kind === MapType.array && shape.key !== u32) continue;
        using raw = BpfMap.create({ type: kind, keySize: shape.key.size, valueSize: 16, maxEntries: 2048 });
        const m = new TypedMap<unknown, { packets: bigint; bytes: bigint }>(raw, shape.key as never, struct({ packets: u64, bytes: u64 }) as never);
        m.setMany(Array.from({ length: 1500 }, (_, i) => [shape.make(i), { packets: BigInt(i), bytes: 1n }] as const));
        // Present and absent keys, out of order, one asked for twice.
        const keys = Array.from({ length: 1100 }, (_, j) => shape.make((j * 7919) % 2300));
        keys.push(keys[3]!);
        const walk = vi.spyOn(raw, 'batchCursor');
        const got = m.getMany(keys);
        expect(walk, `${shape.name}, map type ${kind}`).toHaveBeenCalled();
        walk.mockRestore();
        expect(got, `${shape.name}, map type ${kind}`).toEqual(keys.map((k) => m.get(k)));
        if (kind !== MapType.array) expect(got.filter((v) => v === undefined).length).toBeGreaterThan(0); // keys past 1,500 are absent
        expect(got[keys.length - 1]).not.toBe(got[3]); // its own object
        // A few keys: a lookup each.
        const few = vi.spyOn(raw, 'batchCursor');
        expect(m.getMany([shape.make(1), shape.make(2000)])).toEqual([
          { packets: 1n, bytes: 1n },
          kind === MapType.array ? { packets: 0n, bytes: 0n } : undefined,
        ]);
        expect(few).not.toHaveBeenCalled();
        few.mockRestore();
      }
    }

    using percpu = BpfMap.create({ type: MapType.percpu_hash, keySize: 4, valueSize: 8, maxEntries: 128 });
    const counters = new PerCpuMap(percpu, u32, u64);
    counters.setMany(Array.from({ length: 100 }, (_, i) => [i, BigInt(i)]) as never); // one value for every CPU
    const wanted = Array.from({ length: 120 }, (_, i) => i);
    expect(counters.getMany(wanted)).toEqual(wanted.map((k) => counters.get(k)));

    // An LPM trie's lookup finds the longest prefix: never a walk, whatever the number of keys.
    using trie = BpfMap.create({ type: MapType.lpm_trie, keySize: 8, valueSize: 4, maxEntries: 128, flags: 1 /* BPF_F_NO_PREALLOC */ });
    const cidrs = new TypedMap(trie, cidrKey('ipv4'), u32);
    cidrs.set('10.0.0.0/8', 1);
    const addresses = Array.from({ length: 100 }, (_, i) => `10.0.${i}.1`);
    expect(cidrs.getMany(addresses)).toEqual(addresses.map(() => 1));
  });

  it('getMany by walk with u32 keys (indexed by the number itself): high keys found, bad keys a typed error', () => {
    using raw = BpfMap.create({ type: MapType.hash, keySize: 4, valueSize: 4, maxEntries: 128 });
    const m = new TypedMap(raw, u32, u32);
    const high = [0xffffffff, 0x80000000, 0x7fffffff, 0];
    m.setMany(high.map((k, i) => [k, i + 1] as const));
    m.setMany(Array.from({ length: 96 }, (_, i) => [i + 1, 1000 + i] as const));
    const keys = [...high, ...Array.from({ length: 100 }, (_, i) => i + 1), -0];
    const walk = vi.spyOn(raw, 'batchCursor');
    const got = m.getMany(keys);
    expect(walk).toHaveBeenCalledTimes(1);
    walk.mockRestore();
    expect(got).toEqual(keys.map((k) => m.get(k)));
    expect(got.slice(0, 4)).toEqual([1, 2, 3, 4]);
    expect(got.at(-1)).toBe(4); // -0 is key 0, as get() encodes it
    expect(got.slice(100, 104)).toEqual([undefined, undefined, undefined, undefined]); // 97..100 absent
    // Dense keys (indexed by a direct table of 100 slots) while the walk meets the map's high keys past its end.
    const dense = Array.from({ length: 100 }, (_, i) => 99 - i);
    expect(m.getMany(dense)).toEqual(dense.map((k) => m.get(k)));
    // Bad keys whose low 32 bits are no other key asked for (a repeat would be looked up alone).
    const some = keys.slice(4, 104);
    for (const bad of [-1, 200.5, 2 ** 32 + 500, NaN, Infinity, '3', 3n]) {
      expect(() => m.getMany([...some, bad] as never), String(bad)).toThrow(CodecError);
    }
  });

  it('checks the codecs against the map, with typed errors', () => {
    using raw = BpfMap.create({ type: MapType.hash, keySize: 4, valueSize: 8, maxEntries: 4 });
    expect(() => new TypedMap(raw, u32, u32)).toThrow(MapSchemaError);
    expect(() => new PerCpuMap(raw, u32, u64)).toThrow(/not per-CPU/);
    const m = new TypedMap(raw, u32, struct({ lo: u32, hi: u32 }));
    m.set(1, { lo: 1, hi: 2 });
    expect(m.get(1)).toEqual({ lo: 1, hi: 2 });
    expect([...m]).toEqual([[1, { lo: 1, hi: 2 }]]);
  });
});

import { expect, it } from 'vitest';
import { BpfMap, loadCollection } from '@tsbpf/loader';
import { MapFlags, MapType, parseCollectionSpec } from '@tsbpf/object';
import { readFixture } from '@tsbpf/fixtures';
import { u32, u64 } from './primitives.js';
import { BloomFilter, MapOfMaps, ProgramArray, QueueMap, cidrKey } from './special-maps.js';
import { TypedMap } from './typed-map.js';
import { describeNeeds, isRoot } from '../../../test/support/env.js';

describeNeeds([isRoot()], 'special map kinds against the kernel', () => {
  it('LPM trie: CIDR keys, and lookups return the most specific prefix', () => {
    using raw = BpfMap.create({ type: MapType.lpm_trie, keySize: 8, valueSize: 4, maxEntries: 16, flags: MapFlags.NO_PREALLOC });
    const lpm = new TypedMap(raw, cidrKey('ipv4'), u32);
    lpm.set('10.0.0.0/8', 1).set('10.1.0.0/16', 2).set('10.1.2.0/24', 3);
    expect(lpm.get('10.1.2.3')).toBe(3);
    expect(lpm.get('10.1.9.9')).toBe(2);
    expect(lpm.get('10.200.0.1')).toBe(1);
    expect(lpm.get('11.0.0.1')).toBeUndefined();
    expect([...lpm.keys()].sort()).toEqual(['10.0.0.0/8', '10.1.0.0/16', '10.1.2.0/24']);
    using raw6 = BpfMap.create({ type: MapType.lpm_trie, keySize: 20, valueSize: 4, maxEntries: 16, flags: MapFlags.NO_PREALLOC });
    const lpm6 = new TypedMap(raw6, cidrKey('ipv6'), u32);
    lpm6.set('fd00::/8', 6).set('fd00:1::/32', 7);
    expect(lpm6.get('fd00:1::5')).toBe(7);
    expect(lpm6.get('fd99::1')).toBe(6);
  });

  it('queue and stack: push, peek, pop', () => {
    using q = BpfMap.create({ type: MapType.queue, keySize: 0, valueSize: 8, maxEntries: 8 });
    const queue = new QueueMap(q, u64);
    queue.push(1n);
    queue.push(2n);
    expect(queue.peek()).toBe(1n);
    expect([queue.pop(), queue.pop(), queue.pop()]).toEqual([1n, 2n, undefined]);
    using s = BpfMap.create({ type: MapType.stack, keySize: 0, valueSize: 4, maxEntries: 8 });
    const stack = new QueueMap(s, u32);
    stack.push(1);
    stack.push(2);
    expect([stack.pop(), stack.pop()]).toEqual([2, 1]);
  });

  it('bloom filter: added values may be present; others are mostly absent', () => {
    using raw = BpfMap.create({ type: MapType.bloom_filter, keySize: 0, valueSize: 4, maxEntries: 1000 });
    const bloom = new BloomFilter(raw, u32);
    for (let i = 0; i < 100; i++) bloom.add(i * 7);
    for (let i = 0; i < 100; i++) expect(bloom.mayContain(i * 7)).toBe(true);
    let falsePositives = 0;
    for (let i = 0; i < 1000; i++) if (bloom.mayContain(1_000_000 + i)) falsePositives++;
    expect(falsePositives).toBeLessThan(100);
  });

  it('prog array and map of maps take live programs and maps', () => {
    const spec = parseCollectionSpec(readFixture('maps_btf.bpf.o'));
    using c = loadCollection(spec);
    const jumps = new ProgramArray(c.maps.jumps!);
    expect(jumps.get(1)).toBe(c.programs.tail_target!.id());
    jumps.delete(1);
    expect(jumps.get(1)).toBeUndefined();
    jumps.set(2, c.programs.tail_target!);
    expect(jumps.get(2)).toBe(c.programs.tail_target!.id());
    const outer = new MapOfMaps(c.maps.outer_hash!, u32);
    expect(outer.get(0)).toBeUndefined();
    outer.set(0, c.maps.inner_a!);
    expect(outer.get(0)).toBeGreaterThan(0);
    // The program now finds outer_hash[0] and tail-calls jumps[1]... which we emptied: it passes.
    expect(c.programs.use_maps!.testRun({ data: new Uint8Array(64) }).retval).toBe(2);
  });
});

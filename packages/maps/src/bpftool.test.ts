import { execFileSync } from 'node:child_process';
import { expect, it } from 'vitest';
import { BpfMap, possibleCpus } from '@tsbpf/loader';
import { MapType } from '@tsbpf/object';
import { encode } from './codec.js';
import { struct } from './composite.js';
import { u32, u64 } from './primitives.js';
import { PerCpuMap, TypedMap } from './typed-map.js';
import { describeNeeds, hasCommand, isRoot } from '../../../test/support/env.js';

// The peer: bpftool (libbpf) dumps the same map; our batch walks and getMany must see
// exactly its entries, byte for byte once encoded back.

type Dumped = { key: string[]; value?: string[]; values?: { cpu: number; value: string[] }[] };
const hex = (bytes: Uint8Array) => [...bytes].map((b) => `0x${b.toString(16).padStart(2, '0')}`);
const dump = (name: string) => JSON.parse(execFileSync('bpftool', ['map', 'dump', 'name', name, '-j'], { encoding: 'utf8' })) as Dumped[];
const byKey = (a: { key: string[] }, b: { key: string[] }) => (a.key.join() < b.key.join() ? -1 : a.key.join() > b.key.join() ? 1 : 0);

describeNeeds([isRoot(), hasCommand('bpftool')], 'typed maps against bpftool on the same map', () => {
  const Stats = struct({ packets: u64, bytes: u64 });

  it('entries(), values() and getMany() of a hash of 3,000 see what bpftool dumps', () => {
    const name = `tsd${process.pid % 1_000_000}`;
    using raw = BpfMap.create({ type: MapType.hash, keySize: 4, valueSize: Stats.size, maxEntries: 4096, name });
    const m = new TypedMap(raw, u32, Stats);
    m.setMany(Array.from({ length: 3000 }, (_, i) => [i * 7919, { packets: BigInt(i) << 33n, bytes: BigInt(i) }] as const));
    m.delete(7919); // a hole

    const theirs = dump(name)
      .map((e) => ({ key: e.key, value: e.value! }))
      .sort(byKey);
    expect(theirs.length).toBe(2999);
    const ours = [...m.entries()].map(([k, v]) => ({ key: hex(encode(u32, k)), value: hex(encode(Stats, v)) })).sort(byKey);
    expect(ours).toEqual(theirs);
    expect([...m.values()].length).toBe(2999);

    const keys = theirs.map((e) => new DataView(new Uint8Array(e.key.map(Number)).buffer).getUint32(0, true));
    const got = m.getMany([...keys, 7919]); // a walk: more than half the capacity
    expect(got.slice(0, -1).map((v) => hex(encode(Stats, v!)))).toEqual(theirs.map((e) => e.value));
    expect(got.at(-1)).toBeUndefined();
  });

  it('a per-CPU hash: every CPU slot as bpftool dumps it', () => {
    const name = `tsp${process.pid % 1_000_000}`;
    using raw = BpfMap.create({ type: MapType.percpu_hash, keySize: 4, valueSize: 8, maxEntries: 512, name });
    const m = new PerCpuMap(raw, u32, u64);
    const cpus = possibleCpus();
    m.setMany(Array.from({ length: 300 }, (_, i) => [i, Array.from({ length: cpus }, (_, cpu) => BigInt(i * 100 + cpu))] as const));

    const theirs = dump(name)
      .map((e) => ({ key: e.key, values: e.values!.sort((a, b) => a.cpu - b.cpu).map((v) => v.value) }))
      .sort(byKey);
    expect(theirs.length).toBe(300);
    const ours = [...m.entries()].map(([k, v]) => ({ key: hex(encode(u32, k)), values: v.map((x) => hex(encode(u64, x))) })).sort(byKey);
    expect(ours).toEqual(theirs);
  });
});

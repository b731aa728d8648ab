import { createRequire } from 'node:module';
import { expect, it } from 'vitest';
import { BpfMap } from '@tsbpf/loader';
import { MapType } from '@tsbpf/object';
import { struct, u32, u64AsNumber, u8 } from './index.js';
import { encode } from './codec.js';
import { fromRefStruct, type RefStructType } from './ref-struct.js';
import { TypedMap } from './typed-map.js';
import { describeNeeds, isRoot } from '../../../test/support/env.js';

// ref-struct-di with ref-napi, as a user who already has their structs described that way.
const require = createRequire(import.meta.url);
const ref = require('ref-napi') as { types: Record<string, unknown> };
const Struct = (require('ref-struct-di') as (r: unknown) => (fields: Record<string, unknown>) => RefStructType<Flow>)(ref);
interface Flow {
  saddr: number;
  proto: number;
  bytes: number;
}
const FlowStruct = Struct({ saddr: ref.types.uint32, proto: ref.types.uint8, bytes: ref.types.uint64 });
const ours = struct({ saddr: u32, proto: u8, bytes: u64AsNumber });

it('a ref-struct-di type lays out and encodes exactly as the equivalent hand-written codec', () => {
  const codec = fromRefStruct(FlowStruct, 'struct flow');
  expect(codec.size).toBe(ours.size);
  const value = { saddr: 0x0a000001, proto: 6, bytes: 123456789 };
  expect(encode(codec, value)).toEqual(encode(ours, value));
  expect(() => fromRefStruct({} as RefStructType<Flow>)).toThrow(/not a ref-struct-di struct type/);
});

describeNeeds([isRoot()], 'ref-struct-di values through the kernel', () => {
  it('round-trips through a real hash map', () => {
    using raw = BpfMap.create({ type: MapType.hash, keySize: 4, valueSize: FlowStruct.size, maxEntries: 8 });
    const m = new TypedMap(raw, u32, fromRefStruct(FlowStruct));
    m.set(1, { saddr: 0xc0a80001, proto: 17, bytes: 42 });
    expect(m.get(1)).toEqual({ saddr: 0xc0a80001, proto: 17, bytes: 42 });
    // What the kernel holds is what our own codec reads.
    expect(new TypedMap(raw, u32, ours).get(1)).toEqual({ saddr: 0xc0a80001, proto: 17, bytes: 42 });
  });
});

/**
 * The maps package's errors: TsbpfErrors with the stable code of each kind
 * of mistake, the path of a nested member as context, and never a plain
 * TypeError or RangeError for bad input.
 */
import { describe, expect, it } from 'vitest';
import type { BpfMap } from '@tsbpf/loader';
import { TsbpfError } from '@tsbpf/object';
import { decode, encode, type Codec } from './codec.js';
import { array, enumOf, struct, structAt } from './composite.js';
import { CodecError, CodegenError, MapSchemaError } from './errors.js';
import { expectCodecSize, expectMapType } from './map-checks.js';
import { bool, bytes, cstring, ipv4, ipv6, u16, u32, u64, u64AsNumber, u8 } from './primitives.js';
import { cidrKey } from './special-maps.js';

/** The error `fn` throws. */
function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error('nothing thrown');
}

function codeOf(fn: () => unknown): string {
  const e = thrown(fn);
  expect(TsbpfError.is(e)).toBe(true);
  return (e as TsbpfError).code;
}

describe('codec errors', () => {
  it('are CodecErrors (TsbpfErrors, not TypeErrors) with a code for each kind of mistake', () => {
    const e = thrown(() => encode(u8, 256));
    expect(e).toBeInstanceOf(CodecError);
    expect(e).toBeInstanceOf(TsbpfError);
    expect(e).not.toBeInstanceOf(TypeError);
    expect(e).toMatchObject({ name: 'CodecError', code: 'CODEC_RANGE', errno: undefined });

    expect(codeOf(() => encode(u32, 1.5))).toBe('CODEC_RANGE');
    expect(codeOf(() => encode(u32, '1' as unknown as number))).toBe('CODEC_TYPE');
    expect(codeOf(() => encode(u64, 1 as unknown as bigint))).toBe('CODEC_TYPE');
    expect(codeOf(() => encode(u64, 2n ** 64n))).toBe('CODEC_RANGE');
    expect(codeOf(() => encode(u64AsNumber, 2 ** 53))).toBe('CODEC_RANGE');
    expect(codeOf(() => encode(bool, 'yes' as unknown as boolean))).toBe('CODEC_TYPE');
    expect(codeOf(() => encode(bytes(2), new Uint8Array(3)))).toBe('CODEC_RANGE');
    expect(codeOf(() => encode(bytes(2), [1] as unknown as Uint8Array))).toBe('CODEC_TYPE');
    expect(codeOf(() => encode(cstring(4), 'four'))).toBe('CODEC_RANGE');
    expect(codeOf(() => encode(array(u8, 2), [1, 2, 3]))).toBe('CODEC_RANGE');
    expect(codeOf(() => encode(ipv4, '1.2.3'))).toBe('CODEC_FORMAT');
    expect(codeOf(() => encode(ipv6, '1::2::3'))).toBe('CODEC_FORMAT');
    expect(codeOf(() => encode(cidrKey('ipv4'), '10.0.0.0/33'))).toBe('CODEC_FORMAT');
    expect(codeOf(() => encode(enumOf('enum color', u32, { RED: 0 }), 'BLUE'))).toBe('CODEC_FORMAT');
    expect(codeOf(() => encode(struct({ a: u8 }), 7 as unknown as { a: number }))).toBe('CODEC_TYPE');
    expect(codeOf(() => decode(u32, new Uint8Array(3)))).toBe('CODEC_SIZE');
  });

  it('name the member path as context, outermost first; a missing member is named by its own struct', () => {
    const Inner = struct({ port: u16 }, { name: 'struct inner' });
    const Outer = struct({ id: u32, inner: Inner }, { name: 'struct outer' });
    const e = thrown(() => encode(Outer, { id: 1, inner: { port: 70000 } })) as CodecError;
    expect(e.code).toBe('CODEC_RANGE');
    expect(e.context).toEqual(['struct outer.inner', 'struct inner.port']);
    expect(e.detail).toBe('u16: 70000 is not an integer in [0, 65535]');
    expect(e.message).toBe('struct outer.inner: struct inner.port: u16: 70000 is not an integer in [0, 65535]');

    const missing = thrown(() => encode(Outer, { id: 1 } as never)) as CodecError;
    expect(missing.code).toBe('CODEC_MEMBER');
    expect(missing.message).toBe('struct outer: missing member inner');
    const nested = thrown(() => encode(Outer, { id: 1, inner: {} } as never)) as CodecError;
    expect(nested.message).toBe('struct outer.inner: struct inner: missing member port');
  });

  it('a struct whose member lies outside it cannot be built', () => {
    expect(codeOf(() => structAt('struct s', 4, 4, [{ name: 'a', offset: 2, codec: u32 as Codec<unknown> }]))).toBe('CODEC_LAYOUT');
  });
});

describe('map schema errors', () => {
  const map = { name: 'flows', keySize: 4, valueSize: 16, type: 1, typeName: 'hash' } as BpfMap;

  it('a codec of the wrong size is MAP_SCHEMA, a class for another map type MAP_TYPE', () => {
    const size = thrown(() => expectCodecSize(map, 'value', u64 as Codec<unknown>));
    expect(size).toBeInstanceOf(MapSchemaError);
    expect(size).toMatchObject({ code: 'MAP_SCHEMA', message: "map flows: value codec u64 is 8 bytes, the map's values are 16" });
    expect(() => expectCodecSize(map, 'key', u32 as Codec<unknown>)).not.toThrow();
    expect(thrown(() => expectMapType(map, false, 'is a hash, not a prog array'))).toMatchObject({
      name: 'MapSchemaError',
      code: 'MAP_TYPE',
      message: 'map flows is a hash, not a prog array',
    });
  });

  it('CodegenError is a TsbpfError too', () => {
    expect(new CodegenError('GEN_RECORD', 'records: no map named x')).toBeInstanceOf(TsbpfError);
  });
});

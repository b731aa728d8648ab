import { readFixture } from '@tsbpf/fixtures';
import { describe, expect, it } from 'vitest';
import { parseCollectionSpec } from '../collection-spec.js';
import { LinkError } from '../errors.js';
import { encodeConstant, withLoadOverrides } from './load-overrides.js';

/** `f` throws a LinkError (the class itself: LinkError.prototype in its chain) with this code and message. */
function expectLinkError(f: () => unknown, code: string, message = /./): void {
  expect(f).toThrow(LinkError);
  expect(f).toThrow(expect.objectContaining({ code, message: expect.stringMatching(message) }));
}

describe('withLoadOverrides', () => {
  it('writes constants into .rodata copies and applies map overrides, leaving the spec untouched', () => {
    const s = parseCollectionSpec(readFixture('global_data.bpf.o'));
    const before = s.maps['.rodata']!.initialValue!.slice();
    const out = withLoadOverrides(s, { constants: { threshold: 7, custom_limit: 1234 }, mapOverrides: { '.bss': { flags: 0 } } });
    const threshold = s.maps['.rodata']!.variables.find((v) => v.name === 'threshold')!;
    expect(new DataView(out.maps['.rodata']!.initialValue!.buffer).getInt32(threshold.offset, true)).toBe(7);
    expect(new DataView(out.maps['.rodata.custom']!.initialValue!.buffer).getInt32(0, true)).toBe(1234);
    expect(out.maps['.bss']!.flags).toBe(0);
    expect(s.maps['.rodata']!.initialValue).toEqual(before);
    expect(s.maps['.bss']!.flags).not.toBe(0);
    expect(withLoadOverrides(s, {})).toBe(s);
  });

  it('answers the spec itself for no overrides: absent, empty, null or only inherited keys', () => {
    const s = parseCollectionSpec(readFixture('global_data.bpf.o'));
    const inherited = Object.create({ threshold: 7 }) as Record<string, number>;
    for (const o of [{}, { constants: {} }, { mapOverrides: {} }, { constants: undefined, mapOverrides: undefined }, { constants: inherited }]) {
      expect(withLoadOverrides(s, o)).toBe(s);
    }
    expect(withLoadOverrides(s, { constants: null as never, mapOverrides: null as never })).toBe(s);
    // Own keys count, whatever else the record is: a string's characters, as Object.entries lists them.
    expectLinkError(() => withLoadOverrides(s, { constants: 'x' as never }), 'CONSTANT_INVALID', /no const volatile global named 0/);
    expect(withLoadOverrides(s, { mapOverrides: { '.bss': {} } })).not.toBe(s);
  });

  it('refuses names the object does not have, as LinkErrors', () => {
    const s = parseCollectionSpec(readFixture('global_data.bpf.o'));
    expectLinkError(() => withLoadOverrides(s, { constants: { nope: 1 } }), 'CONSTANT_INVALID', /constants: no const volatile global named nope in .rodata/);
    expectLinkError(() => withLoadOverrides(s, { mapOverrides: { nope: { maxEntries: 1 } } }), 'MAP_OVERRIDE_INVALID', /mapOverrides: no map named nope/);
    expectLinkError(() => withLoadOverrides(s, { constants: { threshold: 2n ** 40n } }), 'CONSTANT_INVALID', /does not fit threshold \(4 bytes\)/);
  });
});

describe('encodeConstant', () => {
  it("integers signed or unsigned in the variable's size and byte order, booleans as 0/1, bytes as they are", () => {
    expect(encodeConstant('x', -2, 2, 'little')).toEqual(Uint8Array.of(0xfe, 0xff));
    expect(encodeConstant('x', 0xfffe, 2, 'little')).toEqual(Uint8Array.of(0xfe, 0xff));
    expect(encodeConstant('x', 0x0102030405060708n, 8, 'big')).toEqual(Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8));
    expect(encodeConstant('x', true, 1, 'little')).toEqual(Uint8Array.of(1));
    expect(encodeConstant('x', Uint8Array.of(9, 8, 7), 3, 'little')).toEqual(Uint8Array.of(9, 8, 7));
  });

  it('refuses what does not fit, as LinkErrors (never a RangeError)', () => {
    expectLinkError(() => encodeConstant('x', 0x10000, 2, 'little'), 'CONSTANT_INVALID', /does not fit x \(2 bytes\)/);
    expectLinkError(() => encodeConstant('x', -0x8001, 2, 'little'), 'CONSTANT_INVALID', /does not fit/);
    expectLinkError(() => encodeConstant('x', 1.5, 4, 'little'), 'CONSTANT_INVALID', /not an integer/);
    expectLinkError(() => encodeConstant('x', 1, 3, 'little'), 'CONSTANT_INVALID', /x is 3 bytes; give its bytes/);
    expectLinkError(() => encodeConstant('x', Uint8Array.of(1), 2, 'little'), 'CONSTANT_INVALID', /x is 2 bytes, got 1/);
  });
});

import { describe, expect, it } from 'vitest';
import { kconfigValue, kernelVersionCode } from './kconfig.js';

describe('kconfig values', () => {
  it('encodes each kind as libbpf does', () => {
    const layout = {
      size: 24,
      slots: [
        { name: 'CONFIG_HZ', type: 'int' as const, offset: 0, size: 8, signed: false, weak: false },
        { name: 'CONFIG_MODULES', type: 'tristate' as const, offset: 8, size: 4, signed: false, weak: false },
        { name: 'CONFIG_NET', type: 'bool' as const, offset: 12, size: 1, signed: false, weak: false },
        { name: 'CONFIG_MISSING', type: 'bool' as const, offset: 13, size: 1, signed: false, weak: true },
        { name: 'CONFIG_DEFAULT_HOSTNAME', type: 'string' as const, offset: 14, size: 8, signed: false, weak: false },
      ],
    };
    const config = new Map([
      ['CONFIG_HZ', '0x3e8'],
      ['CONFIG_MODULES', 'm'],
      ['CONFIG_NET', 'y'],
      ['CONFIG_DEFAULT_HOSTNAME', '"(none)"'],
    ]);
    const v = kconfigValue(layout, config);
    const dv = new DataView(v.buffer);
    expect(dv.getBigUint64(0, true)).toBe(1000n);
    expect(dv.getUint32(8, true)).toBe(2);
    expect(v[12]).toBe(1);
    expect(v[13]).toBe(0);
    expect(new TextDecoder().decode(v.subarray(14, 20))).toBe('(none)');
    expect(v[21]).toBe(0);
  });

  it('refuses a missing strong extern and a value that does not fit', () => {
    const slot = { name: 'CONFIG_X', type: 'int' as const, offset: 0, size: 1, signed: false, weak: false };
    expect(() => kconfigValue({ size: 1, slots: [slot] }, new Map())).toThrow(/does not say/);
    expect(() => kconfigValue({ size: 1, slots: [slot] }, new Map([['CONFIG_X', '300']]))).toThrow(/cannot store/);
  });

  it('computes LINUX_KERNEL_VERSION with the patch level capped at 255', () => {
    expect(kernelVersionCode('6.18.44-tsbpf')).toBe(0x06122c);
    expect(kernelVersionCode('5.4.300')).toBe((5 << 16) + (4 << 8) + 255);
  });
});

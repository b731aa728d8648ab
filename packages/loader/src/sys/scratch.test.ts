import { describe, expect, it } from 'vitest';
import { ProgramType, asm, encodeInstructions } from '@tsbpf/object';
import { Program } from '../program.js';
import { describeNeeds, isRoot } from '../../../../test/support/env.js';
import { MAX_VIEW_BYTES, NativeBuffer, memoryAt, view } from './ffi.js';
import { scratch } from './native-pools.js';

describe('native memory too large to view', () => {
  it('is a typed error before koffi is asked (past its limit koffi.view aborts the process)', () => {
    expect(MAX_VIEW_BYTES).toBeGreaterThanOrEqual(2 ** 32);
    expect(() => new NativeBuffer(MAX_VIEW_BYTES + 8)).toThrow(/cannot be viewed from JavaScript/);
    expect(() => view(null, MAX_VIEW_BYTES + 4096)).toThrow(expect.objectContaining({ code: 'VIEW_TOO_LARGE' }));
  });
});

describe('NativeBuffer addresses', () => {
  it('addressNumber (what bpf() passes) names the same memory as address, and is 0 once freed', () => {
    const b = NativeBuffer.from(new Uint8Array([5, 6, 7]));
    try {
      expect(b.addressNumber).toBeGreaterThan(0);
      expect(BigInt(b.addressNumber)).toBe(b.address);
      expect([...memoryAt(BigInt(b.addressNumber), 3)]).toEqual([5, 6, 7]);
    } finally {
      b.free();
    }
    expect(b.addressNumber).toBe(0);
  });
});

describe('the scratch arena', () => {
  it('keeps what an outer scope took valid while an inner one outgrows the block', () => {
    const outer = scratch.begin();
    try {
      const a = scratch.copy(new Uint8Array([1, 2, 3]));
      const inner = scratch.begin();
      try {
        const big = scratch.alloc(1 << 20); // more than the 64 KiB block: moves to a new one
        big.bytes.fill(0xee);
        expect(big.address).not.toBe(a.address);
        const b = scratch.copy(new Uint8Array([9]));
        expect(b.address >= big.address + BigInt(big.size)).toBe(true);
      } finally {
        scratch.end(inner);
      }
      expect([...a.bytes]).toEqual([1, 2, 3]); // the retired block lives until the outer scope ends
      const c = scratch.string('abc');
      expect([...c.bytes]).toEqual([97, 98, 99, 0]);
      expect(Number(c.address) % 8).toBe(0);
    } finally {
      scratch.end(outer);
    }
  });

  it('writes strings (ASCII directly, anything else as UTF-8), copies and zeroed pieces at their addresses', () => {
    const mark = scratch.begin();
    try {
      const junk = scratch.alloc(64);
      junk.bytes.fill(0xff);
      scratch.end(mark);
      scratch.begin();
      for (const s of ['GPL', 'Dual BSD/GPL', 'licencé ✓', '']) {
        const m = scratch.string(s);
        expect([...m.bytes]).toEqual([...new TextEncoder().encode(s), 0]);
        expect(m.addressNumber).toBe(Number(m.address));
        expect([...memoryAt(m.address, m.size)]).toEqual([...m.bytes]);
      }
      const z = scratch.zeroed(24);
      expect([...memoryAt(BigInt(z.addressNumber), 24)]).toEqual(new Array(24).fill(0));
      const c = scratch.copy(new Uint8Array([4, 5]), 3);
      expect([...memoryAt(c.address, 5)]).toEqual([4, 5, 0, 0, 0]);
    } finally {
      scratch.end(mark);
    }
  });

  it('refuses allocation outside a scope and unbalanced ends', () => {
    expect(() => scratch.alloc(8)).toThrow(expect.objectContaining({ code: 'INTERNAL', message: expect.stringMatching(/outside begin/) }));
    expect(() => scratch.end(0)).toThrow(expect.objectContaining({ code: 'INTERNAL', message: expect.stringMatching(/without begin/) }));
  });
});

describeNeeds([isRoot()], 'the scratch arena under a real load', () => {
  it('loads a program larger than the arena (80 KiB of instructions) and then a small one', () => {
    const body = Array.from({ length: 10_000 }, (_, i) => asm.mov64Imm(0, i & 0xff));
    using big = Program.load({
      type: ProgramType.xdp,
      name: 'big',
      license: 'GPL',
      instructions: encodeInstructions([...body, asm.mov64Imm(0, 2), asm.exit()], 'little'),
    });
    expect(big.testRun({ data: new Uint8Array(64) }).retval).toBe(2);
    using small = Program.load({
      type: ProgramType.xdp,
      name: 'small',
      license: 'GPL',
      instructions: encodeInstructions([asm.mov64Imm(0, 1), asm.exit()], 'little'),
    });
    expect(small.testRun({ data: new Uint8Array(64) }).retval).toBe(1);
  });
});

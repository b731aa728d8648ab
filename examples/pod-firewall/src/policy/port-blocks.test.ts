import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { inBlock, portBlocks } from './port-blocks.js';

describe('port ranges as aligned blocks', () => {
  it('covers a range exactly, with blocks aligned to their size, in O(log range) of them', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 65535 }), fc.integer({ min: 0, max: 65535 }), (a, b) => {
        const [first, last] = a <= b ? [a, b] : [b, a];
        const blocks = portBlocks(first, last);
        expect(blocks.length).toBeLessThanOrEqual(30);
        let next = first;
        for (const blk of blocks) {
          const size = 2 ** (16 - blk.bits);
          expect(blk.port).toBe(next); // contiguous, no overlap, in order
          expect(blk.port % size).toBe(0); // aligned
          next += size;
        }
        expect(next).toBe(last + 1);
        for (const port of [first, last, first - 1, last + 1, (first + last) >> 1]) {
          if (port < 0 || port > 65535) continue;
          expect(blocks.some((blk) => inBlock(blk, port))).toBe(port >= first && port <= last);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('gives the known splits', () => {
    expect(portBlocks(80, 80)).toEqual([{ port: 80, bits: 16 }]);
    expect(portBlocks(0, 65535)).toEqual([{ port: 0, bits: 0 }]);
    expect(portBlocks(1, 65535)).toHaveLength(16);
    expect(portBlocks(81, 65535).map((b) => b.port)).toEqual([81, 82, 84, 88, 96, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768]);
    expect(portBlocks(1024, 2047)).toEqual([{ port: 1024, bits: 6 }]);
    expect(() => portBlocks(5, 4)).toThrow(expect.objectContaining({ name: 'PolicyError', code: 'POLICY_INVALID' }));
  });
});

/**
 * Batch walks and map lifecycles above a fake bpf() door (no root): how a
 * BatchCursor ends, shares and gives back its buffers. The same walks
 * against the kernel are in map.test.ts and @tsbpf/maps' typed-map tests.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { MapType } from '@tsbpf/object';
import { BpfMap } from './map.js';
import { SyscallError } from './sys/errors.js';
import { FakeKernel } from './testing/fake-kernel.js';

const u32 = (n: number) => new Uint8Array(new Uint32Array([n]).buffer);
const keysOf = (view: DataView, count: number) => Array.from({ length: count }, (_, i) => view.getUint32(i * 4, true));

const kernel = new FakeKernel();
beforeEach(() => kernel.reset().install());

/** A hash map holding keys 0..n-1, each with value key * 10. */
function filled(n: number, name = 'walked'): BpfMap {
  const m = BpfMap.create({ type: MapType.hash, keySize: 4, valueSize: 4, maxEntries: 64, name });
  for (let i = 0; i < n; i++) m.update(u32(i), u32(i * 10));
  return m;
}

describe('BatchCursor over a fake map', () => {
  it('walks every entry a batch at a time; the kernel saying ENOENT ends the walk after its last batch', () => {
    using m = filled(10);
    const cursor = m.batchCursor(3);
    const batches: number[][] = [];
    for (let n = cursor.next(); n > 0; n = cursor.next()) {
      const keys = keysOf(cursor.keys, n);
      expect(keysOf(cursor.values, n)).toEqual(keys.map((k) => k * 10));
      batches.push(keys);
    }
    expect(batches).toEqual([[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]);
    expect(cursor.next()).toBe(0); // over, and stays over
    expect(kernel.commands().filter((c) => c === 'MAP_LOOKUP_BATCH')).toHaveLength(4);
  });

  it('an empty map: ENOENT with no entries at once, and the cursor gives its buffers back', () => {
    using m = filled(0);
    const first = m.batchCursor(4);
    expect(first.next()).toBe(0);
    // Released: the next walk gets the map's own buffers again.
    expect(m.batchCursor(4).keys.buffer).toBe(first.keys.buffer);
  });

  it("a second walk while the first holds the map's buffers gets its own; release() lends the map's out again", () => {
    using m = filled(5);
    const a = m.batchCursor(4);
    const b = m.batchCursor(4);
    expect(b.keys.buffer).not.toBe(a.keys.buffer);
    expect(a.next()).toBe(4);
    expect(b.next()).toBe(4); // independent walks
    expect(keysOf(a.keys, 4)).toEqual([0, 1, 2, 3]);
    a.release();
    b.release();
    expect(m.batchCursor(4).keys.buffer).toBe(a.keys.buffer);
  });

  it("a larger batch than the map's buffers hold gets larger buffers, which become the map's", () => {
    using m = filled(5);
    const small = m.batchCursor(2);
    small.release();
    const big = m.batchCursor(8);
    expect(big.keys.buffer).not.toBe(small.keys.buffer);
    expect(big.next()).toBe(5);
    expect(big.next()).toBe(0); // the end of the walk releases it
    expect(m.batchCursor(8).keys.buffer).toBe(big.keys.buffer);
  });

  it('a failing batch call is thrown and releases the cursor', () => {
    using m = filled(10);
    const cursor = m.batchCursor(3);
    expect(cursor.next()).toBe(3);
    kernel.answer = (cmd) => (cmd === 'MAP_LOOKUP_BATCH' ? -22 : undefined);
    expect(() => cursor.next()).toThrow(
      expect.objectContaining({ name: 'SyscallError', syscall: 'BPF_MAP_LOOKUP_BATCH', errnoName: 'EINVAL', context: ['map walked'] }),
    );
    kernel.answer = undefined;
    expect(cursor.next()).toBe(0);
    expect(m.batchCursor(3).keys.buffer).toBe(cursor.keys.buffer);
  });

  it('a map closed under a walk: check() throws CLOSED and releases the walk', () => {
    const m = filled(10);
    const cursor = m.batchCursor(3);
    expect(cursor.next()).toBe(3);
    cursor.check();
    m.close();
    expect(() => cursor.check()).toThrow(expect.objectContaining({ code: 'CLOSED', message: 'map walked: closed during iteration' }));
    expect(cursor.next()).toBe(0);
    expect(() => m.batchCursor()).toThrow(expect.objectContaining({ code: 'CLOSED' }));
  });

  it('lookupBatches: leaving the loop early gives the cursor back', () => {
    using m = filled(10);
    let first: Uint8Array | undefined;
    for (const chunk of m.lookupBatches(4)) {
      first = chunk.keys;
      break;
    }
    expect([...new Uint32Array(first!.buffer)]).toEqual([0, 1, 2, 3]);
    const again = m.batchCursor(4);
    expect(again.next()).toBe(4); // a fresh walk from the start, on the map's buffers
    expect(keysOf(again.keys, 4)).toEqual([0, 1, 2, 3]);
  });
});

describe('BpfMap lifecycles over a fake map', () => {
  it('keys(): GET_NEXT_KEY from NULL, then from each key, until ENOENT', () => {
    using m = filled(3);
    expect([...m.keys()].map((k) => new DataView(k.buffer).getUint32(0, true))).toEqual([0, 1, 2]);
    expect(kernel.commands().filter((c) => c === 'MAP_GET_NEXT_KEY')).toHaveLength(4);
  });

  it('close() closes the fd once, through the door; afterwards every use is refused (CLOSED)', () => {
    const m = filled(1, 'gone');
    const fd = m.fd;
    m.close();
    m.close();
    expect(kernel.closed).toEqual([fd]);
    expect(m.isOpen).toBe(false);
    for (const use of [() => m.fd, () => m.lookup(u32(0)), () => m.update(u32(0), u32(1)), () => m.keys().next()]) {
      expect(use).toThrow(expect.objectContaining({ name: 'LoaderError', code: 'CLOSED', message: 'map gone: closed' }));
    }
  });

  it('fromPin reads the definition and name from bpf_map_info, and closes the fd when that fails', () => {
    const original = filled(0, 'pinned');
    const fd = original.fd;
    kernel.answer = (cmd) => (cmd === 'OBJ_GET' ? fd : undefined);
    using again = BpfMap.fromPin('/sys/fs/bpf/pinned');
    expect({ type: again.type, keySize: again.keySize, valueSize: again.valueSize, maxEntries: again.maxEntries, name: again.name }).toEqual({
      type: MapType.hash,
      keySize: 4,
      valueSize: 4,
      maxEntries: 64,
      name: 'pinned',
    });
    kernel.answer = (cmd) => (cmd === 'OBJ_GET' ? 4242 : cmd === 'OBJ_GET_INFO_BY_FD' ? -9 : undefined);
    expect(() => BpfMap.fromPin('/sys/fs/bpf/broken')).toThrow(SyscallError);
    expect(kernel.closed).toContain(4242);
  });

  it('keys and values of the wrong size are refused before any bpf() (INVALID_ARGUMENT)', () => {
    using m = filled(0, 'sized');
    const before = kernel.calls.length;
    expect(() => m.update(u32(1), new Uint8Array(3))).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT', message: 'map sized: value is 3 bytes, want 4' }),
    );
    expect(() => m.lookup(new Uint8Array(2))).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT', message: 'map sized: key is 2 bytes, want 4' }));
    expect(() => m.updateBatch(new Uint8Array(8), new Uint8Array(4))).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(kernel.calls.length).toBe(before);
  });
});

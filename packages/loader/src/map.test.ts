import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { afterAll, expect, it } from 'vitest';
import { MapFlags, MapType } from '@tsbpf/object';
import { BpfMap, UpdateFlags, possibleCpus } from './map.js';
import { SyscallError } from './sys/errors.js';
import { describeNeeds, hasFile, isRoot } from '../../../test/support/env.js';

const u32 = (n: number) => new Uint8Array(new Uint32Array([n]).buffer);
const u64 = (n: bigint) => new Uint8Array(new BigUint64Array([n]).buffer);
const readU64 = (b: Uint8Array, at = 0) => new DataView(b.buffer, b.byteOffset).getBigUint64(at, true);
const pinDir = `/sys/fs/bpf/tsbpf-test-${process.pid}`;
afterAll(() => rmSync(pinDir, { recursive: true, force: true }));

describeNeeds([isRoot()], 'BpfMap against the kernel', () => {
  it('hash: update, lookup, delete, iterate', () => {
    using m = BpfMap.create({ type: MapType.hash, keySize: 4, valueSize: 8, maxEntries: 64, name: 'counts' });
    expect(m.typeName).toBe('hash');
    for (let i = 0; i < 10; i++) m.update(u32(i), u64(BigInt(i * 100)));
    expect(readU64(m.lookup(u32(7))!)).toBe(700n);
    expect(m.lookup(u32(99))).toBeUndefined();
    expect(m.delete(u32(7))).toBe(true);
    expect(m.delete(u32(7))).toBe(false);
    const keys = [...m.keys()].map((k) => new DataView(k.buffer).getUint32(0, true)).sort((a, b) => a - b);
    expect(keys).toEqual([0, 1, 2, 3, 4, 5, 6, 8, 9]);
  });

  it('deleting from an array says arrays cannot delete, not "an older kernel?"', () => {
    using m = BpfMap.create({ type: MapType.array, keySize: 4, valueSize: 8, maxEntries: 4, name: 'slots' });
    let err: unknown;
    try {
      m.delete(u32(1));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SyscallError);
    expect(err).toMatchObject({ code: 'SYSCALL_FAILED', errno: 22, errnoName: 'EINVAL', hint: 'array elements cannot be deleted; write a zero value instead' });
    expect((err as Error).message).toBe('map slots: BPF_MAP_DELETE_ELEM: EINVAL (array elements cannot be deleted; write a zero value instead)');
  });

  it('errors name the map and say what the errno means for the command', () => {
    using m = BpfMap.create({ type: MapType.hash, keySize: 4, valueSize: 8, maxEntries: 2, name: 'tiny' });
    m.update(u32(1), u64(1n));
    m.update(u32(2), u64(2n));
    expect(() => m.update(u32(3), u64(3n))).toThrow('map tiny: BPF_MAP_UPDATE_ELEM: E2BIG (the map is full (max_entries))');
    expect(() => m.updateBatch(u32(4), u64(4n))).toThrow(/^map tiny: BPF_MAP_UPDATE_BATCH: E2BIG \(the map is full/);
    m.freeze();
    expect(() => m.update(u32(1), u64(9n))).toThrow(
      'map tiny: BPF_MAP_UPDATE_ELEM: EPERM (the map is read-only for user space (frozen, or created with BPF_F_RDONLY))',
    );
    mkdirSync(pinDir, { recursive: true });
    m.pin(`${pinDir}/tiny`);
    expect(() => m.pin(`${pinDir}/tiny`)).toThrow(/BPF_OBJ_PIN: EEXIST \(something is already pinned at that path\)/);
    rmSync(`${pinDir}/tiny`);
  });

  it('mappedValues: an mmapable array shares its memory with us; a frozen one maps read-only; close() unmaps', () => {
    const m = BpfMap.create({ type: MapType.array, keySize: 4, valueSize: 12, maxEntries: 3, flags: MapFlags.MMAPABLE, name: 'globals' });
    try {
      const v = m.mappedValues();
      expect(v.byteLength).toBe(3 * 16); // values 8-aligned
      expect(m.mappedValues()).toBe(v); // mapped once
      v.setUint32(16, 0xabcd, true); // element 1, written in place
      expect(new DataView(m.lookup(u32(1))!.buffer).getUint32(0, true)).toBe(0xabcd);
      m.update(u32(2), new Uint8Array(12).fill(7)); // and the other way round
      expect(v.getUint8(32)).toBe(7);
      expect(m.mappedWritable).toBe(true);
    } finally {
      m.close();
    }
    expect(() => m.mappedValues()).toThrow(expect.objectContaining({ code: 'CLOSED' }));

    using frozen = BpfMap.create({ type: MapType.array, keySize: 4, valueSize: 4, maxEntries: 1, flags: MapFlags.MMAPABLE, name: 'ro' });
    frozen.update(u32(0), u32(42));
    frozen.freeze();
    expect(frozen.mappedWritable).toBe(false);
    expect(frozen.mappedValues().getUint32(0, true)).toBe(42);

    using plain = BpfMap.create({ type: MapType.array, keySize: 4, valueSize: 4, maxEntries: 1 });
    expect(() => plain.mappedValues()).toThrow(expect.objectContaining({ code: 'MAP_TYPE' }));
  });

  it('batch update, lookup in chunks, and delete', () => {
    using m = BpfMap.create({ type: MapType.hash, keySize: 4, valueSize: 8, maxEntries: 4096, name: 'batch' });
    const n = 1000;
    const keys = new Uint8Array(new Uint32Array(Array.from({ length: n }, (_, i) => i * 3)).buffer);
    const values = new Uint8Array(new BigUint64Array(Array.from({ length: n }, (_, i) => BigInt(i) * 10n)).buffer);
    expect(m.updateBatch(keys, values)).toBe(n);
    const seen = new Map<number, bigint>();
    let chunks = 0;
    for (const chunk of m.lookupBatches(128)) {
      chunks++;
      const kv = new DataView(chunk.keys.buffer);
      const vv = new DataView(chunk.values.buffer);
      for (let i = 0; i < chunk.count; i++) seen.set(kv.getUint32(i * 4, true), vv.getBigUint64(i * 8, true));
    }
    expect(seen.size).toBe(n);
    expect(chunks).toBeGreaterThanOrEqual(8);
    expect(seen.get(999 * 3)).toBe(9990n);
    expect(m.deleteBatch(keys.subarray(0, 400))).toBe(100);
    expect([...m.keys()].length).toBe(n - 100);
  });

  it('update flags and errors carry errno, code and a hint', () => {
    using m = BpfMap.create({ type: MapType.hash, keySize: 4, valueSize: 8, maxEntries: 1 });
    m.update(u32(1), u64(1n), UpdateFlags.noexist);
    const exists = (() => {
      try {
        m.update(u32(1), u64(2n), UpdateFlags.noexist);
      } catch (e) {
        return e;
      }
    })() as SyscallError;
    expect(exists).toBeInstanceOf(SyscallError);
    expect(exists.code).toBe('SYSCALL_FAILED');
    expect(exists.errnoName).toBe('EEXIST');
    expect(exists.errno).toBe(17);
    expect(exists.syscall).toBe('BPF_MAP_UPDATE_ELEM');
    expect(() => m.update(u32(2), u64(2n))).toThrow(/E2BIG|ENOSPC/);
    expect(() => m.update(u32(1), new Uint8Array(3))).toThrow(expect.objectContaining({ name: 'LoaderError', code: 'INVALID_ARGUMENT' }));
  });

  it('frozen maps refuse writes from user space', () => {
    using m = BpfMap.create({ type: MapType.array, keySize: 4, valueSize: 4, maxEntries: 2, flags: MapFlags.RDONLY_PROG });
    m.update(u32(0), u32(5));
    m.freeze();
    expect(() => m.update(u32(0), u32(6))).toThrow(expect.objectContaining({ errnoName: 'EPERM' }));
    expect(m.lookup(u32(0))).toEqual(u32(5));
  });

  it('per-CPU values have one slot per possible CPU', () => {
    using m = BpfMap.create({ type: MapType.percpu_array, keySize: 4, valueSize: 4, maxEntries: 1 });
    expect(m.valueBufferSize).toBe(8 * possibleCpus());
    const value = new Uint8Array(m.valueBufferSize).fill(1);
    m.update(u32(0), value);
    expect(m.lookup(u32(0))).toEqual(value);
  });

  it('keys and values copy every byte, by loop (up to 32 bytes) and by TypedArray.set (longer)', () => {
    for (const size of [5, 32, 33, 40]) {
      using m = BpfMap.create({ type: MapType.hash, keySize: size, valueSize: size, maxEntries: 4 });
      const key = Uint8Array.from({ length: size }, (_, i) => i + 1);
      const value = Uint8Array.from({ length: size }, (_, i) => 200 - i);
      m.update(key, value);
      expect(m.lookup(key)).toEqual(value);
      const out = new Uint8Array(size);
      expect(m.lookupInto(key, out)).toBe(true);
      expect(out).toEqual(value);
      expect(m.lookup(key.map((b, i) => (i === size - 1 ? b + 1 : b)))).toBeUndefined(); // the last key byte counts
    }
  });

  it('creating with a bad definition names the map', () => {
    expect(() => BpfMap.create({ type: MapType.hash, keySize: 0, valueSize: 8, maxEntries: 1, name: 'broken' })).toThrow(/map broken: BPF_MAP_CREATE: EINVAL/);
  });

  it('does not leak fds over 1,000 create/close cycles', () => {
    const count = () => readdirSync('/proc/self/fd').length;
    BpfMap.create({ type: MapType.array, keySize: 4, valueSize: 4, maxEntries: 1 }).close();
    const before = count();
    for (let i = 0; i < 1000; i++) {
      using m = BpfMap.create({ type: MapType.array, keySize: 4, valueSize: 4, maxEntries: 1 });
      m.update(u32(0), u32(i));
    }
    expect(count()).toBe(before);
  });
});

describeNeeds([isRoot(), hasFile('/sys/fs/bpf')], 'pinning maps', () => {
  it('pins, reopens by path with the same definition and contents, and unpins', () => {
    mkdirSync(pinDir, { recursive: true });
    const path = `${pinDir}/pinned_map`;
    {
      using m = BpfMap.create({ type: MapType.hash, keySize: 4, valueSize: 8, maxEntries: 8, name: 'pinned_map' });
      m.update(u32(3), u64(33n));
      m.pin(path);
    }
    expect(existsSync(path)).toBe(true);
    using again = BpfMap.fromPin(path);
    expect({ type: again.type, keySize: again.keySize, valueSize: again.valueSize, maxEntries: again.maxEntries, name: again.name }).toEqual({
      type: MapType.hash,
      keySize: 4,
      valueSize: 8,
      maxEntries: 8,
      name: 'pinned_map',
    });
    expect(readU64(again.lookup(u32(3))!)).toBe(33n);
    rmSync(path);
    expect(existsSync(path)).toBe(false);
  });
});

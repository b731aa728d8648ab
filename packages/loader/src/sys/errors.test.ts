/**
 * errno → SyscallError, through a fake bpf() door: no root, no kernel. The
 * same mapping against the real kernel is in map.test.ts and link.test.ts.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { MapType, TsbpfError } from '@tsbpf/object';
import { BpfMap } from '../map.js';
import { FakeKernel } from '../testing/fake-kernel.js';
import { SyscallError, errnoName } from './errors.js';
import { attrSize } from './layouts.generated.js';

const u32 = (n: number) => new Uint8Array(new Uint32Array([n]).buffer);
const caught = (fn: () => unknown): SyscallError => {
  try {
    fn();
  } catch (e) {
    return e as SyscallError;
  }
  throw new Error('did not throw');
};
const root = typeof process.getuid === 'function' && process.getuid() === 0;

const kernel = new FakeKernel();
beforeEach(() => kernel.reset().install());

const hash = (name = 'counters', maxEntries = 8) => BpfMap.create({ type: MapType.hash, keySize: 4, valueSize: 4, maxEntries, name });

describe('a failed bpf() command becomes a SyscallError', () => {
  it('with a stable code, the errno and its name, the command, the context and a hint', () => {
    kernel.answer = (cmd) => (cmd === 'MAP_CREATE' ? -1 : undefined);
    const e = caught(() => hash());
    expect(e).toBeInstanceOf(SyscallError);
    expect(TsbpfError.is(e)).toBe(true);
    expect(e).toMatchObject({
      name: 'SyscallError',
      code: 'SYSCALL_FAILED',
      errno: 1,
      errnoName: 'EPERM',
      syscall: 'BPF_MAP_CREATE',
      context: ['map counters'],
    });
    // As root, EPERM is the kernel forbidding it; otherwise it is about privileges.
    expect(e.hint).toMatch(root ? /^refused although running as root/ : /^needs root, or CAP_BPF/);
    expect(e.message).toBe(`map counters: BPF_MAP_CREATE: EPERM (${e.hint})`);
    expect(e.detail).toBe(`BPF_MAP_CREATE: EPERM (${e.hint})`);
  });

  it('says what the errno means for the command where it means something specific', () => {
    const m = hash('tiny', 1);
    m.update(u32(1), u32(1));
    expect(caught(() => m.update(u32(2), u32(2)))).toMatchObject({ errnoName: 'E2BIG', hint: 'the map is full (max_entries)' });
    kernel.answer = (cmd) => (cmd === 'MAP_LOOKUP_BATCH' ? -524 : cmd === 'OBJ_PIN' ? -17 : cmd === 'OBJ_GET' ? -2 : undefined);
    expect(caught(() => m.batchCursor().next())).toMatchObject({ errno: 524, errnoName: 'ENOTSUPP', hint: 'this map type has no batch operations' });
    expect(caught(() => m.pin('/sys/fs/bpf/x'))).toMatchObject({
      syscall: 'BPF_OBJ_PIN',
      errnoName: 'EEXIST',
      hint: 'something is already pinned at that path',
      context: ['/sys/fs/bpf/x'],
    });
    expect(caught(() => BpfMap.fromPin('/sys/fs/bpf/none'))).toMatchObject({ errnoName: 'ENOENT', hint: 'nothing is pinned at that path' });
    kernel.answer = undefined;
    m.freeze();
    expect(caught(() => m.update(u32(1), u32(2))).hint).toBe('the map is read-only for user space (frozen, or created with BPF_F_RDONLY)');
    m.close();
  });

  it('an array refusing a delete says arrays never delete, not "an older kernel?"', () => {
    using m = BpfMap.create({ type: MapType.array, keySize: 4, valueSize: 4, maxEntries: 2, name: 'slots' });
    const e = caught(() => m.delete(u32(0)));
    expect(e).toMatchObject({ code: 'SYSCALL_FAILED', errnoName: 'EINVAL', hint: 'array elements cannot be deleted; write a zero value instead' });
    expect(e.message).toBe('map slots: BPF_MAP_DELETE_ELEM: EINVAL (array elements cannot be deleted; write a zero value instead)');
  });

  it('falls back to the generic hint, and names errnos libc does not know', () => {
    using m = hash();
    kernel.answer = (cmd) => (cmd === 'MAP_LOOKUP_ELEM' ? -9 : cmd === 'MAP_UPDATE_ELEM' ? -999 : undefined);
    expect(caught(() => m.lookup(u32(1)))).toMatchObject({ errnoName: 'EBADF', hint: 'not an open BPF file descriptor' });
    const odd = caught(() => m.update(u32(1), u32(1)));
    expect(odd).toMatchObject({ errno: 999, errnoName: 'E999', hint: undefined });
    expect(odd.message).toBe('map counters: BPF_MAP_UPDATE_ELEM: E999');
    // The kernel's names where libc has two, and its own ENOTSUPP.
    expect([errnoName(11), errnoName(95), errnoName(524)]).toEqual(['EAGAIN', 'EOPNOTSUPP', 'ENOTSUPP']);
  });

  it('a lookup of an absent key is not an error (ENOENT), and each command passes the size libbpf passes', () => {
    using m = hash();
    expect(m.lookup(u32(3))).toBeUndefined();
    m.update(u32(3), u32(30));
    expect(m.lookup(u32(3))).toEqual(u32(30));
    expect(m.delete(u32(3))).toBe(true);
    expect(m.delete(u32(3))).toBe(false);
    for (const { cmd, size } of kernel.calls) expect(size, cmd).toBe(attrSize[cmd]);
    expect(kernel.commands()).toEqual(['MAP_CREATE', 'MAP_LOOKUP_ELEM', 'MAP_UPDATE_ELEM', 'MAP_LOOKUP_ELEM', 'MAP_DELETE_ELEM', 'MAP_DELETE_ELEM']);
  });
});

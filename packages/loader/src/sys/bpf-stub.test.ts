// The hot path's bpf() stubs (bpf-stub-code.ts, ffi.bpfHot): their bytes
// read back by a disassembler we did not write (binutils' objdump), and every
// answer they give the kernel's element commands compared with the same
// command made through syscall(2) (ffi.bpf), on real maps: results, errnos
// and what the maps hold after. And with TSBPF_BPF_STUBS=0 (a child) the hot
// path is syscall(2) and still works.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleSourcesChild } from '../../../../test/support/bundle-child.js';
import { describeNeeds, hasCommand, isRoot } from '../../../../test/support/env.js';
import { BpfMap } from '../map.js';
import { STUB_ARCH, bpfStubCode } from './bpf-stub-code.js';
import { NativeBuffer, bpf, bpfHot, bpfHotPath } from './ffi.js';
import { setField } from './fields.js';
import { attrSize, bpfCmd, mapElemAttr as E } from './layouts.generated.js';

describe('bpfStubCode', () => {
  it('has a stub for x86-64 only, and refuses what is not a u32', () => {
    expect(bpfStubCode('arm64', 280, 1, 32)).toBeUndefined();
    expect(bpfStubCode('ia32', 357, 1, 32)).toBeUndefined();
    expect(bpfStubCode('x64', 321, 1, 32)).toBeInstanceOf(Uint8Array);
    for (const bad of [-1, 2 ** 32, 1.5, Number.NaN]) {
      expect(() => bpfStubCode('x64', 321, bad, 32)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
      expect(() => bpfStubCode('x64', bad, 1, 32)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
      expect(() => bpfStubCode('x64', 321, 1, bad)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    }
  });
});

describeNeeds([hasCommand('objdump')], 'the stub read back by objdump', () => {
  let dir = '';
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'tsbpf-stub-'));
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it.each([
    [1, 32],
    [0x12345678, 0x9abc],
  ])('is mov rsi,rdi; mov edi,cmd; mov edx,size; mov eax,nr; syscall; ret (cmd %i, size %i)', (cmd, size) => {
    const file = join(dir, `stub-${cmd}.bin`);
    writeFileSync(file, bpfStubCode('x64', 321, cmd, size)!);
    const r = spawnSync('objdump', ['-D', '-b', 'binary', '-m', 'i386:x86-64', '-M', 'intel', file], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    // Each instruction line: "   0:\t48 89 fe             \tmov    rsi,rdi"
    const ins = r.stdout
      .split('\n')
      .filter((l) => /^\s+[0-9a-f]+:\t/.test(l))
      .map((l) => l.split('\t')[2]!.trim().replace(/\s+/g, ' '));
    expect(ins).toEqual([
      'mov rsi,rdi',
      `mov edi,0x${cmd.toString(16)}`,
      `mov edx,0x${size.toString(16)}`,
      'mov eax,0x141', // SYS_bpf on x86-64: 321
      'syscall',
      'ret',
    ]);
  });
});

/** An element command's attr for the map `fd`, with the given key, value/next-key pointers and flags. */
function elemAttr(fd: number, key: NativeBuffer | null, value: NativeBuffer | null, flags = 0, size: number = attrSize.MAP_LOOKUP_ELEM): NativeBuffer {
  const a = new NativeBuffer(size);
  setField(a.view, E.map_fd, fd);
  setField(a.view, E.key, key ? key.address : 0n);
  setField(a.view, E.value, value ? value.address : 0n);
  setField(a.view, E.flags, BigInt(flags));
  return a;
}

describeNeeds([isRoot()], 'the hot path against syscall(2), on real maps', () => {
  it(`takes the stubs on ${STUB_ARCH} (unless TSBPF_BPF_STUBS=0), syscall(2) elsewhere`, () => {
    const want = process.arch === STUB_ARCH && process.env.TSBPF_BPF_STUBS !== '0' ? 'stub' : 'syscall';
    expect(bpfHotPath()).toBe(want);
  });

  it('answers every element command, found or not, as syscall(2) does, and leaves the maps alike', () => {
    // Two maps made alike; each step made on one through bpfHot and on the other through ffi.bpf.
    const maps = [0, 1].map((i) => BpfMap.create({ type: 1, keySize: 4, valueSize: 8, maxEntries: 4, name: `stub_${i}` }));
    const buffers: NativeBuffer[] = [];
    const buf = (size: number) => {
      const b = new NativeBuffer(size);
      buffers.push(b);
      return b;
    };
    try {
      const sides = maps.map((m) => ({ key: buf(4), value: buf(8), next: buf(4), fd: m.fd }));
      const steps: Array<{ name: string; cmd: number; size: number; attr: (s: (typeof sides)[0]) => NativeBuffer; key?: number; value?: number }> = [
        { name: 'update 1', cmd: bpfCmd.MAP_UPDATE_ELEM, size: attrSize.MAP_UPDATE_ELEM, key: 1, value: 0x1111, attr: (s) => elemAttr(s.fd, s.key, s.value) },
        {
          name: 'update 1 NOEXIST',
          cmd: bpfCmd.MAP_UPDATE_ELEM,
          size: attrSize.MAP_UPDATE_ELEM,
          key: 1,
          value: 7,
          attr: (s) => elemAttr(s.fd, s.key, s.value, 1),
        },
        {
          name: 'update 2 EXIST',
          cmd: bpfCmd.MAP_UPDATE_ELEM,
          size: attrSize.MAP_UPDATE_ELEM,
          key: 2,
          value: 7,
          attr: (s) => elemAttr(s.fd, s.key, s.value, 2),
        },
        {
          name: 'update, bad flags',
          cmd: bpfCmd.MAP_UPDATE_ELEM,
          size: attrSize.MAP_UPDATE_ELEM,
          key: 2,
          value: 7,
          attr: (s) => elemAttr(s.fd, s.key, s.value, 0x40),
        },
        { name: 'update 2', cmd: bpfCmd.MAP_UPDATE_ELEM, size: attrSize.MAP_UPDATE_ELEM, key: 2, value: 0x2222, attr: (s) => elemAttr(s.fd, s.key, s.value) },
        { name: 'lookup 1', cmd: bpfCmd.MAP_LOOKUP_ELEM, size: attrSize.MAP_LOOKUP_ELEM, key: 1, attr: (s) => elemAttr(s.fd, s.key, s.value) },
        { name: 'lookup 9', cmd: bpfCmd.MAP_LOOKUP_ELEM, size: attrSize.MAP_LOOKUP_ELEM, key: 9, attr: (s) => elemAttr(s.fd, s.key, s.value) },
        { name: 'lookup, NULL value', cmd: bpfCmd.MAP_LOOKUP_ELEM, size: attrSize.MAP_LOOKUP_ELEM, key: 1, attr: (s) => elemAttr(s.fd, s.key, null) },
        { name: 'delete 9', cmd: bpfCmd.MAP_DELETE_ELEM, size: attrSize.MAP_DELETE_ELEM, key: 9, attr: (s) => elemAttr(s.fd, s.key, null) },
        { name: 'delete 1', cmd: bpfCmd.MAP_DELETE_ELEM, size: attrSize.MAP_DELETE_ELEM, key: 1, attr: (s) => elemAttr(s.fd, s.key, null) },
        // After the deletes, one key is left: the order of a hash map's keys depends on its own hash seed, so the two maps agree only then.
        { name: 'first key', cmd: bpfCmd.MAP_GET_NEXT_KEY, size: attrSize.MAP_GET_NEXT_KEY, attr: (s) => elemAttr(s.fd, null, s.next) },
        { name: 'key after 2 (the last)', cmd: bpfCmd.MAP_GET_NEXT_KEY, size: attrSize.MAP_GET_NEXT_KEY, key: 2, attr: (s) => elemAttr(s.fd, s.key, s.next) },
        { name: 'lookup, no such fd', cmd: bpfCmd.MAP_LOOKUP_ELEM, size: attrSize.MAP_LOOKUP_ELEM, key: 2, attr: (s) => elemAttr(1 << 20, s.key, s.value) },
        { name: 'lookup, fd of stdin', cmd: bpfCmd.MAP_LOOKUP_ELEM, size: attrSize.MAP_LOOKUP_ELEM, key: 2, attr: (s) => elemAttr(0, s.key, s.value) },
        // Another size than the stubs' (a longer attr, its tail zero): the hot path's syscall(2) fallback.
        { name: 'lookup 2, a longer attr', cmd: bpfCmd.MAP_LOOKUP_ELEM, size: 40, key: 2, attr: (s) => elemAttr(s.fd, s.key, s.value, 0, 40) },
      ];
      const results: Array<{ name: string; hot: number; syscall: number; value: string[]; next: string[] }> = [];
      for (const step of steps) {
        const got = sides.map((s, i) => {
          if (step.key !== undefined) s.key.view.setUint32(0, step.key, true);
          if (step.value !== undefined) s.value.view.setBigUint64(0, BigInt(step.value), true);
          else s.value.bytes.fill(0);
          s.next.bytes.fill(0);
          const attr = step.attr(s);
          buffers.push(attr);
          return i === 0 ? bpfHot(step.cmd, attr, attr.addressNumber, step.size) : bpf(step.cmd, attr, step.size);
        });
        results.push({
          name: step.name,
          hot: got[0]!,
          syscall: got[1]!,
          value: sides.map((s) => s.value.view.getBigUint64(0, true).toString(16)),
          next: sides.map((s) => String(s.next.view.getUint32(0, true))),
        });
      }
      for (const r of results) {
        expect(r.hot, r.name).toBe(r.syscall);
        expect(r.value[0], `${r.name}: value`).toBe(r.value[1]);
        expect(r.next[0], `${r.name}: next key`).toBe(r.next[1]);
      }
      // The steps reached what they were written for (so the comparison above compared something).
      const byName = Object.fromEntries(results.map((r) => [r.name, r]));
      expect(byName['update 1']!.hot).toBe(0);
      expect(byName['update 1 NOEXIST']!.hot).toBe(-17); // EEXIST
      expect(byName['update 2 EXIST']!.hot).toBe(-2); // ENOENT
      expect(byName['update, bad flags']!.hot).toBe(-22); // EINVAL
      expect(byName['lookup 1']!.value).toEqual(['1111', '1111']);
      expect(byName['lookup 9']!.hot).toBe(-2);
      expect(byName['lookup, NULL value']!.hot).toBe(-14); // EFAULT
      expect(byName['first key']!.hot).toBe(0);
      expect(byName['first key']!.next).toEqual(['2', '2']);
      expect(byName['delete 9']!.hot).toBe(-2);
      expect(byName['delete 1']!.hot).toBe(0);
      expect(byName['key after 2 (the last)']!.hot).toBe(-2);
      expect(byName['lookup, no such fd']!.hot).toBe(-9); // EBADF
      expect(byName['lookup, fd of stdin']!.hot).toBeLessThan(0);
      expect(byName['lookup 2, a longer attr']!.hot).toBe(0); // zero tail bytes are accepted
      expect(byName['lookup 2, a longer attr']!.value).toEqual(['2222', '2222']);
      // What the maps hold after: the same, {2: 0x2222}.
      for (const m of maps) {
        expect([...m.keys()].map((k) => new DataView(k.buffer, k.byteOffset).getUint32(0, true))).toEqual([2]);
      }
    } finally {
      for (const b of buffers) b.free();
      for (const m of maps) m.close();
    }
  });
});

describeNeeds([isRoot()], 'TSBPF_BPF_STUBS=0', () => {
  let child = '';
  beforeAll(async () => {
    child = await bundleSourcesChild('test/support/bpf-stub-child.ts', 'bpf-stub');
  }, 60_000);
  afterAll(() => {
    if (child) rmSync(child, { force: true });
  });

  it.each([
    ['0', 'syscall'],
    [undefined, process.arch === STUB_ARCH ? 'stub' : 'syscall'],
  ])('TSBPF_BPF_STUBS=%s: the hot path is %s, and a map works through it', (flag, path) => {
    const env = { ...process.env };
    if (flag === undefined) delete env.TSBPF_BPF_STUBS;
    else env.TSBPF_BPF_STUBS = flag;
    const r = spawnSync(process.execPath, [child], { encoding: 'utf8', timeout: 60_000, env });
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout.trim().split('\n').at(-1)!)).toEqual({ path, found: '99', missing: true, deleted: [true, false] });
  });
});

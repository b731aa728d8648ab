import { closeSync, fstatSync, openSync, readFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { expect, it } from 'vitest';
import { Btf } from '@tsbpf/object';
import { MAP_PRIVATE, PROT_READ, mmap, munmap } from './sys/ffi.js';
import { flushKernelBtf, loadKernelBtf, readKernelBtfBytes, runningKernelBtf, runningModuleBtfs, VMLINUX_BTF } from './kernel-btf.js';
import { readFileBytes } from './read-file.js';
import { describeNeeds, hasFile } from '../../../test/support/env.js';

describeNeeds([hasFile(VMLINUX_BTF)], 'kernel BTF', () => {
  it('reads vmlinux BTF byte for byte as readFileSync does', () => {
    const expected = new Uint8Array(readFileSync(VMLINUX_BTF));
    const mapped = readKernelBtfBytes();
    expect(mapped.length).toBe(expected.length);
    expect(Buffer.compare(mapped, expected)).toBe(0);
    expect(Buffer.compare(readFileBytes(VMLINUX_BTF), expected)).toBe(0);
  });

  it('parses it and finds task_struct with its pid member', () => {
    const btf = loadKernelBtf();
    const task = btf.findByName('task_struct', 'struct');
    expect(task?.members.some((m) => m.name === 'pid')).toBe(true);
    expect(btf.byteOrder).toBe('little');
  });

  it('falls back to reading files that cannot be mapped (procfs)', () => {
    const bytes = readKernelBtfBytes('/proc/self/status');
    expect(new TextDecoder().decode(bytes)).toMatch(/^Name:/);
  });

  it("the running kernel's BTF is parsed once per process until flushed; modules sit on it", () => {
    flushKernelBtf();
    const first = runningKernelBtf();
    expect(runningKernelBtf()).toBe(first);
    for (const m of runningModuleBtfs()) expect(m.base).toBe(first);
    flushKernelBtf();
    const second = runningKernelBtf();
    // A boolean, not `.not.toBe`: vitest deep-compares the two objects when
    // they differ (to suggest toStrictEqual), a walk of two 5.5 MB parses.
    expect(second === first).toBe(false);
    expect(second.length).toBe(first.length);
  });

  it('parses vmlinux in place where the kernel maps it, hands out copies, and unmaps it once collected', async () => {
    // The kernel's answer, asked directly: can this file be mapped?
    const fd = openSync(VMLINUX_BTF, 'r');
    const size = fstatSync(fd).size;
    const probe = mmap(size, PROT_READ, MAP_PRIVATE, fd);
    closeSync(fd);
    const mappable = typeof probe !== 'number';
    if (typeof probe !== 'number') munmap(probe, size);
    const mapped = () =>
      readFileSync('/proc/self/maps', 'utf8')
        .split('\n')
        .filter((l) => l.endsWith(VMLINUX_BTF)).length;
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const settle = async () => {
      for (let i = 0; i < 3; i++) {
        gc();
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    flushKernelBtf();
    await settle();
    const before = mapped();

    const file = new Uint8Array(readFileSync(VMLINUX_BTF));
    let btf: Btf | undefined = loadKernelBtf();
    expect(mapped() - before).toBe(mappable ? 1 : 0);
    const raw = btf.raw;
    expect(Buffer.compare(raw, file)).toBe(0);
    const fromFile = Btf.parse(file);
    expect(btf.length).toBe(fromFile.length);
    for (const name of ['task_struct', 'sk_buff', 'bpf_map']) {
      expect(btf.findByName(name, 'struct')).toEqual(fromFile.findByName(name, 'struct'));
    }
    if (mappable) {
      // raw is a copy, made once: a write into the mapping would kill the process.
      raw.fill(0xff, 0, 64);
      expect(btf.raw).toBe(raw);
      expect(btf.findByName('pid_t', 'typedef')).toEqual(fromFile.findByName('pid_t', 'typedef'));
    }

    // A loop that does not yield keeps a bounded number mapped; the rest are read.
    const many = Array.from({ length: 140 }, () => loadKernelBtf());
    expect(mapped() - before).toBe(mappable ? 128 : 0);
    expect(many[139]!.findByName('task_struct', 'struct')?.id).toBe(fromFile.findByName('task_struct', 'struct')?.id);
    many.length = 0;
    await settle();
    expect(mapped() - before).toBe(mappable ? 1 : 0);
    btf = undefined;
    await settle();
    expect(mapped()).toBe(before);
  });
});

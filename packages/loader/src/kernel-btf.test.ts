import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
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
});

import { expect, it } from 'vitest';
import { parseKallsymsTable } from './kernel-symbols.js';
import { parsePerfMap } from './perf-map.js';
import { foldedStacks, lostSamples, nameProfile, profileJson } from './report.js';
import type { RawProfile } from './profiler.js';

const sources = {
  user: (pid: number) => ({
    mappings: [],
    perfMap: parsePerfMap(pid === 7 ? '1000 100 JS:*outer a.js:1\n2000 100 JS:*inner a.js:5\n' : ''),
    elf: () => undefined,
  }),
  kernel: parseKallsymsTable('ffffffff81000000 T entry_SYSCALL_64\nffffffff81001000 T vfs_read\n'),
};

const raw: RawProfile = {
  frequency: 99,
  seconds: 1,
  dropped: 2,
  stacks: [
    // Leaf first, as the kernel stores them.
    { pid: 7, comm: 'node', user: [0x2010n, 0x1020n], kernel: [0xffffffff81001010n, 0xffffffff81000010n], count: 5 },
    { pid: 7, comm: 'node', user: [], kernel: [], userError: -17, count: 1 },
  ],
};

it('orders frames root first: user frames outermost first, then kernel frames', () => {
  const p = nameProfile(raw, sources, (n) => [...n]);
  expect(p.samples).toBe(6);
  expect(p.dropped).toBe(2);
  expect(p.stacks[0]!.frames.map((f) => f.name)).toEqual(['JS:*outer a.js:1', 'JS:*inner a.js:5', 'entry_SYSCALL_64', 'vfs_read']);
  expect(foldedStacks(p)[0]).toEqual({ frames: ['node', 'JS:*outer a.js:1_[j]', 'JS:*inner a.js:5_[j]', 'entry_SYSCALL_64_[k]', 'vfs_read_[k]'], count: 5 });
  expect(foldedStacks(p, true)[0]!.frames[0]).toBe('node-7');
});

it('shows a stack the kernel could not keep as a frame naming the errno, and counts those samples', () => {
  const p = nameProfile(raw, sources, (n) => [...n]);
  expect(p.stacks[1]!.frames.map((f) => f.name)).toEqual(['[user stack lost: EEXIST]']);
  expect(lostSamples(p)).toBe(1);
});

it('passes every name through the demangler, in order', () => {
  const p = nameProfile(raw, sources, (n) => n.map((x) => x.toUpperCase()));
  expect(p.stacks[0]!.frames[3]!.name).toBe('VFS_READ');
});

it('writes JSON with hex addresses, heaviest stack first', () => {
  const j = profileJson(nameProfile(raw, sources, (n) => [...n])) as { stacks: { count: number; frames: { address: string; kind: string }[] }[] };
  expect(j.stacks.map((s) => s.count)).toEqual([5, 1]);
  expect(j.stacks[0]!.frames[0]).toEqual({ name: 'JS:*outer a.js:1', kind: 'jit', module: '[jit]', address: '0x1020' });
  expect(JSON.parse(JSON.stringify(j))).toEqual(j);
});

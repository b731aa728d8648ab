import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { MapType, TsbpfError, parseCollectionSpec } from '@tsbpf/object';
import { compile } from '@tsbpf/compiler';
import { loadCollection, type Collection } from './collection.js';
import { attachIter, IterLink } from './iter.js';
import { BpfMap } from './map.js';
import { describeNeeds, hasCommand, hasFile, isRoot } from '../../../test/support/env.js';

const SOURCE = `#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

/* One line per process: pid, parent's pid, comm. */
SEC("iter/task") int list_tasks(struct bpf_iter__task *ctx) {
  struct task_struct *t = ctx->task;
  char comm[16];
  if (!t || t->pid != t->tgid) return 0;
  bpf_probe_read_kernel_str(comm, sizeof(comm), t->comm);
  BPF_SEQ_PRINTF(ctx->meta->seq, "%d %d %s\\n", t->tgid, t->real_parent->tgid, comm);
  return 0;
}

/* The same pids from a sleepable iterator (iter.s). */
SEC("iter.s/task") int list_pids_sleepable(struct bpf_iter__task *ctx) {
  struct task_struct *t = ctx->task;
  if (!t || t->pid != t->tgid) return 0;
  BPF_SEQ_PRINTF(ctx->meta->seq, "%d\\n", t->tgid);
  return 0;
}

/* Refuses every task: the read fails. */
SEC("iter/task") int refuse(struct bpf_iter__task *ctx) {
  return ctx->task ? 1 : 0;
}

char LICENSE[] SEC("license") = "GPL";
`;

/** A map element iterator, in an object of its own: some kernels refuse to load these (EPERM) and not task iterators. */
const MAP_SOURCE = `#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 256);
  __type(key, __u32);
  __type(value, __u64);
} numbers SEC(".maps");

/* One line per element of the map given at attach. */
SEC("iter/bpf_map_elem") int dump_numbers(struct bpf_iter__bpf_map_elem *ctx) {
  __u32 *key = ctx->key;
  __u64 *value = ctx->value;
  if (!key || !value) return 0;
  BPF_SEQ_PRINTF(ctx->meta->seq, "%u %llu\\n", *key, *value);
  return 0;
}

char LICENSE[] SEC("license") = "GPL";
`;

const work = mkdtempSync(join(tmpdir(), 'tsbpf-iter-'));
const pinPath = `/sys/fs/bpf/tsbpf-iter-test-${process.pid}`;
afterAll(() => {
  rmSync(work, { recursive: true, force: true });
  rmSync(pinPath, { force: true });
});

/** `/proc`'s children of this process: "pid ppid comm" lines, sorted. */
function procChildren(): string[] {
  const lines: string[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    const close = stat.lastIndexOf(')');
    const comm = stat.slice(stat.indexOf('(') + 1, close);
    const ppid = Number(stat.slice(close + 2).split(' ')[1]);
    if (ppid === process.pid) lines.push(`${name} ${ppid} ${comm}`);
  }
  return lines.sort();
}

const u32 = (n: number) => new Uint8Array(new Uint32Array([n]).buffer);
const u64 = (n: bigint) => new Uint8Array(new BigUint64Array([n]).buffer);

describeNeeds([isRoot(), hasCommand('clang'), hasFile('/sys/kernel/btf/vmlinux')], 'BPF iterators', () => {
  let c: Collection;
  /** The map iterator's collection, or the kernel's refusal to load it. */
  let mapIter: Collection | TsbpfError;
  const children: ChildProcess[] = [];
  beforeAll(async () => {
    writeFileSync(join(work, 'iter.bpf.c'), SOURCE);
    writeFileSync(join(work, 'map-iter.bpf.c'), MAP_SOURCE);
    const { object } = await compile({ source: join(work, 'iter.bpf.c'), vmlinux: true, cache: false });
    c = loadCollection(parseCollectionSpec(object));
    const { object: mapObject } = await compile({ source: join(work, 'map-iter.bpf.c'), vmlinux: true, cache: false });
    try {
      mapIter = loadCollection(parseCollectionSpec(mapObject));
    } catch (e) {
      if (!(e instanceof TsbpfError)) throw e;
      mapIter = e;
    }
  }, 180_000);
  afterAll(() => {
    for (const child of children) child.kill('SIGKILL');
    c?.close();
    if (mapIter && !(mapIter instanceof TsbpfError)) mapIter.close();
  });

  it("lists this process's children as /proc does", async () => {
    for (let i = 0; i < 3; i++) children.push(spawn('sleep', ['1000'], { stdio: 'ignore' }));
    const pids = children.map((child) => child.pid!);
    using link = attachIter(c.programs.list_tasks!);
    const mine = (text: string) =>
      text
        .split('\n')
        .filter((line) => line.split(' ')[1] === String(process.pid))
        .sort();
    const seen = mine(link.readText());
    expect(seen).toEqual(procChildren());
    for (const pid of pids) expect(seen).toContain(`${pid} ${process.pid} sleep`);
    // The same through the Readable, and a new run each time.
    const streamed: string[] = [];
    for await (const chunk of link.open().setEncoding('utf8')) streamed.push(chunk as string);
    expect(mine(streamed.join(''))).toEqual(seen);
    // This process itself is there, with its parent.
    expect(link.readText().split('\n')).toContain(`${process.pid} ${process.ppid} ${readFileSync('/proc/self/comm', 'utf8').trim()}`);
  });

  it('runs a sleepable iterator (iter.s/task)', () => {
    using link = attachIter(c.programs.list_pids_sleepable!);
    const pids = link.readText().trim().split('\n').map(Number);
    expect(pids).toContain(process.pid);
    expect(pids).toContain(process.ppid);
    expect(new Set(pids).size).toBe(pids.length);
  });

  it('narrows a task iterator to one process', () => {
    using link = attachIter(c.programs.list_tasks!, { task: { pid: process.pid } });
    expect(link.readText().trim().split('\n')).toEqual([`${process.pid} ${process.ppid} ${readFileSync('/proc/self/comm', 'utf8').trim()}`]);
    expect(() => attachIter(c.programs.list_tasks!, { task: {} })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => attachIter(c.programs.list_tasks!, { task: { pid: -1 } })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });

  it('visits every element of a hash map once (where the kernel loads map element iterators)', (t) => {
    if (mapIter instanceof TsbpfError) {
      // This kernel (6.18 in this VM) refuses every map-based iterator program (bpf_map_elem, sockmap) with EPERM at load.
      expect(mapIter).toMatchObject({ errnoName: 'EPERM' });
      return t.skip('the kernel refuses to load map element iterators (EPERM)');
    }
    const m = mapIter;
    const numbers = m.maps.numbers!;
    const expected = new Map<number, bigint>();
    for (let i = 0; i < 200; i++) {
      const key = (i * 2654435761) >>> 0;
      expected.set(key, BigInt(i) * 1000n + 7n);
      numbers.update(u32(key), u64(BigInt(i) * 1000n + 7n));
    }
    {
      using link = attachIter(m.programs.dump_numbers!, { map: numbers });
      const lines = link.readText().trim().split('\n');
      expect(lines).toHaveLength(200);
      const seen = new Map(lines.map((line) => [Number(line.split(' ')[0]), BigInt(line.split(' ')[1]!)]));
      expect(seen).toEqual(expected);
    }
    // No map: the kernel answers EBADF. A map of values smaller than the program reads: refused too.
    expect(() => attachIter(m.programs.dump_numbers!)).toThrow(expect.objectContaining({ code: 'SYSCALL_FAILED', errnoName: 'EBADF' }));
    using small = BpfMap.create({ type: MapType.array, keySize: 4, valueSize: 4, maxEntries: 1 });
    expect(() => attachIter(m.programs.dump_numbers!, { map: small })).toThrow(expect.objectContaining({ code: 'SYSCALL_FAILED' }));
  });

  it('pins an iterator link that `cat` reads', () => {
    {
      using link = attachIter(c.programs.list_tasks!, { task: { pid: process.pid } });
      link.pin(pinPath);
    }
    const text = execFileSync('cat', [pinPath], { encoding: 'utf8' });
    expect(text).toBe(`${process.pid} ${process.ppid} ${readFileSync('/proc/self/comm', 'utf8').trim()}\n`);
    using again = IterLink.fromPin(pinPath);
    expect(again.readText()).toBe(text);
    rmSync(pinPath);
  });

  it('gives typed errors: a refusing program, a closed map, bad options, use after close', async () => {
    using refusing = attachIter(c.programs.refuse!);
    expect(() => refusing.read()).toThrow(expect.objectContaining({ name: 'SyscallError', errnoName: 'EAGAIN' }));
    await expect(async () => {
      for await (const _ of refusing.open());
    }).rejects.toMatchObject({ name: 'SyscallError', errnoName: 'EAGAIN' });

    const closedMap = BpfMap.create({ type: MapType.hash, keySize: 4, valueSize: 8, maxEntries: 1 });
    closedMap.close();
    expect(() => attachIter(c.programs.list_tasks!, { map: closedMap })).toThrow(expect.objectContaining({ code: 'CLOSED' }));
    using other = BpfMap.create({ type: MapType.hash, keySize: 4, valueSize: 8, maxEntries: 1 });
    expect(() => attachIter(c.programs.list_tasks!, { map: other, task: { pid: 1 } })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));

    const link = attachIter(c.programs.list_tasks!);
    link.close();
    expect(() => link.read()).toThrow(expect.objectContaining({ code: 'CLOSED' }));
    expect(() => link.open()).toThrow(expect.objectContaining({ code: 'CLOSED' }));
  });

  it('leaves no fd behind: links, runs read whole, streams read or dropped early', async () => {
    const count = () => readdirSync('/proc/self/fd').length;
    attachIter(c.programs.list_tasks!).close();
    const before = count();
    for (let i = 0; i < 50; i++) {
      using link = attachIter(c.programs.list_tasks!);
      link.read();
      for await (const _ of link.open());
      const early = link.open();
      for await (const _ of early) break; // destroys the stream, maybe during a read
      if (!early.closed) await new Promise((r) => early.once('close', r)); // the fd is closed before 'close'
      link.open().destroy();
      using refusing = attachIter(c.programs.refuse!);
      expect(() => refusing.read()).toThrow(expect.objectContaining({ errnoName: 'EAGAIN' }));
    }
    expect(count()).toBe(before);
  });
});

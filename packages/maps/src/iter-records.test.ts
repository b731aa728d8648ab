import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { compile } from '@tsbpf/compiler';
import { attachIter, loadCollection, type Collection } from '@tsbpf/loader';
import { parseCollectionSpec, type CollectionSpec } from '@tsbpf/object';
import { struct } from './composite.js';
import { bytes, cstring, u32 } from './primitives.js';
import { iterRecords } from './iter-records.js';
import { describeNeeds, hasCommand, hasFile, isRoot } from '../../../test/support/env.js';

/** Each process as COPIES records (pid, parent's pid, copy number, comm): more output than one read takes. */
const COPIES = 64;
const SOURCE = `#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
struct task_rec { __u32 pid; __u32 ppid; __u32 copy; char comm[16]; };
struct task_rec example_record; /* puts the struct in the object's BTF */
SEC("iter/task") int task_records(struct bpf_iter__task *ctx) {
  struct task_struct *t = ctx->task;
  struct task_rec r = {};
  if (!t || t->pid != t->tgid) return 0;
  r.pid = t->tgid;
  r.ppid = t->real_parent->tgid;
  bpf_probe_read_kernel_str(r.comm, sizeof(r.comm), t->comm);
  for (int i = 0; i < ${COPIES}; i++) {
    r.copy = i;
    bpf_seq_write(ctx->meta->seq, &r, sizeof(r));
  }
  return 0;
}
char LICENSE[] SEC("license") = "GPL";
`;

const TaskRecord = struct({ pid: u32, ppid: u32, copy: u32, comm: cstring(16) });

const work = mkdtempSync(join(tmpdir(), 'tsbpf-iter-records-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** The pids of `/proc`'s children of this process, sorted. */
function procChildren(): number[] {
  const text = readFileSync(`/proc/${process.pid}/task/${process.pid}/children`, 'utf8');
  return text.trim()
    ? text
        .trim()
        .split(/\s+/)
        .map(Number)
        .sort((a, b) => a - b)
    : [];
}

describeNeeds(
  [isRoot(), hasCommand('clang'), hasFile('/sys/kernel/btf/vmlinux'), hasFile(`/proc/${process.pid}/task/${process.pid}/children`)],
  'iterator records',
  () => {
    let spec: CollectionSpec;
    let c: Collection;
    const children: ChildProcess[] = [];
    beforeAll(async () => {
      writeFileSync(join(work, 'records.bpf.c'), SOURCE);
      const { object } = await compile({ source: join(work, 'records.bpf.c'), vmlinux: true, cache: false });
      spec = parseCollectionSpec(object);
      c = loadCollection(spec);
    }, 120_000);
    afterAll(() => {
      for (const child of children) child.kill('SIGKILL');
      c?.close();
    });

    it("decodes bpf_seq_write records across reads: this process's children as /proc lists them", async () => {
      for (let i = 0; i < 3; i++) children.push(spawn('sleep', ['1000'], { stdio: 'ignore' }));
      using link = attachIter(c.programs.task_records!);
      const records = [];
      for await (const r of iterRecords(link, TaskRecord)) records.push(r);
      expect(records.length * TaskRecord.size).toBeGreaterThan(64 * 1024); // more than one read
      expect(records.length % COPIES).toBe(0);
      // Every process's copies arrive whole and in order: no record lost or split at a read's edge.
      for (let i = 0; i < records.length; i++) expect(records[i]).toEqual({ ...records[i - (i % COPIES)]!, copy: i % COPIES });
      const mine = records.filter((r) => r.ppid === process.pid && r.copy === 0);
      expect(mine.map((r) => r.pid).sort((a, b) => a - b)).toEqual(procChildren());
      for (const child of children) expect(mine).toContainEqual({ pid: child.pid, ppid: process.pid, copy: 0, comm: 'sleep' });
    });

    it('builds the codec from the object BTF', async () => {
      using link = attachIter(c.programs.task_records!);
      const records: unknown[] = [];
      for await (const r of iterRecords(link, { btf: spec.btf!, type: 'task_rec' })) {
        records.push(r);
        if (records.length === COPIES) break; // closes the run early
      }
      const self = records[0] as { pid: number; ppid: number; copy: number; comm: unknown };
      expect(records).toHaveLength(COPIES);
      expect(self).toMatchObject({ copy: 0 });
      expect(typeof self.pid).toBe('number');
      expect(() => iterRecords(link, { btf: spec.btf!, type: 'no_such_struct' })).toThrow(expect.objectContaining({ code: 'CODEC_LAYOUT' }));
    });

    it('typed errors: output not whole records, bad codec, closed link', async () => {
      using link = attachIter(c.programs.task_records!);
      const total = link.read().length;
      await expect(async () => {
        for await (const _ of iterRecords(link, bytes(total * 2)));
      }).rejects.toMatchObject({ code: 'CODEC_SIZE' });
      expect(() => iterRecords(link, { ...TaskRecord, size: 0 })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
      link.close();
      expect(() => iterRecords(link, TaskRecord)).toThrow(expect.objectContaining({ code: 'CLOSED' }));
    });
  },
);

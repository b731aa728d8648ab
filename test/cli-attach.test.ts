/**
 * `tsbpf attach` against the real kernel: the built CLI as a child process
 * attaches a sched_process_exec tracepoint program, prints the records it
 * puts in a ring buffer (or a perf event array) decoded from BTF while the
 * test runs programs, and on SIGINT detaches and exits 0 with nothing left
 * attached.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, expect, it } from 'vitest';
import { compile } from '@tsbpf/compiler';
import { describeNeeds, hasCommand, hasFile, isRoot, repoRoot } from './support/env.js';
import { runCli } from './support/cli.js';
import { kernelHas } from './support/kernel-features.js';

const work = mkdtempSync(join(tmpdir(), 'tsbpf-cli-attach-'));
const CLI = join(repoRoot, 'packages/cli/dist/cli.js');
const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

const SOURCE = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
struct exec_event { unsigned int pid; unsigned int ppid_unused; char comm[16]; };
struct { __uint(type, BPF_MAP_TYPE_RINGBUF); __uint(max_entries, 64 * 1024); } events SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY); __uint(key_size, 4); __uint(value_size, 4); } perf_events SEC(".maps");
struct exec_event *unused_events;
SEC("tracepoint/sched/sched_process_exec") int tsbpf_att_ring(void *ctx) {
  struct exec_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
  if (!e) return 0;
  e->pid = bpf_get_current_pid_tgid() >> 32;
  e->ppid_unused = 0;
  bpf_get_current_comm(e->comm, sizeof(e->comm));
  bpf_ringbuf_submit(e, 0);
  return 0;
}
SEC("tracepoint/sched/sched_process_exec") int tsbpf_att_perf(void *ctx) {
  struct exec_event e = {};
  e.pid = bpf_get_current_pid_tgid() >> 32;
  bpf_get_current_comm(e.comm, sizeof(e.comm));
  bpf_perf_event_output(ctx, &perf_events, BPF_F_CURRENT_CPU, &e, sizeof(e));
  return 0;
}
SEC("kprobe/do_unlinkat") int tsbpf_att_kp(void *ctx) {
  struct exec_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
  if (!e) return 0;
  e->pid = bpf_get_current_pid_tgid() >> 32;
  e->ppid_unused = 1;
  bpf_get_current_comm(e->comm, sizeof(e->comm));
  bpf_ringbuf_submit(e, 0);
  return 0;
}
char LICENSE[] SEC("license") = "GPL";
`;

let object: string | undefined;
async function build(): Promise<string> {
  if (object) return object;
  writeFileSync(join(work, 'attach.bpf.c'), SOURCE);
  const out = await compile({ source: join(work, 'attach.bpf.c'), cache: false });
  object = join(work, 'attach.bpf.o');
  writeFileSync(object, out.object);
  return object;
}

/** Programs of `name` the kernel has loaded, and links of programs of that name. */
function inKernel(name: string): { progs: number; links: number } {
  const progs = (JSON.parse(execFileSync('bpftool', ['-j', 'prog', 'show'], { encoding: 'utf8' })) as { id: number; name?: string }[]).filter(
    (p) => p.name === name,
  );
  const ids = new Set(progs.map((p) => p.id));
  const links = (JSON.parse(execFileSync('bpftool', ['-j', 'link', 'show'], { encoding: 'utf8' })) as { prog_id: number }[]).filter((l) => ids.has(l.prog_id));
  return { progs: progs.length, links: links.length };
}

/** Starts the CLI; resolves once it says it is attached, with its output so far and what is to come. */
async function start(args: string[]): Promise<{ child: ChildProcess; out: () => string; err: () => string; exited: Promise<number | null> }> {
  const child = spawn(process.execPath, [CLI, 'attach', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      if (err.includes('Ctrl-C to detach')) resolve();
    });
    void exited.then((code) => reject(new Error(`tsbpf attach exited (${code}) before attaching: ${err}`)));
  });
  return { child, out: () => out, err: () => err, exited };
}

/** Runs a copy of /bin/true under a name we can recognise, `times` times: the pids of the runs. */
function runMarker(times: number): number[] {
  const marker = join(work, 'tsbpf-attach-mk');
  if (!existsSync(marker)) copyFileSync('/bin/true', marker);
  execFileSync('chmod', ['+x', marker]);
  return Array.from({ length: times }, () => spawnSync(marker).pid!);
}

/** Waits until `done` holds (the records arrive asynchronously); fails the test after a generous deadline. */
async function until(done: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200 && !done(); i++) await new Promise((r) => setTimeout(r, 50));
  expect(done(), what).toBe(true);
}

describeNeeds(
  [isRoot(), hasCommand('clang'), hasCommand('bpftool'), hasFile(CLI), hasFile('/sys/kernel/tracing/events/sched/sched_process_exec')],
  'tsbpf attach',
  () => {
    it('prints each exec as a line decoded from BTF, and on SIGINT detaches, exits 0 and leaves nothing attached', async () => {
      const obj = await build();
      const run = await start([obj, '--program', 'tsbpf_att_ring']);
      expect(run.err()).toMatch(/^attached tsbpf_att_ring \(tracepoint sched\/sched_process_exec\); records of events/);
      expect(inKernel('tsbpf_att_ring')).toEqual({ progs: 1, links: 1 });
      const pids = runMarker(3);
      const lines = () => run.out().split('\n');
      await until(() => pids.every((pid) => lines().some((l) => l.startsWith(`events: pid=${pid} `))), 'a line for each exec');
      for (const pid of pids) expect(lines()).toContain(`events: pid=${pid} ppid_unused=0 comm="tsbpf-attach-mk"`);
      run.child.kill('SIGINT');
      expect(await run.exited).toBe(0);
      expect(run.err()).toContain('detached tsbpf_att_ring');
      expect(inKernel('tsbpf_att_ring')).toEqual({ progs: 0, links: 0 });
    }, 60_000);

    it('--json --map --type: a perf event array, one JSON object per record with its CPU; SIGTERM detaches too', async () => {
      const obj = await build();
      const run = await start([obj, '--program', 'tsbpf_att_perf', '--map', 'perf_events', '--type', 'exec_event', '--json']);
      const [pid] = runMarker(1);
      const records = () =>
        run
          .out()
          .split('\n')
          .filter((l) => l !== '')
          .map((l) => JSON.parse(l) as { map: string; cpu: number; record: { pid: number; comm: string } });
      await until(() => records().some((r) => r.record.pid === pid), 'a record of the exec');
      const mine = records().find((r) => r.record.pid === pid)!;
      expect(mine).toEqual({ map: 'perf_events', cpu: expect.any(Number), record: { pid, ppid_unused: 0, comm: 'tsbpf-attach-mk' } });
      run.child.kill('SIGTERM');
      expect(await run.exited).toBe(0);
      expect(inKernel('tsbpf_att_perf')).toEqual({ progs: 0, links: 0 });
    }, 60_000);

    it('a kprobe program by its section: records of real unlinks where the kernel has kprobes; without, NOT_SUPPORTED and exit 1', async () => {
      const obj = await build();
      const kprobes = kernelHas('kprobe').supported || kernelHas('kprobe events').supported;
      if (!kprobes) {
        const r = await runCli('attach', obj, '--program', 'tsbpf_att_kp');
        expect(r).toMatchObject({ code: 1, err: expect.stringMatching(/no kprobe support in this kernel/) });
        expect(inKernel('tsbpf_att_kp')).toEqual({ progs: 0, links: 0 });
        return;
      }
      const run = await start([obj, '--program', 'tsbpf_att_kp']);
      const file = join(work, 'unlink-me');
      for (let i = 0; i < 3; i++) {
        writeFileSync(file, '');
        rmSync(file);
      }
      await until(() => run.out().includes(`events: pid=${process.pid} ppid_unused=1 `), 'a line for an unlink of this process');
      run.child.kill('SIGINT');
      expect(await run.exited).toBe(0);
      expect(inKernel('tsbpf_att_kp')).toEqual({ progs: 0, links: 0 });
    }, 60_000);

    it('usage errors: unknown program, a map that is not a record map, a type not in BTF, a target the program cannot take', async () => {
      const obj = await build();
      expect(await runCli('attach', obj, '--program', 'nope')).toMatchObject({
        code: 1,
        err: expect.stringMatching(/no program nope in .*programs: tsbpf_att_ring, tsbpf_att_perf, tsbpf_att_kp/),
      });
      expect(await runCli('attach', obj, '--program', 'tsbpf_att_ring', '--to', 'sched')).toMatchObject({
        code: 1,
        err: expect.stringMatching(/a tracepoint is CATEGORY\/NAME/),
      });
      expect(await runCli('attach', obj, '--program', 'tsbpf_att_ring', '--type', 'no_such_struct')).toMatchObject({
        code: 1,
        err: expect.stringMatching(/--type no_such_struct: no struct/),
      });
      expect(await runCli('attach', obj, '--program', 'tsbpf_att_ring', '--map', 'nothing')).toMatchObject({
        code: 1,
        err: expect.stringMatching(/--map nothing/),
      });
      expect(inKernel('tsbpf_att_ring')).toEqual({ progs: 0, links: 0 });
    }, 60_000);
  },
);

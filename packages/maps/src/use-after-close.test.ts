import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { compile } from '@tsbpf/compiler';
import { bundleSourcesChild } from '../../../test/support/bundle-child.js';
import { describeNeeds, hasCommand, isRoot } from '../../../test/support/env.js';

const work = mkdtempSync(join(tmpdir(), 'tsbpf-use-after-close-'));
let child = '';
let object = '';

const source = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
struct event { __u64 seq; };
struct { __uint(type, BPF_MAP_TYPE_RINGBUF); __uint(max_entries, 1 << 16); } ring SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY); __uint(key_size, 4); __uint(value_size, 4); } perf SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 64); __type(key, __u32); __type(value, __u64); } counts SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_PERCPU_HASH); __uint(max_entries, 64); __type(key, __u32); __type(value, __u64); } percpu SEC(".maps");
__u64 seq = 1;
SEC("xdp") int emit(struct xdp_md *ctx)
{
	struct event e = { .seq = seq++ };
	__u32 k = 1;
	__u64 one = 1;
	bpf_ringbuf_output(&ring, &e, sizeof(e), 0);
	bpf_perf_event_output(ctx, &perf, BPF_F_CURRENT_CPU, &e, sizeof(e));
	bpf_map_update_elem(&counts, &k, &one, BPF_ANY);
	return XDP_PASS;
}
SEC("raw_tracepoint/sched_process_exec") int noop(void *ctx) { return 0; }
char LICENSE[] SEC("license") = "GPL";
`;

/** The child, bundled from the sources (it must see this tree's code, not dist/). */
const bundleUseAfterClose = () => bundleSourcesChild('test/support/use-after-close-child.ts', 'use-after-close');

function runChild(mode: 'late' | 'dropped'): { status: number | null; signal: string | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--expose-gc', child, object, mode], { encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

describeNeeds([isRoot(), hasCommand('clang')], 'use after close, in a child process', () => {
  beforeAll(async () => {
    const src = join(work, 'uac.bpf.c');
    writeFileSync(src, source);
    object = join(work, 'uac.bpf.o');
    writeFileSync(object, (await compile({ source: src, cache: false })).object);
    child = await bundleUseAfterClose();
  }, 120_000);
  afterAll(() => {
    rmSync(work, { recursive: true, force: true });
    if (child) rmSync(child, { force: true });
  });

  it('every late use of every closed object throws CLOSED, after churn and gc(); the child survives and loads again', () => {
    const r = runChild('late');
    expect(r.signal, r.stderr).toBeNull();
    expect(r.status, r.stderr).toBe(0);
    const outcomes = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { what: string; got: string }[];
    const got = new Map(outcomes.map((o) => [o.what, o.got]));
    // What ends instead of throwing: a wait or an iteration that was in progress when close() came.
    const ended: Record<string, string> = {
      'RingBufferReader.wait in progress at close': 'returned false',
      'RingBuffer iterator waiting at close': 'returned true',
      'RingBuffer iterator made before close': 'returned true',
      'PerfBuffer iterator made before close': 'returned true',
      'RingBuffer batches waiting at close': 'returned true',
      'RingBuffer batches made before close': 'returned true',
      'PerfBuffer batches made before close': 'returned true',
      'walk in progress: BatchCursor.keys bytes': 'returned 0',
      'walk in progress: BatchCursor.values bytes': 'returned 0',
      'new load: TypedMap.get': 'returned 70n',
      'new load: testRun retval': 'returned 2',
      'new load: ring records': 'returned 1',
    };
    for (const [what, want] of Object.entries(ended)) expect(got.get(what), what).toBe(want);
    const closed = outcomes.filter((o) => !(o.what in ended));
    expect(closed.length).toBeGreaterThan(100);
    for (const name of ['typedMaps TypedMap.set', 'TypedMap.set', 'PerCpuMap.set', 'BpfMap.update', 'Globals.set', 'Program.testRun', 'Link.detach'])
      expect(got.has(name), name).toBe(true);
    expect(closed.filter((o) => o.got !== 'LoaderError CLOSED')).toEqual([]);
  });

  it('objects dropped unclosed give back their fds and mappings when collected, never while reachable, and only theirs', () => {
    const r = runChild('dropped');
    expect(r.signal, r.stderr).toBeNull();
    expect(r.status, r.stderr).toBe(0);
    const m = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as Record<string, { fds: number; mappings: number }> & {
      keptRecords: number;
      reusedOpen: number;
    };
    expect(m.whileDropped!.fds).toBeGreaterThan(m.withKept!.fds + 50); // the test drops what it says it does
    expect(m.whileDropped!.mappings).toBeGreaterThan(m.withKept!.mappings);
    expect(m.afterCollect).toEqual(m.withKept); // every fd and mapping of the dropped ones, none of the kept ones
    expect(m.keptRecords).toBeGreaterThan(0); // the kept readers still read
    expect(m.reusedOpen).toBe(40); // closed objects' finalizers closed no one else's fd
    expect(m.end).toEqual(m.before);
  });
});

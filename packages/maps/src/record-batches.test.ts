import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { compile } from '@tsbpf/compiler';
import { loadCollection } from '@tsbpf/loader';
import { parseCollectionSpec } from '@tsbpf/object';
import { struct } from './composite.js';
import { u32, u64 } from './primitives.js';
import { PerfBuffer } from './perf-buffer.js';
import { RingBuffer } from './ring-buffer.js';
import { describeNeeds, hasCommand, isRoot } from '../../../test/support/env.js';

const work = mkdtempSync(join(tmpdir(), 'tsbpf-batches-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const event = struct({ seq: u64, len: u32, magic: u32 });

/**
 * An XDP program that sends one numbered event per run to a ring buffer (every tenth discarded)
 * and to a perf event array; the one numbered `short` is 8 bytes (too short for `event`).
 */
async function emitter(ringBytes: number, short = -1) {
  const src = join(work, `emit-${ringBytes}-${short}.bpf.c`);
  writeFileSync(
    src,
    `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
struct event { __u64 seq; __u32 len; __u32 magic; };
struct { __uint(type, BPF_MAP_TYPE_RINGBUF); __uint(max_entries, ${ringBytes}); } events SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY); __uint(key_size, 4); __uint(value_size, 4); } perf SEC(".maps");
__u64 seq;
SEC("xdp") int emit(struct xdp_md *ctx)
{
	struct event e = { .seq = seq++, .len = ctx->data_end - ctx->data, .magic = 0x7b9f };
	__u32 size = e.seq == ${short} ? 8 : sizeof(e);
	if (e.seq % 10 == 9) {
		struct event *r = bpf_ringbuf_reserve(&events, sizeof(e), 0);
		if (r) bpf_ringbuf_discard(r, 0);
	} else {
		bpf_ringbuf_output(&events, &e, size, 0);
	}
	bpf_perf_event_output(ctx, &perf, BPF_F_CURRENT_CPU, &e, size);
	return XDP_PASS;
}
char LICENSE[] SEC("license") = "GPL";
`,
  );
  const { object } = await compile({ source: src, cache: false });
  return parseCollectionSpec(object);
}

/** Sequence numbers from..from+n-1 without the discarded tenths. */
const expected = (n: number, from = 0) => Array.from({ length: n }, (_, i) => BigInt(from + i)).filter((s) => s % 10n !== 9n);

describeNeeds([isRoot(), hasCommand('clang')], 'batches() of ring and perf buffers from a real program', () => {
  it('every record once, in order, across batch boundaries; no batch empty or over max; the default max is 1,024', async () => {
    using c = loadCollection(await emitter(1 << 18)); // room for ~10,000 events
    using ring = new RingBuffer(c.maps.events!, event);
    c.programs.emit!.testRun({ data: new Uint8Array(60), repeat: 3000 });
    const sizes: number[] = [];
    const got: bigint[] = [];
    for await (const batch of ring.batches(1000)) {
      sizes.push(batch.length);
      for (const e of batch) {
        expect(e).toMatchObject({ len: 60, magic: 0x7b9f });
        got.push(e.seq);
      }
      if (got.length === 2700) break;
    }
    expect(got).toEqual(expected(3000));
    expect(sizes).toEqual([1000, 1000, 700]);
    expect(ring.discarded).toBe(300);

    c.programs.emit!.testRun({ data: new Uint8Array(60), repeat: 3000 });
    const bySize: number[] = [];
    const again: bigint[] = [];
    for await (const batch of ring.batches()) {
      bySize.push(batch.length);
      again.push(...batch.map((e) => e.seq));
      if (again.length === 2700) break;
    }
    expect(again).toEqual(expected(3000, 3000));
    expect(bySize).toEqual([1024, 1024, 652]);
    expect(ring.drain()).toEqual([]); // break handed nothing back, lost nothing: the ring is empty
  });

  it('a record that does not decode: next() hands out the batch before it, rejects once, then goes on after it', async () => {
    using c = loadCollection(await emitter(1 << 16, 2));
    using ring = new RingBuffer(c.maps.events!, event, { pollMs: 10 });
    c.programs.emit!.testRun({ data: new Uint8Array(60), repeat: 5 });
    const it: AsyncIterator<{ seq: bigint }[], undefined> = ring.batches()[Symbol.asyncIterator]();
    expect((await it.next()).value!.map((e) => e.seq)).toEqual([0n, 1n]);
    await expect(it.next()).rejects.toMatchObject({ code: 'CODEC_SIZE' });
    expect((await it.next()).value!.map((e) => e.seq)).toEqual([3n, 4n]);
    await it.return!();
    expect(await it.next()).toEqual({ value: undefined, done: true }); // after return(), over
  });

  it('abort ends a waiting iteration; close() inside the loop ends it at the next batch; after close: CLOSED', async () => {
    using c = loadCollection(await emitter(1 << 16));
    const abort = new AbortController();
    using ring = new RingBuffer(c.maps.events!, event, { signal: abort.signal, pollMs: 20 });
    setTimeout(() => c.programs.emit!.testRun({ data: new Uint8Array(60), repeat: 3 }), 50);
    setTimeout(() => abort.abort(), 200);
    const waited: bigint[][] = [];
    for await (const batch of ring.batches()) waited.push(batch.map((e) => e.seq));
    expect(waited).toEqual([[0n, 1n, 2n]]);

    const closing = new RingBuffer(c.maps.events!, event);
    c.programs.emit!.testRun({ data: new Uint8Array(60), repeat: 5 }); // 3..7, 9 discarded: 3 4 5 6 7
    const got: bigint[][] = [];
    for await (const batch of closing.batches(2)) {
      got.push(batch.map((e) => e.seq));
      closing.close();
    }
    expect(got).toEqual([[3n, 4n]]);
    await expect(closing.batches()[Symbol.asyncIterator]().next()).rejects.toMatchObject({ code: 'CLOSED' });
  });

  it('bad max: INVALID_ARGUMENT at the call, before anything is consumed', async () => {
    using c = loadCollection(await emitter(1 << 16));
    using ring = new RingBuffer(c.maps.events!, event);
    c.programs.emit!.testRun({ data: new Uint8Array(60), repeat: 2 });
    for (const max of [0, -1, 1.5, NaN, Infinity, 2 ** 32, '4', 4n, null, Symbol('x')]) {
      expect(() => ring.batches(max as number), typeof max).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    }
    expect(ring.drain().map((e) => e.seq)).toEqual([0n, 1n]);
  });

  it('PerfBuffer.batches(): every record once with its CPU, in batches of at most max', async () => {
    using c = loadCollection(await emitter(1 << 16));
    using perf = new PerfBuffer(c.maps.perf!, event);
    c.programs.emit!.testRun({ data: new Uint8Array(50), repeat: 500 });
    const sizes: number[] = [];
    const got: { cpu: number; record: { seq: bigint; len: number } }[] = [];
    for await (const batch of perf.batches(128)) {
      sizes.push(batch.length);
      got.push(...batch);
      if (got.length === 500) break;
    }
    expect(got.every((g) => g.record.len === 50 && Number.isInteger(g.cpu))).toBe(true);
    // The test run can be moved to another CPU between repetitions (it lets the
    // scheduler in when it must), splitting the records over two CPUs' buffers:
    // each CPU's own records are in order, and every record comes once.
    const cpus = [...new Set(got.map((g) => g.cpu))];
    for (const cpu of cpus) {
      const seqs = got.filter((g) => g.cpu === cpu).map((g) => g.record.seq);
      expect(seqs).toEqual([...seqs].sort((a, b) => (a < b ? -1 : 1)));
    }
    expect(got.map((g) => g.record.seq).sort((a, b) => (a < b ? -1 : 1))).toEqual(Array.from({ length: 500 }, (_, i) => BigInt(i)));
    expect(sizes.every((n) => n > 0 && n <= 128)).toBe(true);
    if (cpus.length === 1) expect(sizes).toEqual([128, 128, 128, 116]);
  });
});

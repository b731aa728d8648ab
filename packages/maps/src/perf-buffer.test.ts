import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { compile } from '@tsbpf/compiler';
import { PerfEventArrayReader, loadCollection } from '@tsbpf/loader';
import { parseCollectionSpec } from '@tsbpf/object';
import { struct } from './composite.js';
import { u32, u64 } from './primitives.js';
import { PerfBuffer } from './perf-buffer.js';
import { describeNeeds, hasCommand, isRoot } from '../../../test/support/env.js';

const work = mkdtempSync(join(tmpdir(), 'tsbpf-perfbuf-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** An XDP program `file` with a perf event array `events`, `event` its `struct event`, `body` its globals and its function: compiled and loaded. */
async function perfProgram(file: string, event: string, body: string) {
  const source = join(work, file);
  writeFileSync(
    source,
    `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
${event}
struct { __uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY); __uint(key_size, 4); __uint(value_size, 4); } events SEC(".maps");
${body}
char LICENSE[] SEC("license") = "GPL";
`,
  );
  const { object } = await compile({ source, cache: false });
  return loadCollection(parseCollectionSpec(object));
}

/** One numbered event per run, with the packet length. */
const counter = () =>
  perfProgram(
    'perf.bpf.c',
    'struct event { __u64 seq; __u32 len; __u32 magic; };',
    `__u64 seq;
SEC("xdp") int emit(struct xdp_md *ctx)
{
	struct event e = { .seq = seq++, .len = ctx->data_end - ctx->data, .magic = 0x7b9f };
	bpf_perf_event_output(ctx, &events, BPF_F_CURRENT_CPU, &e, sizeof(e));
	return XDP_PASS;
}`,
  );

/** One numbered 24-byte event per run (a 40-byte sample), its seq also inverted in `stamp`. */
const stamped = () =>
  perfProgram(
    'perf40.bpf.c',
    'struct event { __u64 seq; __u64 stamp; __u32 len; __u32 magic; };',
    `__u64 seq;
SEC("xdp") int emit(struct xdp_md *ctx)
{
	struct event e = { .seq = seq, .stamp = ~seq, .len = ctx->data_end - ctx->data, .magic = 0x7b9f };
	seq++;
	bpf_perf_event_output(ctx, &events, BPF_F_CURRENT_CPU, &e, sizeof(e));
	return XDP_PASS;
}`,
  );

/** One numbered event per run, all but the third (seq 2) whole: that one is 8 bytes. */
const shortThird = () =>
  perfProgram(
    'perf-short.bpf.c',
    'struct event { __u64 seq; __u32 len; __u32 magic; };',
    `__u64 seq;
SEC("xdp") int emit(struct xdp_md *ctx)
{
	struct event e = { .seq = seq++, .len = 0, .magic = 0x7b9f };
	bpf_perf_event_output(ctx, &events, BPF_F_CURRENT_CPU, &e, e.seq == 2 ? 8 : sizeof(e)); /* the third record is short */
	return XDP_PASS;
}`,
  );

/** Runs the collection's `emit` program `repeat` times on a packet of `bytes`. */
const emit = (c: ReturnType<typeof loadCollection>, repeat: number, bytes = 60) => void c.programs.emit!.testRun({ data: new Uint8Array(bytes), repeat });

describeNeeds([isRoot(), hasCommand('clang')], 'perf event arrays from a real program', () => {
  it('receives every bpf_perf_event_output record, in order, with its CPU', async () => {
    using c = await counter();
    using perf = new PerfBuffer(c.maps.events!, struct({ seq: u64, len: u32, magic: u32 }));
    emit(c, 500, 50);
    const got = perf.drain();
    expect(got.length).toBe(500);
    expect(got.map((g) => g.record.seq)).toEqual(Array.from({ length: 500 }, (_, i) => BigInt(i)));
    expect(got.every((g) => g.record.len === 50 && g.record.magic === 0x7b9f)).toBe(true);
    expect(new Set(got.map((g) => g.cpu)).size).toBeGreaterThanOrEqual(1);
    expect(perf.lost).toBe(0);
  });

  it('a small ring: the kernel reports what it lost, and records across the ring end come back whole', async () => {
    using c = await counter();
    using perf = new PerfBuffer(c.maps.events!, struct({ seq: u64, len: u32, magic: u32 }), { pagesPerCpu: 1 });
    emit(c, 500, 50);
    const first = perf.drain();
    expect(first.length).toBeGreaterThan(50);
    // Positions now sit mid-ring: more records wrap past its end. (The kernel
    // writes its "lost" notice once there is room again, so it comes with these.)
    for (let round = 0; round < 5; round++) {
      emit(c, 37, 50);
      const more = perf.drain();
      expect(more.length).toBe(37);
      expect(more.every((g) => g.record.magic === 0x7b9f && g.record.len === 50)).toBe(true);
      const seqs = more.map((g) => g.record.seq);
      expect(seqs).toEqual([...seqs].sort((a, b) => (a < b ? -1 : 1)));
    }
    // A test run can move to the other CPU when it yields, and a ring reports its
    // loss only with its next record: feed both rings until the notice is in.
    for (let round = 0; round < 50 && first.length + perf.lost < 500; round++) {
      emit(c, 5, 50);
      perf.drain();
    }
    expect(first.length + perf.lost).toBe(500);
  });

  it('records whose bytes straddle the ring end (40-byte samples in a one-page ring) decode whole, and a throwing consumer does not get its record again', async () => {
    // 8-byte header + 4-byte size + 24 bytes = 36, padded to 40: over six turns of a
    // 4 KiB ring, samples start at every 8-byte offset, some with their data across the end.
    using c = await stamped();
    const Event = struct({ seq: u64, stamp: u64, len: u32, magic: u32 });
    using perf = new PerfBuffer(c.maps.events!, Event, { pagesPerCpu: 1 });
    const seen: bigint[] = [];
    for (let round = 0; round < 10; round++) {
      emit(c, 60);
      for (const { record } of perf.drain()) {
        expect(record).toEqual({ seq: record.seq, stamp: ~record.seq & 0xffffffffffffffffn, len: 60, magic: 0x7b9f });
        seen.push(record.seq);
      }
    }
    expect(perf.lost).toBe(0);
    expect([...seen].sort((a, b) => (a < b ? -1 : 1))).toEqual(Array.from({ length: 600 }, (_, i) => BigInt(i)));

    perf.close();

    // A consumer that throws: that record is consumed all the same, the next call goes on after it.
    using reader = new PerfEventArrayReader(c.maps.events!, { pagesPerCpu: 1 });
    emit(c, 3);
    expect(() =>
      reader.consumeAt(() => {
        throw new Error('consumer failed');
      }),
    ).toThrow('consumer failed');
    const rest: bigint[] = [];
    expect(reader.consumeAt((view, offset) => rest.push(Event.decode(view, offset).seq))).toBe(2);
    expect(rest.every((s) => s >= 600n)).toBe(true);
  });

  it('a record that does not decode: drain returns the records before it, throws on the next call, then goes on after it', async () => {
    using c = await shortThird();
    using perf = new PerfBuffer(c.maps.events!, struct({ seq: u64, len: u32, magic: u32 }));
    onCpu(0, () => emit(c, 5)); // one ring: one order
    expect(perf.drain().map((r) => r.record.seq)).toEqual([0n, 1n]);
    expect(() => perf.drain()).toThrow(/perf record of 12 bytes is shorter than/); // 8 bytes, padded by the kernel
    expect(perf.drain().map((r) => r.record.seq)).toEqual([3n, 4n]);

    perf.close();

    // The iterator: the records before one that does not decode, its error, then the records after it.
    const Event = struct({ seq: u64, len: u32, magic: u32 });
    const picky = {
      ...Event,
      decode: (view: DataView, offset: number) => {
        const e = Event.decode(view, offset);
        if (e.seq === 6n) throw new Error('no 6');
        return e;
      },
    };
    const strict = new PerfBuffer(c.maps.events!, picky);
    try {
      onCpu(0, () => emit(c, 3)); // 5, 6, 7
      const it = strict[Symbol.asyncIterator]();
      expect((await it.next()).value?.record.seq).toBe(5n);
      await expect(it.next()).rejects.toThrow('no 6');
      expect((await it.next()).value?.record.seq).toBe(7n); // an async generator would have been over
    } finally {
      strict.close();
    }

    // PerfEventArrayReader.consume hands out every record, whatever its callback returns.
    using reader = new PerfEventArrayReader(c.maps.events!);
    onCpu(0, () => emit(c, 4));
    expect(reader.consume(() => false)).toBe(4);
  });

  it('calls bounded by max take turns between CPUs: a busy CPU does not starve the others', async ({ skip }) => {
    if (cpus().length < 2) skip('needs two CPUs');
    using c = await counter();
    using reader = new PerfEventArrayReader(c.maps.events!, { pagesPerCpu: 32 });
    onCpu(1, () => emit(c, 1));
    onCpu(0, () => emit(c, 3000));
    const from = (max: number) => {
      const seen: number[] = [];
      reader.consumeAt((_view, _offset, _length, cpu) => seen.push(cpu), max);
      return seen;
    };
    expect(from(1024)).toEqual(new Array(1024).fill(0)); // CPU 0's ring first, up to max
    expect(from(1024)[0]).toBe(1); // then CPU 1's ring, before the rest of CPU 0's
    expect(from(Infinity).length).toBe(3000 - 2048 + 1);
    expect(reader.lost).toBe(0);
  });
});

/** Runs `fn` with this process (every thread) on one CPU, then gives it back the CPUs it had. */
function onCpu<T>(cpu: number, fn: () => T): T {
  const pid = String(process.pid);
  const had = /list:\s*(\S+)/.exec(execFileSync('taskset', ['-pc', pid], { encoding: 'utf8' }))![1]!;
  execFileSync('taskset', ['-a', '-pc', String(cpu), pid], { stdio: 'ignore' });
  try {
    return fn();
  } finally {
    execFileSync('taskset', ['-a', '-pc', had, pid], { stdio: 'ignore' });
  }
}

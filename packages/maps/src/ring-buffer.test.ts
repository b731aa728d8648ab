import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { compile } from '@tsbpf/compiler';
import { RingBufferReader, loadCollection } from '@tsbpf/loader';
import { parseCollectionSpec } from '@tsbpf/object';
import { struct } from './composite.js';
import { u32, u64 } from './primitives.js';
import { RingBuffer } from './ring-buffer.js';
import { describeNeeds, hasCommand, isRoot } from '../../../test/support/env.js';

const work = mkdtempSync(join(tmpdir(), 'tsbpf-ringbuf-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** An XDP program `file` with a ring buffer `events` of `ringBytes` holding `struct event`s, `body` its globals and its function, compiled and parsed. */
async function ringProgram(file: string, ringBytes: string, body: string) {
  const src = join(work, file);
  writeFileSync(
    src,
    `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
struct event { __u64 seq; __u32 len; __u32 magic; };
struct { __uint(type, BPF_MAP_TYPE_RINGBUF); __uint(max_entries, ${ringBytes}); } events SEC(".maps");
${body}
char LICENSE[] SEC("license") = "GPL";
`,
  );
  const { object } = await compile({ source: src, cache: false });
  return parseCollectionSpec(object);
}

/** An XDP program that emits one numbered event per run (BPF_PROG_TEST_RUN repeat = N runs); every tenth (seq 9, 19, ...) is discarded. */
const emitter = (ringBytes: number) =>
  ringProgram(
    `emit-${ringBytes}.bpf.c`,
    String(ringBytes),
    `__u64 seq, dropped;
SEC("xdp") int emit(struct xdp_md *ctx)
{
	struct event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) { __sync_fetch_and_add(&dropped, 1); return XDP_PASS; }
	e->seq = __sync_fetch_and_add(&seq, 1);
	e->len = ctx->data_end - ctx->data;
	e->magic = 0x7b9f;
	if (e->seq % 10 == 9) bpf_ringbuf_discard(e, 0); else bpf_ringbuf_submit(e, 0);
	return XDP_PASS;
}`,
  );

/** An XDP program that emits one numbered event per run, all but the third (seq 2) whole: that one is 8 bytes. */
const shortThird = () =>
  ringProgram(
    'short.bpf.c',
    '1 << 16',
    `__u64 seq;
SEC("xdp") int emit(struct xdp_md *ctx)
{
	struct event e = { .seq = seq++, .len = 0, .magic = 0x7b9f };
	bpf_ringbuf_output(&events, &e, e.seq == 2 ? 8 : sizeof(e), 0); /* the third record is short */
	return XDP_PASS;
}`,
  );

/** Runs the collection's `emit` program `repeat` times on a 60-byte packet. */
const emit = (c: ReturnType<typeof loadCollection>, repeat: number) => void c.programs.emit!.testRun({ data: new Uint8Array(60), repeat });

/** The seqs of `n` runs of the emitter from `from` that are submitted (every tenth is discarded). */
const submitted = (n: number, from = 0) => Array.from({ length: n }, (_, i) => BigInt(from + i)).filter((s) => s % 10n !== 9n);

const event = struct({ seq: u64, len: u32, magic: u32 });
const u32key = new Uint8Array(4);

describeNeeds([isRoot(), hasCommand('clang')], 'ring buffers from a real program', () => {
  it('a consumer that throws: the records before it and the one it threw on are not handed out again', async () => {
    using c = loadCollection(await emitter(1 << 16));
    using reader = new RingBufferReader(c.maps.events!);
    emit(c, 20); // 18 submitted, 2 discarded
    const seen: bigint[] = [];
    const take = (view: DataView, offset: number) => seen.push(event.decode(view, offset).seq);
    expect(() =>
      reader.consumeAt((view, offset) => {
        take(view, offset);
        if (seen.length === 5) throw new Error('consumer failed');
      }),
    ).toThrow('consumer failed');
    expect(reader.consumeAt(take)).toBe(13);
    expect(seen).toEqual(submitted(20));
  });

  it('a record that does not decode: drain returns the records before it, throws on the next call, then goes on after it', async () => {
    using c = loadCollection(await shortThird());
    using ring = new RingBuffer(c.maps.events!, event);
    emit(c, 5);
    expect(ring.drain().map((e) => e.seq)).toEqual([0n, 1n]);
    expect(() => ring.drain()).toThrow(/ring buffer record of 8 bytes is shorter than/);
    expect(ring.drain().map((e) => e.seq)).toEqual([3n, 4n]);
    expect(ring.drain()).toEqual([]);

    // A codec may throw anything, undefined included: still the next call's error, not a lost record.
    const picky = {
      ...event,
      decode: (view: DataView, offset: number) => {
        const e = event.decode(view, offset);
        if (e.seq === 6n) throw undefined; // eslint-disable-line @typescript-eslint/only-throw-error
        return e;
      },
    };
    using strict = new RingBuffer(c.maps.events!, picky);
    emit(c, 3); // 5, 6, 7
    expect(strict.drain().map((e) => e.seq)).toEqual([5n]);
    let threw = false;
    try {
      strict.drain();
    } catch (e) {
      threw = e === undefined;
    }
    expect(threw).toBe(true);
    expect(strict.drain().map((e) => e.seq)).toEqual([7n]);

    // RingBufferReader.consume hands out every record, whatever its callback returns.
    emit(c, 4);
    using reader = new RingBufferReader(c.maps.events!);
    expect(reader.consume(() => false)).toBe(4);
  });

  it('consume(callback): a record that does not decode rejects it after the records before it; the next consume goes on after it', async () => {
    using c = loadCollection(await shortThird());
    using ring = new RingBuffer(c.maps.events!, event);
    emit(c, 5);
    const seen: bigint[] = [];
    await expect(ring.consume((e) => seen.push(e.seq))).rejects.toMatchObject({ code: 'CODEC_SIZE' });
    expect(seen).toEqual([0n, 1n]);
    await ring.consume((e) => {
      seen.push(e.seq);
      if (e.seq === 4n) ring.close();
    });
    expect(seen).toEqual([0n, 1n, 3n, 4n]);
  });

  it('a consumer that throws past 64 KiB of records: the position published covers every record handed out', async () => {
    using c = loadCollection(await emitter(1 << 20));
    emit(c, 5000); // 24 bytes a record: 117 KiB
    let last = -1;
    {
      using reader = new RingBufferReader(c.maps.events!);
      let n = 0;
      expect(() =>
        reader.consumeAt((view, offset) => {
          last = view.getUint32(offset, true);
          if (++n === 4000) throw new Error('consumer failed');
        }),
      ).toThrow('consumer failed');
    }
    // A new reader starts where the position says: right after the record thrown on.
    using again = new RingBufferReader(c.maps.events!);
    const rest: number[] = [];
    again.consumeAt((view, offset) => void rest.push(view.getUint32(offset, true)));
    expect(last).toBeGreaterThan(4000); // every tenth was discarded, not handed out
    expect(rest[0]).toBe(last % 10 === 8 ? last + 2 : last + 1);
    expect(rest.at(-1)).toBe(4998); // 4999 is a tenth: discarded
    expect(rest.length + 4000).toBe(4500);
  });

  it('receives every submitted record exactly once, in order, and counts discards', async () => {
    using c = loadCollection(await emitter(1 << 16));
    using ring = new RingBuffer(c.maps.events!, event);
    emit(c, 100);
    const got: bigint[] = [];
    for await (const e of ring) {
      expect(e).toMatchObject({ len: 60, magic: 0x7b9f });
      got.push(e.seq);
      if (got.length === 90) break;
    }
    expect(got).toEqual(submitted(100));
    expect(ring.discarded).toBe(10);
    expect(ring.drain()).toEqual([]);
  });

  it('a producer that outruns the consumer: what is delivered plus what was dropped is everything', async () => {
    const spec = await emitter(4096); // room for ~170 events
    using c = loadCollection(spec);
    using ring = new RingBuffer(c.maps.events!, event);
    emit(c, 1000);
    const delivered = ring.drain();
    const bss = new DataView(c.maps['.bss']!.lookup(u32key)!.buffer);
    const at = (name: string) => spec.maps['.bss']!.variables.find((v) => v.name === name)!.offset;
    const produced = bss.getBigUint64(at('seq'), true);
    const dropped = bss.getBigUint64(at('dropped'), true);
    expect(produced + dropped).toBe(1000n);
    expect(dropped).toBeGreaterThan(0n);
    expect(BigInt(delivered.length + ring.discarded)).toBe(produced);
    expect(delivered.map((e) => e.seq)).toEqual([...delivered.map((e) => e.seq)].sort((a, b) => (a < b ? -1 : 1)));
  });

  it('waits without blocking the event loop, and stops on abort', async () => {
    using c = loadCollection(await emitter(4096));
    const abort = new AbortController();
    using ring = new RingBuffer(c.maps.events!, event, { signal: abort.signal, pollMs: 50 });
    let ticks = 0;
    const timer = setInterval(() => ticks++, 10);
    setTimeout(() => emit(c, 1), 100);
    setTimeout(() => abort.abort(), 300);
    const got: bigint[] = [];
    for await (const e of ring) got.push(e.seq);
    clearInterval(timer);
    expect(got).toEqual([0n]);
    expect(ticks).toBeGreaterThan(10); // timers kept firing while we waited
  });

  it('close() inside the loop stops it at once, not at the end of the drained batch', async () => {
    using c = loadCollection(await emitter(1 << 16));
    const ring = new RingBuffer(c.maps.events!, event);
    emit(c, 5);
    const got: bigint[] = [];
    for await (const e of ring) {
      got.push(e.seq);
      ring.close();
    }
    expect(got).toEqual([0n]);
  });

  it('more records than a chunk: for await and consume() see each exactly once, in order; drain(max) and consumeAt(max) bound a call', async () => {
    using c = loadCollection(await emitter(1 << 18)); // room for ~10,000 events
    using ring = new RingBuffer(c.maps.events!, event);
    emit(c, 3000);
    const got: bigint[] = [];
    for await (const e of ring) {
      got.push(e.seq);
      if (got.length === 2700) break;
    }
    expect(got).toEqual(submitted(3000));

    emit(c, 3000);
    const viaConsume: bigint[] = [];
    await ring.consume((e) => {
      viaConsume.push(e.seq);
      if (viaConsume.length === 2700) ring.close();
    });
    expect(viaConsume).toEqual(submitted(3000, 3000));
  });

  it('consumeAt(max): 0 hands out nothing, n stops after n records (discards not counted), a false stops after its record', async () => {
    using c = loadCollection(await emitter(1 << 16));
    using reader = new RingBufferReader(c.maps.events!);
    emit(c, 25); // seq 9 and 19 discarded
    const seqs: number[] = [];
    const take = (view: DataView, offset: number) => void seqs.push(view.getUint32(offset, true));
    expect(reader.consumeAt(take, 0)).toBe(0);
    expect(seqs).toEqual([]);
    expect(reader.consumeAt(take, 9)).toBe(9);
    expect(reader.consumeAt(take, 1)).toBe(1); // past the discarded 9
    expect(reader.discarded).toBe(1);
    expect(reader.consumeAt((view, offset) => (take(view, offset), seqs.length < 12))).toBe(2);
    expect(reader.consumeAt(take)).toBe(11);
    expect(seqs.map(BigInt)).toEqual(submitted(25));
    expect(reader.discarded).toBe(2);
    expect(reader.consumeAt(take)).toBe(0);
  });

  it('drain(max) takes at most max records and leaves the rest for the next call', async () => {
    using c = loadCollection(await emitter(1 << 16));
    using ring = new RingBuffer(c.maps.events!, event);
    emit(c, 5);
    expect(ring.drain(2).map((e) => e.seq)).toEqual([0n, 1n]);
    expect(ring.drain(2).map((e) => e.seq)).toEqual([2n, 3n]);
    expect(ring.drain().map((e) => e.seq)).toEqual([4n]);
  });
});

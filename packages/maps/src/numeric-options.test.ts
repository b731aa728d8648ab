/**
 * The maps package's numeric options and arguments given the values that
 * wrap, truncate or loop when unchecked (0, -1, 0.5, NaN, Infinity, 2^32,
 * 2^53): codec sizes, lengths, alignments and offsets (CODEC_LAYOUT or
 * CODEC_SIZE), and the record streams' pollMs and drain max (LoaderError
 * INVALID_ARGUMENT), each call ending.
 */
import { describe, expect, it } from 'vitest';
import { BpfMap, possibleCpus } from '@tsbpf/loader';
import { MapType, TsbpfError } from '@tsbpf/object';
import { decode } from './codec.js';
import { array, structAt } from './composite.js';
import { PerfBuffer } from './perf-buffer.js';
import { bytes, cstring, u32 } from './primitives.js';
import { RingBuffer } from './ring-buffer.js';
import { describeNeeds, isRoot } from '../../../test/support/env.js';

const BAD = [0, -1, 0.5, NaN, Infinity, 2 ** 32, 2 ** 53] as const;

/** The error's code, or 'ok'. */
function outcome(use: () => unknown): string {
  try {
    use();
    return 'ok';
  } catch (e) {
    if (e instanceof TsbpfError) return e.code;
    return `untyped ${String(e)}`;
  }
}

function expectChecked(what: string, code: string, use: (v: number) => unknown, accepted: readonly number[]): void {
  for (const v of BAD)
    expect(
      outcome(() => use(v)),
      `${what}(${v})`,
    ).toBe(accepted.includes(v) ? 'ok' : code);
}

describe('codec layout numbers', () => {
  it('bytes, cstring and array lengths: whole numbers a map key or value can have', () => {
    expectChecked('bytes', 'CODEC_LAYOUT', (v) => bytes(v), [0]);
    expectChecked('cstring', 'CODEC_LAYOUT', (v) => cstring(v), [0]);
    expectChecked('array', 'CODEC_LAYOUT', (v) => array(u32, v), [0]);
    expect(outcome(() => array(u32, 2 ** 30))).toBe('CODEC_LAYOUT'); // 2^32 bytes in all
  });

  it('structAt: size, alignment and member offsets', () => {
    expectChecked('structAt size', 'CODEC_LAYOUT', (v) => structAt('s', v, 1, []), [0]);
    expectChecked('structAt align', 'CODEC_LAYOUT', (v) => structAt('s', 8, v, []), []); // a power of two, 1 to 4096
    expectChecked('structAt offset', 'CODEC_LAYOUT', (v) => structAt('s', 8, 4, [{ name: 'a', offset: v, codec: u32 }]), [0]);
  });

  it('decode offsets', () => {
    expectChecked('decode offset', 'CODEC_SIZE', (v) => decode(u32, new Uint8Array(8), v), [0]);
  });
});

describeNeeds([isRoot()], 'record streams: pollMs and drain max', () => {
  it('pollMs is a wait of 0 to 2^31 - 1 ms; drain(max) takes a count or Infinity', () => {
    using ring = BpfMap.create({ type: MapType.ringbuf, keySize: 0, valueSize: 0, maxEntries: 1 << 16, name: 'ring' });
    using perf = BpfMap.create({ type: MapType.perf_event_array, keySize: 4, valueSize: 4, maxEntries: possibleCpus(), name: 'perf' });
    for (const make of [(pollMs: number) => new RingBuffer(ring, u32, { pollMs }), (pollMs: number) => new PerfBuffer(perf, u32, { pollMs, pagesPerCpu: 1 })]) {
      for (const v of BAD) {
        let stream: { close(): void } | undefined;
        const got = outcome(() => (stream = make(v)));
        stream?.close();
        expect(got, `pollMs ${v}`).toBe(v === 0 ? 'ok' : 'INVALID_ARGUMENT');
      }
      using stream = make(10);
      for (const v of BAD)
        expect(
          outcome(() => stream.drain(v)),
          `drain(${v})`,
        ).toBe([0, Infinity, 2 ** 32].includes(v) ? 'ok' : 'INVALID_ARGUMENT');
    }
  });
});

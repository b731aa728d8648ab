import { PerfEventArrayReader, type BpfMap } from '@tsbpf/loader';
import { CodecError, type Codec } from './codec.js';

export interface PerfBufferOptions {
  signal?: AbortSignal;
  pollMs?: number;
  /** Ring pages per CPU (a power of two; default 8). */
  pagesPerCpu?: number;
}

/**
 * Records a program sends with `bpf_perf_event_output` to a perf event
 * array, decoded, with the CPU each came from: an async iterable and
 * `drain()`. `lost` counts what the kernel dropped when a ring was full.
 */
export class PerfBuffer<T> implements AsyncIterable<{ cpu: number; record: T }>, Disposable {
  private readonly reader: PerfEventArrayReader;
  private closed = false;

  constructor(
    map: BpfMap,
    readonly codec: Codec<T>,
    private readonly options: PerfBufferOptions = {},
  ) {
    this.reader = new PerfEventArrayReader(map, { pagesPerCpu: options.pagesPerCpu });
  }

  get lost(): number {
    return this.reader.lost;
  }

  /**
   * Decodes what is available now (at most `max` records), without waiting.
   * A record that does not decode ends the call with the records before it;
   * the next call throws its error (as RingBuffer.drain).
   */
  drain(max = Infinity): { cpu: number; record: T }[] {
    if (this.failed) {
      const e = this.failed;
      this.failed = undefined;
      throw e;
    }
    const out: { cpu: number; record: T }[] = [];
    const codec = this.codec;
    // Decoded where each record lies in the ring (no copy, no view per record).
    this.reader.consumeAt((view, offset, length, cpu) => {
      try {
        if (length < codec.size) throw new CodecError(`perf record of ${length} bytes is shorter than ${codec.name}`);
        out.push({ cpu, record: codec.decode(view, offset) });
      } catch (e) {
        this.failed = e;
        return false;
      }
      return true;
    }, max);
    if (this.failed && out.length === 0) return this.drain(max);
    return out;
  }

  /** The error of a record that did not decode, for the next drain (after the records before it). */
  private failed: unknown;

  async *[Symbol.asyncIterator](): AsyncIterator<{ cpu: number; record: T }> {
    while (!this.closed && !this.options.signal?.aborted) {
      const batch = this.drain(1024); // in chunks: decoded objects held for long cost the collector more than decoding
      for (const r of batch) yield r;
      if (batch.length === 0) await this.reader.wait(this.options.pollMs ?? 100);
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.reader.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

import { PerfEventArrayReader, type BpfMap } from '@tsbpf/loader';
import { CodecError, type Codec } from './codec.js';
import { CHUNK, HeldError, recordIterator } from './record-iterator.js';

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
    this.held.rethrow();
    const out: { cpu: number; record: T }[] = [];
    const codec = this.codec;
    // Decoded where each record lies in the ring (no copy, no view per record).
    this.reader.consumeAt((view, offset, length, cpu) => {
      try {
        if (length < codec.size) throw new CodecError(`perf record of ${length} bytes is shorter than ${codec.name}`);
        out.push({ cpu, record: codec.decode(view, offset) });
      } catch (error) {
        return this.held.hold(error);
      }
      return true;
    }, max);
    if (out.length === 0) this.held.rethrow(); // the bad record came first: nothing to hand out before its error
    return out;
  }

  private readonly held = new HeldError();

  [Symbol.asyncIterator](): AsyncIterator<{ cpu: number; record: T }> {
    return recordIterator(
      () => this.closed || this.options.signal?.aborted === true,
      () => this.drain(CHUNK),
      () => this.reader.wait(this.options.pollMs ?? 100),
    );
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

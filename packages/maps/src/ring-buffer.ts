import { RingBufferReader, type BpfMap } from '@tsbpf/loader';
import { CodecError, type Codec } from './codec.js';

export interface RingBufferOptions {
  /** Stops iteration (and the callback form) when aborted. */
  signal?: AbortSignal;
  /** How long one wait may last before the signal is checked again (default 100 ms). */
  pollMs?: number;
}

/**
 * Records of a BPF ring buffer, decoded: an async iterable (`for await`)
 * and a callback form. Waiting blocks no thread of the event loop (epoll on
 * a worker); iteration ends on `close()` or when the signal aborts.
 */
export class RingBuffer<T> implements AsyncIterable<T>, Disposable {
  private readonly reader: RingBufferReader;
  private closed = false;

  constructor(
    map: BpfMap,
    readonly codec: Codec<T>,
    private readonly options: RingBufferOptions = {},
  ) {
    this.reader = new RingBufferReader(map);
  }

  /** Records the producer discarded (bpf_ringbuf_discard). */
  get discarded(): number {
    return this.reader.discarded;
  }

  private stopped(): boolean {
    return this.closed || this.options.signal?.aborted === true;
  }

  /** Decodes whatever is available now, without waiting. */
  drain(): T[] {
    const out: T[] = [];
    const codec = this.codec;
    this.reader.consumeAt((view, offset, length) => {
      if (length < codec.size) throw new CodecError(`ring buffer record of ${length} bytes is shorter than ${codec.name}`);
      out.push(codec.decode(view, offset));
    });
    return out;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    while (!this.stopped()) {
      const batch = this.drain();
      for (const r of batch) {
        // Stop at once, not at the end of what was drained: the rest of the batch is dropped (it has left the ring).
        if (this.stopped()) return;
        yield r;
      }
      if (batch.length === 0) await this.reader.wait(this.options.pollMs ?? 100);
    }
  }

  /** Calls `onRecord` for each record until stopped; resolves then. */
  async consume(onRecord: (record: T) => void): Promise<void> {
    for await (const r of this) onRecord(r);
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

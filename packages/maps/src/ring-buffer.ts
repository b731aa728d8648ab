import { RingBufferReader, type BpfMap } from '@tsbpf/loader';
import { CodecError, withWords, type Codec } from './codec.js';
import { CHUNK, HeldError, recordIterator } from './record-iterator.js';

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

  /**
   * Decodes what is available now (at most `max` records), without waiting.
   * A record that does not decode (shorter than the codec, or refused by it)
   * ends the call with the records before it; the next call throws its
   * error. It has left the ring either way: later calls go on after it.
   */
  drain(max = Infinity): T[] {
    this.held.rethrow();
    const out: T[] = [];
    const codec = this.codec;
    let worded: DataView | undefined; // the ring's view, its words attached (records are 8-aligned)
    this.reader.consumeAt((view, offset, length) => {
      if (view !== worded) worded = withWords(view);
      try {
        if (length < codec.size) throw new CodecError(`ring buffer record of ${length} bytes is shorter than ${codec.name}`);
        out.push(codec.decode(view, offset));
      } catch (error) {
        return this.held.hold(error);
      }
      return true;
    }, max);
    if (out.length === 0) this.held.rethrow(); // the bad record came first: nothing to hand out before its error
    return out;
  }

  private readonly held = new HeldError();

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return recordIterator(
      () => this.stopped(),
      () => this.drain(CHUNK),
      () => this.reader.wait(this.options.pollMs ?? 100),
    );
  }

  /**
   * Calls `onRecord` for each record until stopped; resolves then. Records
   * that are there are handed out synchronously, a chunk at a time; only an
   * empty ring waits (a for-await loop pays a promise per record instead).
   */
  async consume(onRecord: (record: T) => void): Promise<void> {
    while (!this.stopped()) {
      const batch = this.drain(CHUNK);
      for (const r of batch) {
        if (this.stopped()) return; // the rest of the chunk is dropped: it has left the ring
        onRecord(r);
      }
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


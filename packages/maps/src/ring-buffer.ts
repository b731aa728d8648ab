/**
 * RingBuffer<T>: the records of a BPF ring buffer, decoded (an async
 * iterable, drain() and the callback form consume()).
 */
import { LoaderError, RingBufferReader, type BpfMap } from '@tsbpf/loader';
import type { Codec } from './codec.js';
import { CHUNK, RecordStream, type RecordStreamOptions } from './record-stream.js';

export type RingBufferOptions = RecordStreamOptions;

/**
 * Records of a BPF ring buffer, decoded: an async iterable (`for await`),
 * `drain()` and a callback form. Waiting blocks no thread of the event loop
 * (epoll on a worker); iteration ends on `close()` or when the signal aborts.
 */
export class RingBuffer<T> extends RecordStream<T, T> {
  constructor(map: BpfMap, codec: Codec<T>, options: RingBufferOptions = {}) {
    const reader = new RingBufferReader(map);
    super(reader, codec, options, 'ring buffer record', true);
    this.ringReader = reader;
  }

  private readonly ringReader: RingBufferReader;

  /** Records the producer discarded (bpf_ringbuf_discard). */
  get discarded(): number {
    return this.ringReader.discarded;
  }

  protected record(value: T): T {
    return value;
  }

  /**
   * Calls `onRecord` for each record until stopped; resolves then. Records
   * that are there are handed out synchronously, a chunk at a time; only an
   * empty ring waits (a for-await loop pays a promise per record instead).
   */
  async consume(onRecord: (record: T) => void): Promise<void> {
    this.reader.assertOpen(); // CLOSED when begun after close(); a close() during it ends it
    if (typeof onRecord !== 'function') throw new LoaderError('INVALID_ARGUMENT', `onRecord must be a function, not ${typeof onRecord}`);
    while (!this.stopped()) {
      const batch = this.drain(CHUNK);
      for (const r of batch) {
        if (this.stopped()) return; // the rest of the chunk is dropped: it has left the ring
        onRecord(r);
      }
      if (batch.length === 0 && !this.stopped()) await this.reader.wait(this.pollMs);
    }
  }
}

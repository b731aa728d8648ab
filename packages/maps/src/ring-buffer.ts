/**
 * RingBuffer<T>: the records of a BPF ring buffer, decoded (an async
 * iterable, drain() and the callback form consume()).
 */
import { LoaderError, RingBufferReader, type BpfMap } from '@tsbpf/loader';
import { withWords, type Codec } from './codec.js';
import { CodecError } from './errors.js';
import { RecordStream, type RecordStreamOptions } from './record-stream.js';

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
   * that are there are decoded and handed out synchronously, each straight
   * from the ring's loop (no array, no promise per record); only an empty
   * ring waits. A record that does not decode, or an `onRecord` that
   * throws, rejects the promise (that record has left the ring).
   */
  async consume(onRecord: (record: T) => void): Promise<void> {
    this.reader.assertOpen(); // CLOSED when begun after close(); a close() during it ends it
    if (typeof onRecord !== 'function') throw new LoaderError('INVALID_ARGUMENT', `onRecord must be a function, not ${typeof onRecord}`);
    const codec = this.codec;
    const size = codec.size;
    let worded: DataView | undefined; // the view whose words are attached (see withWords)
    const each = (view: DataView, offset: number, length: number): boolean => {
      if (view !== worded) worded = withWords(view);
      if (length < size) throw new CodecError('CODEC_SIZE', `ring buffer record of ${length} bytes is shorter than ${codec.name}`);
      onRecord(codec.decode(view, offset));
      return !this.stopped();
    };
    while (!this.stopped()) {
      if (this.reader.consumeAt(each) === 0 && !this.stopped()) await this.reader.wait(this.pollMs);
    }
  }
}

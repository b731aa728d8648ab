/**
 * What RingBuffer and PerfBuffer share: RecordStream, records of a loader
 * reader decoded a chunk at a time (drain), handed out through async
 * iterators (a record or a batch at a time), with a record that does not
 * decode held back for the next drain.
 */
import { LoaderError } from '@tsbpf/loader';
import { withWords, type Codec } from './codec.js';
import { CodecError } from './errors.js';

/**
 * Records decoded a chunk at a time: small enough that decoded objects die
 * young (draining a million at once kept them all alive through collections,
 * ~200 ns a record against ~45 for the decoding itself), and handed out from
 * a plain iterator object whose next() returns an already-settled promise
 * while the chunk lasts (an async generator costs about twice that per yield).
 * A drain that throws rejects that next(); the iterator can be called again
 * and goes on with what follows (an async generator would be over).
 */
export const CHUNK = 1024;

export interface RecordStreamOptions {
  /** Stops iteration (and the callback form) when aborted. */
  signal?: AbortSignal;
  /** How long one wait may last before the signal is checked again: 0 to 2^31 - 1 ms (default 100). */
  pollMs?: number;
}

/** The loader's readers as a RecordStream uses them (RingBufferReader, PerfEventArrayReader). */
export interface RecordSource {
  /** Hands each record over where it lies (`cpu`: the perf ring it came from); a callback's false stops. */
  consumeAt(onRecord: (view: DataView, offset: number, length: number, cpu?: number) => unknown, max?: number): number;
  wait(timeoutMs: number): Promise<boolean>;
  /** Throws LoaderError CLOSED once closed. */
  assertOpen(): void;
  close(): void;
}

/**
 * Decoded records of a reader: `drain()` takes what is there now, the async
 * iterator waits for more (epoll on a worker, never the event loop) until
 * `close()` or the signal's abort. A subclass says what one record is made
 * of (`record`).
 */
export abstract class RecordStream<T, R> implements AsyncIterable<R>, Disposable {
  /** Starts as close() leaves it; the constructor then opens (see EpollWait: one write would be a constant to V8). */
  private closed = true;
  private readonly held = new HeldError();

  constructor(
    protected readonly reader: RecordSource,
    readonly codec: Codec<T>,
    protected readonly options: RecordStreamOptions,
    /** What a record is called in errors (`ring buffer record`). */
    private readonly what: string,
    /** Attach 64-bit words to the reader's views (see withWords): its records are 8-aligned. */
    private readonly aligned: boolean,
  ) {
    this.closed = false;
    const { pollMs } = options;
    if (pollMs !== undefined && !(typeof pollMs === 'number' && Number.isInteger(pollMs) && pollMs >= 0 && pollMs <= 0x7fffffff)) {
      reader.close(); // made for this stream, which will not be
      throw new LoaderError('INVALID_ARGUMENT', `pollMs must be an integer in [0, 2147483647], not ${String(pollMs)}`);
    }
  }

  /** One record as handed out, from its decoded value and the CPU it came from (perf rings only). */
  protected abstract record(value: T, cpu: number | undefined): R;

  protected stopped(): boolean {
    return this.closed || this.options.signal?.aborted === true;
  }

  /** How long one wait may last. */
  protected get pollMs(): number {
    return this.options.pollMs ?? 100;
  }

  /**
   * Decodes what is available now (at most `max` records), without waiting,
   * each where it lies (no copy, no view per record). A record that does not
   * decode (shorter than the codec, or refused by it) ends the call with the
   * records before it; the next call throws its error. It has left the ring
   * either way: later calls go on after it.
   */
  drain(max = Infinity): R[] {
    this.reader.assertOpen(); // CLOSED before a held error: the stream is over
    this.held.rethrow();
    const out: R[] = [];
    const { codec, held, what, aligned } = this;
    let worded: DataView | undefined; // the view whose words are attached
    this.reader.consumeAt((view, offset, length, cpu) => {
      if (aligned && view !== worded) worded = withWords(view);
      try {
        if (length < codec.size) throw new CodecError('CODEC_SIZE', `${what} of ${length} bytes is shorter than ${codec.name}`);
        out.push(this.record(codec.decode(view, offset), cpu));
      } catch (error) {
        return held.hold(error);
      }
      return true;
    }, max);
    if (out.length === 0) held.rethrow(); // the bad record came first: nothing to hand out before its error
    return out;
  }

  /**
   * The records as they come, until close() or the signal's abort ends the
   * iteration. An iterator made after close() rejects its first next() with
   * CLOSED.
   */
  [Symbol.asyncIterator](): AsyncIterator<R> {
    let chunk: R[] = [];
    let index = 0;
    const nextChunk = this.chunks(CHUNK);
    const fill = async (): Promise<IteratorResult<R>> => {
      const next = await nextChunk();
      if (next.done) return next;
      chunk = next.value;
      index = 0;
      return { value: chunk[index++]!, done: false };
    };
    return {
      next: () => (index < chunk.length && !this.stopped() ? Promise.resolve({ value: chunk[index++]!, done: false }) : fill()),
      return: () => {
        chunk = [];
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }

  /**
   * The records in arrays, one a drain (at most `max` records, default
   * 1,024; never empty), for `for await` at speed: one promise a batch, not
   * one a record. Otherwise as the per-record iterator: it waits while the
   * ring is empty, ends on close() or the signal's abort (a batch already
   * handed out is the caller's), a record that does not decode rejects the
   * next() after the batch before it (the next next() goes on after it), and
   * an iterator made after close() rejects its first next() with CLOSED.
   */
  batches(max: number = CHUNK): AsyncIterable<R[]> {
    if (!(typeof max === 'number' && Number.isInteger(max) && max >= 1 && max <= 0xffffffff)) {
      throw new LoaderError('INVALID_ARGUMENT', `max must be an integer in [1, 4294967295], not ${typeof max === 'number' ? String(max) : typeof max}`);
    }
    const nextChunk = this.chunks(max);
    let over = false;
    const iterator: AsyncIterator<R[]> = {
      next: () => (over ? Promise.resolve({ value: undefined, done: true }) : nextChunk()),
      return: () => {
        over = true;
        return Promise.resolve({ value: undefined, done: true });
      },
    };
    return { [Symbol.asyncIterator]: () => iterator };
  }

  /**
   * What both iterators take their records from: each call resolves with the
   * next non-empty drain of at most `max`, waiting while there is none, or
   * done once stopped (at once: not at the end of a drained chunk).
   */
  private chunks(max: number): () => Promise<IteratorResult<R[], undefined>> {
    const closedAlready = this.closed;
    return async () => {
      if (closedAlready) this.reader.assertOpen(); // throws CLOSED
      for (;;) {
        if (this.stopped()) return { value: undefined, done: true };
        const chunk = this.drain(max);
        if (chunk.length > 0) return { value: chunk, done: false };
        if (!this.stopped()) await this.reader.wait(this.pollMs);
      }
    };
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

/**
 * The error of a record that did not decode, held back so that a drain
 * hands out the records before it first and the next drain throws it
 * (boxed: anything can be thrown, undefined included).
 */
class HeldError {
  private held: { error: unknown } | undefined;

  /** Keeps `error` for later; false, to end the consumeAt call it came from. */
  hold(error: unknown): false {
    this.held = { error };
    return false;
  }

  /** Throws what was held, once. */
  rethrow(): void {
    if (!this.held) return;
    const { error } = this.held;
    this.held = undefined;
    throw error;
  }
}

/**
 * RingBufferReader: the records of a BPF ring buffer map, read where they
 * lie in its memory mapped into this process, and waited for with epoll.
 */
import { EpollReader, EpollWait } from './epoll-wait.js';
import type { BpfMap } from './map.js';
import { SyscallError } from './sys/errors.js';
import { MAP_SHARED, MAX_VIEW_BYTES, PROT_READ, PROT_WRITE, mmap, munmap, pageSize, view } from './sys/ffi.js';
import { checkFunction, checkMax } from './args.js';
import { LoaderError } from './errors.js';
import { ringLoopCopy, type RingLoop, type RingLoopState } from './ring-loop.js';

const BUSY = 0x80000000;
const DISCARD = 0x40000000;
/** A record's header: its length and flags (u32), the page offset (u32). */
const HEADER = 8;
/** Each position is a u64 at the start of its page (consumer: the first, producer: the second), read and written as two halves. */
const POS_LOW = 0;
const POS_HIGH = 4;

/**
 * Reads a BPF ring buffer map the way libbpf's ring_buffer does: the
 * consumer page mapped read-write, the producer page and the data area
 * (mapped twice back to back by the kernel, so no record wraps) read-only;
 * records are consumed in order, discarded ones skipped, and the consumer
 * position published after each. Waiting is epoll on a worker thread.
 *
 * (Loads and stores of the positions rely on x86-64's ordering, as the
 * kernel's and libbpf's plain accesses on that architecture do.)
 */
export class RingBufferReader extends EpollReader {
  private readonly consumer: DataView;
  private readonly producer: DataView;
  private readonly data: Uint8Array;
  private readonly dataView: DataView;
  private readonly mask: number;
  private readonly page: number;
  /** Waiting, and the unmapping once no wait is in flight. */
  protected readonly epoll: EpollWait;
  /** Records skipped because the program discarded them. */
  discarded = 0;
  /** This reader's own copy of the consumer loop (see ringLoopCopy), and what it reports. */
  private readonly loop: RingLoop = ringLoopCopy();
  private readonly state: RingLoopState = { done: 0, published: 0, discarded: 0, busy: false, stopped: false };
  private readonly isClosed = (): boolean => this.epoll.closed;

  constructor(readonly map: BpfMap) {
    super();
    if (map.typeName !== 'ringbuf') throw new LoaderError('MAP_TYPE', `map ${map.name} is a ${map.typeName}, not a ringbuf`);
    this.page = pageSize();
    const size = map.maxEntries;
    this.mask = size - 1;
    // The data area is mapped twice in a row (a record that wraps reads straight on).
    if (this.page + 2 * size > MAX_VIEW_BYTES) {
      throw new LoaderError(
        'MAP_TOO_LARGE',
        `ring buffer ${map.name}: ${size} bytes, mapped twice, is more than this Node can view (${MAX_VIEW_BYTES} bytes); use max_entries of at most ${2 ** 30}`,
      );
    }
    const c = mmap(this.page, PROT_READ | PROT_WRITE, MAP_SHARED, map.fd, 0);
    if (typeof c === 'number') throw new SyscallError('mmap (ring buffer consumer page)', -c, `map ${map.name}`);
    const p = mmap(this.page + 2 * size, PROT_READ, MAP_SHARED, map.fd, this.page);
    if (typeof p === 'number') {
      munmap(c, this.page);
      throw new SyscallError('mmap (ring buffer data)', -p, `map ${map.name}`);
    }
    this.consumer = new DataView(view(c, this.page));
    const pv = view(p, this.page + 2 * size);
    this.producer = new DataView(pv, 0, this.page);
    this.data = new Uint8Array(pv, this.page, 2 * size);
    this.dataView = new DataView(pv, this.page, 2 * size);
    const page = this.page;
    // Holds the mappings, not the reader (the finalizer of a dropped reader runs it).
    const unmap = () => {
      munmap(c, page);
      munmap(p, page + 2 * size);
    };
    let epoll: EpollWait;
    try {
      epoll = new EpollWait(`ring buffer ${map.name}`, 4, unmap);
    } catch (e) {
      unmap();
      throw e;
    }
    try {
      epoll.add(map.fd);
    } catch (e) {
      epoll.close();
      throw e;
    }
    this.epoll = epoll;
    this.closeWhenDropped();
  }

  /**
   * Hands every available record to `onRecord` (a view valid only during
   * the call) and returns how many. Never blocks.
   */
  consume(onRecord: (record: Uint8Array) => void): number {
    checkFunction(onRecord, 'onRecord', `ring buffer ${this.map.name}`);
    return this.consumeAt((view, offset, length) => {
      onRecord(this.data.subarray(offset, offset + length)); // what it returns is not consumeAt's stop
    });
  }

  /**
   * The allocation-free form: each record as (the data area's DataView, the
   * record's offset in it, its length). This is the hot path for decoders.
   * `max` bounds how many records one call hands out (the rest wait for the
   * next call), so a consumer that builds objects can work in chunks; a
   * callback that returns `false` ends the call after its record. A record
   * is consumed before it is handed out: one the callback threw on, or
   * stopped at, is not handed out again. A callback that closes the reader
   * ends the call too (the memory stays mapped until the call returns).
   */
  consumeAt(onRecord: (view: DataView, offset: number, length: number) => unknown, max = Infinity): number {
    const epoll = this.epoll;
    epoll.assertOpen();
    // (The context strings are built only for an error: this runs once a batch.)
    if (typeof onRecord !== 'function') checkFunction(onRecord, 'onRecord', `ring buffer ${this.map.name}`);
    if (max !== Infinity) max = checkMax(max, 'max', `ring buffer ${this.map.name}`);
    if (max === 0) return 0;
    epoll.enter();
    const c = this.consumer;
    const p = this.producer;
    const data = this.dataView;
    const mask = this.mask;
    // The positions are u64s read as two 32-bit halves, once a batch, as numbers (they stay far
    // below 2^53). Inside a batch the walk is in int32s: the offset in the data area and the bytes
    // done, both below the ring's size (at most 2^30): no double arithmetic per record.
    let cons = c.getUint32(POS_LOW, true) + c.getUint32(POS_HIGH, true) * 0x100000000;
    let n = 0;
    const state = this.state;
    state.done = state.published = 0;
    try {
      for (;;) {
        // High half first: read across the producer's 64-bit store, the position looks 4 GiB behind (no records yet), never ahead.
        const high = p.getUint32(POS_HIGH, true);
        const prod = high * 0x100000000 + p.getUint32(POS_LOW, true);
        // The producer is never more than the ring's size ahead: the batch fits an int32.
        const avail = Math.min(prod - cons, mask + 1) | 0;
        if (avail <= 0) break;
        // ToInt32 is modular and the size a power of two: the low bits are the offset for any position below 2^53.
        const from = cons;
        // The loop counts in int32s: at most 2^30 - 1 a call (a call walks at most 2^30 bytes, 8 or more a record).
        const left = max - n > 0x3fffffff ? 0x3fffffff : max - n;
        n += this.loop(data, mask, cons & mask, avail, left, onRecord, this.isClosed, (done) => this.publish(from + done), state);
        cons += state.done;
        if (state.done !== state.published) this.publish(cons);
        state.done = state.published = 0;
        if (state.busy || state.stopped || n >= max) break;
      }
    } finally {
      // Reached by a throw from a callback: what it consumed is published.
      if (state.done !== state.published) this.publish(cons + state.done);
      this.discarded += state.discarded;
      state.discarded = 0;
      epoll.leave(); // a close() from a callback releases the memory now
    }
    return n;
  }

  private publish(cons: number): void {
    // Low half first: torn, the position looks 4 GiB behind (the producer finds the ring full for a moment), never ahead.
    this.consumer.setUint32(POS_LOW, cons % 0x100000000, true);
    this.consumer.setUint32(POS_HIGH, Math.floor(cons / 0x100000000), true);
  }
}

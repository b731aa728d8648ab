/**
 * EpollWait, and EpollReader over it: what the ring and perf readers share:
 * an epoll instance over their fds, waited on a worker thread (the event
 * loop runs on), and the close that releases their memory only once no wait
 * or read is in flight (the worker thread would otherwise write into freed
 * memory, a read go on in unmapped rings); readers dropped unclosed are
 * closed by a finalizer.
 */
import { checkTimeout } from './args.js';
import { LoaderError } from './errors.js';
import { SyscallError } from './sys/errors.js';
import { NativeBuffer, closeFd, epollAdd, epollCreate, epollWaitAsync } from './sys/ffi.js';
import { epollEventSize } from './sys/layouts.generated.js';

const EINTR = 4;

export class EpollWait {
  private readonly ep: number;
  private readonly events: NativeBuffer;
  private waiting: Promise<number> | undefined;
  /** Reads of the reader's memory in progress (consumeAt, which may call back into close()). */
  private busy = 0;
  /** Start as close() leaves them; the constructor then opens (see there). */
  private closedFlag = true;
  private released = true;

  /**
   * `what` names the reader in errors (`ring buffer events`); `release`
   * frees the reader's own resources, once, after close() and any wait.
   * It must not hold the reader: a reader dropped unclosed is closed by
   * its finalizer, which holds this.
   */
  constructor(
    private readonly what: string,
    maxEvents: number,
    private readonly release: () => void,
  ) {
    // Written twice (as close() leaves them, then open): V8 takes a field written once for a constant, and the
    // first close() in a process then deoptimized every function that had read it (the ring loop's isClosed, a
    // RingBuffer's stopped(), ...), as BpfMap's fields did (docs/performance.md).
    this.closedFlag = false;
    this.released = false;
    const ep = epollCreate();
    if (ep < 0) throw new SyscallError('epoll_create1', -ep, what);
    this.ep = ep;
    try {
      this.events = new NativeBuffer(epollEventSize * maxEvents);
    } catch (e) {
      closeFd(ep);
      throw e;
    }
  }

  /** Watches `fd` for input. */
  add(fd: number): void {
    const r = epollAdd(this.ep, fd);
    if (r < 0) throw new SyscallError('epoll_ctl', -r, this.what);
  }

  get closed(): boolean {
    return this.closedFlag;
  }

  /** Throws CLOSED once close() has run. */
  assertOpen(): void {
    if (this.closedFlag) throw new LoaderError('CLOSED', 'closed').addContext(this.what);
  }

  /**
   * Waits until a watched fd may have input or `timeoutMs` (0 to 2^31 - 1)
   * passes; true when woken by input. A wait in progress when close() is
   * called resolves false; a wait begun after it throws CLOSED.
   */
  async wait(timeoutMs: number): Promise<boolean> {
    this.assertOpen();
    checkTimeout(timeoutMs, 'timeoutMs', this.what);
    if (this.waiting) {
      // One wait in flight at a time (a second would share the events buffer, and be freed under): this one shares it.
      const r = await this.waiting.catch(() => 0);
      return r > 0 && !this.closedFlag;
    }
    this.waiting = epollWaitAsync(this.ep, this.events, timeoutMs);
    let r: number;
    try {
      r = await this.waiting;
    } finally {
      this.waiting = undefined;
      this.releaseIfDone();
    }
    if (r < 0 && r !== -EINTR) throw new SyscallError('epoll_wait', -r, this.what);
    return r > 0 && !this.closedFlag;
  }

  /** Marks a read of the reader's memory begun: close() during it releases only at its leave(). */
  enter(): void {
    this.assertOpen();
    this.busy++;
  }

  leave(): void {
    this.busy--;
    this.releaseIfDone();
  }

  /** Stops: resources go now, or when the wait or read in progress returns (a wait at its timeout at the latest). */
  close(): void {
    if (this.closedFlag) return;
    this.closedFlag = true;
    this.releaseIfDone();
  }

  private releaseIfDone(): void {
    if (!this.closedFlag || this.waiting || this.busy > 0 || this.released) return;
    this.released = true;
    try {
      this.release();
    } finally {
      closeFd(this.ep);
      this.events.free();
    }
  }
}

/** Closes the readers dropped without close(): their mappings, fds and epoll instance go once they are collected. */
const dropped = new FinalizationRegistry<EpollWait>((epoll) => epoll.close());

/** A reader that waits through an EpollWait: wait(), close() and dispose are its. */
export abstract class EpollReader implements Disposable {
  /** Set by the reader's constructor, with the release of its own memory. */
  protected abstract readonly epoll: EpollWait;

  /** For the reader's constructor, once `epoll` is set: a reader dropped unclosed is closed when collected. */
  protected closeWhenDropped(): void {
    dropped.register(this, this.epoll, this);
  }

  /** Throws LoaderError CLOSED once close() has run. */
  assertOpen(): void {
    this.epoll.assertOpen();
  }

  /** Waits until records may be available or `timeoutMs` (0 to 2^31 - 1) passes; true when woken by data. */
  wait(timeoutMs: number): Promise<boolean> {
    return this.epoll.wait(timeoutMs);
  }

  /** Stops reading. A wait in progress ends at its timeout; memory is released after it. */
  close(): void {
    dropped.unregister(this);
    this.epoll.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/**
 * EpollWait, and EpollReader over it: what the ring and perf readers share:
 * an epoll instance over their fds, waited on a worker thread (the event
 * loop runs on), and the close that releases their memory only once no wait
 * is in flight (the worker thread would otherwise wake into unmapped rings).
 */
import { SyscallError } from './sys/errors.js';
import { NativeBuffer, closeFd, epollAdd, epollCreate, epollWaitAsync } from './sys/ffi.js';
import { epollEventSize } from './sys/layouts.generated.js';

const EINTR = 4;

export class EpollWait {
  private readonly ep: number;
  private readonly events: NativeBuffer;
  private waiting: Promise<number> | undefined;
  private closedFlag = false;
  private released = false;

  /**
   * `what` names the reader in errors (`ring buffer events`); `release`
   * frees the reader's own resources, once, after close() and any wait.
   */
  constructor(
    private readonly what: string,
    maxEvents: number,
    private readonly release: () => void,
  ) {
    const ep = epollCreate();
    if (ep < 0) throw new SyscallError('epoll_create1', -ep, what);
    this.ep = ep;
    this.events = new NativeBuffer(epollEventSize * maxEvents);
  }

  /** Watches `fd` for input. */
  add(fd: number): void {
    const r = epollAdd(this.ep, fd);
    if (r < 0) throw new SyscallError('epoll_ctl', -r, this.what);
  }

  get closed(): boolean {
    return this.closedFlag;
  }

  /** Waits until a watched fd may have input or `timeoutMs` passes; true when woken by input (false once closed). */
  async wait(timeoutMs: number): Promise<boolean> {
    if (this.closedFlag) return false;
    this.waiting = epollWaitAsync(this.ep, this.events, timeoutMs);
    let r: number;
    try {
      r = await this.waiting;
    } finally {
      this.waiting = undefined;
      if (this.closedFlag) this.releaseAll();
    }
    if (r < 0 && r !== -EINTR) throw new SyscallError('epoll_wait', -r, this.what);
    return r > 0 && !this.closedFlag;
  }

  /** Stops: resources go now, or when a wait in progress returns (at its timeout at the latest). */
  close(): void {
    if (this.closedFlag) return;
    this.closedFlag = true;
    if (!this.waiting) this.releaseAll();
  }

  private releaseAll(): void {
    if (this.released) return;
    this.released = true;
    try {
      this.release();
    } finally {
      closeFd(this.ep);
      this.events.free();
    }
  }
}

/** A reader that waits through an EpollWait: wait(), close() and dispose are its. */
export abstract class EpollReader implements Disposable {
  /** Set by the reader's constructor, with the release of its own memory. */
  protected abstract readonly epoll: EpollWait;

  /** Waits until records may be available or `timeoutMs` passes; true when woken by data. */
  wait(timeoutMs: number): Promise<boolean> {
    return this.epoll.wait(timeoutMs);
  }

  /** Stops reading. A wait in progress ends at its timeout; memory is released after it. */
  close(): void {
    this.epoll.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

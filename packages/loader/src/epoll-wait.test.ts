/**
 * EpollWait's lifecycle with a real epoll instance and nothing to read (no
 * root): a wait in flight keeps the readers' memory until it returns. The
 * readers themselves, with records, are tested against the kernel in
 * @tsbpf/maps (ring-buffer, perf-buffer).
 */
import { describe, expect, it } from 'vitest';
import { EpollWait } from './epoll-wait.js';

describe('EpollWait', () => {
  it('a wait with nothing ready times out with false; close() releases once', async () => {
    let released = 0;
    const w = new EpollWait('reader r', 4, () => released++);
    expect(await w.wait(5)).toBe(false);
    expect(released).toBe(0);
    w.close();
    w.close();
    expect(released).toBe(1);
    expect(w.closed).toBe(true);
  });

  it('close() during a wait releases only when the wait returns; a wait after close() is CLOSED at once', async () => {
    let released = 0;
    const w = new EpollWait('reader r', 4, () => released++);
    const waiting = w.wait(50);
    w.close();
    expect(released).toBe(0); // the worker thread is still in epoll_wait on this memory
    expect(await waiting).toBe(false);
    expect(released).toBe(1);
    const started = Date.now();
    await expect(w.wait(10_000)).rejects.toMatchObject({ name: 'LoaderError', code: 'CLOSED' });
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(released).toBe(1);
  });

  it('watching an fd that is not open is a SyscallError naming the reader', () => {
    const w = new EpollWait('ring buffer events', 4, () => {});
    try {
      expect(() => w.add(1 << 20)).toThrow(
        expect.objectContaining({ name: 'SyscallError', syscall: 'epoll_ctl', errnoName: 'EBADF', message: 'ring buffer events: epoll_ctl: EBADF' }),
      );
    } finally {
      w.close();
    }
  });
});

import type { BpfMap } from './map.js';
import { possibleCpus } from './map.js';
import { SyscallError } from './sys/errors.js';
import {
  MAP_SHARED,
  NativeBuffer,
  PROT_READ,
  PROT_WRITE,
  closeFd,
  epollAdd,
  epollCreate,
  epollWaitAsync,
  mmap,
  munmap,
  pageSize,
  perfEventOpen,
  view,
  type Pointer,
} from './sys/ffi.js';
import { ownFd } from './sys/bpf.js';
import { LoaderError } from './errors.js';

const PERF_TYPE_SOFTWARE = 1;
const PERF_COUNT_SW_BPF_OUTPUT = 10;
const PERF_SAMPLE_RAW = 1 << 10;
const PERF_FLAG_FD_CLOEXEC = 8;
const PERF_ATTR_SIZE = 128;
const PERF_RECORD_LOST = 2;
const PERF_RECORD_SAMPLE = 9;
/** struct perf_event_mmap_page: data_head and data_tail. */
const DATA_HEAD = 1024;
const DATA_TAIL = 1032;

interface CpuRing {
  cpu: number;
  fd: number;
  ptr: Pointer;
  meta: DataView;
  data: Uint8Array;
  dataView: DataView;
  size: number;
}

/**
 * Reads a BPF_MAP_TYPE_PERF_EVENT_ARRAY the way libbpf's perf_buffer does:
 * one BPF-output perf event per possible CPU, its ring mmapped and its fd
 * put in the map at that CPU's index; `bpf_perf_event_output` records are
 * read from every ring (a record that wraps the ring end is reassembled),
 * and lost-record notices are counted. Waiting is epoll on a worker thread.
 */
export class PerfEventArrayReader implements Disposable {
  private readonly rings: CpuRing[] = [];
  private readonly ep: number;
  private readonly events = new NativeBuffer(12 * 64);
  private closed = false;
  private waiting: Promise<number> | undefined;
  private readonly page = pageSize();
  /** Records the kernel reports lost (the ring was full). */
  lost = 0;

  constructor(
    readonly map: BpfMap,
    options: { pagesPerCpu?: number } = {},
  ) {
    if (map.typeName !== 'perf_event_array') throw new LoaderError('MAP_TYPE', `map ${map.name} is a ${map.typeName}, not a perf_event_array`);
    const pages = options.pagesPerCpu ?? 8;
    if (pages & (pages - 1)) throw new RangeError('pagesPerCpu must be a power of two');
    const ep = epollCreate();
    if (ep < 0) throw new SyscallError('epoll_create1', -ep);
    this.ep = ep;
    try {
      const attr = new NativeBuffer(PERF_ATTR_SIZE);
      try {
        attr.view.setUint32(0, PERF_TYPE_SOFTWARE, true);
        attr.view.setUint32(4, PERF_ATTR_SIZE, true);
        attr.view.setBigUint64(8, BigInt(PERF_COUNT_SW_BPF_OUTPUT), true);
        attr.view.setBigUint64(16, 1n, true); // sample_period
        attr.view.setBigUint64(24, BigInt(PERF_SAMPLE_RAW), true); // sample_type
        attr.view.setUint32(48, 1, true); // wakeup_events: wake epoll for every record
        const cpus = Math.min(possibleCpus(), map.maxEntries);
        for (let cpu = 0; cpu < cpus; cpu++) {
          const r = perfEventOpen(attr, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);
          if (r === -19 /* ENODEV: offline CPU */) continue;
          if (r < 0) throw new SyscallError('perf_event_open', -r, `perf buffer, cpu ${cpu}`);
          const fd = ownFd(r);
          const length = this.page * (1 + pages);
          const ptr = mmap(length, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
          if (typeof ptr === 'number') {
            closeFd(fd);
            throw new SyscallError('mmap (perf ring)', -ptr, `cpu ${cpu}`);
          }
          const ab = view(ptr, length);
          const size = this.page * pages;
          this.rings.push({ cpu, fd, ptr, meta: new DataView(ab, 0, this.page), data: new Uint8Array(ab, this.page, size), dataView: new DataView(ab, this.page, size), size });
          const key = new Uint8Array(new Uint32Array([cpu]).buffer);
          map.update(key, new Uint8Array(new Uint32Array([fd]).buffer));
          const added = epollAdd(this.ep, fd);
          if (added < 0) throw new SyscallError('epoll_ctl', -added, `cpu ${cpu}`);
        }
      } finally {
        attr.free();
      }
    } catch (e) {
      this.release();
      throw e;
    }
  }

  /**
   * Hands every available record to `onRecord` as bytes, with its CPU;
   * returns how many. The bytes are valid during the call only (a view of
   * the ring, or of a scratch copy for a record that wraps its end).
   */
  consume(onRecord: (record: Uint8Array, cpu: number) => void): number {
    return this.consumeAt((view, offset, length, cpu) => {
      onRecord(new Uint8Array(view.buffer, view.byteOffset + offset, length), cpu); // what it returns is not consumeAt's stop
    });
  }

  /**
   * Hands each available record (at most `max`) to `onRecord` where it lies:
   * `length` bytes at `offset` of `view` — the ring itself, or a scratch
   * copy for a record that wraps the ring's end — valid during the call only.
   * Nothing is allocated per record. Returns how many were handed out. A
   * callback that returns `false` ends the call after its record; a record
   * is consumed before it is handed out (one the callback threw on, or
   * stopped at, is not handed out again). A call bounded by `max` starts
   * where the last one stopped, so a busy CPU cannot starve the others.
   */
  consumeAt(onRecord: (view: DataView, offset: number, length: number, cpu: number) => unknown, max = Infinity): number {
    if (this.closed) throw new LoaderError('CLOSED', `perf buffer ${this.map.name}: closed`);
    let n = 0;
    const rings = this.rings;
    const first = this.nextRing;
    for (let k = 0; k < rings.length && n < max; k++) {
      const index = (first + k) % rings.length;
      const ring = rings[index]!;
      // The next call begins with the ring after the last one read, finished or not.
      this.nextRing = (index + 1) % rings.length;
      const meta = ring.meta;
      const data = ring.dataView;
      // Positions as two 32-bit halves (no BigInt); a record's place is the position's low bits.
      // The head's high half first: read across the kernel's store, it looks behind, never ahead.
      const head = meta.getUint32(DATA_HEAD + 4, true) * 0x100000000 + meta.getUint32(DATA_HEAD, true);
      let tail = meta.getUint32(DATA_TAIL + 4, true) * 0x100000000 + meta.getUint32(DATA_TAIL, true);
      const mask = ring.size - 1;
      try {
        while (tail < head && n < max) {
          // Records are 8-byte aligned: a header never wraps, but what follows it may start over at 0.
          const at = tail & mask;
          const type = data.getUint32(at, true);
          const size = data.getUint16(at + 6, true);
          if (size < 8) break; // a corrupt header: stop rather than spin
          // Consumed before it is handed out (a callback that throws does not get it again);
          // its bytes stay ours until the tail is published below.
          tail += size;
          if (type === PERF_RECORD_SAMPLE) {
            const length = data.getUint32((at + 8) & mask, true);
            const start = (at + 12) & mask;
            n++;
            const stop =
              (start + length <= ring.size ? onRecord(data, start, length, ring.cpu) : onRecord(this.unwrap(ring, start, length), 0, length, ring.cpu)) === false;
            if (stop) max = n;
          } else if (type === PERF_RECORD_LOST) {
            this.lost += data.getUint32((at + 20) & mask, true) * 0x100000000 + data.getUint32((at + 16) & mask, true);
          }
        }
      } finally {
        // Published also when onRecord threw. Low half first: torn, the tail looks 4 GiB
        // behind (the kernel finds the ring full for a moment), never ahead of unread data.
        meta.setUint32(DATA_TAIL, tail % 0x100000000, true);
        meta.setUint32(DATA_TAIL + 4, Math.floor(tail / 0x100000000), true);
      }
    }
    return n;
  }

  private scratch = new DataView(new ArrayBuffer(256));
  /** Where the next consumeAt starts (see there). */
  private nextRing = 0;

  /** `length` bytes at `start`, reassembled across the ring's end into the scratch buffer. */
  private unwrap(ring: CpuRing, start: number, length: number): DataView {
    if (this.scratch.byteLength < length) this.scratch = new DataView(new ArrayBuffer(Math.max(length, this.scratch.byteLength * 2)));
    const out = new Uint8Array(this.scratch.buffer, 0, length);
    const first = ring.size - start;
    out.set(ring.data.subarray(start), 0);
    out.set(ring.data.subarray(0, length - first), first);
    return this.scratch;
  }

  /** Waits until some CPU's ring may have records, or `timeoutMs` passes. */
  async wait(timeoutMs: number): Promise<boolean> {
    if (this.closed) return false;
    this.waiting = epollWaitAsync(this.ep, this.events, 64, timeoutMs);
    let r: number;
    try {
      r = await this.waiting;
    } finally {
      this.waiting = undefined;
      if (this.closed) this.release();
    }
    if (r < 0 && r !== -4) throw new SyscallError('epoll_wait', -r, `perf buffer ${this.map.name}`);
    return r > 0 && !this.closed;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (!this.waiting) this.release();
  }

  private released = false;
  private release(): void {
    if (this.released) return;
    this.released = true;
    for (const ring of this.rings) {
      munmap(ring.ptr, this.page + ring.size);
      closeFd(ring.fd);
    }
    closeFd(this.ep);
    this.events.free();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/**
 * PerfEventArrayReader: the records of a BPF perf event array, one perf
 * ring per CPU mapped into this process, read where they lie (a record that
 * wraps a ring's end reassembled), and waited for with epoll.
 */
import { possibleCpus } from './cpus.js';
import { EpollReader, EpollWait } from './epoll-wait.js';
import type { BpfMap } from './map.js';
import { ownFd } from './sys/bpf.js';
import { SyscallError } from './sys/errors.js';
import {
  MAP_SHARED,
  MAX_VIEW_BYTES,
  NativeBuffer,
  PROT_READ,
  PROT_WRITE,
  closeFd,
  mmap,
  munmap,
  pageSize,
  perfEventOpen,
  view,
  type Pointer,
} from './sys/ffi.js';
import { setField } from './sys/fields.js';
import { perfEventAttr as P, perfEventAttrSize, perfEventHeader as H, perfEventMmapPage as M } from './sys/layouts.generated.js';
import { checkFunction, checkMax, describeValue } from './args.js';
import { LoaderError } from './errors.js';

const PERF_TYPE_SOFTWARE = 1;
const PERF_COUNT_SW_BPF_OUTPUT = 10;
const PERF_SAMPLE_RAW = 1 << 10;
const PERF_FLAG_FD_CLOEXEC = 8;
const PERF_RECORD_LOST = 2;
const PERF_RECORD_SAMPLE = 9;
/** data_head and data_tail of the ring's first page, each a u64 read (and the tail written) as two halves. */
const DATA_HEAD = M.data_head.offset;
const DATA_TAIL = M.data_tail.offset;
const HEADER_TYPE = H.type.offset;
const HEADER_SIZE = H.size.offset;
/** After the header: a sample's u32 size, then its raw bytes (PERF_SAMPLE_RAW); a lost record's u64 id, then its u64 count. */
const SAMPLE_SIZE = 8;
const SAMPLE_DATA = 12;
const LOST_COUNT = 16;

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
export class PerfEventArrayReader extends EpollReader {
  private readonly rings: CpuRing[];
  /** Waiting, and the unmapping once no wait is in flight. */
  protected readonly epoll: EpollWait;
  private readonly page = pageSize();
  /** Records the kernel reports lost (the ring was full). */
  lost = 0;

  constructor(
    readonly map: BpfMap,
    options: { pagesPerCpu?: number } = {},
  ) {
    super();
    if (map.typeName !== 'perf_event_array') throw new LoaderError('MAP_TYPE', `map ${map.name} is a ${map.typeName}, not a perf_event_array`);
    const pages = options.pagesPerCpu ?? 8;
    const page = this.page;
    // A power of two (the kernel's rule), and the ring with its header page viewable from JavaScript.
    if (!Number.isSafeInteger(pages) || pages < 1 || (pages & (pages - 1)) !== 0 || pages > 2 ** 30 || page * (1 + pages) > MAX_VIEW_BYTES)
      throw new LoaderError(
        'INVALID_ARGUMENT',
        `pagesPerCpu must be a power of two of at most ${MAX_VIEW_BYTES / page - 1}, not ${describeValue(pages)}`,
      ).addContext(`perf buffer ${map.name}`);
    // Holds the rings, not the reader (the finalizer of a dropped reader runs it).
    const rings: CpuRing[] = (this.rings = []);
    this.epoll = new EpollWait(`perf buffer ${map.name}`, 64, () => {
      for (const ring of rings) {
        munmap(ring.ptr, page + ring.size);
        closeFd(ring.fd);
      }
    });
    try {
      const attr = new NativeBuffer(perfEventAttrSize);
      try {
        setField(attr.view, P.type, PERF_TYPE_SOFTWARE);
        setField(attr.view, P.size, perfEventAttrSize);
        setField(attr.view, P.config, PERF_COUNT_SW_BPF_OUTPUT);
        setField(attr.view, P.sample_period, 1);
        setField(attr.view, P.sample_type, PERF_SAMPLE_RAW);
        setField(attr.view, P.wakeup_events, 1); // wake epoll for every record
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
          this.rings.push({
            cpu,
            fd,
            ptr,
            meta: new DataView(ab, 0, this.page),
            data: new Uint8Array(ab, this.page, size),
            dataView: new DataView(ab, this.page, size),
            size,
          });
          const key = new Uint8Array(new Uint32Array([cpu]).buffer);
          map.update(key, new Uint8Array(new Uint32Array([fd]).buffer));
          this.epoll.add(fd);
        }
      } finally {
        attr.free();
      }
    } catch (e) {
      this.epoll.close();
      throw e;
    }
    this.closeWhenDropped();
  }

  /**
   * Hands every available record to `onRecord` as bytes, with its CPU;
   * returns how many. The bytes are valid during the call only (a view of
   * the ring, or of a scratch copy for a record that wraps its end).
   */
  consume(onRecord: (record: Uint8Array, cpu: number) => void): number {
    checkFunction(onRecord, 'onRecord', `perf buffer ${this.map.name}`);
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
   * where the last one stopped, so a busy CPU cannot starve the others. A
   * callback that closes the reader ends the call (the rings stay mapped
   * until it returns).
   */
  consumeAt(onRecord: (view: DataView, offset: number, length: number, cpu: number) => unknown, max = Infinity): number {
    const epoll = this.epoll;
    epoll.assertOpen();
    checkFunction(onRecord, 'onRecord', `perf buffer ${this.map.name}`);
    max = checkMax(max, 'max', `perf buffer ${this.map.name}`);
    epoll.enter();
    try {
      return this.consumeRings(onRecord, max);
    } finally {
      epoll.leave(); // a close() from a callback releases the rings now
    }
  }

  private consumeRings(onRecord: (view: DataView, offset: number, length: number, cpu: number) => unknown, max: number): number {
    const epoll = this.epoll;
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
          const type = data.getUint32(at + HEADER_TYPE, true);
          const size = data.getUint16(at + HEADER_SIZE, true);
          if (size < 8) break; // a corrupt header: stop rather than spin
          // Consumed before it is handed out (a callback that throws does not get it again);
          // its bytes stay ours until the tail is published below.
          tail += size;
          if (type === PERF_RECORD_SAMPLE) {
            const length = data.getUint32((at + SAMPLE_SIZE) & mask, true);
            const start = (at + SAMPLE_DATA) & mask;
            n++;
            const stop =
              (start + length <= ring.size ? onRecord(data, start, length, ring.cpu) : onRecord(this.unwrap(ring, start, length), 0, length, ring.cpu)) ===
              false;
            if (stop || epoll.closed) max = n;
          } else if (type === PERF_RECORD_LOST) {
            this.lost += data.getUint32((at + LOST_COUNT + 4) & mask, true) * 0x100000000 + data.getUint32((at + LOST_COUNT) & mask, true);
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
}

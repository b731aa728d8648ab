/**
 * The consumer loop of a BPF ring buffer's data area, and a private copy of
 * it for each reader (so that each reader's call of its callback is its own).
 */

/** The loop's state between RingBufferReader and it: numbers only, no reader. */
export interface RingLoopState {
  /** Bytes consumed by the last call (the position advances by these). */
  done: number;
  /** Of those, bytes already published (see RingLoop's `publish`). */
  published: number;
  /** Records the producer discarded, found by the last call. */
  discarded: number;
  /** The last call stopped at a record not yet committed. */
  busy: boolean;
  /** The last call stopped because a callback returned false or the reader closed. */
  stopped: boolean;
}

/**
 * Walks the records in [at, at + avail) of the data area (mapped twice, so
 * no record wraps), at most `max` (an int32, at least 1): skips discarded
 * ones, stops at a busy one, hands each other one to `onRecord` (a `false`
 * or `isClosed()` after it stops), and calls `publish(done)` every 64 KiB.
 * Offsets and counts are int32s: the ring is at most 2^30 bytes. Each record
 * is consumed (counted in `done`) before it is handed out, and `state` is
 * written on the way out, a callback's throw included. Returns the records
 * handed out.
 */
export type RingLoop = (
  data: DataView,
  mask: number,
  at: number,
  avail: number,
  max: number,
  onRecord: (view: DataView, offset: number, length: number) => unknown,
  isClosed: () => boolean,
  publish: (done: number) => void,
  state: RingLoopState,
) => number;

// Self-contained (it is copied from its source): no names from outside but its parameters.
// The common record (committed, not discarded) takes one test of its header; the counts live in
// locals and reach `state` once, in the finally (no store a record); the 64 KiB test is one
// comparison with the next publication's mark.
const ringLoop: RingLoop = (data, mask, at, avail, max, onRecord, isClosed, publish, state) => {
  let n = 0;
  let done = 0;
  let published = 0;
  let due = 65536;
  state.busy = false;
  state.stopped = false;
  try {
    while (done < avail) {
      const hdr = data.getUint32(at, true);
      const len = hdr & 0x3fffffff;
      const step = (len + 15) & ~7; // past the 8-byte header, rounded up to 8
      if (hdr !== len) {
        if (hdr & 0x80000000) {
          state.busy = true; // reserved but not yet committed (BPF_RINGBUF_BUSY_BIT)
          break;
        }
        done = (done + step) | 0; // BPF_RINGBUF_DISCARD_BIT
        at = (at + step) & mask;
        state.discarded++;
      } else {
        const offset = at + 8;
        done = (done + step) | 0;
        at = (at + step) & mask;
        n++;
        if (onRecord(data, offset, len) === false || isClosed()) {
          state.stopped = true;
          break;
        }
        if (n === max) break;
      }
      // Free space for the producer now and then, not after every record.
      if (done >= due) {
        publish(done);
        published = done;
        due = (done + 65536) | 0;
      }
    }
  } finally {
    state.done = done;
    state.published = published;
  }
  return n;
};

let copies = 0;

/**
 * A copy of the loop of its own: V8 keeps one record of what a call site
 * called, so readers sharing one loop (a RingBuffer decoding records and
 * another reader's callback, in one process) make its callback call
 * megamorphic, never inlined: about twice the time a record. The source is
 * made unique so that V8's cache of compiled `Function` sources does not
 * hand back a copy whose feedback is shared.
 */
export function ringLoopCopy(): RingLoop {
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  return new Function(`return (${ringLoop.toString()}); // ring loop copy ${++copies}`)() as RingLoop;
}

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

export function recordIterator<T>(stopped: () => boolean, drain: () => T[], wait: () => Promise<boolean>): AsyncIterator<T> {
  let chunk: T[] = [];
  let index = 0;
  const fill = async (): Promise<IteratorResult<T>> => {
    for (;;) {
      // Stop at once, not at the end of what was drained: the rest of the chunk is dropped (it has left the ring).
      if (stopped()) return { value: undefined, done: true };
      chunk = drain();
      index = 0;
      if (chunk.length > 0) return { value: chunk[index++]!, done: false };
      await wait();
    }
  };
  return {
    next: () => (index < chunk.length && !stopped() ? Promise.resolve({ value: chunk[index++]!, done: false }) : fill()),
    return: () => {
      chunk = [];
      return Promise.resolve({ value: undefined, done: true });
    },
  };
}

/**
 * The error of a record that did not decode, held back so that a drain
 * hands out the records before it first and the next drain throws it
 * (boxed: anything can be thrown, undefined included).
 */
export class HeldError {
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

/**
 * The bpf() door: every bpf() call and every close of a BPF fd goes through
 * the door in force, the kernel's (sys/ffi.ts) unless a unit test has put a
 * fake in with setBpfDoor, so the logic above it (attr encoding, errno
 * mapping, retries, batch walks, close lifecycles) can be tested without
 * root. The map element hot path takes the door in force when its map is
 * made (hotBpf): with the kernel's, the bare syscall.
 */
import * as ffi from './ffi.js';
import type { NativeBuffer } from './ffi.js';

/**
 * What the loader asks of the kernel through bpf(). A fake answers as the
 * kernel would: reads the attr (layouts.generated.ts), reads and writes the
 * memory its pointers name (ffi.memoryAt), and returns a result or a
 * negative errno. Its fds must be above 2 and not real ones (1 << 20 up):
 * an object left open may be closed by a finalizer after the door is back.
 */
export interface BpfDoor {
  /** bpf(cmd, attr, size): the result (an fd, a count, 0), or a negative errno. */
  bpf(cmd: number, attr: NativeBuffer, size: number): number;
  /** close(2) of an fd this door's bpf() returned. */
  close(fd: number): void;
}

/** The real one: the syscall. */
export const kernelDoor: BpfDoor = { bpf: ffi.bpf, close: ffi.closeFd };

let door: BpfDoor = kernelDoor;

/** bpf(cmd, attr, size) through the door in force: the result, or a negative errno. */
export function bpf(cmd: number, attr: NativeBuffer, size: number): number {
  return door.bpf(cmd, attr, size);
}

/** A hot-path bpf() call: the attr both as its buffer (what a fake reads) and as its address (what the syscall takes). */
export type HotBpf = (cmd: number, attr: NativeBuffer, address: number, size: number) => number;

/**
 * The hot-path call of the door in force when a map is made: with the
 * kernel's, the bare syscall, one function for every map (see ffi.bpfHot).
 */
export function hotBpf(): HotBpf {
  if (door === kernelDoor) return ffi.bpfHot;
  const fake = door;
  return (cmd, attr, _address, size) => fake.bpf(cmd, attr, size);
}

/** Closes a BPF object's fd (map, program, link, BTF) through the door in force. */
export function closeFd(fd: number): void {
  door.close(fd);
}

/**
 * @internal For unit tests: puts `fake` in the door and returns the function
 * that puts the previous door back. Not exported from the package.
 */
export function setBpfDoor(fake: BpfDoor): () => void {
  const previous = door;
  door = fake;
  return () => {
    door = previous;
  };
}

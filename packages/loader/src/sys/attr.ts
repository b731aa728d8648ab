/**
 * The one attr block the cold bpf() commands share, allocated once: begin()
 * zeroes it for a command, put() writes fields of that command's generated
 * layout, call() passes it through the door at the size libbpf passes and
 * turns a failure into a SyscallError. ownFd keeps new fds off 0-2.
 */
import { closeFd, bpf } from './door.js';
import { SyscallError } from './errors.js';
import { NativeBuffer, dupAtLeast, type NativeMemory } from './ffi.js';
import { scratch } from './native-pools.js';
import { getField, setField, setName } from './fields.js';
import { attrSize, bpfCmd, type BpfCmdName, type Field } from './layouts.generated.js';

/** Large enough for every command's attr size. */
const block = new NativeBuffer(Math.max(...Object.values(attrSize)));

/** Zeroes the attr for `cmd` (its libbpf size). */
export function begin(cmd: BpfCmdName): void {
  block.bytes.fill(0, 0, attrSize[cmd]);
}

export function put(f: Field, value: number | bigint): void {
  setField(block.view, f, value);
}

/** A piece of native memory as a (size, pointer) pair of fields; nothing when absent. */
export function putMemory(size: Field, pointer: Field, memory: NativeMemory | undefined): void {
  if (!memory) return;
  put(size, memory.size);
  put(pointer, memory.addressNumber);
}

/** A name into a char array field (map_name, prog_name): at most 15 bytes, NUL-padded. */
export function putName(f: Field, name: string | undefined): void {
  setName(block.bytes, f, name);
}

/** A field the kernel wrote back (a count, a return value). */
export function get(f: Field): number {
  return getField(block.view, f);
}

/** Runs the command begun: its result, or the negative errno. */
export function callRaw(cmd: BpfCmdName): number {
  return bpf(bpfCmd[cmd], block, attrSize[cmd]);
}

/** Runs the command begun; a negative result is thrown as SyscallError unless `soft` lists its errno. */
export function call(cmd: BpfCmdName, context?: string, soft: readonly number[] = []): number {
  const r = callRaw(cmd);
  if (r < 0 && !soft.includes(-r)) throw new SyscallError(`BPF_${cmd}`, -r, context);
  return r;
}

/** Runs `fn` with `text` as a NUL-terminated string in native memory (valid during the call). */
export function withCString<T>(text: string, fn: (address: bigint) => T): T {
  const mark = scratch.begin();
  try {
    return fn(scratch.string(text).address);
  } finally {
    scratch.end(mark);
  }
}

/** Keeps BPF fds off 0, 1 and 2, where a stray write to stdout would reach a map. */
export function ownFd(fd: number): number {
  if (fd > 2) return fd;
  const moved = dupAtLeast(fd, 3);
  closeFd(fd);
  if (moved < 0) throw new SyscallError('fcntl(F_DUPFD_CLOEXEC)', -moved);
  return moved;
}

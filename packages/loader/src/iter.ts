/**
 * BPF iterators: an `iter/NAME` program attached with BPF_TRACE_ITER (a map
 * element iterator given its map, a task iterator optionally one task or
 * process), and its output read through BPF_ITER_CREATE fds, as a Node
 * Readable (reads on the thread pool) or all at once.
 */
import { AttachType, ProgramType } from '@tsbpf/object';
import { closeSync, read, readSync } from 'node:fs';
import { Readable } from 'node:stream';
import { checkPositiveU32, describeValue } from './args.js';
import { LoaderError } from './errors.js';
import { Link } from './link.js';
import type { BpfMap } from './map.js';
import type { Program } from './program.js';
import * as sys from './sys/bpf.js';
import { SyscallError } from './sys/errors.js';
import { NativeBuffer } from './sys/ffi.js';
import { setField } from './sys/fields.js';
import { iterLinkInfo as I, iterLinkInfoSize } from './sys/layouts.generated.js';

export interface IterOptions {
  /** The map of a map iterator (`iter/bpf_map_elem`, `iter/bpf_sk_storage_map`, `iter/sockmap`). */
  map?: BpfMap;
  /** A task iterator (`iter/task`, `iter/task_file`, `iter/task_vma`) over one thread (`tid`) or one process's threads (`pid`) only. */
  task?: { tid?: number; pid?: number };
}

/** How much one read asks the kernel for. */
const CHUNK = 64 * 1024;

/** A failed read of an iterator fd as a SyscallError (the kernel's EAGAIN: the program returned nonzero). */
function readError(e: unknown, what: string): unknown {
  const errno = (e as NodeJS.ErrnoException).errno;
  if (typeof errno !== 'number') return e;
  const code = Math.abs(errno);
  const hint = code === 11 ? 'the iterator program returned nonzero for an object' : undefined;
  return new SyscallError('read', code, `${what}: read`, hint, { cause: e });
}

/**
 * The output of one BPF_ITER_CREATE fd as a byte stream: each read runs the
 * program over the next objects in the kernel, on libuv's thread pool (never
 * the event loop). The fd closes at the end, on error and on destroy(),
 * before 'close' is emitted.
 */
class IterStream extends Readable {
  private reading = false;
  /** A destroy() during a read: it finishes (closing the fd) when that read returns, never under it. */
  private pendingDestroy: (() => void) | undefined;

  constructor(
    private fd: number,
    private readonly what: string,
  ) {
    super({ highWaterMark: CHUNK });
  }

  override _read(size: number): void {
    const buffer = Buffer.allocUnsafe(Math.max(size, 4096));
    this.reading = true;
    read(this.fd, buffer, 0, buffer.length, null, (err, n) => {
      this.reading = false;
      if (this.pendingDestroy) return this.pendingDestroy();
      if (err) return void this.destroy(readError(err, this.what) as Error);
      this.push(n === 0 ? null : buffer.subarray(0, n));
    });
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    const finish = () => {
      closeSync(this.fd);
      this.fd = -1;
      callback(err);
    };
    if (this.reading) this.pendingDestroy = finish;
    else finish();
  }
}

/**
 * An iterator attached (BPF_TRACE_ITER): every open() or read() runs the
 * program anew over the objects there are then. Pin it and `cat` the pin
 * to read it from a shell.
 */
export class IterLink extends Link {
  /** Opens an iterator link pinned on bpffs. */
  static override fromPin(path: string): IterLink {
    return new IterLink(sys.objGet(path), `pinned iterator ${path}`);
  }

  /** The output of a new run as a Readable of bytes (setEncoding('utf8') for text); a huge output streams. */
  open(): Readable {
    return new IterStream(sys.iterCreate(this.fd, `${this.description}: open`), this.description);
  }

  /** The whole output of a new run, read now (synchronously: the kernel runs the program within each read). */
  read(): Buffer {
    const fd = sys.iterCreate(this.fd, `${this.description}: open`);
    const chunks: Buffer[] = [];
    try {
      for (;;) {
        const buffer = Buffer.allocUnsafe(CHUNK);
        let n: number;
        try {
          n = readSync(fd, buffer, 0, CHUNK, null);
        } catch (e) {
          throw readError(e, this.description);
        }
        if (n === 0) return Buffer.concat(chunks);
        chunks.push(buffer.subarray(0, n));
      }
    } finally {
      closeSync(fd);
    }
  }

  /** read() as UTF-8 text (what `bpf_seq_printf` writes). */
  readText(): string {
    return this.read().toString('utf8');
  }
}

/** The union bpf_iter_link_info of the options (undefined: none needed). */
function linkInfo(options: IterOptions, context: string): NativeBuffer | undefined {
  const { map, task } = options;
  if (map !== undefined && task !== undefined) throw new LoaderError('INVALID_ARGUMENT', 'give a map or a task, not both').addContext(context);
  if (map !== undefined) {
    const info = new NativeBuffer(iterLinkInfoSize);
    setField(info.view, I['map.map_fd'], map.fd);
    return info;
  }
  if (task === undefined) return undefined;
  if (typeof task !== 'object' || task === null)
    throw new LoaderError('INVALID_ARGUMENT', `task must be an object, not ${describeValue(task)}`).addContext(context);
  if ((task.tid === undefined) === (task.pid === undefined)) throw new LoaderError('INVALID_ARGUMENT', 'task: give one of tid and pid').addContext(context);
  const info = new NativeBuffer(iterLinkInfoSize);
  if (task.tid !== undefined) setField(info.view, I['task.tid'], checkPositiveU32(task.tid, 'task.tid', context));
  if (task.pid !== undefined) setField(info.view, I['task.pid'], checkPositiveU32(task.pid, 'task.pid', context));
  return info;
}

/**
 * An iterator program (`SEC("iter/NAME")` or `iter.s/NAME`) attached: a map
 * element iterator needs `map`; a task iterator may be narrowed to one task.
 */
export function attachIter(program: Program, options: IterOptions = {}): IterLink {
  const context = `program ${program.name}: attach iterator`;
  if (program.type !== ProgramType.tracing) {
    throw new LoaderError('INVALID_ARGUMENT', 'only tracing programs from SEC("iter/...") are iterators').addContext(context);
  }
  if (typeof options !== 'object' || options === null) throw new LoaderError('INVALID_ARGUMENT', `options must be an object, not ${describeValue(options)}`);
  const info = linkInfo(options, context);
  try {
    const fd = sys.linkCreate({ progFd: program.fd, target: 0, attachType: AttachType.trace_iter, iterInfo: info }, context);
    return new IterLink(fd, `iterator ${program.name}`);
  } catch (e) {
    if (e instanceof SyscallError && (e.errnoName === 'EBADF' || e.errnoName === 'EINVAL')) {
      const hint = `${e.hint ?? e.errnoName}; a map iterator needs { map }, other iterators take none`;
      throw new SyscallError(e.syscall, e.errno, context, hint, { cause: e });
    }
    throw e;
  } finally {
    info?.free();
  }
}

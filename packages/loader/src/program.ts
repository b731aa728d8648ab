/**
 * Program: a loaded BPF program. Loading is libbpf's way (no log first, a
 * growing verifier log only on failure); test runs, pins and its id.
 */
import * as sys from './sys/bpf.js';
import { SyscallError } from './sys/errors.js';
import { NativeBuffer } from './sys/ffi.js';
import { scratch } from './sys/native-pools.js';
import { progInfo } from './sys/layouts.generated.js';
import { INT_MAX, U32_MAX, checkInteger, checkOptionalU32, checkU32 } from './args.js';
import { LoaderError } from './errors.js';
import { VerifierError } from './verifier-error.js';

export { VerifierError } from './verifier-error.js';

export interface ProgramOptions {
  type: number;
  /** Instructions, 8 bytes a slot, host byte order. */
  instructions: Uint8Array;
  license: string;
  name?: string;
  expectedAttachType?: number;
  attachBtfId?: number;
  kernelVersion?: number;
  flags?: number;
  /** Verifier log level for the retry after a failure (default 1). */
  logLevel?: number;
  /** The object's BTF in the kernel, with func_info / line_info records (bpf_func_info, bpf_line_info). */
  btfFd?: number;
  funcInfo?: Uint8Array;
  lineInfo?: Uint8Array;
}

const FUNC_INFO_SIZE = 8;
const LINE_INFO_SIZE = 16;

const LOG_START = 64 * 1024;
const LOG_MAX = 16 * 1024 * 1024;
const ENOSPC = 28;

const registry = new FinalizationRegistry<number>((fd) => sys.closeFd(fd));

export interface TestRunOptions {
  data?: Uint8Array;
  ctx?: Uint8Array;
  repeat?: number;
  /** Room for data out (default: the input size plus 256 bytes of headroom). */
  dataOutSize?: number;
}

export interface TestRunOutput {
  retval: number;
  data: Uint8Array;
  ctx: Uint8Array | undefined;
  /** Kernel-measured average run time, nanoseconds. */
  durationNs: number;
}

/** A loaded program. */
export class Program implements Disposable {
  private closed = false;
  private constructor(
    private readonly fdValue: number,
    readonly name: string,
    readonly type: number,
  ) {
    registry.register(this, fdValue, this);
  }

  /**
   * BPF_PROG_LOAD, libbpf's way: first without a log (fast), and only on
   * failure again with a verifier log, growing the buffer on ENOSPC.
   */
  static load(o: ProgramOptions): Program {
    // The usual options pass with compares; only a bad one builds the context and the error.
    if (
      !(o.instructions.length > 0 && o.instructions.length % 8 === 0) ||
      !isU32(o.type) ||
      !optionalU32(o.expectedAttachType) ||
      !optionalU32(o.attachBtfId) ||
      !optionalU32(o.kernelVersion) ||
      !optionalU32(o.flags) ||
      !optionalU32(o.logLevel) ||
      !(o.btfFd === undefined || (typeof o.btfFd === 'number' && Number.isInteger(o.btfFd) && o.btfFd >= 0 && o.btfFd <= INT_MAX))
    ) {
      checkOptions(o);
    }
    const mark = scratch.begin();
    try {
      const insns = scratch.copy(o.instructions);
      const license = scratch.string(o.license);
      const funcInfo = o.btfFd && o.funcInfo?.length ? scratch.copy(o.funcInfo) : undefined;
      const lineInfo = o.btfFd && o.lineInfo?.length ? scratch.copy(o.lineInfo) : undefined;
      const attr: sys.ProgLoadAttr = {
        type: o.type,
        insns,
        license,
        name: o.name,
        expectedAttachType: o.expectedAttachType,
        attachBtfId: o.attachBtfId,
        kernVersion: o.kernelVersion,
        flags: o.flags,
        btfFd: o.btfFd,
        funcInfo: funcInfo && { rec: funcInfo, recSize: FUNC_INFO_SIZE, count: funcInfo.size / FUNC_INFO_SIZE },
        lineInfo: lineInfo && { rec: lineInfo, recSize: LINE_INFO_SIZE, count: lineInfo.size / LINE_INFO_SIZE },
      };
      let fd = sys.progLoad(attr);
      if (fd >= 0) return new Program(fd, o.name ?? '', o.type);
      const firstErrno = -fd;
      for (let size = LOG_START; ; size *= 4) {
        const log = new NativeBuffer(size);
        try {
          fd = sys.progLoad({ ...attr, log, logLevel: o.logLevel ?? 1 });
          if (fd >= 0) return new Program(fd, o.name ?? '', o.type);
          const text = readLog(log);
          if (-fd === ENOSPC && size < LOG_MAX) continue;
          if (text === '' && -fd !== ENOSPC) throw new SyscallError('BPF_PROG_LOAD', -fd, `program ${o.name ?? ''}`);
          throw new VerifierError(o.name ?? '', -fd === ENOSPC ? firstErrno : -fd, text, -fd === ENOSPC);
        } finally {
          log.free();
        }
      }
    } finally {
      scratch.end(mark);
    }
  }

  /** Opens a program pinned on bpffs (its name and type from bpf_prog_info). */
  static fromPin(path: string): Program {
    return sys.openPinned(path, progInfo, (fd, info) => new Program(fd, info.name(progInfo.name), info.number(progInfo.type)));
  }

  get fd(): number {
    if (this.closed) throw new LoaderError('CLOSED', 'closed').addContext(`program ${this.name}`);
    return this.fdValue;
  }

  /**
   * BPF_PROG_TEST_RUN: `repeat` runs (0 to 2^32 - 1; 0 runs once, as the
   * kernel reads it), with `dataOutSize` bytes (0 to 2^32 - 1) for data out.
   */
  testRun(o: TestRunOptions = {}): TestRunOutput {
    const progFd = this.fd; // CLOSED first
    const context = `program ${this.name}`;
    const repeat = checkOptionalU32(o.repeat, 'repeat', context);
    const outSize = checkOptionalU32(o.dataOutSize, 'dataOutSize', context);
    for (const f of ['data', 'ctx'] as const) if (o[f] !== undefined && o[f].length > U32_MAX) checkU32(o[f].length, `${f} length`, context);
    const mark = scratch.begin();
    try {
      const dataIn = o.data ? scratch.copy(o.data) : undefined;
      const dataOut = o.data ? scratch.alloc(outSize ?? Math.min(o.data.length + 256, U32_MAX)) : undefined;
      const ctxIn = o.ctx ? scratch.copy(o.ctx) : undefined;
      const ctxOut = o.ctx ? scratch.zeroed(o.ctx.length) : undefined;
      const r = sys.progTestRun({ progFd, dataIn, dataOut, ctxIn, ctxOut, repeat }, context);
      return {
        retval: r.retval,
        data: dataOut ? dataOut.bytes.slice(0, r.dataSizeOut) : new Uint8Array(0),
        ctx: ctxOut ? ctxOut.bytes.slice(0, r.ctxSizeOut) : undefined,
        durationNs: r.duration,
      };
    } finally {
      scratch.end(mark);
    }
  }

  pin(path: string): void {
    sys.objPin(this.fd, path);
  }

  /** The kernel's id for this program (bpf_prog_info.id), as bpftool shows it. */
  id(): number {
    return sys.readInfo(this.fd, { id: progInfo.id }, (info) => info.number(progInfo.id), `program ${this.name}`);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    registry.unregister(this);
    sys.closeFd(this.fdValue);
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/** isU32 and checkU32 agree: an integer number in [0, 2^32 - 1]. */
function isU32(v: unknown): boolean {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= U32_MAX;
}

function optionalU32(v: unknown): boolean {
  return v === undefined || isU32(v);
}

/** Program.load's checks with their errors (thrown for the first bad option). */
function checkOptions(o: ProgramOptions): void {
  const context = `program ${o.name ?? ''}`;
  if (o.instructions.length === 0 || o.instructions.length % 8 !== 0) {
    throw new LoaderError('INVALID_ARGUMENT', `${o.instructions.length} bytes is not whole instructions`).addContext(context);
  }
  checkU32(o.type, 'type', context);
  for (const f of ['expectedAttachType', 'attachBtfId', 'kernelVersion', 'flags', 'logLevel'] as const) checkOptionalU32(o[f], f, context);
  if (o.btfFd !== undefined) checkInteger(o.btfFd, 'btfFd', 0, INT_MAX, context);
}

function readLog(log: NativeBuffer): string {
  const end = log.bytes.indexOf(0);
  return new TextDecoder().decode(log.bytes.subarray(0, end < 0 ? log.size : end));
}

import * as sys from './sys/bpf.js';
import { SyscallError, errnoName } from './sys/errors.js';
import { NativeBuffer, scratch } from './sys/ffi.js';
import { LoaderError } from './errors.js';

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

/**
 * The verifier refused a program. `message` is a short summary (the log's
 * last lines); the whole log is `log`.
 */
export class VerifierError extends Error {
  override readonly name = 'VerifierError';
  readonly code: string;
  /**
   * The C source line the verifier was at when it gave up (from the
   * `; text @ file:line` lines the kernel prints when it has line_info).
   */
  readonly source: { readonly file: string; readonly line: number; readonly text: string } | undefined;
  /** The verifier's own last word (e.g. `R2 invalid mem access 'mem_or_null'`). */
  readonly reason: string;
  constructor(
    readonly program: string,
    readonly errno: number,
    readonly log: string,
    /** The log was cut short by the buffer size limit. */
    readonly truncated: boolean,
    /**
     * What the loader knows that the log does not say: which CO-RE relocation
     * or which absent weak kfunc an invalid call the verifier reached stands
     * for (as libbpf rewrites such logs).
     */
    readonly explanation?: string,
  ) {
    const code = errnoName(errno);
    super(`program ${program || '(unnamed)'}: load: ${code}: ${explanation ? `${explanation}; verifier: ` : ''}${VerifierError.summarize(log)}`);
    this.code = code;
    this.reason = VerifierError.summarize(log, 1);
    let source: VerifierError['source'];
    for (const line of log.split('\n')) {
      const m = /^; (.*) @ (.+):(\d+)$/.exec(line);
      if (m) source = { text: m[1]!, file: m[2]!, line: Number(m[3]) };
    }
    this.source = source;
  }

  /** The last meaningful lines of a verifier log (where it says what went wrong). */
  static summarize(log: string, lines = 3): string {
    const meaningful = log
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '' && !/^(processed|verification time|stack depth)/.test(l));
    return meaningful.slice(-lines).join(' / ') || '(empty verifier log)';
  }
}

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
    if (o.instructions.length === 0 || o.instructions.length % 8 !== 0) {
      throw new RangeError(`program ${o.name ?? ''}: ${o.instructions.length} bytes is not whole instructions`);
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
    const fd = sys.objGet(path);
    const info = new NativeBuffer(256);
    try {
      sys.objGetInfoByFd(fd, info);
      // bpf_prog_info: type @0, id @4, ..., name[16] @64
      return new Program(fd, sys.infoName(info, 64), info.view.getUint32(0, true));
    } catch (e) {
      sys.closeFd(fd);
      throw e;
    } finally {
      info.free();
    }
  }

  get fd(): number {
    if (this.closed) throw new LoaderError('CLOSED', `program ${this.name}: closed`);
    return this.fdValue;
  }

  /** BPF_PROG_TEST_RUN. */
  testRun(o: TestRunOptions = {}): TestRunOutput {
    const mark = scratch.begin();
    try {
      const dataIn = o.data ? scratch.copy(o.data) : undefined;
      const dataOut = o.data ? scratch.alloc(o.dataOutSize ?? o.data.length + 256) : undefined;
      const ctxIn = o.ctx ? scratch.copy(o.ctx) : undefined;
      const ctxOut = o.ctx ? scratch.zeroed(o.ctx.length) : undefined;
      const r = sys.progTestRun({ progFd: this.fd, dataIn, dataOut, ctxIn, ctxOut, repeat: o.repeat });
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
    const info = new NativeBuffer(16);
    try {
      sys.objGetInfoByFd(this.fd, info);
      return info.view.getUint32(4, true);
    } finally {
      info.free();
    }
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

function readLog(log: NativeBuffer): string {
  const end = log.bytes.indexOf(0);
  return new TextDecoder().decode(log.bytes.subarray(0, end < 0 ? log.size : end));
}

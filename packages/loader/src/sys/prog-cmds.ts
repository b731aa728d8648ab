/**
 * The bpf() commands on programs and BTF: load (retried while the kernel
 * says EAGAIN), test-run, the pre-link attach and detach, and BTF load.
 * PROG_LOAD and BTF_LOAD return the negative errno rather than throw: their
 * callers retry with a log.
 */
import { begin, call, callRaw, get, ownFd, put, putMemory, putName } from './attr.js';
import type { NativeMemory } from './ffi.js';
import { btfLoadAttr as B, progAttachAttr as A, progBindMapAttr as M, progLoadAttr as L, progTestRunAttr as T } from './layouts.generated.js';
import { BPF_F_TOKEN_FD, tokenInForce } from './token-cmds.js';

const EAGAIN = 11;
/** How many times PROG_LOAD is tried while the kernel answers EAGAIN (libbpf's count). */
export const PROG_LOAD_ATTEMPTS = 5;

export interface ProgLoadAttr {
  type: number;
  insns: NativeMemory;
  license: NativeMemory;
  logLevel?: number;
  log?: NativeMemory;
  kernVersion?: number;
  flags?: number;
  name?: string;
  expectedAttachType?: number;
  btfFd?: number;
  funcInfo?: { rec: NativeMemory; recSize: number; count: number };
  lineInfo?: { rec: NativeMemory; recSize: number; count: number };
  attachBtfId?: number;
  attachBtfObjFd?: number;
  fdArray?: NativeMemory;
}

/** BPF_PROG_LOAD: the fd, or the negative errno (the caller decides whether to retry with a log). */
export function progLoad(p: ProgLoadAttr): number {
  begin('PROG_LOAD');
  put(L.prog_type, p.type);
  put(L.insn_cnt, p.insns.size / 8);
  put(L.insns, p.insns.addressNumber);
  put(L.license, p.license.addressNumber);
  if (p.log) {
    put(L.log_level, p.logLevel ?? 1);
    put(L.log_size, p.log.size);
    put(L.log_buf, p.log.addressNumber);
  }
  put(L.kern_version, p.kernVersion ?? 0);
  const token = tokenInForce();
  put(L.prog_flags, token === undefined ? (p.flags ?? 0) : (p.flags ?? 0) | BPF_F_TOKEN_FD);
  if (token !== undefined) put(L.prog_token_fd, token);
  putName(L.prog_name, p.name);
  put(L.expected_attach_type, p.expectedAttachType ?? 0);
  put(L.prog_btf_fd, p.btfFd ?? 0);
  if (p.funcInfo) {
    put(L.func_info_rec_size, p.funcInfo.recSize);
    put(L.func_info, p.funcInfo.rec.addressNumber);
    put(L.func_info_cnt, p.funcInfo.count);
  }
  if (p.lineInfo) {
    put(L.line_info_rec_size, p.lineInfo.recSize);
    put(L.line_info, p.lineInfo.rec.addressNumber);
    put(L.line_info_cnt, p.lineInfo.count);
  }
  put(L.attach_btf_id, p.attachBtfId ?? 0);
  put(L.attach_btf_obj_fd, p.attachBtfObjFd ?? 0);
  if (p.fdArray) put(L.fd_array, p.fdArray.addressNumber);
  // The kernel answers EAGAIN while memory of recently freed programs is still
  // waiting for RCU; libbpf retries a few times, and so do we.
  let r = callRaw('PROG_LOAD');
  for (let attempt = 1; r === -EAGAIN && attempt < PROG_LOAD_ATTEMPTS; attempt++) r = callRaw('PROG_LOAD');
  return r < 0 ? r : ownFd(r);
}

export interface TestRunAttr {
  progFd: number;
  dataIn?: NativeMemory;
  dataOut?: NativeMemory;
  ctxIn?: NativeMemory;
  ctxOut?: NativeMemory;
  repeat?: number;
  flags?: number;
}

export interface TestRunResult {
  retval: number;
  dataSizeOut: number;
  ctxSizeOut: number;
  /** Average run time in nanoseconds, as the kernel reports it. */
  duration: number;
}

/** BPF_PROG_TEST_RUN: what the program returned, and how much data and context it left. */
export function progTestRun(t: TestRunAttr, context?: string): TestRunResult {
  begin('PROG_TEST_RUN');
  put(T.prog_fd, t.progFd);
  putMemory(T.data_size_in, T.data_in, t.dataIn);
  putMemory(T.data_size_out, T.data_out, t.dataOut);
  putMemory(T.ctx_size_in, T.ctx_in, t.ctxIn);
  putMemory(T.ctx_size_out, T.ctx_out, t.ctxOut);
  put(T.repeat, t.repeat ?? 1);
  put(T.flags, t.flags ?? 0);
  call('PROG_TEST_RUN', context);
  return { retval: get(T.retval), dataSizeOut: get(T.data_size_out), ctxSizeOut: get(T.ctx_size_out), duration: get(T.duration) };
}

/**
 * BPF_PROG_BIND_MAP (Linux 5.10+): keeps a map alive with a program that does
 * not reference it (libbpf binds `.rodata` so that `bpftool prog show` finds the
 * program's metadata). 0, or the negative errno.
 */
export function progBindMap(progFd: number, mapFd: number): number {
  begin('PROG_BIND_MAP');
  put(M.prog_fd, progFd);
  put(M.map_fd, mapFd);
  return callRaw('PROG_BIND_MAP');
}

/** BPF_PROG_ATTACH: the pre-link way to attach (cgroups on kernels before 5.7); `mprog`: where in a multi-program list (the anchor's fd or id, by `flags`) and the list revision expected. */
export function progAttach(
  targetFd: number,
  progFd: number,
  attachType: number,
  flags = 0,
  context?: string,
  mprog?: { relative?: number; expectedRevision?: number },
): void {
  begin('PROG_ATTACH');
  put(A.target_fd, targetFd);
  put(A.attach_bpf_fd, progFd);
  put(A.attach_type, attachType);
  put(A.attach_flags, flags);
  if (mprog) {
    put(A.relative_fd, mprog.relative ?? 0);
    put(A.expected_revision, mprog.expectedRevision ?? 0);
  }
  call('PROG_ATTACH', context);
}

/** BPF_PROG_DETACH of what progAttach attached. */
export function progDetach(targetFd: number, progFd: number, attachType: number, context?: string): void {
  begin('PROG_DETACH');
  put(A.target_fd, targetFd);
  put(A.attach_bpf_fd, progFd);
  put(A.attach_type, attachType);
  call('PROG_DETACH', context);
}

/** BPF_BTF_LOAD: the fd, or the negative errno (the caller retries with a log). */
export function btfLoad(btf: NativeMemory, log?: NativeMemory): number {
  begin('BTF_LOAD');
  put(B.btf, btf.addressNumber);
  put(B.btf_size, btf.size);
  if (log) {
    put(B.btf_log_buf, log.addressNumber);
    put(B.btf_log_size, log.size);
    put(B.btf_log_level, 1);
  }
  const token = tokenInForce();
  if (token !== undefined) {
    put(B.btf_flags, BPF_F_TOKEN_FD);
    put(B.btf_token_fd, token);
  }
  const r = callRaw('BTF_LOAD');
  return r < 0 ? r : ownFd(r);
}

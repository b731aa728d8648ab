import { beforeEach, describe, expect, it } from 'vitest';
import { AttachType, ProgramType, asm, encodeInstructions } from '@tsbpf/object';
import { Program, VerifierError } from './program.js';
import { SyscallError } from './sys/errors.js';
import { memoryAt, type NativeBuffer } from './sys/ffi.js';
import { getField, getName } from './sys/fields.js';
import { progLoadAttr as L } from './sys/layouts.generated.js';
import { FakeKernel } from './testing/fake-kernel.js';
import { describeNeeds, isRoot } from '../../../test/support/env.js';

const XDP_PASS = 2;
const code = (...insns: Parameters<typeof encodeInstructions>[0]) => encodeInstructions(insns, 'little');

describeNeeds([isRoot()], 'Program against the kernel', () => {
  it('loads an XDP program and runs it on a packet with BPF_PROG_TEST_RUN', () => {
    using p = Program.load({
      type: ProgramType.xdp,
      expectedAttachType: AttachType.xdp,
      name: 'pass',
      license: 'GPL',
      instructions: code(asm.mov64Imm(0, XDP_PASS), asm.exit()),
    });
    const packet = new Uint8Array(64).map((_, i) => i);
    const r = p.testRun({ data: packet, repeat: 10 });
    expect(r.retval).toBe(XDP_PASS);
    expect(r.data).toEqual(packet);
    expect(r.durationNs).toBeGreaterThanOrEqual(0);
  });

  it('reads the packet: returns its length from data_end - data', () => {
    // r2 = ctx->data; r3 = ctx->data_end; r0 = r3 - r2
    using p = Program.load({
      type: ProgramType.xdp,
      name: 'len',
      license: 'GPL',
      instructions: code(asm.ldxMem(4, 2, 1, 0), asm.ldxMem(4, 3, 1, 4), asm.mov64Reg(0, 3), asm.alu64Reg('sub', 0, 2), asm.exit()),
    });
    expect(p.testRun({ data: new Uint8Array(100) }).retval).toBe(100);
  });

  it('a rejected program gives a VerifierError: a summary as message, the log as a field', () => {
    let err: unknown;
    try {
      Program.load({ type: ProgramType.xdp, name: 'bad', license: 'GPL', instructions: code(asm.exit()) });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(VerifierError);
    const v = err as VerifierError;
    expect(v.code).toBe('VERIFIER_REJECTED');
    expect(v.errnoName).toBe('EACCES');
    expect(v.log).toMatch(/R0 !read_ok/);
    expect(v.message).toMatch(/^program bad: load: EACCES: .*R0 !read_ok/);
    expect(v.message.length).toBeLessThan(300);
    expect(v.reason).toMatch(/R0 !read_ok/);
    expect(v.source).toBeUndefined(); // no line_info for hand-written instructions
  });

  it('refuses a GPL-only helper without a GPL license, with the verifier saying why', () => {
    // bpf_trace_printk (6) is GPL-only.
    const insns = code(asm.mov64Imm(1, 0), asm.mov64Imm(2, 0), asm.call(6), asm.mov64Imm(0, 0), asm.exit());
    expect(() => Program.load({ type: ProgramType.kprobe, name: 'nongpl', license: 'Proprietary', instructions: insns })).toThrow(VerifierError);
  });
});

describe('Program.load above a fake bpf() door (no root)', () => {
  const EAGAIN = 11;
  const EACCES = 13;
  const EINVAL = 22;
  const ENOSPC = 28;
  const kernel = new FakeKernel();
  beforeEach(() => kernel.reset().install());

  const load = (name = 'p') => Program.load({ type: ProgramType.xdp, name, license: 'GPL', instructions: code(asm.mov64Imm(0, XDP_PASS), asm.exit()) });
  const logSize = (attr: NativeBuffer) => getField(attr.view, L.log_size);
  /** Writes `text` (NUL-terminated, cut to the buffer) where the attr's log_buf points. */
  const writeLog = (attr: NativeBuffer, text: string) => {
    const log = memoryAt(BigInt(getField(attr.view, L.log_buf)), logSize(attr));
    const bytes = new TextEncoder().encode(text).subarray(0, log.length - 1);
    log.set(bytes);
    log[bytes.length] = 0;
  };

  it('encodes the attr as the kernel reads it: type, instruction count and pointer, license, name', () => {
    let seen: unknown;
    kernel.answer = (cmd, attr) => {
      const insns = memoryAt(BigInt(getField(attr.view, L.insns)), getField(attr.view, L.insn_cnt) * 8);
      const license = memoryAt(BigInt(getField(attr.view, L.license)), 4);
      seen = {
        type: getField(attr.view, L.prog_type),
        insns: [...insns],
        license: new TextDecoder().decode(license),
        name: getName(attr.bytes, L.prog_name),
        log: logSize(attr),
      };
      return kernel.fd();
    };
    using p = load('encoded');
    expect(seen).toEqual({ type: ProgramType.xdp, insns: [...code(asm.mov64Imm(0, XDP_PASS), asm.exit())], license: 'GPL\0', name: 'encoded', log: 0 });
    expect(p.name).toBe('encoded');
  });

  it('retries while the kernel answers EAGAIN (memory of freed programs still in RCU), then loads', () => {
    let tries = 0;
    kernel.answer = (cmd) => (cmd === 'PROG_LOAD' ? (++tries < 3 ? -EAGAIN : kernel.fd()) : undefined);
    using _p = load();
    expect(kernel.commands()).toEqual(['PROG_LOAD', 'PROG_LOAD', 'PROG_LOAD']);
  });

  it("gives up after five EAGAINs (libbpf's count) each way; an empty log makes it a SyscallError, not a verifier rejection", () => {
    kernel.answer = (cmd) => (cmd === 'PROG_LOAD' ? -EAGAIN : undefined);
    expect(() => load('busy')).toThrow(SyscallError);
    expect(kernel.commands()).toEqual(Array(10).fill('PROG_LOAD'));
    expect(() => load('busy')).toThrow(
      expect.objectContaining({ code: 'SYSCALL_FAILED', errnoName: 'EAGAIN', message: expect.stringMatching(/^program busy: BPF_PROG_LOAD: EAGAIN/) }),
    );
  });

  it("loads without a log first, then grows the log by 4x on ENOSPC until the verifier's words fit", () => {
    const sizes: number[] = [];
    const words = '0: (b7) r0 = 2\n1: (95) exit\nR0 !read_ok\nprocessed 2 insns\n';
    kernel.answer = (cmd, attr) => {
      if (cmd !== 'PROG_LOAD') return undefined;
      sizes.push(logSize(attr));
      if (logSize(attr) === 0) return -EACCES;
      if (logSize(attr) < 300 * 1024) {
        memoryAt(BigInt(getField(attr.view, L.log_buf)), logSize(attr))
          .fill(0x78)
          .fill(0, -1); // full: x...x\0
        return -ENOSPC;
      }
      writeLog(attr, words);
      return -EACCES;
    };
    let err: unknown;
    try {
      load('picky');
    } catch (e) {
      err = e;
    }
    expect(sizes).toEqual([0, 64 * 1024, 256 * 1024, 1024 * 1024]);
    expect(err).toBeInstanceOf(VerifierError);
    expect(err).toMatchObject({
      code: 'VERIFIER_REJECTED',
      errno: EACCES,
      errnoName: 'EACCES',
      log: words,
      truncated: false,
      reason: 'R0 !read_ok',
      context: ['program picky'],
    });
    expect((err as Error).message).toBe('program picky: load: EACCES: 0: (b7) r0 = 2 / 1: (95) exit / R0 !read_ok');
  });

  it("stops at a 16 MiB log: the error says the log was cut short and keeps the first load's errno", () => {
    const sizes: number[] = [];
    kernel.answer = (cmd, attr) => {
      if (cmd !== 'PROG_LOAD') return undefined;
      sizes.push(logSize(attr));
      if (logSize(attr) === 0) return -EINVAL;
      memoryAt(BigInt(getField(attr.view, L.log_buf)), logSize(attr))
        .fill(0x78)
        .fill(0, -1); // full: x...x\0
      return -ENOSPC;
    };
    expect(() => load('huge')).toThrow(expect.objectContaining({ name: 'VerifierError', errno: EINVAL, errnoName: 'EINVAL', truncated: true }));
    expect(sizes).toEqual([0, 64 * 1024, 256 * 1024, 1024 * 1024, 4 * 1024 * 1024, 16 * 1024 * 1024]);
  });

  it('refuses part of an instruction before asking the kernel (INVALID_ARGUMENT)', () => {
    expect(() => Program.load({ type: ProgramType.xdp, name: 'half', license: 'GPL', instructions: new Uint8Array(12) })).toThrow(
      expect.objectContaining({ name: 'LoaderError', code: 'INVALID_ARGUMENT', message: 'program half: 12 bytes is not whole instructions' }),
    );
    expect(kernel.calls).toEqual([]);
  });

  it('close() closes the fd once, through the door; the fd is then refused (CLOSED)', () => {
    kernel.answer = (cmd) => (cmd === 'PROG_LOAD' ? kernel.fd() : undefined);
    const p = load('once');
    const fd = p.fd;
    p.close();
    p.close();
    expect(kernel.closed).toEqual([fd]);
    expect(() => p.fd).toThrow(expect.objectContaining({ code: 'CLOSED', message: 'program once: closed' }));
  });
});

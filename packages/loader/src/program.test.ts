import { expect, it } from 'vitest';
import { AttachType, ProgramType, asm, encodeInstructions } from '@tsbpf/object';
import { Program, VerifierError } from './program.js';
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

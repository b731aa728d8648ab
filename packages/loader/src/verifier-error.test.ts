import { describe, expect, it } from 'vitest';
import { TsbpfError } from '@tsbpf/object';
import { VerifierError, formatVerifierError } from './verifier-error.js';

const log = [
  'func#0 @0',
  '0: R1=ctx() R10=fp0',
  '; return *(int *)ctx->data; @ reject.bpf.c:6',
  '0: (61) r0 = *(u32 *)(r1 +0)',
  "R2 invalid mem access 'scalar'",
  'processed 1 insns (limit 1000000) max_states_per_insn 0',
].join('\n');

describe('VerifierError', () => {
  it('has a stable code, the errno and its name, the program as context, the C line and the reason', () => {
    const e = new VerifierError('xdp_prog', 13, log, false);
    expect(TsbpfError.is(e)).toBe(true);
    expect(e).toMatchObject({
      name: 'VerifierError',
      code: 'VERIFIER_REJECTED',
      errno: 13,
      errnoName: 'EACCES',
      program: 'xdp_prog',
      context: ['program xdp_prog'],
    });
    expect(e.source).toEqual({ file: 'reject.bpf.c', line: 6, text: 'return *(int *)ctx->data;' });
    expect(e.reason).toBe("R2 invalid mem access 'scalar'");
    expect(e.message).toBe(
      "program xdp_prog: load: EACCES: ; return *(int *)ctx->data; @ reject.bpf.c:6 / 0: (61) r0 = *(u32 *)(r1 +0) / R2 invalid mem access 'scalar'",
    );
    // Context added again on the way up is not doubled.
    expect(e.addContext('program xdp_prog').message).toBe(e.message);
  });

  it("an explanation the loader knows comes before the verifier's words", () => {
    const e = new VerifierError('p', 22, 'invalid func unknown#195896080', false, 'CO-RE relocation (field) failed');
    expect(e.message).toBe('program p: load: EINVAL: CO-RE relocation (field) failed; verifier: invalid func unknown#195896080');
  });
});

describe('formatVerifierError', () => {
  const e = new VerifierError('xdp_prog', 13, log, false);

  it('prints a rejection like a compiler error: location, program, errno, reason, the source line, and how to see the log', () => {
    expect(formatVerifierError(e)).toBe(
      [
        "reject.bpf.c:6 - error: program xdp_prog rejected by the verifier (EACCES): R2 invalid mem access 'scalar'",
        '',
        '6 return *(int *)ctx->data;',
        '',
        '(the full verifier log: 6 lines; use --verbose to print it)',
        '',
      ].join('\n'),
    );
    expect(formatVerifierError(e, { howToSeeLog: 'set LOG=1 to print it' })).toMatch(/\(the full verifier log: 6 lines; set LOG=1 to print it\)\n$/);
  });

  it('verbose: the whole log follows', () => {
    expect(formatVerifierError(e, { verbose: true })).toMatch(/\n\(the full verifier log: 6 lines, below\)\nfunc#0 @0\n[^]*processed 1 insns[^\n]*\n$/);
  });

  it('without line info: no location and no source line; an explanation leads the reason', () => {
    const bare = new VerifierError('p', 22, 'invalid func unknown#2002000001', false, 'kfunc bpf_x is not in this kernel');
    expect(formatVerifierError(bare)).toBe(
      'error: program p rejected by the verifier (EINVAL): kfunc bpf_x is not in this kernel; verifier: invalid func unknown#2002000001\n\n(the full verifier log: 1 lines; use --verbose to print it)\n',
    );
  });
});

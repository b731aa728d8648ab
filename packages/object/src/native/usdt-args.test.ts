import { describe, expect, it } from 'vitest';
import { ObjectParseError } from '../errors.js';
import { encodeUsdtSpec, parseUsdtArgs, type UsdtArg } from './usdt-args.js';

const brief = (args: UsdtArg[]) => args.map((a) => [a.type, a.signed ? -a.size : a.size, a.register, a.regOffset, a.value]);

describe('USDT argument specs', () => {
  it('x86-64: registers of every width, memory at a register plus an offset, constants', () => {
    expect(brief(parseUsdtArgs('-4@%eax 8@-8(%rbp) -4@$-5 1@%sil 2@%r9w 8@(%rdi) 8@16(%rsp) 4@$0x10 8@%rip', 'x86_64'))).toEqual([
      ['reg', -4, 'eax', 80, 0n],
      ['reg_deref', 8, 'rbp', 32, -8n],
      ['const', -4, '', 0, -5n],
      ['reg', 1, 'sil', 104, 0n],
      ['reg', 2, 'r9w', 64, 0n],
      ['reg_deref', 8, 'rdi', 112, 0n],
      ['reg_deref', 8, 'rsp', 152, 16n],
      ['const', 4, '', 0, 16n],
      ['reg', 8, 'rip', 128, 0n],
    ]);
    expect(parseUsdtArgs('', 'x86_64')).toEqual([]);
  });

  it('arm64: [reg, off], [reg], registers and constants', () => {
    expect(brief(parseUsdtArgs('-4@[sp, 12] 8@x0 4@[x29] -8@x30 4@5 8@sp 1@[x1, -3]', 'arm64'))).toEqual([
      ['reg_deref', -4, 'sp', 248, 12n],
      ['reg', 8, 'x0', 0, 0n],
      ['reg_deref', 4, 'x29', 232, 0n],
      ['reg', -8, 'x30', 240, 0n],
      ['const', 4, '', 0, 5n],
      ['reg', 8, 'sp', 248, 0n],
      ['reg_deref', 1, 'x1', 8, -3n],
    ]);
  });

  it('riscv64: off(reg), registers by ABI name, constants', () => {
    expect(brief(parseUsdtArgs('-4@-20(s0) 8@a0 8@8(sp) 4@7 8@fp -8@t6', 'riscv64'))).toEqual([
      ['reg_deref', -4, 's0', 64, -20n],
      ['reg', 8, 'a0', 80, 0n],
      ['reg_deref', 8, 'sp', 16, 8n],
      ['const', 4, '', 0, 7n],
      ['reg', 8, 'fp', 64, 0n],
      ['reg', -8, 't6', 248, 0n],
    ]);
  });

  it('s390x: off(%rN), %rN and constants', () => {
    expect(brief(parseUsdtArgs('-4@160(%r15) 8@%r2 4@-1 8@%r0', 's390x'))).toEqual([
      ['reg_deref', -4, 'r15', 24 + 15 * 8, 160n],
      ['reg', 8, 'r2', 24 + 2 * 8, 0n],
      ['const', 4, '', 0, -1n],
      ['reg', 8, 'r0', 24, 0n],
    ]);
  });

  it('refuses what it cannot read, with the argument and a typed error', () => {
    const bad: [string, 'x86_64' | 'arm64' | 'riscv64' | 's390x', RegExp][] = [
      ['-4@%xyz', 'x86_64', /argument 1 .*unknown x86_64 register xyz/],
      ['8@%rax 3@%ebx', 'x86_64', /argument 2 .*size 3/],
      ['8@-8(%rbp,%rax,8)', 'x86_64', /SIB/],
      ['8@x31', 'arm64', /unknown arm64 register x31/],
      ['8@%r16', 's390x', /cannot parse|unknown/],
      ['garbage', 'riscv64', /cannot parse garbage/],
      [Array.from({ length: 13 }, () => '8@%rax').join(' '), 'x86_64', /more than 12/],
    ];
    for (const [text, arch, message] of bad) {
      let error: unknown;
      try {
        parseUsdtArgs(text, arch);
      } catch (e) {
        error = e;
      }
      expect(error, text).toBeInstanceOf(ObjectParseError);
      expect((error as ObjectParseError).code).toBe('SECTION_INVALID');
      expect((error as Error).message).toMatch(message);
    }
    expect(() => parseUsdtArgs('8@x0', 'mips' as never)).toThrow(expect.objectContaining({ code: 'ELF_UNSUPPORTED' }));
  });

  it('encodes struct __bpf_usdt_spec as usdt.bpf.h reads it', () => {
    const bytes = encodeUsdtSpec(parseUsdtArgs('-4@-8(%rbp) 2@%ax -1@$-3', 'x86_64'), 0x1122334455667788n);
    expect(bytes.length).toBe(208);
    const v = new DataView(bytes.buffer);
    // arg 0: val_off -8, REG_DEREF, reg_off rbp (32), signed, bitshift 32
    expect([v.getBigInt64(0, true), v.getUint32(8, true), v.getInt16(12, true), v.getUint8(14), v.getUint8(15)]).toEqual([-8n, 2, 32, 1, 32]);
    // arg 1: REG ax (80), unsigned, bitshift 48
    expect([v.getBigInt64(16, true), v.getUint32(24, true), v.getInt16(28, true), v.getUint8(30), v.getUint8(31)]).toEqual([0n, 1, 80, 0, 48]);
    // arg 2: CONST -3, signed, bitshift 56
    expect([v.getBigInt64(32, true), v.getUint32(40, true), v.getUint8(46), v.getUint8(47)]).toEqual([-3n, 0, 1, 56]);
    expect(v.getBigUint64(192, true)).toBe(0x1122334455667788n);
    expect(v.getInt16(200, true)).toBe(3);
    expect(bytes.subarray(48, 192).every((b) => b === 0)).toBe(true);
  });
});

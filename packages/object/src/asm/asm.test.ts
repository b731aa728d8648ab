import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ObjectParseError } from '../errors.js';
import { asm } from './builders.js';
import { decodeInstructions } from './decode.js';
import { encodeInstructions } from './encode.js';
import { formatInstruction, formatInstructions } from './format.js';
import { helperName } from './helper-name.js';
import type { InstructionInput } from './instruction.js';

const text = (...insns: InstructionInput[]) => decodeInstructions(encodeInstructions(insns, 'little'), 'little').map(formatInstruction);
const raw = (opcode: number, dst: number, src: number, offset: number, imm: number): InstructionInput => ({ opcode, dst, src, offset, imm });

describe('decode / encode', () => {
  it('round-trips a small program in both byte orders', () => {
    const program = [asm.mov64Imm(0, 2), asm.ldImm64(1, 0x1122334455667788n), asm.jmpImm('jeq', 1, 0, 1), asm.call(1), asm.exit()];
    for (const order of ['little', 'big'] as const) {
      const bytes = encodeInstructions(program, order);
      expect(bytes.length).toBe(6 * 8);
      const decoded = decodeInstructions(bytes, order);
      expect(decoded.map((i) => i.slot)).toEqual([0, 1, 3, 4, 5]);
      expect(decoded[1]).toMatchObject({ opcode: 0x18, dst: 1, imm64: 0x1122334455667788n });
      expect(encodeInstructions(decoded, order)).toEqual(bytes);
    }
  });

  it('puts dst in the low nibble on little-endian and the high nibble on big-endian', () => {
    const insn = [raw(0xbf, 1, 2, 0, 0)];
    expect(encodeInstructions(insn, 'little')[1]).toBe(0x21);
    expect(encodeInstructions(insn, 'big')[1]).toBe(0x12);
    expect(decodeInstructions(encodeInstructions(insn, 'big'), 'big')[0]).toMatchObject({ dst: 1, src: 2 });
  });

  it('rejects partial slots and broken ld_imm64 with INSN_INVALID', () => {
    const code = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return (e as ObjectParseError).code;
      }
      return undefined;
    };
    expect(code(() => decodeInstructions(new Uint8Array(12), 'little'))).toBe('INSN_INVALID');
    const lone = encodeInstructions([asm.ldImm64(0, 1n)], 'little').slice(0, 8);
    expect(code(() => decodeInstructions(lone, 'little'))).toBe('INSN_INVALID');
    const bad = encodeInstructions([asm.ldImm64(0, 1n)], 'little');
    bad[8] = 0x07;
    expect(code(() => decodeInstructions(bad, 'little'))).toBe('INSN_INVALID');
    expect(code(() => encodeInstructions([raw(0xb7, 16, 0, 0, 0)], 'little'))).toBe('INSN_INVALID');
  });

  it('any byte string either decodes and re-encodes identically or fails with INSN_INVALID', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 96 }), fc.constantFrom('little' as const, 'big' as const), (bytes, order) => {
        let decoded;
        try {
          decoded = decodeInstructions(bytes, order);
        } catch (e) {
          expect(e).toBeInstanceOf(ObjectParseError);
          expect((e as ObjectParseError).code).toBe('INSN_INVALID');
          return;
        }
        expect(encodeInstructions(decoded, order)).toEqual(bytes);
        for (const i of decoded) expect(typeof formatInstruction(i)).toBe('string');
      }),
      { numRuns: 3000, seed: 7 },
    );
  });
});

describe('formatInstruction (kernel disasm.c syntax)', () => {
  it('ALU and moves', () => {
    expect(text(asm.mov64Imm(0, 2), asm.mov64Reg(6, 1), asm.alu64Imm('add', 1, -4), asm.alu32Imm('add', 0, 1), asm.mov32Imm(2, 7))).toEqual([
      '(b7) r0 = 2',
      '(bf) r6 = r1',
      '(07) r1 += -4',
      '(04) w0 += 1',
      '(b4) w2 = 7',
    ]);
    expect(text(raw(0x87, 3, 0, 0, 0), raw(0x84, 3, 0, 0, 0))).toEqual(['(87) r3 = -r3', '(84) w3 = -w3']);
    expect(text(raw(0x3f, 1, 2, 1, 0), raw(0x97, 1, 0, 1, 5))).toEqual(['(3f) r1 s/= r2', '(97) r1 s%= 5']);
    expect(text(raw(0xbf, 1, 2, 8, 0), raw(0xbc, 1, 2, 16, 0))).toEqual(['(bf) r1 = (s8)r2', '(bc) w1 = (s16)w2']);
    expect(text(raw(0xdc, 1, 0, 0, 16), raw(0xd4, 1, 0, 0, 32), raw(0xd7, 1, 0, 0, 64))).toEqual([
      '(dc) r1 = be16 r1',
      '(d4) r1 = le32 r1',
      '(d7) r1 = bswap64 r1',
    ]);
    expect(text(raw(0xcf, 1, 2, 0, 0))).toEqual(['(cf) r1 s>>= r2']);
  });

  it('loads, stores and atomics', () => {
    expect(text(asm.ldxMem(4, 2, 1, 4), asm.stxMem(4, 10, 1, -4), asm.stMem(8, 10, -16, 0))).toEqual([
      '(61) r2 = *(u32 *)(r1 +4)',
      '(63) *(u32 *)(r10 -4) = r1',
      '(7a) *(u64 *)(r10 -16) = 0',
    ]);
    expect(text(raw(0x91, 2, 1, 0, 0))).toEqual(['(91) r2 = *(s8 *)(r1 +0)']);
    expect(text(asm.atomicAdd(8, 1, 2, 0), raw(0xc3, 1, 2, 8, 0x01), raw(0xdb, 1, 2, 0, 0xf1), raw(0xdb, 1, 3, 0, 0xe1))).toEqual([
      '(db) lock *(u64 *)(r1 +0) += r2',
      '(c3) r2 = atomic_fetch_add((u32 *)(r1 +8), r2)',
      '(db) r0 = atomic64_cmpxchg((u64 *)(r1 +0), r0, r2)',
      '(db) r3 = atomic64_xchg((u64 *)(r1 +0), r3)',
    ]);
    expect(text(raw(0x30, 0, 0, 0, 12), raw(0x40, 0, 3, 0, 2))).toEqual(['(30) r0 = *(u8 *)skb[12]', '(40) r0 = *(u32 *)skb[r3 + 2]']);
  });

  it('ld_imm64 forms, as bpftool prints them', () => {
    expect(text(asm.ldImm64(1, 0x1234n), asm.ldMapFd(1, 5), asm.ldMapValue(2, 7, 16))).toEqual([
      '(18) r1 = 0x1234',
      '(18) r1 = map[id:5]',
      '(18) r2 = map[id:7][0]+16',
    ]);
    expect(text({ ...asm.ldImm64(3, 0n), src: 4, imm: 12 })).toEqual(['(18) r3 = subprog[+12]']);
  });

  it('jumps and calls', () => {
    expect(text(asm.jmpImm('jeq', 1, 0, 3), asm.jmpReg('jgt', 1, 2, -2), asm.ja(-2), asm.jmpImm('jsle', 1, -1, 1))).toEqual([
      '(15) if r1 == 0x0 goto pc+3',
      '(2d) if r1 > r2 goto pc-2',
      '(05) goto pc-2',
      '(d5) if r1 s<= 0xffffffff goto pc+1',
    ]);
    expect(text(raw(0x26, 1, 0, 2, 3), raw(0x06, 0, 0, 0, 100))).toEqual(['(26) if w1 > 0x3 goto pc+2', '(06) gotol pc+100']);
    expect(text(asm.call(1), asm.callSubprog(3), raw(0x85, 0, 2, 0, 77), raw(0x85, 0, 0, 0, 99999), asm.exit())).toEqual([
      '(85) call bpf_map_lookup_elem#1',
      '(85) call pc+3',
      '(85) call kernel-function#77',
      '(85) call unknown#99999',
      '(95) exit',
    ]);
  });

  it('prints what the kernel prints for encodings it cannot name', () => {
    expect(text(raw(0x21, 0, 0, 0, 0))).toEqual(['BUG_ldx_21']);
    expect(text(raw(0x08, 0, 0, 0, 0))).toEqual(['BUG_ld_08']);
  });

  it('knows helper names from libbpf headers', () => {
    expect(helperName(1)).toBe('bpf_map_lookup_elem');
    expect(helperName(14)).toBe('bpf_get_current_pid_tgid');
    expect(helperName(-1)).toBeUndefined();
  });
});

describe('formatInstructions', () => {
  it('numbers slots, prints source lines before and notes after', () => {
    const bytes = encodeInstructions([asm.ldMapFd(1, 0), asm.mov64Imm(0, 2), asm.exit()], 'little');
    const out = formatInstructions(bytes, {
      byteOrder: 'little',
      lineInfo: [{ insn: 2, lineText: '    return XDP_PASS;', fileName: 'x.bpf.c', line: 9 }],
      annotations: new Map([[0, 'map counters']]),
    });
    expect(out).toBe('   0: (18) r1 = map[id:0]  ; map counters\n' + '; return XDP_PASS;\n' + '   2: (b7) r0 = 2\n' + '   3: (95) exit\n');
  });
});

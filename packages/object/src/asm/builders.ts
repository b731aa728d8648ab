import type { InstructionInput } from './instruction.js';
import * as op from './opcodes.js';

/**
 * A small assembler for hand-written programs (tests, feature probes):
 * `asm.mov64Imm(0, 2), asm.exit()` is `r0 = 2; exit`. Each returns one
 * instruction for `encodeInstructions`.
 */
const insn = (opcode: number, dst = 0, src = 0, offset = 0, imm = 0): InstructionInput => ({ opcode, dst, src, offset, imm });

export type AluOp = 'add' | 'sub' | 'mul' | 'div' | 'or' | 'and' | 'lsh' | 'rsh' | 'mod' | 'xor' | 'mov' | 'arsh';
export type JmpOp = 'jeq' | 'jgt' | 'jge' | 'jset' | 'jne' | 'jsgt' | 'jsge' | 'jlt' | 'jle' | 'jslt' | 'jsle';
export type Size = 1 | 2 | 4 | 8;

const ALU_OPS: Record<AluOp, number> = {
  add: op.BPF_ADD,
  sub: op.BPF_SUB,
  mul: op.BPF_MUL,
  div: op.BPF_DIV,
  or: op.BPF_OR,
  and: op.BPF_AND,
  lsh: op.BPF_LSH,
  rsh: op.BPF_RSH,
  mod: op.BPF_MOD,
  xor: op.BPF_XOR,
  mov: op.BPF_MOV,
  arsh: op.BPF_ARSH,
};
const JMP_OPS: Record<JmpOp, number> = {
  jeq: op.BPF_JEQ,
  jgt: op.BPF_JGT,
  jge: op.BPF_JGE,
  jset: op.BPF_JSET,
  jne: op.BPF_JNE,
  jsgt: op.BPF_JSGT,
  jsge: op.BPF_JSGE,
  jlt: op.BPF_JLT,
  jle: op.BPF_JLE,
  jslt: op.BPF_JSLT,
  jsle: op.BPF_JSLE,
};
const SIZES: Record<Size, number> = { 1: op.BPF_B, 2: op.BPF_H, 4: op.BPF_W, 8: op.BPF_DW };

export const asm = {
  mov64Imm: (dst: number, imm: number) => insn(op.BPF_ALU64 | op.BPF_MOV | op.BPF_K, dst, 0, 0, imm),
  mov64Reg: (dst: number, src: number) => insn(op.BPF_ALU64 | op.BPF_MOV | op.BPF_X, dst, src),
  mov32Imm: (dst: number, imm: number) => insn(op.BPF_ALU | op.BPF_MOV | op.BPF_K, dst, 0, 0, imm),
  alu64Imm: (o: AluOp, dst: number, imm: number) => insn(op.BPF_ALU64 | ALU_OPS[o] | op.BPF_K, dst, 0, 0, imm),
  alu64Reg: (o: AluOp, dst: number, src: number) => insn(op.BPF_ALU64 | ALU_OPS[o] | op.BPF_X, dst, src),
  alu32Imm: (o: AluOp, dst: number, imm: number) => insn(op.BPF_ALU | ALU_OPS[o] | op.BPF_K, dst, 0, 0, imm),
  /** `dst = value` (two slots). */
  ldImm64: (dst: number, value: bigint, src = 0): InstructionInput => ({
    ...insn(op.OP_LD_IMM64, dst, src, 0, Number(BigInt.asIntN(32, value))),
    nextImm: Number(BigInt.asIntN(32, value >> 32n)),
    imm64: BigInt.asUintN(64, value),
  }),
  /** `dst = map` by fd (BPF_PSEUDO_MAP_FD). */
  ldMapFd: (dst: number, fd: number) => ({ ...insn(op.OP_LD_IMM64, dst, op.BPF_PSEUDO_MAP_FD, 0, fd), nextImm: 0 }),
  /** `dst = &map_value[0] + offset` (BPF_PSEUDO_MAP_VALUE). */
  ldMapValue: (dst: number, fd: number, offset: number) => ({
    ...insn(op.OP_LD_IMM64, dst, op.BPF_PSEUDO_MAP_VALUE, 0, fd),
    nextImm: offset,
  }),
  ldxMem: (size: Size, dst: number, src: number, offset: number) => insn(op.BPF_LDX | op.BPF_MEM | SIZES[size], dst, src, offset),
  stxMem: (size: Size, dst: number, src: number, offset: number) => insn(op.BPF_STX | op.BPF_MEM | SIZES[size], dst, src, offset),
  stMem: (size: Size, dst: number, offset: number, imm: number) => insn(op.BPF_ST | op.BPF_MEM | SIZES[size], dst, 0, offset, imm),
  /** `lock *(size *)(dst + offset) += src`. */
  atomicAdd: (size: 4 | 8, dst: number, src: number, offset: number) => insn(op.BPF_STX | op.BPF_ATOMIC | SIZES[size], dst, src, offset, op.BPF_ADD),
  jmpImm: (o: JmpOp, dst: number, imm: number, offset: number) => insn(op.BPF_JMP | JMP_OPS[o] | op.BPF_K, dst, 0, offset, imm),
  jmpReg: (o: JmpOp, dst: number, src: number, offset: number) => insn(op.BPF_JMP | JMP_OPS[o] | op.BPF_X, dst, src, offset),
  ja: (offset: number) => insn(op.BPF_JMP | op.BPF_JA, 0, 0, offset),
  /** Call a helper by BPF_FUNC_* id. */
  call: (helper: number) => insn(op.BPF_JMP | op.BPF_CALL, 0, 0, 0, helper),
  /** BPF-to-BPF call, `relative` instructions after the next one. */
  callSubprog: (relative: number) => insn(op.BPF_JMP | op.BPF_CALL, 0, op.BPF_PSEUDO_CALL, 0, relative),
  exit: () => insn(op.BPF_JMP | op.BPF_EXIT),
};

import { OP_LD_IMM64 } from './opcodes.js';

/**
 * One decoded BPF instruction. `ld_imm64` spans two 8-byte slots and carries
 * its full 64-bit immediate in `imm64`; `imm` then holds the low half (as the
 * first slot does) and `nextImm` the high half.
 */
export interface Instruction {
  readonly opcode: number;
  readonly dst: number;
  readonly src: number;
  /** Signed 16-bit offset. */
  readonly offset: number;
  /** Signed 32-bit immediate. */
  readonly imm: number;
  /** `ld_imm64` only: the second slot's immediate (signed 32-bit). */
  readonly nextImm?: number;
  /** `ld_imm64` only: the full immediate, `(nextImm << 32) | (imm >>> 0)`. */
  readonly imm64?: bigint;
  /** Index of the instruction's first 8-byte slot in its stream. */
  readonly slot: number;
}

/** An instruction to encode: `slot` is not needed, `imm64` is derived when absent. */
export type InstructionInput = Omit<Instruction, 'slot' | 'imm64'> & { readonly imm64?: bigint };

export const INSN_SIZE = 8;

/** Number of 8-byte slots the instruction occupies (2 for ld_imm64). */
export function instructionSlots(insn: { readonly opcode: number }): 1 | 2 {
  return insn.opcode === OP_LD_IMM64 ? 2 : 1;
}

/** The instruction API: decode, encode, assemble, disassemble. */
export { INSN_SIZE, instructionSlots, type Instruction, type InstructionInput } from './instruction.js';
export { decodeInstructions } from './decode.js';
export { encodeInstructions } from './encode.js';
export { formatInstruction, formatInstructions, type FormatOptions } from './format.js';
export { asm, type AluOp, type JmpOp, type Size } from './builders.js';
export { helperNames } from './helpers.generated.js';
export * as opcodes from './opcodes.js';

/** The name of a BPF helper by BPF_FUNC_* id (`bpf_map_lookup_elem` for 1). */
export { helperName } from './helper-name.js';

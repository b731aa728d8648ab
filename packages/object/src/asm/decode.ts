import { ObjectParseError, type ByteOrder } from '../errors.js';
import { INSN_SIZE, type Instruction } from './instruction.js';
import { OP_LD_IMM64 } from './opcodes.js';

/**
 * Decodes an instruction stream. The register byte holds dst in its low
 * nibble and src in its high nibble on little-endian targets, the other way
 * round on big-endian ones. A length that is not whole slots, a truncated
 * `ld_imm64` or a malformed second slot is an `INSN_INVALID` error.
 */
export function decodeInstructions(bytes: Uint8Array, byteOrder: ByteOrder): Instruction[] {
  if (bytes.length % INSN_SIZE !== 0) {
    throw new ObjectParseError('INSN_INVALID', `${bytes.length} bytes is not a whole number of 8-byte instructions`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const little = byteOrder === 'little';
  const out: Instruction[] = [];
  const slots = bytes.length / INSN_SIZE;
  for (let slot = 0; slot < slots; slot++) {
    const at = slot * INSN_SIZE;
    const opcode = view.getUint8(at);
    const regs = view.getUint8(at + 1);
    const dst = little ? regs & 0x0f : regs >> 4;
    const src = little ? regs >> 4 : regs & 0x0f;
    const offset = view.getInt16(at + 2, little);
    const imm = view.getInt32(at + 4, little);
    if (opcode !== OP_LD_IMM64) {
      out.push({ opcode, dst, src, offset, imm, slot });
      continue;
    }
    if (slot + 1 >= slots) {
      throw new ObjectParseError('INSN_INVALID', `ld_imm64 at slot ${slot} is missing its second half`, { offset: at });
    }
    const next = at + INSN_SIZE;
    if (view.getUint8(next) !== 0 || view.getUint8(next + 1) !== 0 || view.getInt16(next + 2, little) !== 0) {
      throw new ObjectParseError('INSN_INVALID', `ld_imm64 at slot ${slot} has a malformed second half`, { offset: next });
    }
    const nextImm = view.getInt32(next + 4, little);
    const imm64 = (BigInt(nextImm >>> 0) << 32n) | BigInt(imm >>> 0);
    out.push({ opcode, dst, src, offset, imm, nextImm, imm64, slot });
    slot++;
  }
  return out;
}

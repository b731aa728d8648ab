/** Instructions to bytes. */
import { ObjectParseError, type ByteOrder } from '../errors.js';
import { INSN_SIZE, instructionSlots, type InstructionInput } from './instruction.js';

/** Encodes instructions to bytes; the exact inverse of `decodeInstructions`. */
export function encodeInstructions(insns: readonly InstructionInput[], byteOrder: ByteOrder): Uint8Array {
  const slots = insns.reduce((n, i) => n + instructionSlots(i), 0);
  const out = new Uint8Array(slots * INSN_SIZE);
  const view = new DataView(out.buffer);
  const little = byteOrder === 'little';
  let at = 0;
  for (const insn of insns) {
    check(insn);
    view.setUint8(at, insn.opcode);
    view.setUint8(at + 1, little ? (insn.src << 4) | insn.dst : (insn.dst << 4) | insn.src);
    view.setInt16(at + 2, insn.offset, little);
    if (instructionSlots(insn) === 2) {
      // The slot fields win; `imm64` alone (no nextImm) is the convenient way to give a 64-bit value.
      const value = insn.nextImm !== undefined || insn.imm64 === undefined ? (BigInt((insn.nextImm ?? 0) >>> 0) << 32n) | BigInt(insn.imm >>> 0) : insn.imm64;
      view.setUint32(at + 4, Number(BigInt.asUintN(64, value) & 0xffffffffn), little);
      view.setUint32(at + 12, Number(BigInt.asUintN(64, value) >> 32n), little);
      at += 2 * INSN_SIZE;
    } else {
      view.setInt32(at + 4, insn.imm, little);
      at += INSN_SIZE;
    }
  }
  return out;
}

function check(insn: InstructionInput): void {
  const bad = !inRange(insn.opcode, 0, 0xff)
    ? 'opcode'
    : !inRange(insn.dst, 0, 15)
      ? 'dst'
      : !inRange(insn.src, 0, 15)
        ? 'src'
        : !inRange(insn.offset, -0x8000, 0x7fff)
          ? 'offset'
          : !inRange(insn.imm, -0x80000000, 0x7fffffff)
            ? 'imm'
            : undefined;
  if (bad) throw new ObjectParseError('INSN_INVALID', `instruction ${bad} out of range: ${JSON.stringify({ ...insn, imm64: insn.imm64?.toString() })}`);
}

const inRange = (v: number, lo: number, hi: number) => Number.isInteger(v) && v >= lo && v <= hi;

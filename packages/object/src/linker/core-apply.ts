/**
 * CO-RE application: patches linked instructions with the values
 * core-calculate.ts worked out (an immediate, a load/store offset and width),
 * or poisons an instruction whose relocation failed. Pure: a fresh copy.
 */
import { INSN_SIZE } from '../asm/instruction.js';
import {
  BPF_ALU,
  BPF_ALU64,
  BPF_B,
  BPF_CLASS,
  BPF_DW,
  BPF_H,
  BPF_K,
  BPF_LDX,
  BPF_SIZE,
  BPF_SRC,
  BPF_ST,
  BPF_STX,
  BPF_W,
  OP_CALL,
  OP_LD_IMM64,
} from '../asm/opcodes.js';
import { ObjectParseError } from '../errors.js';
import type { CoreResult } from './core-calculate.js';

/** libbpf's marker for an instruction whose CO-RE relocation failed: a call to helper 0xbad2310. */
export const CORE_POISON_HELPER = 0xbad2310;

/** A relocation value as the unsigned 64 bits libbpf handles (`__u64`). */
const u64 = (v: number | bigint): bigint => BigInt.asUintN(64, BigInt(v));

/** The width in bytes of each load/store size code, and back. */
const MEM_WIDTH_BYTES = new Map([
  [BPF_W, 4],
  [BPF_H, 2],
  [BPF_B, 1],
  [BPF_DW, 8],
]);
const MEM_WIDTH_CODE = new Map([
  [4, BPF_W],
  [2, BPF_H],
  [1, BPF_B],
  [8, BPF_DW],
]);

/**
 * Applies CO-RE results to (a copy of) linked instructions: the immediate of
 * an ALU or ld_imm64 instruction, or the offset of a load/store. A poisoned
 * relocation turns the instruction into a call to an invalid helper, which
 * the verifier rejects only if that code is reachable (libbpf's trick).
 */
export function applyCoreRelos(instructions: Uint8Array, results: readonly CoreResult[]): Uint8Array {
  const out = instructions.slice();
  const view = new DataView(out.buffer);
  const poison = (at: number) => {
    view.setUint8(at, OP_CALL);
    view.setUint8(at + 1, 0);
    view.setInt16(at + 2, 0, true);
    view.setInt32(at + 4, CORE_POISON_HELPER, true);
  };
  for (const r of results) {
    const at = r.insn * INSN_SIZE;
    if (at + INSN_SIZE > out.length) throw new ObjectParseError('RELOCATION_INVALID', `CO-RE relocation at instruction ${r.insn} is past the end`);
    const op = view.getUint8(at);
    const cls = BPF_CLASS(op);
    if (r.poison !== undefined) {
      // Both slots of an ld_imm64, so the verifier sees the bad call and not a torn instruction.
      if (op === OP_LD_IMM64 && at + 2 * INSN_SIZE <= out.length) poison(at + INSN_SIZE);
      poison(at);
      continue;
    }
    if (op === OP_LD_IMM64) {
      if (at + 2 * INSN_SIZE > out.length) throw new ObjectParseError('RELOCATION_INVALID', `CO-RE ${r.kind} at instruction ${r.insn}: ld_imm64 is cut short`);
      // All 64 bits, as libbpf compares and writes them (an enum64 value, a negative enum sign-extended).
      const imm = BigInt(view.getUint32(at + 4, true)) | (BigInt(view.getUint32(at + 12, true)) << 32n);
      if (r.validate && imm !== u64(r.original)) {
        throw new ObjectParseError('RELOCATION_INVALID', `CO-RE ${r.kind} at instruction ${r.insn}: immediate ${imm} is not the expected ${u64(r.original)}`);
      }
      const value = u64(r.value);
      view.setUint32(at + 4, Number(value & 0xffffffffn), true);
      view.setUint32(at + 12, Number(value >> 32n), true);
    } else if ((cls === BPF_ALU || cls === BPF_ALU64) && BPF_SRC(op) === BPF_K) {
      // libbpf compares the sign-extended 32-bit immediate with the 64-bit value, and stores the low 32 bits.
      const imm = view.getInt32(at + 4, true);
      if (r.validate && u64(imm) !== u64(r.original)) {
        throw new ObjectParseError('RELOCATION_INVALID', `CO-RE ${r.kind} at instruction ${r.insn}: immediate ${imm} is not the expected ${r.original}`);
      }
      view.setInt32(at + 4, Number(BigInt.asIntN(32, BigInt(r.value))), true);
    } else if (cls === BPF_LDX || cls === BPF_ST || cls === BPF_STX) {
      if (typeof r.value !== 'number')
        throw new ObjectParseError('RELOCATION_INVALID', `CO-RE ${r.kind} at instruction ${r.insn}: a 64-bit value cannot be a load/store offset`);
      const off = view.getInt16(at + 2, true);
      if (r.validate && off !== r.original) {
        throw new ObjectParseError('RELOCATION_INVALID', `CO-RE ${r.kind} at instruction ${r.insn}: offset ${off} is not the expected ${r.original}`);
      }
      if (r.value > 0x7fff) throw new ObjectParseError('RELOCATION_INVALID', `CO-RE ${r.kind} at instruction ${r.insn}: offset ${r.value} does not fit`);
      const m = r.memSize;
      if (m && m.original !== m.value) {
        // The field changed size: the access changes width with it, or (a signed
        // or mixed type, where that would lose the sign) the instruction is poisoned.
        if (!m.adjustable) {
          poison(at);
          continue;
        }
        const width = MEM_WIDTH_BYTES.get(BPF_SIZE(op))!;
        if (width !== m.original) {
          throw new ObjectParseError('RELOCATION_INVALID', `CO-RE ${r.kind} at instruction ${r.insn}: a ${width}-byte access to a ${m.original}-byte field`);
        }
        const code = MEM_WIDTH_CODE.get(m.value);
        if (code === undefined)
          throw new ObjectParseError('RELOCATION_INVALID', `CO-RE ${r.kind} at instruction ${r.insn}: the field's new size ${m.value} cannot be loaded`);
        view.setUint8(at, (op & ~BPF_SIZE(0xff)) | code); // the size bits replaced
      }
      view.setInt16(at + 2, r.value, true);
    } else {
      throw new ObjectParseError('RELOCATION_INVALID', `CO-RE ${r.kind} at instruction ${r.insn}: opcode 0x${op.toString(16)} cannot be relocated`);
    }
  }
  return out;
}

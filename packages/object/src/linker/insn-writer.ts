/**
 * Writes fields of raw instructions in place, in the object's byte order
 * (the register nibbles swap places with it): what the linker's patching
 * steps share. Slots are 8-byte instruction units; a slot past the end is a
 * LinkError, not a RangeError from the DataView.
 */
import { INSN_SIZE } from '../asm/instruction.js';
import { LinkError, type ByteOrder } from '../errors.js';

export class InsnWriter {
  private readonly view: DataView;
  private readonly little: boolean;

  constructor(
    /** Patched in place: give it a copy. */
    readonly bytes: Uint8Array,
    byteOrder: ByteOrder,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.little = byteOrder === 'little';
  }

  opcode(slot: number): number {
    return this.view.getUint8(this.at(slot));
  }

  /** Sets the src register (a BPF_PSEUDO_* marker on ld_imm64 and call), keeping dst. */
  setSrc(slot: number, src: number): void {
    const at = this.at(slot) + 1;
    const regs = this.view.getUint8(at);
    this.view.setUint8(at, this.little ? (regs & 0x0f) | (src << 4) : (regs & 0xf0) | src);
  }

  setOffset(slot: number, offset: number): void {
    this.view.setInt16(this.at(slot) + 2, offset, this.little);
  }

  setImm(slot: number, imm: number): void {
    this.view.setInt32(this.at(slot) + 4, imm, this.little);
  }

  /** The 64-bit immediate of an ld_imm64 at `slot`: low half in its first slot, high half in the second. */
  setImm64(slot: number, value: bigint): void {
    const low = this.at(slot) + 4;
    const high = this.at(slot + 1) + 4;
    const u = BigInt.asUintN(64, value);
    this.view.setUint32(low, Number(u & 0xffffffffn), this.little);
    this.view.setUint32(high, Number(u >> 32n), this.little);
  }

  private at(slot: number): number {
    if (!Number.isInteger(slot) || slot < 0 || (slot + 1) * INSN_SIZE > this.bytes.length) {
      throw new LinkError('SPEC_INVALID', `instruction ${slot} is past the end (${this.bytes.length / INSN_SIZE} instructions)`);
    }
    return slot * INSN_SIZE;
  }
}

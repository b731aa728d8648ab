/**
 * The func_info and line_info records BPF_PROG_LOAD takes beside a linked
 * program (struct bpf_func_info, struct bpf_line_info), encoded from its
 * spec form. Pure.
 */
import type { ByteOrder } from '../errors.js';
import type { LinkedProgram } from './link-program.js';

/** sizeof(struct bpf_func_info): insn_off, type_id. */
export const FUNC_INFO_SIZE = 8;
/** sizeof(struct bpf_line_info): insn_off, file_name_off, line_off, line_col. */
export const LINE_INFO_SIZE = 16;

/** The program's bpf_func_info records, instruction offsets in linked slots. */
export function funcInfoBytes(linked: LinkedProgram, byteOrder: ByteOrder): Uint8Array {
  const little = byteOrder === 'little';
  const out = new DataView(new ArrayBuffer(linked.funcInfo.length * FUNC_INFO_SIZE));
  linked.funcInfo.forEach((f, i) => {
    out.setUint32(i * FUNC_INFO_SIZE, f.insn, little);
    out.setUint32(i * FUNC_INFO_SIZE + 4, f.typeId, little);
  });
  return new Uint8Array(out.buffer);
}

/** The program's bpf_line_info records: line in the top 22 bits of line_col, column in the low 10. */
export function lineInfoBytes(linked: LinkedProgram, byteOrder: ByteOrder): Uint8Array {
  const little = byteOrder === 'little';
  const out = new DataView(new ArrayBuffer(linked.lineInfo.length * LINE_INFO_SIZE));
  linked.lineInfo.forEach((l, i) => {
    const at = i * LINE_INFO_SIZE;
    out.setUint32(at, l.insn, little);
    out.setUint32(at + 4, l.fileNameOff, little);
    out.setUint32(at + 8, l.lineOff, little);
    out.setUint32(at + 12, (l.line << 10) | (l.column & 0x3ff), little);
  });
  return new Uint8Array(out.buffer);
}

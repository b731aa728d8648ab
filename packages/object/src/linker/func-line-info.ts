/**
 * The func_info and line_info records BPF_PROG_LOAD takes beside a linked
 * program (struct bpf_func_info, struct bpf_line_info), encoded from its
 * spec form. Pure.
 */
import type { ByteOrder } from '../errors.js';
import type { LinkedProgram } from './link-program.js';
import { putWord } from '../btf/layout.js';

/** sizeof(struct bpf_func_info): insn_off, type_id. */
export const FUNC_INFO_SIZE = 8;
/** sizeof(struct bpf_line_info): insn_off, file_name_off, line_off, line_col. */
export const LINE_INFO_SIZE = 16;

/**
 * The program's bpf_func_info records, instruction offsets in linked slots.
 * The records are written a byte at a time into a plain `Uint8Array` (a few
 * records fit V8's on-heap typed arrays: no off-heap backing store and no
 * DataView a load).
 */
export function funcInfoBytes(linked: LinkedProgram, byteOrder: ByteOrder): Uint8Array {
  const little = byteOrder === 'little';
  const records = linked.funcInfo;
  const out = new Uint8Array(records.length * FUNC_INFO_SIZE);
  for (let i = 0; i < records.length; i++) {
    const f = records[i]!;
    const at = i * FUNC_INFO_SIZE;
    putWord(out, at, f.insn, little);
    putWord(out, at + 4, f.typeId, little);
  }
  return out;
}

/** The program's bpf_line_info records: line in the top 22 bits of line_col, column in the low 10. */
export function lineInfoBytes(linked: LinkedProgram, byteOrder: ByteOrder): Uint8Array {
  const little = byteOrder === 'little';
  const records = linked.lineInfo;
  const out = new Uint8Array(records.length * LINE_INFO_SIZE);
  for (let i = 0; i < records.length; i++) {
    const l = records[i]!;
    const at = i * LINE_INFO_SIZE;
    putWord(out, at, l.insn, little);
    putWord(out, at + 4, l.fileNameOff, little);
    putWord(out, at + 8, l.lineOff, little);
    putWord(out, at + 12, (l.line << 10) | (l.column & 0x3ff), little);
  }
  return out;
}

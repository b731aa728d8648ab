import type { ByteOrder } from '../errors.js';
import { decodeInstructions } from './decode.js';
import { helperNames } from './helpers.generated.js';
import type { Instruction } from './instruction.js';
import * as op from './opcodes.js';

/**
 * Disassembly in the kernel's verifier / `bpftool prog dump xlated` syntax
 * (kernel/bpf/disasm.c): `(b7) r0 = 2`, `(85) call bpf_map_lookup_elem#1`,
 * `(15) if r1 == 0x0 goto pc+3`. Unknown encodings print as `BUG_...` lines
 * like the kernel's, never throw.
 */
export function formatInstruction(insn: Instruction): string {
  const text = body(insn);
  // The kernel prints encodings it cannot name as a bare `BUG_<class>_<code>`.
  return text.startsWith('BUG_') ? text : `(${hex2(insn.opcode)}) ${text}`;
}

export interface FormatOptions {
  readonly byteOrder: ByteOrder;
  /**
   * Source lines by instruction slot (`insn`, as in ProgramSpec.lineInfo, which
   * can be passed as it is), printed as `; <source>` before it (bpftool's plain style).
   */
  readonly lineInfo?: readonly { readonly insn: number; readonly lineText: string; readonly fileName?: string; readonly line?: number }[];
  /** Per-slot notes appended as `  ; <note>` (map names, call targets). */
  readonly annotations?: ReadonlyMap<number, string>;
  /** Print `[file:F line_num:N]` after each source line, as `bpftool ... linum`. */
  readonly linum?: boolean;
}

/** A listing: `% 4d: ` slot numbers, source lines from line_info, annotations. */
export function formatInstructions(bytes: Uint8Array, options: FormatOptions): string {
  const lines = new Map<number, string[]>();
  for (const l of options.lineInfo ?? []) {
    let text = `; ${l.lineText.trimStart()}`;
    if (options.linum) text += ` [file:${l.fileName ?? ''} line_num:${l.line ?? 0}]`;
    const at = lines.get(l.insn);
    if (at) at.push(text);
    else lines.set(l.insn, [text]);
  }
  let out = '';
  for (const insn of decodeInstructions(bytes, options.byteOrder)) {
    for (const l of lines.get(insn.slot) ?? []) out += l + '\n';
    const note = options.annotations?.get(insn.slot);
    out += `${String(insn.slot).padStart(4)}: ${formatInstruction(insn)}${note ? `  ; ${note}` : ''}\n`;
  }
  return out;
}

const hex2 = (n: number) => n.toString(16).padStart(2, '0');
const signed = (n: number) => (n < 0 ? `${n}` : `+${n}`);

const ALU = ['+=', '-=', '*=', '/=', '|=', '&=', '<<=', '>>=', 'neg', '%=', '^=', '=', 's>>=', 'endian'];
const ALU_SIGNED: Record<number, string> = { [op.BPF_DIV]: 's/=', [op.BPF_MOD]: 's%=' };
const MOVSX: Record<number, string> = { 8: '(s8)', 16: '(s16)', 32: '(s32)' };
const ATOMIC_ALU: Record<number, string> = { [op.BPF_ADD]: 'add', [op.BPF_AND]: 'and', [op.BPF_OR]: 'or', [op.BPF_XOR]: 'xor' };
const SIZE = ['u32', 'u16', 'u8', 'u64'];
const SIZE_SIGNED = ['s32', 's16', 's8'];
const JMP = ['jmp', '==', '>', '>=', '&', '!=', 's>', 's>=', 'call', 'exit', '<', '<=', 's<', 's<='];
const CLASS = ['ld', 'ldx', 'st', 'stx', 'alu', 'jmp', 'jmp32', 'alu64'];

function body(i: Instruction): string {
  const code = i.opcode;
  const cls = op.BPF_CLASS(code);
  const size = SIZE[op.BPF_SIZE(code) >> 3]!;
  switch (cls) {
    case op.BPF_ALU:
    case op.BPF_ALU64:
      return alu(i, cls === op.BPF_ALU ? 'w' : 'r');
    case op.BPF_STX:
      return stx(i, size);
    case op.BPF_ST:
      if (op.BPF_MODE(code) === op.BPF_MEM) return `*(${size} *)(r${i.dst} ${signed(i.offset)}) = ${i.imm}`;
      if (op.BPF_MODE(code) === 0xc0) return 'nospec';
      return bug('st_', code);
    case op.BPF_LDX: {
      const mode = op.BPF_MODE(code);
      if (mode !== op.BPF_MEM && mode !== op.BPF_MEMSX) return bug('ldx_', code);
      const type = mode === op.BPF_MEM ? size : SIZE_SIGNED[op.BPF_SIZE(code) >> 3];
      if (type === undefined) return bug('ldx_', code);
      return `r${i.dst} = *(${type} *)(r${i.src} ${signed(i.offset)})`;
    }
    case op.BPF_LD:
      return ld(i, size);
    default:
      return jmp(i, cls === op.BPF_JMP32 ? 'w' : 'r');
  }
}

function bug(what: string, code: number): string {
  return `BUG_${what}${hex2(code)}`;
}

function alu(i: Instruction, r: 'w' | 'r'): string {
  const o = op.BPF_OP(i.opcode);
  if (o === op.BPF_END) {
    if (r === 'r') return `r${i.dst} = bswap${i.imm} r${i.dst}`;
    return `r${i.dst} = ${op.BPF_SRC(i.opcode) === op.BPF_TO_BE ? 'be' : 'le'}${i.imm} r${i.dst}`;
  }
  if (o === op.BPF_NEG) return `${r}${i.dst} = -${r}${i.dst}`;
  const name = ((o === op.BPF_DIV || o === op.BPF_MOD) && i.offset === 1 ? ALU_SIGNED[o] : ALU[o >> 4]) ?? `alu_op_${hex2(o)}`;
  if (op.BPF_SRC(i.opcode) === op.BPF_X) {
    if (r === 'r' && o === op.BPF_MOV && i.offset === 1) {
      return `r${i.dst} = addr_space_cast(r${i.src}, ${i.imm >>> 16}, ${i.imm & 0xffff})`;
    }
    if (r === 'r' && o === op.BPF_MOV && i.offset === -1) return `r${i.dst} = &(void __percpu *)(r${i.src})`;
    const sx = o === op.BPF_MOV ? (MOVSX[i.offset] ?? '') : '';
    return `${r}${i.dst} ${name} ${sx}${r}${i.src}`;
  }
  return `${r}${i.dst} ${name} ${i.imm}`;
}

function stx(i: Instruction, size: string): string {
  const mode = op.BPF_MODE(i.opcode);
  const at = `(r${i.dst} ${signed(i.offset)})`;
  if (mode === op.BPF_MEM) return `*(${size} *)${at} = r${i.src}`;
  if (mode !== op.BPF_ATOMIC) return bug('', i.opcode);
  const bits = op.BPF_SIZE(i.opcode) === op.BPF_DW ? '64' : '';
  const aluOp = i.imm & ~op.BPF_FETCH;
  if (ATOMIC_ALU[aluOp] !== undefined && (i.imm & op.BPF_FETCH) === 0) {
    return `lock *(${size} *)${at} ${ALU[aluOp >> 4]} r${i.src}`;
  }
  if (ATOMIC_ALU[aluOp] !== undefined) return `r${i.src} = atomic${bits}_fetch_${ATOMIC_ALU[aluOp]}((${size} *)${at}, r${i.src})`;
  if (i.imm === op.BPF_CMPXCHG) return `r0 = atomic${bits}_cmpxchg((${size} *)${at}, r0, r${i.src})`;
  if (i.imm === op.BPF_XCHG) return `r${i.src} = atomic${bits}_xchg((${size} *)${at}, r${i.src})`;
  if (i.imm === op.BPF_LOAD_ACQ) return `r${i.dst} = load_acquire((${size} *)(r${i.src} ${signed(i.offset)}))`;
  if (i.imm === op.BPF_STORE_REL) return `store_release((${size} *)${at}, r${i.src})`;
  return bug('', i.opcode);
}

function ld(i: Instruction, size: string): string {
  const mode = op.BPF_MODE(i.opcode);
  if (mode === op.BPF_ABS) return `r0 = *(${size} *)skb[${i.imm}]`;
  if (mode === op.BPF_IND) return `r0 = *(${size} *)skb[r${i.src} + ${i.imm}]`;
  if (i.opcode !== op.OP_LD_IMM64) return bug('ld_', i.opcode);
  const next = i.nextImm ?? 0;
  switch (i.src) {
    case op.BPF_PSEUDO_MAP_FD:
      return `r${i.dst} = map[id:${i.imm}]`;
    case op.BPF_PSEUDO_MAP_VALUE:
      return `r${i.dst} = map[id:${i.imm}][0]+${next}`;
    case op.BPF_PSEUDO_MAP_IDX_VALUE:
      return `r${i.dst} = map[idx:${i.imm}]+${next}`;
    case op.BPF_PSEUDO_FUNC:
      return `r${i.dst} = subprog[${signed(i.imm)}]`;
    default:
      return `r${i.dst} = 0x${(i.imm64 ?? 0n).toString(16)}`;
  }
}

function jmp(i: Instruction, r: 'w' | 'r'): string {
  const o = op.BPF_OP(i.opcode);
  const isJmp = r === 'r';
  if (o === op.BPF_CALL) {
    if (i.src === op.BPF_PSEUDO_CALL) return `call pc${signed(i.imm)}`;
    const name = i.src === 0 && i.imm >= 0 ? (helperNames[i.imm] ?? 'unknown') : i.src === op.BPF_PSEUDO_KFUNC_CALL ? 'kernel-function' : 'unknown';
    return `call ${name}#${i.imm}`;
  }
  if (isJmp && i.opcode === (op.BPF_JMP | op.BPF_JA)) return `goto pc${signed(i.offset)}`;
  if (isJmp && i.opcode === (op.BPF_JMP | op.BPF_JA | op.BPF_X)) return `gotox r${i.dst}`;
  if (isJmp && i.opcode === (op.BPF_JMP | op.BPF_JCOND) && i.src === op.BPF_MAY_GOTO) return `may_goto pc${signed(i.offset)}`;
  if (!isJmp && i.opcode === (op.BPF_JMP32 | op.BPF_JA)) return `gotol pc${signed(i.imm)}`;
  if (isJmp && i.opcode === (op.BPF_JMP | op.BPF_EXIT)) return 'exit';
  const name = JMP[o >> 4];
  if (name === undefined || o === op.BPF_EXIT || o === op.BPF_JA) return `${CLASS[op.BPF_CLASS(i.opcode)]}`;
  if (op.BPF_SRC(i.opcode) === op.BPF_X) return `if ${r}${i.dst} ${name} ${r}${i.src} goto pc${signed(i.offset)}`;
  return `if ${r}${i.dst} ${name} 0x${(i.imm >>> 0).toString(16)} goto pc${signed(i.offset)}`;
}

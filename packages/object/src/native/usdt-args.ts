/**
 * USDT argument specs (`-4@%eax 8@-8(%rbp) -4@$5`, arm64 `8@[sp, 16]`, ...)
 * parsed for x86-64, arm64, riscv64 and s390x into where each argument is
 * (a constant, a register, memory at a register plus an offset), and encoded
 * as the `struct __bpf_usdt_spec` that libbpf's `usdt.bpf.h` reads from its
 * `__bpf_usdt_specs` map.
 */
import { ObjectParseError } from '../errors.js';

/** enum __bpf_usdt_arg_type. */
export const UsdtArgType = { const: 0, reg: 1, reg_deref: 2 } as const;

export interface UsdtArg {
  readonly type: keyof typeof UsdtArgType;
  /** A constant's value, or the offset added to the register's value before reading memory. */
  readonly value: bigint;
  /** The register's name as the spec spells it ('' for a constant). */
  readonly register: string;
  /** offsetof(struct pt_regs, register) on the spec's architecture (0 for a constant). */
  readonly regOffset: number;
  /** Bytes: 1, 2, 4 or 8. */
  readonly size: number;
  readonly signed: boolean;
}

export type UsdtArch = 'x86_64' | 'arm64' | 'riscv64' | 's390x';

/** e_machine → the argument syntax it uses. */
export const USDT_ARCH_OF_MACHINE: Readonly<Record<number, UsdtArch>> = { 62: 'x86_64', 183: 'arm64', 243: 'riscv64', 22: 's390x' };

/** struct pt_regs on x86-64: each general register's offset, by every name a spec may give it. */
const X86_64: Record<string, number> = {};
for (const [offset, names] of [
  [0, 'r15 r15d r15w r15b'],
  [8, 'r14 r14d r14w r14b'],
  [16, 'r13 r13d r13w r13b'],
  [24, 'r12 r12d r12w r12b'],
  [32, 'rbp ebp bp bpl'],
  [40, 'rbx ebx bx bl'],
  [48, 'r11 r11d r11w r11b'],
  [56, 'r10 r10d r10w r10b'],
  [64, 'r9 r9d r9w r9b'],
  [72, 'r8 r8d r8w r8b'],
  [80, 'rax eax ax al'],
  [88, 'rcx ecx cx cl'],
  [96, 'rdx edx dx dl'],
  [104, 'rsi esi si sil'],
  [112, 'rdi edi di dil'],
  [128, 'rip eip ip'],
  [152, 'rsp esp sp spl'],
] as const) {
  for (const n of names.split(' ')) X86_64[n] = offset;
}

/** user_pt_regs on arm64: regs[31], then sp. */
function arm64Register(name: string): number | undefined {
  if (name === 'sp') return 31 * 8;
  const m = /^x(\d+)$/.exec(name);
  return m && Number(m[1]) <= 30 ? Number(m[1]) * 8 : undefined;
}

/** struct user_regs_struct on riscv64: pc, ra, sp, gp, tp, t0-t2, s0-s1, a0-a7, s2-s11, t3-t6. */
const RISCV_ORDER = 'pc ra sp gp tp t0 t1 t2 s0 s1 a0 a1 a2 a3 a4 a5 a6 a7 s2 s3 s4 s5 s6 s7 s8 s9 s10 s11 t3 t4 t5 t6'.split(' ');
function riscvRegister(name: string): number | undefined {
  const i = RISCV_ORDER.indexOf(name === 'fp' ? 's0' : name);
  return i < 0 ? undefined : i * 8;
}

/** user_pt_regs on s390x: args[1], psw (16 bytes), then gprs[16]. */
function s390Register(name: string): number | undefined {
  const m = /^r(\d+)$/.exec(name);
  return m && Number(m[1]) <= 15 ? 24 + Number(m[1]) * 8 : undefined;
}

interface Form {
  re: RegExp;
  make: (m: RegExpExecArray) => { type: UsdtArg['type']; value: string; register: string };
}

// Each form matches at the current position (sticky); the first group is the size.
const NUM = '(-?(?:0x[0-9a-fA-F]+|\\d+))';
const FORMS: Record<UsdtArch, Form[]> = {
  x86_64: [
    { re: new RegExp(`(-?\\d+)@\\$${NUM}`, 'y'), make: (m) => ({ type: 'const', value: m[2]!, register: '' }) },
    { re: new RegExp(`(-?\\d+)@${NUM}?\\(%(\\w+)\\)`, 'y'), make: (m) => ({ type: 'reg_deref', value: m[2] ?? '0', register: m[3]! }) },
    { re: /(-?\d+)@%(\w+)/y, make: (m) => ({ type: 'reg', value: '0', register: m[2]! }) },
  ],
  arm64: [
    { re: new RegExp(`(-?\\d+)@\\[([a-z0-9]+), *${NUM}\\]`, 'y'), make: (m) => ({ type: 'reg_deref', value: m[3]!, register: m[2]! }) },
    { re: /(-?\d+)@\[([a-z0-9]+)\]/y, make: (m) => ({ type: 'reg_deref', value: '0', register: m[2]! }) },
    { re: new RegExp(`(-?\\d+)@${NUM}(?![\\w(])`, 'y'), make: (m) => ({ type: 'const', value: m[2]!, register: '' }) },
    { re: /(-?\d+)@([a-z][a-z0-9]*)/y, make: (m) => ({ type: 'reg', value: '0', register: m[2]! }) },
  ],
  riscv64: [
    { re: new RegExp(`(-?\\d+)@${NUM}\\(([a-z0-9]+)\\)`, 'y'), make: (m) => ({ type: 'reg_deref', value: m[2]!, register: m[3]! }) },
    { re: new RegExp(`(-?\\d+)@${NUM}(?![\\w(])`, 'y'), make: (m) => ({ type: 'const', value: m[2]!, register: '' }) },
    { re: /(-?\d+)@([a-z][a-z0-9]*)/y, make: (m) => ({ type: 'reg', value: '0', register: m[2]! }) },
  ],
  s390x: [
    { re: new RegExp(`(-?\\d+)@${NUM}\\(%(r\\d+)\\)`, 'y'), make: (m) => ({ type: 'reg_deref', value: m[2]!, register: m[3]! }) },
    { re: /(-?\d+)@%(r\d+)/y, make: (m) => ({ type: 'reg', value: '0', register: m[2]! }) },
    { re: new RegExp(`(-?\\d+)@${NUM}(?![\\w(])`, 'y'), make: (m) => ({ type: 'const', value: m[2]!, register: '' }) },
  ],
};

function registerOffset(arch: UsdtArch, name: string): number | undefined {
  switch (arch) {
    case 'x86_64':
      return X86_64[name];
    case 'arm64':
      return arm64Register(name);
    case 'riscv64':
      return riscvRegister(name);
    case 's390x':
      return s390Register(name);
  }
}

/** libbpf's usdt.bpf.h reads at most this many arguments (BPF_USDT_MAX_ARG_CNT). */
export const USDT_MAX_ARGS = 12;

/** The arguments of a spec string (empty: a probe without arguments). */
export function parseUsdtArgs(text: string, arch: UsdtArch): UsdtArg[] {
  const forms = FORMS[arch];
  if (!forms) throw new ObjectParseError('ELF_UNSUPPORTED', `USDT arguments of architecture ${String(arch)} are not understood`);
  const args: UsdtArg[] = [];
  let at = 0;
  const fail = (why: string) => new ObjectParseError('SECTION_INVALID', `USDT argument ${args.length + 1} of "${text}": ${why}`, { section: '.note.stapsdt' });
  for (;;) {
    while (text[at] === ' ' || text[at] === '\t') at++;
    if (at >= text.length) break;
    let found: ReturnType<Form['make']> | undefined;
    let size = 0;
    for (const f of forms) {
      f.re.lastIndex = at;
      const m = f.re.exec(text);
      if (!m || (at + m[0].length < text.length && !/[ \t]/.test(text[at + m[0].length]!))) continue;
      found = f.make(m);
      size = Number(m[1]);
      at += m[0].length;
      break;
    }
    if (!found) {
      const rest = text.slice(at).split(/[ \t]/)[0];
      throw fail(/\(%\w+,%\w+/.test(rest!) ? `${rest}: index-register (SIB) addressing is not supported` : `cannot parse ${rest}`);
    }
    if (![1, 2, 4, 8].includes(Math.abs(size))) throw fail(`size ${size} is not 1, 2, 4 or 8 bytes`);
    let regOffset = 0;
    if (found.type !== 'const') {
      const off = registerOffset(arch, found.register);
      if (off === undefined) throw fail(`unknown ${arch} register ${found.register}`);
      regOffset = off;
    }
    const value = BigInt.asIntN(64, found.value.startsWith('-') ? -BigInt(found.value.slice(1)) : BigInt(found.value));
    args.push({ type: found.type, value, register: found.register, regOffset, size: Math.abs(size), signed: size < 0 });
    if (args.length > USDT_MAX_ARGS) throw fail(`more than ${USDT_MAX_ARGS} arguments`);
  }
  return args;
}

/** sizeof(struct __bpf_usdt_spec): 12 arg specs of 16 bytes, the cookie, the count. */
export const USDT_SPEC_SIZE = 208;

/**
 * struct __bpf_usdt_spec, as libbpf's usdt.bpf.h lays it out: per argument
 * val_off (u64), arg_type (u32), reg_off (s16), arg_signed (u8), arg_bitshift
 * (u8: 64 minus the argument's bits); then usdt_cookie (u64) at 192 and
 * arg_cnt (s16) at 200.
 */
export function encodeUsdtSpec(args: readonly UsdtArg[], cookie: bigint = 0n): Uint8Array {
  if (args.length > USDT_MAX_ARGS) throw new ObjectParseError('SECTION_INVALID', `a USDT probe with ${args.length} arguments (at most ${USDT_MAX_ARGS})`);
  const out = new Uint8Array(USDT_SPEC_SIZE);
  const v = new DataView(out.buffer);
  args.forEach((a, i) => {
    const at = i * 16;
    v.setBigUint64(at, BigInt.asUintN(64, a.value), true);
    v.setUint32(at + 8, UsdtArgType[a.type], true);
    v.setInt16(at + 12, a.regOffset, true);
    v.setUint8(at + 14, a.signed ? 1 : 0);
    v.setUint8(at + 15, 64 - a.size * 8);
  });
  v.setBigUint64(192, BigInt.asUintN(64, cookie), true);
  v.setInt16(200, args.length, true);
  return out;
}

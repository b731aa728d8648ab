import { describe, expect, it } from 'vitest';
import { asm } from '../asm/builders.js';
import { decodeInstructions } from '../asm/decode.js';
import { encodeInstructions } from '../asm/encode.js';
import type { InstructionInput } from '../asm/instruction.js';
import * as op from '../asm/opcodes.js';
import { Btf } from '../btf/btf.js';
import { LinkError, type ByteOrder } from '../errors.js';
import type { CollectionSpec, ExternSpec } from '../spec.js';
import { BtfBuilder } from '../testing/btf-builder.js';
import { POISON_CALL_KFUNC_BASE, typelessKsyms } from './externs.js';
import { InsnWriter } from './insn-writer.js';
import { kconfigLayout } from './kconfig.js';
import type { LinkedProgram } from './link-program.js';
import { relocateProgram, type KernelFacts, type KsymAddress } from './relocate.js';

/**
 * The object's BTF: int; the kfuncs and the variables it declares as externs
 * (`typed_var` an int, `addr`/`gone_addr` typeless: `extern const void`), and
 * a `.kconfig` int.
 */
function objectBtf(order: ByteOrder = 'little') {
  const b = new BtfBuilder();
  const int = b.int('int', 4, { signed: true }); // 1
  const proto = b.funcProto(int, []); // 2
  const ids = {
    present: b.func('bpf_present', proto, 2), // extern FUNC
    absent: b.func('bpf_absent', proto, 2),
    typedVar: b.variable('typed_var', int, 2),
    gonevar: b.variable('gone_var', int, 2),
    addr: b.variable('addr', 0, 2),
    goneAddr: b.variable('gone_addr', 0, 2),
    kconfig: b.variable('CONFIG_X', int, 2),
  };
  return { btf: Btf.parse(b.build(order)), ids };
}

/** The kernel's BTF: bpf_present (a kfunc) and typed_var (a variable). */
function kernelBtf() {
  const b = new BtfBuilder();
  const int = b.int('int', 4, { signed: true });
  const proto = b.funcProto(int, []);
  b.int('padding', 4); // so the kernel's ids differ from the object's
  const present = b.func('bpf_present', proto, 1);
  const typedVar = b.variable('typed_var', int, 1);
  return { btf: Btf.parse(b.build()), present, typedVar };
}

function specWith(order: ByteOrder, externs: Partial<Record<string, Partial<ExternSpec>>>): CollectionSpec {
  const { btf, ids } = objectBtf(order);
  const idOf: Record<string, number> = {
    bpf_present: ids.present,
    bpf_absent: ids.absent,
    typed_var: ids.typedVar,
    gone_var: ids.gonevar,
    addr: ids.addr,
    gone_addr: ids.goneAddr,
    CONFIG_X: ids.kconfig,
  };
  const all: Record<string, ExternSpec> = {};
  for (const [name, e] of Object.entries(externs)) {
    all[name] = { name, kind: 'ksym', isFunction: false, weak: false, btfTypeId: idOf[name] ?? 0, ...e };
  }
  return {
    byteOrder: order,
    license: 'GPL',
    kernelVersion: undefined,
    programs: {},
    subprograms: {},
    maps: {},
    externs: all,
    btf,
    btfExt: undefined,
    dataSections: {},
  };
}

const EXTERNS = {
  bpf_present: { isFunction: true },
  bpf_absent: { isFunction: true, weak: true },
  typed_var: {},
  gone_var: { weak: true },
  addr: {},
  gone_addr: { weak: true },
  CONFIG_X: { kind: 'kconfig' as const },
};

function linked(order: ByteOrder, insns: InstructionInput[], relocations: LinkedProgram['relocations']): LinkedProgram {
  return {
    name: 'prog',
    instructions: encodeInstructions(insns, order),
    layout: [{ name: 'prog', start: 0 }],
    relocations,
    funcInfo: [],
    lineInfo: [],
    coreRelos: [],
  };
}

function facts(over: Partial<KernelFacts> = {}): KernelFacts {
  const kernel = kernelBtf();
  return {
    mapFds: new Map([
      ['counters', 7],
      ['.data', 9],
    ]),
    kernelBtf: () => kernel.btf,
    kallsyms: () => new Map<string, KsymAddress>([['addr', 0xffffffff81234560n]]),
    ...over,
  };
}

/** `f` throws a LinkError (the class itself: LinkError.prototype in its chain) with this code and message. */
function expectLinkError(f: () => unknown, code: string, message = /./): void {
  expect(f).toThrow(LinkError);
  expect(f).toThrow(expect.objectContaining({ code, message: expect.stringMatching(message) }));
}

describe('relocateProgram', () => {
  it('points map and map_value references at the map fds, in a copy', () => {
    const s = specWith('little', {});
    const l = linked(
      'little',
      [asm.ldImm64(1, 0n), asm.ldImm64(2, 16n), asm.exit()],
      [
        { insn: 0, kind: 'map', map: 'counters' },
        { insn: 2, kind: 'map_value', map: '.data', offset: 16 },
      ],
    );
    const before = l.instructions.slice();
    const out = decodeInstructions(relocateProgram(s, l, facts()), 'little');
    expect(out[0]).toMatchObject({ opcode: op.OP_LD_IMM64, dst: 1, src: op.BPF_PSEUDO_MAP_FD, imm: 7, nextImm: 0 });
    expect(out[1]).toMatchObject({ opcode: op.OP_LD_IMM64, dst: 2, src: op.BPF_PSEUDO_MAP_VALUE, imm: 9, nextImm: 16 });
    expect(l.instructions).toEqual(before);
  });

  it('refuses a map that was not created, and a relocation past the end, as LinkErrors', () => {
    const s = specWith('little', {});
    expectLinkError(
      () => relocateProgram(s, linked('little', [asm.ldImm64(1, 0n)], [{ insn: 0, kind: 'map', map: 'nope' }]), facts()),
      'SPEC_INVALID',
      /refers to map nope, which was not created/,
    );
    expectLinkError(
      () => relocateProgram(s, linked('little', [asm.exit()], [{ insn: 0, kind: 'map', map: 'counters' }]), facts()),
      'SPEC_INVALID',
      /past the end/,
    );
  });

  it('patches a kfunc call with its kernel BTF id, and poisons an absent weak one with its extern index', () => {
    const s = specWith('little', EXTERNS);
    const k = kernelBtf();
    const l = linked(
      'little',
      [asm.call(-1), asm.call(-1), asm.exit()],
      [
        { insn: 0, kind: 'extern', extern: 'bpf_present' },
        { insn: 1, kind: 'extern', extern: 'bpf_absent' },
      ],
    );
    const out = decodeInstructions(relocateProgram(s, l, facts()), 'little');
    expect(out[0]).toMatchObject({ opcode: op.OP_CALL, src: op.BPF_PSEUDO_KFUNC_CALL, imm: k.present, offset: 0 });
    expect(out[1]).toMatchObject({ opcode: op.OP_CALL, src: 0, imm: POISON_CALL_KFUNC_BASE + Object.keys(s.externs).indexOf('bpf_absent'), offset: 0 });
  });

  it('bpf_ksym_exists(kfunc): the BTF id when present, 0 for an absent weak one', () => {
    const s = specWith('little', EXTERNS);
    const l = linked(
      'little',
      [asm.ldImm64(1, 0n), asm.ldImm64(2, 0n), asm.exit()],
      [
        { insn: 0, kind: 'extern', extern: 'bpf_present' },
        { insn: 2, kind: 'extern', extern: 'bpf_absent' },
      ],
    );
    const out = decodeInstructions(relocateProgram(s, l, facts()), 'little');
    expect(out[0]).toMatchObject({ src: op.BPF_PSEUDO_BTF_ID, imm: kernelBtf().present, nextImm: 0 });
    expect(out[1]).toMatchObject({ src: 0, imm64: 0n });
  });

  it('refuses an absent kfunc that is not weak, and one referenced by something other than a call', () => {
    const s = specWith('little', { ...EXTERNS, bpf_absent: { isFunction: true } });
    expectLinkError(
      () => relocateProgram(s, linked('little', [asm.call(-1)], [{ insn: 0, kind: 'extern', extern: 'bpf_absent' }]), facts()),
      'KFUNC_NOT_FOUND',
      /kfunc bpf_absent is not in the kernel's BTF/,
    );
    expectLinkError(
      () => relocateProgram(s, linked('little', [asm.mov64Imm(0, 0)], [{ insn: 0, kind: 'extern', extern: 'bpf_present' }]), facts()),
      'SPEC_INVALID',
      /something other than a call or bpf_ksym_exists/,
    );
  });

  it("splits a typeless ksym's 64-bit address into the two ld_imm64 halves; an absent weak one is NULL", () => {
    const s = specWith('little', EXTERNS);
    expect([...typelessKsyms(s)].sort()).toEqual(['addr', 'gone_addr']);
    const l = linked(
      'little',
      [asm.ldImm64(1, 0n), asm.ldImm64(2, 0n), asm.exit()],
      [
        { insn: 0, kind: 'extern', extern: 'addr' },
        { insn: 2, kind: 'extern', extern: 'gone_addr' },
      ],
    );
    const out = decodeInstructions(relocateProgram(s, l, facts({ kernelBtf: () => expect.fail('no kernel BTF needed for typeless ksyms') })), 'little');
    expect(out[0]).toMatchObject({ src: 0, imm: 0x81234560 | 0, nextImm: 0xffffffff | 0, imm64: 0xffffffff81234560n });
    expect(out[1]).toMatchObject({ src: 0, imm64: 0n });
  });

  it('refuses a typeless ksym that is ambiguous, hidden by kptr_restrict, or absent and not weak', () => {
    const s = specWith('little', EXTERNS);
    const l = linked('little', [asm.ldImm64(1, 0n)], [{ insn: 0, kind: 'extern', extern: 'addr' }]);
    expectLinkError(() => relocateProgram(s, l, facts({ kallsyms: () => new Map([['addr', 'ambiguous']]) })), 'KSYM_AMBIGUOUS', /several symbols/);
    expectLinkError(() => relocateProgram(s, l, facts({ kallsyms: () => new Map([['addr', 0n]]) })), 'KSYM_HIDDEN', /kptr_restrict/);
    expectLinkError(() => relocateProgram(s, l, facts({ kallsyms: () => new Map() })), 'KSYM_NOT_FOUND', /ksym addr is not in \/proc\/kallsyms/);
  });

  it("points a typed ksym at the kernel variable's BTF id; an absent weak one is NULL, an absent strong one refused", () => {
    const s = specWith('little', EXTERNS);
    const l = linked(
      'little',
      [asm.ldImm64(1, 0n), asm.ldImm64(2, 0n), asm.exit()],
      [
        { insn: 0, kind: 'extern', extern: 'typed_var' },
        { insn: 2, kind: 'extern', extern: 'gone_var' },
      ],
    );
    const out = decodeInstructions(relocateProgram(s, l, facts({ kallsyms: () => expect.fail('no kallsyms needed for typed ksyms') })), 'little');
    expect(out[0]).toMatchObject({ src: op.BPF_PSEUDO_BTF_ID, imm: kernelBtf().typedVar, nextImm: 0 });
    expect(out[1]).toMatchObject({ src: 0, imm64: 0n });
    const strong = specWith('little', { ...EXTERNS, gone_var: {} });
    expectLinkError(() => relocateProgram(strong, l, facts()), 'KSYM_NOT_FOUND', /gone_var is not a variable in the kernel's BTF/);
  });

  it('points a .kconfig extern at its slot in the .kconfig map', () => {
    const s = specWith('little', EXTERNS);
    const layout = kconfigLayout(s);
    const l = linked('little', [asm.ldImm64(1, 0n), asm.exit()], [{ insn: 0, kind: 'extern', extern: 'CONFIG_X' }]);
    const out = decodeInstructions(relocateProgram(s, l, facts({ kconfig: { fd: 11, layout } })), 'little');
    expect(out[0]).toMatchObject({ src: op.BPF_PSEUDO_MAP_VALUE, imm: 11, nextImm: layout.slots.find((x) => x.name === 'CONFIG_X')!.offset });
    expectLinkError(() => relocateProgram(s, l, facts()), 'SPEC_INVALID', /extern CONFIG_X: no .kconfig slot/);
    expectLinkError(
      () => relocateProgram(s, linked('little', [asm.ldImm64(1, 0n)], [{ insn: 0, kind: 'extern', extern: 'nope' }]), facts()),
      'SPEC_INVALID',
      /unknown extern nope/,
    );
  });

  it("writes in the object's byte order: big-endian register nibbles and immediates", () => {
    const s = specWith('big', EXTERNS);
    const l = linked(
      'big',
      [asm.ldImm64(3, 0n), asm.call(-1), asm.ldImm64(4, 0n), asm.exit()],
      [
        { insn: 0, kind: 'map_value', map: '.data', offset: 0x1234 },
        { insn: 2, kind: 'extern', extern: 'bpf_present' },
        { insn: 3, kind: 'extern', extern: 'addr' },
      ],
    );
    const out = decodeInstructions(relocateProgram(s, l, facts()), 'big');
    expect(out[0]).toMatchObject({ dst: 3, src: op.BPF_PSEUDO_MAP_VALUE, imm: 9, nextImm: 0x1234 });
    expect(out[1]).toMatchObject({ opcode: op.OP_CALL, src: op.BPF_PSEUDO_KFUNC_CALL, imm: kernelBtf().present });
    expect(out[2]).toMatchObject({ dst: 4, src: 0, imm64: 0xffffffff81234560n });
  });

  it("asks for the kernel's BTF and kallsyms only when a reference needs them", () => {
    const s = specWith('little', EXTERNS);
    const l = linked('little', [asm.ldImm64(1, 0n), asm.exit()], [{ insn: 0, kind: 'map', map: 'counters' }]);
    relocateProgram(s, l, facts({ kernelBtf: () => expect.fail('kernel BTF asked for'), kallsyms: () => expect.fail('kallsyms asked for') }));
  });
});

describe('InsnWriter', () => {
  it('sets src, offset and immediates in either byte order, and refuses slots past the end', () => {
    for (const order of ['little', 'big'] as const) {
      const w = new InsnWriter(encodeInstructions([asm.mov64Reg(2, 3), asm.ldImm64(1, 0n)], order), order);
      w.setSrc(0, 5);
      w.setOffset(0, -2);
      w.setImm(0, -7);
      w.setImm64(1, 0x1122334455667788n);
      const out = decodeInstructions(w.bytes, order);
      expect(out[0]).toMatchObject({ dst: 2, src: 5, offset: -2, imm: -7 });
      expect(out[1]).toMatchObject({ dst: 1, imm64: 0x1122334455667788n });
      expectLinkError(() => w.setImm64(2, 0n), 'SPEC_INVALID', /instruction 3 is past the end/);
      expectLinkError(() => w.setImm(-1, 0), 'SPEC_INVALID');
    }
  });
});

import { describe, expect, it } from 'vitest';
import { Btf } from '../btf/btf.js';
import { BtfBuilder } from '../testing/btf-builder.js';
import { applyCoreRelos, calculateCoreRelos } from './core.js';
import { asm } from '../asm/builders.js';
import { encodeInstructions } from '../asm/encode.js';
import { decodeInstructions } from '../asm/decode.js';

/** Local: what the program was compiled against. struct task___local { int pid; int tgid; u64 flags; } */
function local() {
  const b = new BtfBuilder();
  const int = b.int('int', 4, { signed: true }); // 1
  const u64 = b.int('long long unsigned int', 8); // 2
  const task = b.composite('struct', 'task___local', 16, [
    { name: 'pid', type: int, bitOffset: 0 },
    { name: 'tgid', type: int, bitOffset: 32 },
    { name: 'flags', type: u64, bitOffset: 64 },
  ]); // 3
  const mode = b.enum('mode', 4, [['MODE_A', 0], ['MODE_B', 1]]); // 4
  const gone = b.composite('struct', 'gone', 4, [{ name: 'x', type: int, bitOffset: 0 }]); // 5
  return { btf: Btf.parse(b.build()), task, mode, gone };
}

/** Target: the "kernel": fields moved, one inside an anonymous union, the enum renumbered, `gone` absent. */
function target() {
  const b = new BtfBuilder();
  const int = b.int('int', 4, { signed: true }); // 1
  const u64 = b.int('long long unsigned int', 8); // 2
  const u = b.composite('union', '', 8, [{ name: 'flags', type: u64, bitOffset: 0 }]); // 3
  b.composite('struct', 'task', 32, [
    { name: 'state', type: u64, bitOffset: 0 },
    { name: '', type: u, bitOffset: 64 },
    { name: 'tgid', type: int, bitOffset: 128 },
    { name: 'pid', type: int, bitOffset: 160 },
  ]); // 4
  b.enum('mode', 4, [['MODE_B', 7], ['MODE_A', 9]]); // 5
  return Btf.parse(b.build());
}

describe('CO-RE relocations against a different "kernel"', () => {
  const l = local();
  const t = target();
  const relo = (kindName: string, typeId: number, accessStr: string) => ({ insn: 0, typeId, accessStr, kindName });

  it('field offsets follow moved fields, through anonymous unions, ignoring ___flavors', () => {
    const [pid, tgid, flags] = calculateCoreRelos(l.btf, t, [
      relo('field_byte_offset', l.task, '0:0'),
      relo('field_byte_offset', l.task, '0:1'),
      relo('field_byte_offset', l.task, '0:2'),
    ]);
    expect(pid).toMatchObject({ value: 20, original: 0 });
    expect(tgid).toMatchObject({ value: 16, original: 4 });
    expect(flags).toMatchObject({ value: 8, original: 8 });
  });

  it('sizes, existence, signedness; missing types and fields', () => {
    const r = calculateCoreRelos(l.btf, t, [
      relo('field_byte_size', l.task, '0:2'),
      relo('field_exists', l.task, '0:1'),
      relo('field_signed', l.task, '0:0'),
      relo('type_exists', l.task, '0'),
      relo('type_size', l.task, '0'),
      relo('type_exists', l.gone, '0'),
      relo('field_exists', l.gone, '0:0'),
      relo('field_byte_offset', l.gone, '0:0'),
    ]);
    expect(r.map((x) => ('value' in x ? x.value : 'poison'))).toEqual([8, 1, 1, 1, 32, 0, 0, 'poison']);
  });

  it('enum values are looked up by name in the target', () => {
    const r = calculateCoreRelos(l.btf, t, [relo('enumval_value', l.mode, '1'), relo('enumval_exists', l.mode, '0')]);
    expect(r).toMatchObject([{ value: 7, original: 1 }, { value: 1 }]);
  });

  it('patches offsets, immediates and ld_imm64, checks what it replaces, and poisons what cannot be relocated', () => {
    const insns = encodeInstructions([asm.ldxMem(4, 0, 1, 4), asm.alu64Imm('add', 1, 4), asm.ldImm64(2, 1n), asm.exit()], 'little');
    const results = calculateCoreRelos(l.btf, t, [
      { insn: 0, typeId: l.task, accessStr: '0:1', kindName: 'field_byte_offset' },
      { insn: 1, typeId: l.task, accessStr: '0:1', kindName: 'field_byte_offset' },
      { insn: 2, typeId: l.mode, accessStr: '1', kindName: 'enumval_value' },
      { insn: 4, typeId: l.gone, accessStr: '0:0', kindName: 'field_byte_offset' },
    ]);
    const out = decodeInstructions(applyCoreRelos(insns, results), 'little');
    expect(out[0]).toMatchObject({ opcode: 0x61, offset: 16 });
    expect(out[1]).toMatchObject({ opcode: 0x07, imm: 16 });
    expect(out[2]).toMatchObject({ opcode: 0x18, imm: 7 });
    expect(out[3]).toMatchObject({ opcode: 0x85, imm: 0xbad2310 });
    const wrong = [{ insn: 0, kind: 'field_byte_offset', value: 16, original: 99 }] as const;
    expect(() => applyCoreRelos(insns, wrong)).toThrow(/offset 4 is not the expected 99/);
  });
});

describe('CO-RE candidates beyond vmlinux, and disagreement', () => {
  const l = local();
  it('searches module BTF (split on vmlinux) when vmlinux has no candidate', () => {
    const vmlinux = target();
    const mod = new BtfBuilder({ types: vmlinux.length, strLen: vmlinux.stringsEnd });
    mod.composite('struct', 'gone', 8, [{ name: 'x', type: 1, bitOffset: 32 }]);
    const module = Btf.parse(mod.build(), { base: vmlinux });
    const [withModules] = calculateCoreRelos(l.btf, vmlinux, [{ insn: 0, typeId: l.gone, accessStr: '0:0', kindName: 'field_byte_offset' }], {
      modules: () => [module],
    });
    expect(withModules).toMatchObject({ value: 4 });
    const [without] = calculateCoreRelos(l.btf, vmlinux, [{ insn: 0, typeId: l.gone, accessStr: '0:0', kindName: 'field_byte_offset' }]);
    expect(without).toMatchObject({ poison: expect.any(String) });
  });

  it('refuses candidates that disagree', () => {
    const b = new BtfBuilder();
    const int = b.int('int', 4, { signed: true });
    b.composite('struct', 'task', 8, [{ name: 'pid', type: int, bitOffset: 0 }]);
    b.composite('struct', 'task', 8, [{ name: 'pid', type: int, bitOffset: 32 }]);
    expect(() => calculateCoreRelos(l.btf, Btf.parse(b.build()), [{ insn: 0, typeId: l.task, accessStr: '0:0', kindName: 'field_byte_offset' }])).toThrow(
      /candidates disagree \(0, 4\)/,
    );
  });
});

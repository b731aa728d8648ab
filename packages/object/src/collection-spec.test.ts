import { describe, expect, it } from 'vitest';
import { parseCollectionSpec } from './collection-spec.js';
import { ObjectParseError } from './errors.js';
import { linkProgram } from './linker/link-program.js';
import { btfForKernel } from './linker/kernel-btf.js';
import { Btf } from './btf/btf.js';
import { buildElf, concat, insn, type FakeSection } from './testing/elf-builder.js';

const SHF_ALLOC_EXEC = 0x6;
const PROGBITS = 1;
const mov0 = (imm: number, bo: 'little' | 'big' = 'little') => insn(0xb7, 0, 0, 0, imm, bo);
const exit = (bo: 'little' | 'big' = 'little') => insn(0x95, 0, 0, 0, 0, bo);
const ldImm64 = (dst: number, imm: number) => concat(insn(0x18, dst, 0, 0, imm), insn(0, 0, 0, 0, 0));
const call = (src: number, imm: number) => insn(0x85, 0, src, 0, imm);
const license = (): FakeSection => ({ name: 'license', type: PROGBITS, flags: 3, data: new TextEncoder().encode('GPL\0') });

function code(name: string, ...insns: Uint8Array[]): FakeSection {
  return { name, type: PROGBITS, flags: SHF_ALLOC_EXEC, data: concat(...insns) };
}

function expectCode(f: () => unknown, code: string): void {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(ObjectParseError);
    expect((e as ObjectParseError).code).toBe(code);
    return;
  }
  throw new Error(`expected ObjectParseError ${code}`);
}

describe('parseCollectionSpec on synthetic objects', () => {
  it('finds one program per function symbol, several per section', () => {
    const elf = buildElf(
      [code('xdp', mov0(1), exit(), mov0(2), exit()), license()],
      [
        { name: 'first', section: 0, value: 0, size: 16 },
        { name: 'second', section: 0, value: 16, size: 16 },
      ],
    );
    const spec = parseCollectionSpec(elf);
    expect(Object.keys(spec.programs)).toEqual(['first', 'second']);
    expect(spec.programs.second).toMatchObject({ sectionName: 'xdp', sectionOffset: 16, typeName: 'xdp', license: 'GPL' });
    expect(spec.programs.second!.instructions).toEqual(concat(mov0(2), exit()));
  });

  it('reads big-endian objects', () => {
    const elf = buildElf([code('socket', mov0(7, 'big'), exit('big'))], [{ name: 'prog', section: 0, value: 0, size: 16 }], [], 'big');
    const spec = parseCollectionSpec(elf);
    expect(spec.byteOrder).toBe('big');
    expect(spec.programs.prog!.typeName).toBe('socket_filter');
    expect(spec.programs.prog!.instructions).toEqual(concat(mov0(7, 'big'), exit('big')));
  });

  it('links .text subprograms: static calls via the section symbol, callbacks via ld_imm64', () => {
    // .text: sub_a at slot 0 (2 slots), cb at slot 2 (2 slots)
    const text = code('.text', mov0(1), exit(), mov0(0), exit());
    const prog = code('tc', ldImm64(2, 16), call(1, -1), exit());
    const elf = buildElf(
      [text, prog],
      [
        { name: '.text', section: 0, type: 3, bind: 0 },
        { name: 'sub_a', section: 0, value: 0, size: 16, bind: 0 },
        { name: 'cb', section: 0, value: 16, size: 16, bind: 0 },
        { name: 'prog', section: 1, value: 0, size: 32 },
      ],
      [
        { section: 1, offset: 0, symbol: 0, type: 1 }, // ld_imm64 r2 = .text+16 (cb)
        { section: 1, offset: 16, symbol: 1, type: 10 }, // call sub_a (imm -1 from the symbol)
      ],
    );
    const spec = parseCollectionSpec(elf);
    const p = spec.programs.prog!;
    expect(p.relocations).toEqual([
      { insn: 0, kind: 'func', target: 'cb' },
      { insn: 2, kind: 'call', target: 'sub_a' },
    ]);
    expect(p.subprograms).toEqual(['cb', 'sub_a']);
    expect(Object.keys(spec.subprograms)).toEqual(['sub_a', 'cb']);

    const linked = linkProgram(spec, 'prog');
    expect(linked.layout).toEqual([
      { name: 'prog', start: 0 },
      { name: 'cb', start: 4 },
      { name: 'sub_a', start: 6 },
    ]);
    const v = new DataView(linked.instructions.buffer);
    expect(v.getInt32(0 * 8 + 4, true)).toBe(4 - 0 - 1); // callback: relative slots
    expect(linked.instructions[1]! >> 4).toBe(4); // src_reg = BPF_PSEUDO_FUNC
    expect(v.getInt32(2 * 8 + 4, true)).toBe(6 - 2 - 1);
    // the spec itself is untouched
    expect(new DataView(p.instructions.buffer, p.instructions.byteOffset).getInt32(4, true)).toBe(16);
  });

  it('resolves a call inside the same section without a relocation', () => {
    const elf = buildElf(
      [code('.text', call(1, 1), exit(), mov0(3), exit())],
      [
        { name: 'outer', section: 0, value: 0, size: 16 },
        { name: 'inner', section: 0, value: 16, size: 16 },
      ],
    );
    const spec = parseCollectionSpec(elf);
    expect(spec.subprograms.outer!.relocations).toEqual([{ insn: 0, kind: 'call', target: 'inner' }]);
  });

  it('a call whose target lies 4 GiB before or after its section does not resolve into a neighbouring section', () => {
    // The target offset is the call's own offset plus (imm + 1) instructions:
    // with a 32-bit imm it can leave the section by up to 16 GiB either way.
    for (const imm of [-(2 ** 29) - 1, 2 ** 29 - 1]) {
      const elf = buildElf(
        [code('xdp', mov0(1), exit()), code('tc', call(1, imm), exit()), code('tc/next', mov0(2), exit()), license()],
        [
          { name: 'first', section: 0, value: 0, size: 16 },
          { name: 'caller', section: 1, value: 0, size: 16 },
          { name: 'third', section: 2, value: 0, size: 16 },
        ],
      );
      expectCode(() => parseCollectionSpec(elf), 'RELOCATION_INVALID');
    }
  });

  it('resolves legacy map and global-data references', () => {
    const mapDef = new Uint8Array(20);
    new DataView(mapDef.buffer).setUint32(0, 1, true); // hash
    new DataView(mapDef.buffer).setUint32(4, 4, true);
    new DataView(mapDef.buffer).setUint32(8, 8, true);
    new DataView(mapDef.buffer).setUint32(12, 16, true);
    const elf = buildElf(
      [
        code('xdp', ldImm64(1, 0), ldImm64(2, 4), exit()),
        { name: 'maps', type: PROGBITS, flags: 3, data: mapDef },
        { name: '.data', type: PROGBITS, flags: 3, data: Uint8Array.of(1, 0, 0, 0, 2, 0, 0, 0) },
      ],
      [
        { name: 'prog', section: 0, value: 0, size: 40 },
        { name: 'counts', section: 1, value: 0, size: 20, type: 1 },
        { name: '.data', section: 2, type: 3, bind: 0 },
      ],
      [
        { section: 0, offset: 0, symbol: 1, type: 1 },
        { section: 0, offset: 16, symbol: 2, type: 1 },
      ],
    );
    const spec = parseCollectionSpec(elf);
    expect(spec.programs.prog!.relocations).toEqual([
      { insn: 0, kind: 'map', map: 'counts' },
      { insn: 2, kind: 'map_value', map: '.data', offset: 4 },
    ]);
    expect(spec.maps.counts).toMatchObject({ kind: 'legacy', typeName: 'hash', keySize: 4, valueSize: 8, maxEntries: 16 });
    expect(spec.maps['.data']).toMatchObject({ kind: 'data', typeName: 'array', keySize: 4, valueSize: 8, maxEntries: 1 });
    expect(spec.maps['.data']!.initialValue).toEqual(Uint8Array.of(1, 0, 0, 0, 2, 0, 0, 0));
  });

  it('is deterministic: the same bytes give deep-equal specs', () => {
    const make = () => parseCollectionSpec(buildElf([code('xdp', mov0(1), exit())], [{ name: 'p', section: 0, value: 0, size: 16 }]));
    expect(make()).toEqual(make());
  });

  describe('typed errors', () => {
    const good = () => buildElf([code('xdp', mov0(1), exit())], [{ name: 'p', section: 0, value: 0, size: 16 }]);

    it('bad magic', () => expectCode(() => parseCollectionSpec(Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16)), 'ELF_INVALID'));
    it('empty input', () => expectCode(() => parseCollectionSpec(new Uint8Array(0)), 'ELF_INVALID'));
    it('32-bit class', () => {
      const b = good();
      b[4] = 1;
      expectCode(() => parseCollectionSpec(b), 'ELF_UNSUPPORTED');
    });
    it('not EM_BPF', () => {
      const b = good();
      b[18] = 62;
      expectCode(() => parseCollectionSpec(b), 'ELF_UNSUPPORTED');
    });
    it('section table past the end', () => expectCode(() => parseCollectionSpec(good().slice(0, 200)), 'ELF_INVALID'));
    it('a section past the end of the file', () => {
      const b = good();
      const v = new DataView(b.buffer);
      const shoff = Number(v.getBigUint64(40, true));
      v.setBigUint64(shoff + 64 + 32, 1n << 20n, true); // section 1's size
      expectCode(() => parseCollectionSpec(b), 'SECTION_INVALID');
    });
    it('unknown program section: unspec by default (as libbpf), refused or left out on request', () => {
      const elf = buildElf([code('nonsense/foo', mov0(1), exit())], [{ name: 'p', section: 0, value: 0, size: 16 }]);
      const p = parseCollectionSpec(elf).programs.p!;
      expect([p.type, p.typeName, p.sectionName, p.attachType]).toEqual([0, 'unspec', 'nonsense/foo', undefined]);
      expectCode(() => parseCollectionSpec(elf, { unknownSections: 'error' }), 'UNKNOWN_SECTION');
      expect(() => parseCollectionSpec(elf, { unknownSections: 'error' })).toThrow(/section nonsense\/foo/);
      expect(parseCollectionSpec(elf, { unknownSections: 'ignore' }).programs).toEqual({});
    });
    it('static entry point', () => {
      const elf = buildElf([code('xdp', mov0(1), exit())], [{ name: 'p', section: 0, value: 0, size: 16, bind: 0 }]);
      expectCode(() => parseCollectionSpec(elf), 'PROGRAM_INVALID');
    });
    it('function not made of whole instructions', () => {
      const elf = buildElf([code('xdp', mov0(1), exit())], [{ name: 'p', section: 0, value: 0, size: 12 }]);
      expectCode(() => parseCollectionSpec(elf), 'PROGRAM_INVALID');
    });
    it('relocation against a symbol that does not exist', () => {
      const elf = buildElf(
        [code('xdp', ldImm64(1, 0), exit())],
        [{ name: 'p', section: 0, value: 0, size: 24 }],
        [{ section: 0, offset: 0, symbol: 41, type: 1 }],
      );
      expectCode(() => parseCollectionSpec(elf), 'RELOCATION_INVALID');
    });
    it('relocation on an instruction that cannot take one', () => {
      const elf = buildElf(
        [code('xdp', mov0(1), exit()), { name: '.data', type: PROGBITS, flags: 3, data: new Uint8Array(4) }],
        [
          { name: 'p', section: 0, value: 0, size: 16 },
          { name: '.data', section: 1, type: 3, bind: 0 },
        ],
        [{ section: 0, offset: 0, symbol: 1, type: 1 }],
      );
      expectCode(() => parseCollectionSpec(elf), 'RELOCATION_INVALID');
    });
    it('.maps without BTF', () => {
      const elf = buildElf(
        [code('xdp', mov0(1), exit()), { name: '.maps', type: PROGBITS, flags: 3, data: new Uint8Array(32) }],
        [
          { name: 'p', section: 0, value: 0, size: 16 },
          { name: 'm', section: 1, value: 0, size: 32, type: 1 },
        ],
      );
      expectCode(() => parseCollectionSpec(elf), 'MAP_INVALID');
    });
  });
});

describe('inputs that are Node Buffers', () => {
  it('specs never share memory with the input, even through Buffer views', async () => {
    const { readFileSync } = await import('node:fs');
    const { fileURLToPath } = await import('node:url');
    const file = readFileSync(fileURLToPath(new URL('../../../fixtures/out/global_data.bpf.o', import.meta.url)));
    // A Buffer at a non-zero offset of a larger allocation, as Node's pooled reads give.
    const padded = Buffer.concat([Buffer.alloc(13, 0xaa), file]).subarray(13);
    const spec = parseCollectionSpec(padded);
    const before = Buffer.from(padded);
    const data = spec.maps['.data']!.initialValue!;
    const original = data[0];
    padded.fill(0);
    expect(data[0]).toBe(original);
    // The BTF too: types decoded lazily after the caller reused its buffer are still the object's.
    expect([...spec.btf!.types()]).toEqual([...parseCollectionSpec(new Uint8Array(file)).btf!.types()]);
    expect(spec.btf!.raw.buffer).not.toBe(padded.buffer);
    const fixed = btfForKernel(parseCollectionSpec(before));
    expect(Buffer.compare(before, Buffer.from(before))).toBe(0);
    const again = Btf.parse(fixed.bytes);
    const license = again.findByName('license', 'datasec');
    expect(license?.size).toBe(4);
  });
});

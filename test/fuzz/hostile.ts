/**
 * Generated hostile inputs for the fuzz suite: each hostile BTF shape of
 * @tsbpf/object's testing/hostile-btf.ts alone as raw BTF, and inside a BPF
 * object as the value of a BTF-defined map and as the type of a global
 * variable, so the paths after parsing (codecFromBtf for typedMaps and
 * Globals, tsbpf gen) meet it too. A map whose definition the parser
 * refuses would hide the global, so each shape also gets an object
 * without the map.
 */
import { BtfBuilder } from '../../packages/object/src/testing/btf-builder.js';
import { buildElf, concat, insn } from '../../packages/object/src/testing/elf-builder.js';
import { hostileShapes, type HostileShape } from '../../packages/object/src/testing/hostile-btf.js';

export interface HostileInput {
  readonly name: string;
  readonly kind: 'btf' | 'object';
  readonly bytes: Uint8Array;
}

const SHT_PROGBITS = 1;
const SHF_WRITE = 1;
const SHF_ALLOC = 2;
const SHF_EXECINSTR = 4;
const STT_OBJECT = 1;
const STT_FUNC = 2;
const BPF_MAP_TYPE_ARRAY = 2;
const DATA_SIZE = 64;

/** An object whose global `global` (and, with `map`, the value of map `hostile`) has the shape's type. */
export function hostileObject(shape: HostileShape, map: boolean): Uint8Array {
  const b = new BtfBuilder();
  const root = shape.build(b);
  const i32 = b.int('int', 4, { signed: true });
  const arrayOf = (n: number) => b.ref('ptr', b.array(i32, i32, n));
  const sections = [];
  const symbols = [];
  if (map) {
    const def = b.composite('struct', '', 32, [
      { name: 'type', type: arrayOf(BPF_MAP_TYPE_ARRAY), bitOffset: 0 },
      { name: 'max_entries', type: arrayOf(1), bitOffset: 64 },
      { name: 'key', type: b.ref('ptr', i32), bitOffset: 128 },
      { name: 'value', type: b.ref('ptr', root), bitOffset: 192 },
    ]);
    b.datasec('.maps', 32, [{ type: b.variable('hostile', def), offset: 0, size: 32 }]);
  }
  b.datasec('.data', DATA_SIZE, [{ type: b.variable('global', root), offset: 0, size: DATA_SIZE }]);
  sections.push({ name: 'xdp', type: SHT_PROGBITS, flags: SHF_ALLOC | SHF_EXECINSTR, data: concat(insn(0xb7, 0, 0, 0, 0), insn(0x95, 0, 0, 0, 0)) });
  symbols.push({ name: 'prog', section: 0, value: 0, size: 16, type: STT_FUNC });
  sections.push({ name: '.data', type: SHT_PROGBITS, flags: SHF_ALLOC | SHF_WRITE, data: new Uint8Array(DATA_SIZE) });
  symbols.push({ name: 'global', section: 1, value: 0, size: DATA_SIZE, type: STT_OBJECT });
  sections.push({ name: 'license', type: SHT_PROGBITS, flags: SHF_ALLOC | SHF_WRITE, data: new TextEncoder().encode('GPL\0') });
  if (map) {
    sections.push({ name: '.maps', type: SHT_PROGBITS, flags: SHF_ALLOC | SHF_WRITE, data: new Uint8Array(32) });
    symbols.push({ name: 'hostile', section: sections.length - 1, value: 0, size: 32, type: STT_OBJECT });
  }
  sections.push({ name: '.BTF', type: SHT_PROGBITS, data: b.build() });
  return buildElf(sections, symbols);
}

let cache: HostileInput[] | undefined;

/** Every shape as raw BTF, and inside an object with and without the map. */
export function hostileInputs(): HostileInput[] {
  cache ??= hostileShapes().flatMap((shape) => {
    const b = new BtfBuilder();
    shape.build(b);
    return [
      { name: `${shape.name} (raw BTF)`, kind: 'btf' as const, bytes: b.build() },
      { name: `${shape.name} (map value and global)`, kind: 'object' as const, bytes: hostileObject(shape, true) },
      { name: `${shape.name} (global)`, kind: 'object' as const, bytes: hostileObject(shape, false) },
    ];
  });
  return cache;
}

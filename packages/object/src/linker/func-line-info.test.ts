import { describe, expect, it } from 'vitest';
import type { LinkedProgram } from './link-program.js';
import { FUNC_INFO_SIZE, LINE_INFO_SIZE, funcInfoBytes, lineInfoBytes } from './func-line-info.js';

const linked: LinkedProgram = {
  name: 'prog',
  instructions: new Uint8Array(80),
  layout: [
    { name: 'prog', start: 0 },
    { name: 'helper', start: 6 },
  ],
  relocations: [],
  funcInfo: [
    { insn: 0, typeId: 3 },
    { insn: 6, typeId: 0x0a0b0c0d },
  ],
  lineInfo: [
    { insn: 0, fileNameOff: 10, lineOff: 20, fileName: 'a.c', line: 42, column: 7, lineText: 'int x;' },
    { insn: 6, fileNameOff: 10, lineOff: 0x1234, fileName: 'a.c', line: 0x3fffff, column: 0x3ff, lineText: '}' },
  ],
  coreRelos: [],
};

const words = (bytes: Uint8Array, little: boolean) => {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return Array.from({ length: bytes.length / 4 }, (_, i) => v.getUint32(i * 4, little));
};

describe('func_info and line_info records', () => {
  it('bpf_func_info: insn_off, type_id per function, in linked slots', () => {
    const bytes = funcInfoBytes(linked, 'little');
    expect(bytes.length).toBe(2 * FUNC_INFO_SIZE);
    expect(words(bytes, true)).toEqual([0, 3, 6, 0x0a0b0c0d]);
    expect(words(funcInfoBytes(linked, 'big'), false)).toEqual([0, 3, 6, 0x0a0b0c0d]);
  });

  it('bpf_line_info: insn_off, file_name_off, line_off, line << 10 | column', () => {
    const bytes = lineInfoBytes(linked, 'little');
    expect(bytes.length).toBe(2 * LINE_INFO_SIZE);
    expect(words(bytes, true)).toEqual([0, 10, 20, (42 << 10) | 7, 6, 10, 0x1234, 0xffffffff]);
    expect(words(lineInfoBytes(linked, 'big'), false)).toEqual(words(bytes, true));
  });

  it('no records, no bytes', () => {
    const none = { ...linked, funcInfo: [], lineInfo: [] };
    expect(funcInfoBytes(none, 'little').length).toBe(0);
    expect(lineInfoBytes(none, 'little').length).toBe(0);
  });
});

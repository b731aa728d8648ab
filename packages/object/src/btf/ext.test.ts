import { describe, expect, it } from 'vitest';
import type { ByteOrder } from '../errors.js';
import { ObjectParseError } from '../errors.js';
import { BtfBuilder } from '../testing/btf-builder.js';
import { Btf } from './btf.js';
import { parseBtfExt } from './ext.js';

function fixture(byteOrder: ByteOrder = 'little') {
  const b = new BtfBuilder();
  const int = b.int('int', 4, { signed: true });
  const proto = b.funcProto(int, []);
  const func = b.func('prog', proto);
  const s = b.composite('struct', 'task_struct', 8, [{ name: 'pid', type: int, bitOffset: 0 }]);
  const strs = { sec: b.str('xdp'), file: b.str('/src/prog.bpf.c'), line: b.str('  return XDP_PASS;'), access: b.str('0:0') };
  const btf = Btf.parse(b.build(byteOrder));

  const words: number[] = [];
  // func_info: record size 8, one section with one record.
  const funcInfo = [8, strs.sec, 1, 0, func];
  // line_info: record size 16, one section with two records.
  const lineInfo = [16, strs.sec, 2, 0, strs.file, strs.line, (12 << 10) | 3, 8, strs.file, strs.line, (13 << 10) | 5];
  // core_relo: record size 16, one record (field_byte_offset).
  const coreRelo = [16, strs.sec, 1, 16, s, strs.access, 0];
  words.push(...funcInfo, ...lineInfo, ...coreRelo);
  const hdrLen = 32;
  const out = new Uint8Array(hdrLen + words.length * 4);
  const v = new DataView(out.buffer);
  const little = byteOrder === 'little';
  v.setUint16(0, 0xeb9f, little);
  v.setUint8(2, 1);
  v.setUint32(4, hdrLen, little);
  v.setUint32(8, 0, little);
  v.setUint32(12, funcInfo.length * 4, little);
  v.setUint32(16, funcInfo.length * 4, little);
  v.setUint32(20, lineInfo.length * 4, little);
  v.setUint32(24, (funcInfo.length + lineInfo.length) * 4, little);
  v.setUint32(28, coreRelo.length * 4, little);
  words.forEach((w, i) => v.setUint32(hdrLen + i * 4, w >>> 0, little));
  return { btf, bytes: out, ids: { func, s }, strs };
}

describe('parseBtfExt', () => {
  for (const order of ['little', 'big'] as const) {
    it(`reads func_info, line_info and CO-RE relocations (${order}-endian)`, () => {
      const { btf, bytes, ids, strs } = fixture(order);
      const ext = parseBtfExt(bytes, btf);
      expect(ext.funcInfo.get('xdp')).toEqual([{ insnOff: 0, typeId: ids.func }]);
      expect(ext.lineInfo.get('xdp')).toEqual([
        { insnOff: 0, fileNameOff: strs.file, lineOff: strs.line, fileName: '/src/prog.bpf.c', lineText: '  return XDP_PASS;', line: 12, column: 3 },
        { insnOff: 8, fileNameOff: strs.file, lineOff: strs.line, fileName: '/src/prog.bpf.c', lineText: '  return XDP_PASS;', line: 13, column: 5 },
      ]);
      expect(ext.coreRelos.get('xdp')).toEqual([{ insnOff: 16, typeId: ids.s, accessStr: '0:0', kind: 0, kindName: 'field_byte_offset' }]);
    });
  }

  it('rejects a func_info that names a non-FUNC type', () => {
    const { btf, bytes, ids } = fixture();
    new DataView(bytes.buffer).setUint32(32 + 16, ids.s, true);
    expect(() => parseBtfExt(bytes, btf)).toThrow(expect.objectContaining({ code: 'BTF_EXT_INVALID' }));
  });

  it('rejects truncation, bad magic and unknown relocation kinds with typed errors', () => {
    const { btf, bytes } = fixture();
    for (let cut = 0; cut < bytes.length; cut += 4) {
      expect(() => parseBtfExt(bytes.slice(0, cut), btf)).toThrow(ObjectParseError);
    }
    const magic = bytes.slice();
    magic[0] = 1;
    expect(() => parseBtfExt(magic, btf)).toThrow(expect.objectContaining({ code: 'BTF_EXT_INVALID' }));
    const kind = bytes.slice();
    new DataView(kind.buffer).setUint32(kind.length - 4, 77, true);
    expect(() => parseBtfExt(kind, btf)).toThrow(/unknown CO-RE relocation kind 77/);
  });
});

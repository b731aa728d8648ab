// bench/load/lean-load: the least JavaScript a load of a small object can be,
// for floor.mjs's LEAN=1 side. Hand-written for one shape of object
// (little-endian, programs without relocations, subprograms or CO-RE, BTF
// whose only fix-up is DATASEC sizes and offsets; minimal.bpf.o is one): every
// load reads the file, walks the ELF section table and symbols, copies .BTF
// into native memory and fixes its DATASECs there, turns .BTF.ext's records
// into the kernel's (instruction offsets in instructions), copies each
// program's instructions and the license, fills the attrs, loads and closes.
// No spec, no records kept, no checks beyond what the kernel needs, one
// DataView a file: what a general library's read + parse + load costs over
// the floor can be compared with what this costs over it, in one process.
import { readFileSync } from 'node:fs';

const SHT_SYMTAB = 2;
const SHT_NOBITS = 8;
const SHF_EXECINSTR = 0x4;
const STT_FUNC = 2;
const BTF_KIND_DATASEC = 15;
const BTF_KIND_VAR = 14;

/** The bytes of a NUL-terminated name (the ones used here are short ASCII). */
function nameAt(bytes, at) {
  let s = '';
  for (let c = bytes[at]; c !== 0 && c !== undefined; c = bytes[++at]) s += String.fromCharCode(c);
  return s;
}

/** Record size of a BTF type after its 12-byte header, by kind (see btf.rst). */
function btfTail(kind, vlen) {
  switch (kind) {
    case 1: // INT
    case 8: // TYPEDEF
      return kind === 1 ? 4 : 0;
    case 3: // ARRAY
      return 12;
    case 4: // STRUCT
    case 5: // UNION
      return vlen * 12;
    case 6: // ENUM
      return vlen * 8;
    case 13: // FUNC_PROTO
      return vlen * 8;
    case 14: // VAR
      return 4;
    case 15: // DATASEC
      return vlen * 12;
    case 17: // DECL_TAG
      return 4;
    case 19: // ENUM64
      return vlen * 12;
    default: // PTR, FWD, VOLATILE, CONST, RESTRICT, FUNC, FLOAT, TYPE_TAG
      return 0;
  }
}

/**
 * With `withSpec`, each load also builds the plain data a spec holds for it
 * (the sections, the symbols, a copy of .BTF with its types' offsets, each
 * program's record with a copy of its instructions and its func_info and
 * line_info records, names decoded; the DATASEC facts) and loads from those
 * copies: what keeping a spec adds to the lean path.
 * Returns `lean()`, one load: `{ koffi, syscall, close, L, SYS_BPF }` as
 * floor.mjs has them. Native memory is allocated once and reused, as a
 * library's scratch would be.
 */
export function makeLeanLoad({ koffi, syscall, close, L, SYS_BPF, OBJ, withSpec = false }) {
  /** With `withSpec`, the last load's plain-data records (kept so that making them is not optimized away). */
  let lastSpec;
  const region = (size) => {
    const p = koffi.alloc('uint8_t', size);
    return { address: Number(koffi.address(p)), u8: new Uint8Array(koffi.view(p, size)), p };
  };
  const btfMem = region(1 << 16);
  const insnMem = region(1 << 16);
  const funcMem = region(1 << 12);
  const lineMem = region(1 << 14);
  const licMem = region(256);
  const btfAttr = region(L.attrSize.BTF_LOAD);
  const progAttr = region(L.attrSize.PROG_LOAD);
  const btfView = new DataView(btfMem.u8.buffer, btfMem.u8.byteOffset, btfMem.u8.byteLength);
  const btfAttrView = new DataView(btfAttr.u8.buffer, btfAttr.u8.byteOffset, btfAttr.u8.byteLength);
  const progView = new DataView(progAttr.u8.buffer, progAttr.u8.byteOffset, progAttr.u8.byteLength);
  const P = L.progLoadAttr;
  const put64 = (view, f, v) => {
    view.setUint32(f.offset, v >>> 0, true);
    view.setUint32(f.offset + 4, Math.floor(v / 0x100000000), true);
  };
  const progFds = [];

  return function lean() {
    const bytes = readFileSync(OBJ);
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (dv.getUint32(0, false) !== 0x7f454c46 || bytes[5] !== 1 || dv.getUint16(18, true) !== 247) throw new Error('lean: not a little-endian BPF ELF');
    const shoff = dv.getUint32(40, true);
    const shnum = dv.getUint16(60, true);
    const names = dv.getUint32(shoff + dv.getUint16(62, true) * 64 + 24, true);
    const secName = [];
    const sections = withSpec ? [] : undefined;
    const symbols = withSpec ? [] : undefined;
    let symtab = -1;
    let btf = -1;
    let ext = -1;
    let license = -1;
    for (let i = 0; i < shnum; i++) {
      const h = shoff + i * 64;
      const name = nameAt(bytes, names + dv.getUint32(h, true));
      secName.push(name);
      const type = dv.getUint32(h + 4, true);
      sections?.push({
        index: i,
        name,
        type,
        flags: dv.getUint32(h + 8, true),
        offset: dv.getUint32(h + 24, true),
        size: dv.getUint32(h + 32, true),
        link: dv.getUint32(h + 40, true),
        info: dv.getUint32(h + 44, true),
      });
      if (type === SHT_SYMTAB) symtab = i;
      else if (name === '.BTF') btf = i;
      else if (name === '.BTF.ext') ext = i;
      else if (name === 'license') license = i;
    }
    const off = (i) => dv.getUint32(shoff + i * 64 + 24, true);
    const size = (i) => dv.getUint32(shoff + i * 64 + 32, true);
    const flags = (i) => dv.getUint32(shoff + i * 64 + 8, true);
    const type = (i) => dv.getUint32(shoff + i * 64 + 4, true);

    // Symbols: each executable section's functions, and every symbol's value by name (DATASEC offsets).
    const strtab = off(dv.getUint32(shoff + symtab * 64 + 40, true));
    const programs = [];
    const symbolValue = new Map();
    for (let at = off(symtab) + 24, end = off(symtab) + size(symtab); at < end; at += 24) {
      const info = bytes[at + 4];
      const shndx = dv.getUint16(at + 6, true);
      const name = nameAt(bytes, strtab + dv.getUint32(at, true));
      symbols?.push({ name, value: dv.getUint32(at + 8, true), size: dv.getUint32(at + 16, true), type: info & 0xf, bind: info >> 4, sectionIndex: shndx });
      if (shndx === 0 || shndx >= shnum) continue;
      if ((info & 0xf) === STT_FUNC && flags(shndx) & SHF_EXECINSTR && size(shndx) > 0) {
        programs.push({ name, section: shndx, offset: dv.getUint32(at + 8, true), size: dv.getUint32(at + 16, true) });
      } else if (name !== '') symbolValue.set(name, dv.getUint32(at + 8, true));
    }

    // .BTF into native memory, its DATASECs filled in there.
    const btfOff = off(btf);
    const btfLen = size(btf);
    const raw = withSpec ? bytes.slice(btfOff, btfOff + btfLen) : bytes.subarray(btfOff, btfOff + btfLen);
    const typeOffsets = withSpec ? [] : undefined;
    btfMem.u8.set(raw);
    const hdrLen = btfView.getUint32(4, true);
    const typeStart = hdrLen + btfView.getUint32(8, true);
    const typeEnd = typeStart + btfView.getUint32(12, true);
    const strStart = hdrLen + btfView.getUint32(16, true);
    const varNames = [0];
    for (let at = typeStart; at < typeEnd;) {
      const info = btfView.getUint32(at + 4, true);
      const kind = (info >>> 24) & 0x1f;
      const vlen = info & 0xffff;
      varNames.push(kind === BTF_KIND_VAR ? btfView.getUint32(at, true) : 0);
      typeOffsets?.push(at);
      if (kind === BTF_KIND_DATASEC) {
        const name = nameAt(btfMem.u8, strStart + btfView.getUint32(at, true));
        const section = secName.indexOf(name);
        if (section > 0) btfView.setUint32(at + 8, size(section), true);
        for (let v = 0; v < vlen; v++) {
          const entry = at + 12 + v * 12;
          const varName = nameAt(btfMem.u8, strStart + varNames[btfView.getUint32(entry, true)]);
          const value = symbolValue.get(varName);
          if (value !== undefined) btfView.setUint32(entry + 4, value, true);
        }
      }
      at += 12 + btfTail(kind, vlen);
    }
    const a = btfAttrView;
    btfAttr.u8.fill(0);
    put64(a, L.btfLoadAttr.btf, btfMem.address);
    a.setUint32(L.btfLoadAttr.btf_size.offset, btfLen, true);
    const btfFd = Number(syscall(SYS_BPF, L.bpfCmd.BTF_LOAD, btfAttr.address, L.attrSize.BTF_LOAD));
    if (btfFd < 0) throw new Error(`lean: BTF_LOAD errno ${koffi.errno()}`);

    // The license, NUL-terminated.
    const licOff = off(license);
    let licLen = 0;
    while (bytes[licOff + licLen] !== 0 && licLen < size(license)) licLen++;
    licMem.u8.set(bytes.subarray(licOff, licOff + licLen));
    licMem.u8[licLen] = 0;

    const programSpecs = withSpec ? Object.setPrototypeOf({}, null) : undefined;
    if (withSpec) {
      lastSpec = {
        sections,
        symbols,
        btf: { raw, typeOffsets: Uint32Array.from(typeOffsets) },
        programs: programSpecs,
        maps: Object.setPrototypeOf({}, null),
        dataSections: { license: { size: size(license), symbols: { LICENSE: symbolValue.get('LICENSE') } } },
      };
    }
    const extOff = off(ext);
    const extHdr = dv.getUint32(extOff + 4, true);
    for (let p = 0; p < programs.length; p++) {
      const prog = programs[p];
      const section = secName[prog.section];
      const insnStart = off(prog.section) + prog.offset;
      const spec = withSpec
        ? {
            name: prog.name,
            sectionName: section,
            type: 6,
            attachType: 37,
            instructions: bytes.slice(insnStart, insnStart + prog.size),
            license: 'GPL',
            relocations: [],
            funcInfo: [],
            lineInfo: [],
          }
        : undefined;
      if (spec) programSpecs[prog.name] = spec;
      // .BTF.ext: this section's func_info and line_info, offsets in instructions from the program's start.
      const records = (tableOff, tableLen, mem, recWords) => {
        const base = extOff + extHdr + tableOff;
        const recSize = dv.getUint32(base, true);
        let n = 0;
        for (let at = base + 4; at < base + tableLen;) {
          const count = dv.getUint32(at + 4, true);
          const mine = nameAt(bytes, off(btf) + strStart + dv.getUint32(at, true)) === section;
          at += 8;
          for (let r = 0; r < count; r++, at += recSize) {
            const insnOff = dv.getUint32(at, true);
            if (!mine || insnOff < prog.offset || insnOff >= prog.offset + prog.size) continue;
            if (spec && recWords === 4) {
              spec.lineInfo.push({
                insnOff: (insnOff - prog.offset) / 8,
                fileNameOff: dv.getUint32(at + 4, true),
                lineOff: dv.getUint32(at + 8, true),
                lineCol: dv.getUint32(at + 12, true),
                fileName: nameAt(bytes, off(btf) + strStart + dv.getUint32(at + 4, true)),
                lineText: nameAt(bytes, off(btf) + strStart + dv.getUint32(at + 8, true)),
              });
            } else if (spec) spec.funcInfo.push({ insnOff: (insnOff - prog.offset) / 8, typeId: dv.getUint32(at + 4, true) });
            const out = n * recWords * 4;
            const w = new DataView(mem.u8.buffer, mem.u8.byteOffset + out, recWords * 4);
            w.setUint32(0, (insnOff - prog.offset) / 8, true);
            for (let k = 1; k < recWords; k++) w.setUint32(k * 4, dv.getUint32(at + k * 4, true), true);
            n++;
          }
        }
        return n;
      };
      const funcs = records(dv.getUint32(extOff + 8, true), dv.getUint32(extOff + 12, true), funcMem, 2);
      const lines = records(dv.getUint32(extOff + 16, true), dv.getUint32(extOff + 20, true), lineMem, 4);
      insnMem.u8.set(spec ? spec.instructions : bytes.subarray(insnStart, insnStart + prog.size));

      const v = progView;
      progAttr.u8.fill(0);
      v.setUint32(P.prog_type.offset, 6, true); // XDP: the section name says so for this shape
      v.setUint32(P.insn_cnt.offset, prog.size / 8, true);
      put64(v, P.insns, insnMem.address);
      put64(v, P.license, licMem.address);
      for (let i = 0; i < prog.name.length && i < P.prog_name.size - 1; i++) progAttr.u8[P.prog_name.offset + i] = prog.name.charCodeAt(i);
      v.setUint32(P.expected_attach_type.offset, 37, true); // BPF_XDP, as libbpf sets for SEC("xdp")
      v.setUint32(P.prog_btf_fd.offset, btfFd, true);
      v.setUint32(P.func_info_rec_size.offset, 8, true);
      put64(v, P.func_info, funcMem.address);
      v.setUint32(P.func_info_cnt.offset, funcs, true);
      v.setUint32(P.line_info_rec_size.offset, 16, true);
      put64(v, P.line_info, lineMem.address);
      v.setUint32(P.line_info_cnt.offset, lines, true);
      const fd = Number(syscall(SYS_BPF, L.bpfCmd.PROG_LOAD, progAttr.address, L.attrSize.PROG_LOAD));
      if (fd < 0) throw new Error(`lean: PROG_LOAD of ${prog.name} (section ${section}) errno ${koffi.errno()}`);
      progFds.push(fd);
    }
    for (let i = 0; i < progFds.length; i++) close(progFds[i]);
    progFds.length = 0;
    close(btfFd);
    return lastSpec;
  };
}

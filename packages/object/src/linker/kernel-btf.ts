import { ObjectParseError } from '../errors.js';
import type { CollectionSpec } from '../spec.js';
import type { Btf } from '../btf/btf.js';
import { BtfFuncLinkage, BtfKind, BtfVarLinkage } from '../btf/types.js';
import { kconfigLayout } from './kconfig.js';
import { putWord, word } from '../btf/layout.js';

/**
 * The object's BTF as the kernel accepts it (what libbpf does between open
 * and load, on a copy): clang leaves every DATASEC's size and variable
 * offsets at 0 in a relocatable object, so they are filled in from the ELF
 * section sizes and symbol values; extern FUNCs (kfunc declarations) get
 * global linkage, which the kernel requires. The extern sections have no
 * ELF section behind them: `.kconfig` gets the layout of the `.kconfig` map
 * (`kconfigLayout`), and `.ksyms` becomes a run of 4-byte ints, its FUNC
 * entries replaced by one added `dummy_ksym` variable (the kernel only
 * allows VARs in a DATASEC), as libbpf does.
 */
export function btfForKernel(spec: CollectionSpec): { bytes: Uint8Array; unresolvedDatasecs: string[] } {
  const btf = spec.btf;
  if (!btf) throw new ObjectParseError('BTF_NOT_FOUND', 'the object has no .BTF');
  return plainBtfForKernel(spec, btf) ?? fullBtfForKernel(spec, btf);
}

/**
 * The common case, read off the raw records without decoding a type: extern
 * FUNCs made global and each DATASEC filled from its ELF section. Undefined
 * (and the full walk below does the work, or throws its error) for an object
 * with `.ksyms`, `.kconfig` or hidden subprograms, or anything it would
 * refuse: a DATASEC entry naming no type or a variable without a symbol. The
 * bytes are the same as the full walk's.
 */
function plainBtfForKernel(spec: CollectionSpec, btf: Btf): { bytes: Uint8Array; unresolvedDatasecs: string[] } | undefined {
  for (const name in spec.subprograms) if (spec.subprograms[name]!.hidden) return undefined;
  // Read and patched on the copy's bytes (no DataView), every offset inside a record btf's index checked.
  const bytes = new Uint8Array(btf.raw);
  const little = btf.byteOrder === 'little';
  const unresolvedDatasecs: string[] = [];
  const first = btf.firstTypeId;
  const count = btf.length;
  for (let id = first; id < count; id++) {
    const at = btf.recordOffset(id);
    const info = word(bytes, at + 4, little);
    const kind = (info >>> 24) & 0x1f;
    if (kind === BtfKind.func) {
      if ((info & 0xffff) === BtfFuncLinkage.extern) putWord(bytes, at + 4, ((info & ~0xffff) | BtfFuncLinkage.global) >>> 0, little);
      continue;
    }
    if (kind !== BtfKind.datasec) continue;
    const name = btf.string(word(bytes, at, little));
    if (name === '.ksyms' || name === '.kconfig') return undefined;
    const facts = spec.dataSections[name];
    if (!facts) {
      unresolvedDatasecs.push(name);
      continue;
    }
    putWord(bytes, at + 8, facts.size, little);
    // Each entry as (type, offset, size) in one array of numbers, then written back in offset order.
    const vlen = info & 0xffff;
    const entries: number[] = [];
    for (let i = 0; i < vlen; i++) {
      const entry = at + 12 + i * 12;
      const type = word(bytes, entry, little);
      if (type < first || type >= count) return undefined;
      const offset = facts.symbols[btf.string(word(bytes, btf.recordOffset(type), little))];
      if (offset === undefined) return undefined;
      entries.push(type, offset, word(bytes, entry + 8, little));
    }
    writeSortedWords(bytes, at, entries, little);
  }
  return { bytes, unresolvedDatasecs };
}

/**
 * writeSorted for (type, offset, size) triples in one array: sorted by offset
 * in place (an insertion sort, stable as Array.prototype.sort), then written.
 */
function writeSortedWords(b: Uint8Array, at: number, e: number[], little: boolean): void {
  const n = e.length / 3;
  for (let i = 1; i < n; i++) {
    const type = e[i * 3]!;
    const offset = e[i * 3 + 1]!;
    const size = e[i * 3 + 2]!;
    let j = i - 1;
    for (; j >= 0 && e[j * 3 + 1]! > offset; j--) {
      e[j * 3 + 3] = e[j * 3]!;
      e[j * 3 + 4] = e[j * 3 + 1]!;
      e[j * 3 + 5] = e[j * 3 + 2]!;
    }
    e[j * 3 + 3] = type;
    e[j * 3 + 4] = offset;
    e[j * 3 + 5] = size;
  }
  for (let i = 0; i < n; i++) {
    putWord(b, at + 12 + i * 12, e[i * 3]!, little);
    putWord(b, at + 16 + i * 12, e[i * 3 + 1]!, little);
    putWord(b, at + 20 + i * 12, e[i * 3 + 2]!, little);
  }
}

/** Every fix-up, on decoded types. */
function fullBtfForKernel(spec: CollectionSpec, btf: Btf): { bytes: Uint8Array; unresolvedDatasecs: string[] } {
  const ksyms = btf.findByName('.ksyms', 'datasec');
  const needsDummy = ksyms?.kind === 'datasec' && ksyms.vars.some((v) => btf.kindOf(v.type) === 'func');
  const { bytes, dummyVarId, dummyNameOff } = needsDummy ? withDummyVar(btf) : { bytes: new Uint8Array(btf.raw), dummyVarId: 0, dummyNameOff: 0 };
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const little = btf.byteOrder === 'little';
  const unresolvedDatasecs: string[] = [];
  /** Subprograms whose first global FUNC of their name becomes static. */
  let hidden: Set<string> | undefined; // made only if there is one (most objects have none)
  for (const name in spec.subprograms) if (spec.subprograms[name]!.hidden) (hidden ??= new Set()).add(spec.subprograms[name]!.name);
  /** Extern VARs become global, allocated ones: the kernel refuses extern linkage. */
  const setVarLinkage = (varAt: number) => view.setUint32(varAt + 12, BtfVarLinkage.global, little);
  for (let id = btf.firstTypeId; id < btf.length; id++) {
    const kind = btf.kindOf(id);
    if (kind === 'var' || kind === 'func_proto') continue; // patched through their DATASEC
    if (kind !== 'func' && kind !== 'datasec') continue; // the only kinds patched: skip decoding the rest
    const t = btf.type(id);
    const at = btf.recordOffset(t.id);
    if (t.kind === 'func' && t.linkage === BtfFuncLinkage.extern) {
      const info = view.getUint32(at + 4, little);
      view.setUint32(at + 4, (info & ~0xffff) | BtfFuncLinkage.global, little);
    }
    if (t.kind === 'func' && t.linkage === BtfFuncLinkage.global && hidden?.delete(t.name)) {
      // A hidden global subprogram: static, so the verifier checks it in its callers' context (libbpf's rule).
      const info = view.getUint32(at + 4, little);
      view.setUint32(at + 4, (info & ~0xffff) | BtfFuncLinkage.static, little);
    }
    if (t.kind !== 'datasec') continue;
    if (t.name === '.kconfig') {
      const layout = kconfigLayout(spec);
      view.setUint32(at + 8, layout.size, little);
      // The kernel wants DATASEC entries in offset order: write them back sorted.
      const entries = t.vars.map((v) => {
        const variable = btf.type(v.type);
        const slot = layout.slots.find((s) => s.name === variable.name);
        if (!slot) throw new ObjectParseError('BTF_INVALID', `.kconfig: ${variable.name} is not an extern`);
        setVarLinkage(btf.recordOffset(v.type));
        return { type: v.type, offset: slot.offset, size: v.size };
      });
      writeSorted(view, at, entries, little);
      continue;
    }
    if (t.name === '.ksyms') {
      const int = findInt32(btf);
      view.setUint32(at + 8, t.vars.length * 4, little);
      t.vars.forEach((v, i) => {
        const entry = at + 12 + i * 12;
        const member = btf.type(v.type);
        if (member.kind === 'func') {
          // The FUNC stays (calls name it); the DATASEC slot points at the dummy VAR.
          view.setUint32(entry, dummyVarId, little);
          const proto = btf.type(member.type);
          if (proto.kind === 'func_proto') {
            const protoAt = btf.recordOffset(proto.id);
            proto.params.forEach((p, j) => {
              // The kernel wants named parameters in a global function's prototype.
              if (p.type !== 0 && p.name === '') view.setUint32(protoAt + 12 + j * 8, dummyNameOff, little);
            });
          }
        } else if (member.kind === 'var') {
          const varAt = btf.recordOffset(member.id);
          view.setUint32(varAt + 8, int, little);
          setVarLinkage(varAt);
        }
        view.setUint32(entry + 4, i * 4, little);
        view.setUint32(entry + 8, 4, little);
      });
      continue;
    }
    const facts = spec.dataSections[t.name];
    if (!facts) {
      unresolvedDatasecs.push(t.name);
      continue;
    }
    view.setUint32(at + 8, facts.size, little);
    const entries = t.vars.map((v) => {
      const variable = btf.type(v.type);
      const offset = facts.symbols[variable.name];
      if (offset === undefined) {
        throw new ObjectParseError('BTF_INVALID', `DATASEC ${t.name}: variable ${variable.name} has no ELF symbol`);
      }
      return { type: v.type, offset, size: v.size };
    });
    writeSorted(view, at, entries, little);
  }
  return { bytes, unresolvedDatasecs };
}

/**
 * Writes a DATASEC's entries back in offset order: the kernel refuses them
 * out of order, and symbol order is not offset order (in objects from
 * `bpftool gen object`, for one).
 */
function writeSorted(view: DataView, at: number, entries: { type: number; offset: number; size: number }[], little: boolean): void {
  entries.sort((x, y) => x.offset - y.offset);
  entries.forEach((e, i) => {
    view.setUint32(at + 12 + i * 12, e.type, little);
    view.setUint32(at + 12 + i * 12 + 4, e.offset, little);
    view.setUint32(at + 12 + i * 12 + 8, e.size, little);
  });
}

/** The first 32-bit INT, which the .ksyms entries are typed as. */
function findInt32(btf: NonNullable<CollectionSpec['btf']>): number {
  for (let id = btf.firstTypeId; id < btf.length; id++) {
    if (btf.kindOf(id) !== 'int') continue;
    const t = btf.type(id);
    if (t.kind === 'int' && t.bits === 32) return id;
  }
  throw new ObjectParseError('BTF_INVALID', '.ksyms needs a 32-bit int type in BTF');
}

const DUMMY = 'dummy_ksym';

/**
 * A copy of the blob with one more type, `VAR dummy_ksym: int` (global), and
 * its name appended to the strings. Types come before strings in clang's
 * layout, so the string section moves down by the new record's 16 bytes.
 */
function withDummyVar(btf: NonNullable<CollectionSpec['btf']>): { bytes: Uint8Array; dummyVarId: number; dummyNameOff: number } {
  const h = btf.header;
  if (h.typeOff + h.typeLen > h.strOff) throw new ObjectParseError('BTF_INVALID', 'cannot extend a BTF whose strings precede its types');
  const little = btf.byteOrder === 'little';
  const raw = btf.raw;
  const name = new TextEncoder().encode(DUMMY + '\0');
  const record = 16;
  const out = new Uint8Array(raw.length + record + name.length);
  const typesEnd = h.hdrLen + h.typeOff + h.typeLen;
  out.set(raw.subarray(0, typesEnd), 0);
  out.set(raw.subarray(typesEnd), typesEnd + record);
  const view = new DataView(out.buffer);
  const dummyNameOff = h.strLen;
  out.set(name, typesEnd + record + (h.strOff - h.typeOff - h.typeLen) + h.strLen);
  view.setUint32(typesEnd, dummyNameOff, little);
  view.setUint32(typesEnd + 4, BtfKind.var << 24, little);
  view.setUint32(typesEnd + 8, findInt32(btf), little);
  view.setUint32(typesEnd + 12, BtfVarLinkage.global, little);
  view.setUint32(12, h.typeLen + record, little); // type_len
  view.setUint32(16, h.strOff + record, little); // str_off
  view.setUint32(20, h.strLen + name.length, little); // str_len
  return { bytes: out, dummyVarId: btf.length, dummyNameOff };
}

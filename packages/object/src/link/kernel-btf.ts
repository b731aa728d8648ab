import { ObjectParseError } from '../errors.js';
import type { CollectionSpec } from '../spec.js';
import { BtfFuncLinkage } from '../btf/types.js';

/**
 * The object's BTF as the kernel accepts it (what libbpf does between open
 * and load, on a copy): clang leaves every DATASEC's size and variable
 * offsets at 0 in a relocatable object, so they are filled in from the ELF
 * section sizes and symbol values; extern FUNCs (kfunc declarations) get
 * global linkage, which the kernel requires. DATASECs with no ELF section
 * behind them (`.kconfig`, `.ksyms`) need the extern layout, which is the
 * loader's business; they are reported rather than guessed.
 */
export function btfForKernel(spec: CollectionSpec): { bytes: Uint8Array; unresolvedDatasecs: string[] } {
  const btf = spec.btf;
  if (!btf) throw new ObjectParseError('BTF_NOT_FOUND', 'the object has no .BTF');
  const bytes = new Uint8Array(btf.raw); // a copy, whatever kind of view raw is
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const little = btf.byteOrder === 'little';
  const unresolvedDatasecs: string[] = [];
  for (let id = btf.firstTypeId; id < btf.length; id++) {
    const kind = btf.kindOf(id);
    if (kind !== 'func' && kind !== 'datasec') continue; // the only kinds patched: skip decoding the rest
    const t = btf.type(id);
    const at = btf.recordOffset(t.id);
    if (t.kind === 'func' && t.linkage === BtfFuncLinkage.extern) {
      const info = view.getUint32(at + 4, little);
      view.setUint32(at + 4, (info & ~0xffff) | BtfFuncLinkage.global, little);
    }
    if (t.kind !== 'datasec') continue;
    const facts = spec.dataSections[t.name];
    if (!facts) {
      unresolvedDatasecs.push(t.name);
      continue;
    }
    view.setUint32(at + 8, facts.size, little);
    t.vars.forEach((v, i) => {
      const variable = btf.type(v.type);
      const offset = facts.symbols[variable.name];
      if (offset === undefined) {
        throw new ObjectParseError('BTF_INVALID', `DATASEC ${t.name}: variable ${variable.name} has no ELF symbol`);
      }
      view.setUint32(at + 12 + i * 12 + 4, offset, little);
    });
  }
  return { bytes, unresolvedDatasecs };
}

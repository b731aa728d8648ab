/**
 * The last patching step before a linked program goes to the kernel: every
 * map, map_value and extern reference pointed at what this kernel has for it
 * (map fds, the .kconfig map, kernel BTF ids, kallsyms addresses). Pure: the
 * kernel's facts are arguments; the result is a fresh copy, the spec and the
 * linked program are not touched.
 */
import { BPF_PSEUDO_MAP_FD, BPF_PSEUDO_MAP_VALUE } from '../asm/opcodes.js';
import type { Btf } from '../btf/btf.js';
import { LinkError } from '../errors.js';
import type { CollectionSpec } from '../spec.js';
import { relocateExtern } from './externs.js';
import { InsnWriter } from './insn-writer.js';
import type { KconfigLayout } from './kconfig.js';
import type { LinkedProgram } from './link-program.js';

/** What /proc/kallsyms says of a name: its address, or that several symbols share it. */
export type KsymAddress = bigint | 'ambiguous';

/** What the kernel (and the loader, which asked it) knows, for `relocateProgram`. */
export interface KernelFacts {
  /** The fd of every map the loader created, by name. */
  readonly mapFds: ReadonlyMap<string, number>;
  /** The `.kconfig` map's fd and layout (`kconfigLayout`), when the object has kconfig externs. */
  readonly kconfig?: { readonly fd: number; readonly layout: KconfigLayout } | undefined;
  /** The kernel's BTF; called only when a kfunc or a typed ksym is relocated, so it may be loaded lazily. */
  readonly kernelBtf: () => Btf;
  /**
   * /proc/kallsyms addresses of the object's typeless ksyms (`typelessKsyms`
   * names them); called only when one is relocated. A name not listed is absent.
   */
  readonly kallsyms: () => ReadonlyMap<string, KsymAddress>;
}

/**
 * The linked program's instructions with each map and extern reference
 * pointed at the live objects: BPF_PSEUDO_MAP_FD / BPF_PSEUDO_MAP_VALUE with
 * the map's fd, and each extern as `relocateExtern` resolves it.
 */
export function relocateProgram(spec: CollectionSpec, linked: LinkedProgram, facts: KernelFacts): Uint8Array {
  const insns = new InsnWriter(linked.instructions.slice(), spec.byteOrder);
  for (const r of linked.relocations) {
    if (r.kind === 'map' || r.kind === 'map_value') {
      const fd = facts.mapFds.get(r.map);
      if (fd === undefined) throw new LinkError('SPEC_INVALID', `instruction ${r.insn} refers to map ${r.map}, which was not created`);
      insns.setSrc(r.insn, r.kind === 'map' ? BPF_PSEUDO_MAP_FD : BPF_PSEUDO_MAP_VALUE);
      insns.setImm(r.insn, fd);
      insns.setImm(r.insn + 1, r.kind === 'map' ? 0 : r.offset);
    } else {
      relocateExtern(spec, insns, r.insn, r.extern, facts);
    }
  }
  return insns.bytes;
}

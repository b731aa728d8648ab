/**
 * Extern resolution, as libbpf does it: an instruction naming a `.kconfig` or
 * `.ksyms` extern pointed at the .kconfig map's slot, a kfunc's BTF id (or,
 * for an absent weak kfunc, a poisoned call the verifier refuses only if it
 * is reached), a kernel variable's BTF id, or a typeless ksym's address from
 * /proc/kallsyms. Pure: the kernel's facts are arguments.
 */
import { BPF_PSEUDO_BTF_ID, BPF_PSEUDO_KFUNC_CALL, BPF_PSEUDO_MAP_VALUE, OP_CALL, OP_LD_IMM64 } from '../asm/opcodes.js';
import type { Btf } from '../btf/btf.js';
import { LinkError } from '../errors.js';
import type { CollectionSpec, ExternSpec } from '../spec.js';
import type { InsnWriter } from './insn-writer.js';
import type { KernelFacts } from './relocate.js';

/** libbpf's POISON_CALL_KFUNC_BASE: an absent weak kfunc becomes a call to helper BASE + its extern index. */
export const POISON_CALL_KFUNC_BASE = 2002000000;

/** Points the instruction at `slot`, which names extern `name`, at the kernel: .kconfig map value, kernel variable, or kfunc. */
export function relocateExtern(
  spec: CollectionSpec,
  insns: InsnWriter,
  slot: number,
  name: string,
  facts: Pick<KernelFacts, 'kconfig' | 'kernelBtf' | 'kallsyms'>,
): void {
  const e = spec.externs[name];
  if (!e) throw new LinkError('SPEC_INVALID', `reference to unknown extern ${name}`);
  if (e.kind === 'unresolved') {
    throw new LinkError(
      'UNRESOLVED_REFERENCE',
      `${e.isFunction ? 'function' : 'symbol'} ${name} is declared but not defined in the object, and is neither __kconfig nor __ksym (link the objects that define it first, e.g. bpftool gen object)`,
    );
  }
  if (e.kind === 'kconfig') {
    const slotOf = facts.kconfig?.layout.slots.find((s) => s.name === name);
    if (!facts.kconfig || !slotOf) throw new LinkError('SPEC_INVALID', `extern ${name}: no .kconfig slot`);
    insns.setSrc(slot, BPF_PSEUDO_MAP_VALUE);
    insns.setImm(slot, facts.kconfig.fd);
    insns.setImm(slot + 1, slotOf.offset);
    return;
  }
  if (e.isFunction) {
    relocateKfunc(spec, insns, slot, e, facts.kernelBtf());
    return;
  }
  if (isTypelessKsym(spec, e)) {
    // `extern const void NAME __ksym;`: the symbol's address, from /proc/kallsyms (libbpf's way).
    const address = facts.kallsyms().get(name);
    if (address === 'ambiguous') throw new LinkError('KSYM_AMBIGUOUS', `ksym ${name}: /proc/kallsyms lists several symbols of that name`);
    if (address === undefined && !e.weak) throw new LinkError('KSYM_NOT_FOUND', `ksym ${name} is not in /proc/kallsyms`);
    if (address === 0n)
      throw new LinkError('KSYM_HIDDEN', `ksym ${name}: /proc/kallsyms hides addresses (kptr_restrict); reading them needs root or CAP_SYSLOG`);
    insns.setSrc(slot, 0);
    insns.setImm64(slot, address ?? 0n); // an absent weak ksym reads as NULL
    return;
  }
  const variable = facts.kernelBtf().findByName(name, 'var');
  if (!variable && !e.weak) {
    throw new LinkError(
      'KSYM_NOT_FOUND',
      `ksym ${name} is not a variable in the kernel's BTF (for a symbol's address alone, declare it \`extern const void ${name} __ksym;\`)`,
    );
  }
  // A variable by its BTF id; an absent weak one reads as NULL.
  insns.setSrc(slot, variable ? BPF_PSEUDO_BTF_ID : 0);
  insns.setImm(slot, variable?.id ?? 0);
  insns.setImm(slot + 1, 0);
}

function relocateKfunc(spec: CollectionSpec, insns: InsnWriter, slot: number, e: ExternSpec, kernel: Btf): void {
  const name = e.name;
  const func = kernel.findByName(name, 'func');
  if (!func && !e.weak) throw new LinkError('KFUNC_NOT_FOUND', `kfunc ${name} is not in the kernel's BTF`);
  const op = insns.opcode(slot);
  if (op === OP_LD_IMM64) {
    // bpf_ksym_exists(kfunc): the kfunc's BTF id, or 0 for an absent weak one (the guarded code is then dead).
    insns.setSrc(slot, func ? BPF_PSEUDO_BTF_ID : 0);
    insns.setImm(slot, func?.id ?? 0);
    insns.setImm(slot + 1, 0);
    return;
  }
  if (op !== OP_CALL) throw new LinkError('SPEC_INVALID', `kfunc ${name} is referenced by something other than a call or bpf_ksym_exists()`);
  if (!func) {
    // An absent weak kfunc: a call to an invalid helper, which the verifier only
    // rejects if it can be reached (libbpf's poisoning, same number).
    insns.setSrc(slot, 0);
    insns.setImm(slot, POISON_CALL_KFUNC_BASE + Object.keys(spec.externs).indexOf(name));
  } else {
    insns.setSrc(slot, BPF_PSEUDO_KFUNC_CALL);
    insns.setImm(slot, func.id);
  }
  insns.setOffset(slot, 0); // the BTF the id is in: 0, vmlinux
}

/** A ksym declared `extern const void NAME __ksym;`: no type to find in the kernel's BTF, only an address. */
export function isTypelessKsym(spec: CollectionSpec, e: ExternSpec): boolean {
  if (!spec.btf || e.btfTypeId === 0) return false;
  const v = spec.btf.type(e.btfTypeId);
  return v.kind === 'var' && spec.btf.resolve(v.type).kind === 'void';
}

/** The names of an object's typeless ksyms: what to look up in /proc/kallsyms. */
export function typelessKsyms(spec: CollectionSpec): Set<string> {
  return new Set(
    Object.values(spec.externs)
      .filter((e) => e.kind === 'ksym' && !e.isFunction && isTypelessKsym(spec, e))
      .map((e) => e.name),
  );
}

/**
 * What a reached poison in a verifier log stands for: the invalid call left
 * by a failed CO-RE relocation (libbpf's 0xbad2310) or by an absent weak
 * kfunc (2002000000 + extern index), explained as libbpf rewrites such logs.
 * Pure: the log is text, the CO-RE results are `calculateCoreRelos`'s.
 */
import { OP_CALL } from '../asm/opcodes.js';
import type { CollectionSpec } from '../spec.js';
import { CORE_POISON_HELPER } from './core-apply.js';
import type { CoreResult } from './core-calculate.js';
import { POISON_CALL_KFUNC_BASE } from './externs.js';

/** The verifier's line for a reached CO-RE poison: `12: (85) call unknown#195896080`. */
const CORE_POISON_LINE = new RegExp(`^(\\d+): \\(${OP_CALL.toString(16)}\\) call unknown#${CORE_POISON_HELPER}$`, 'gm');

/**
 * The invalid call a reached poison leaves in the log, explained: a CO-RE
 * poison by the relocation that failed at that instruction, an absent weak
 * kfunc's by its name; undefined when the log shows no poison.
 */
export function explainPoison(log: string, core: readonly CoreResult[], spec: CollectionSpec): string | undefined {
  const invalid = /invalid func unknown#(\d+)/.exec(log);
  if (!invalid) return undefined;
  const id = Number(invalid[1]);
  if (id === CORE_POISON_HELPER) {
    const at = [...log.matchAll(CORE_POISON_LINE)].at(-1);
    const insn = at ? Number(at[1]) : undefined;
    const r = core.find((x) => x.insn === insn && x.poison !== undefined);
    return r?.poison !== undefined
      ? `CO-RE relocation (${r.kind}) at instruction ${insn} failed: ${r.poison}; the poisoned instruction was reached`
      : 'an instruction poisoned for a failed CO-RE relocation was reached';
  }
  const externs = Object.keys(spec.externs);
  if (id >= POISON_CALL_KFUNC_BASE && id < POISON_CALL_KFUNC_BASE + externs.length) {
    const name = externs[id - POISON_CALL_KFUNC_BASE]!;
    return `kfunc ${name} is not in this kernel and its call can be reached (guard it with bpf_ksym_exists(${name}))`;
  }
  return undefined;
}

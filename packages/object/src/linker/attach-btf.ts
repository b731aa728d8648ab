/**
 * The kernel BTF id a tp_btf, fentry, fexit, fmod_ret or lsm program attaches
 * to (BPF_PROG_LOAD's attach_btf_id), found by name in the kernel's BTF as
 * libbpf names it. Pure: the kernel's BTF is an argument.
 */
import type { Btf } from '../btf/btf.js';
import { LinkError } from '../errors.js';
import type { ProgramSpec } from '../spec.js';
import { AttachType, ProgramType } from '../uapi.js';

/** Whether the program is loaded against a kernel BTF id (tracing and lsm programs). */
export function needsAttachBtfId(p: ProgramSpec): boolean {
  return p.type === ProgramType.tracing || p.type === ProgramType.lsm;
}

/**
 * The id of what the program attaches to: the `btf_trace_<tp>` typedef for
 * tp_btf, the `bpf_lsm_<hook>` function for lsm, the `bpf_iter_<target>`
 * function for an iterator (`iter/task` → `bpf_iter_task`), the function
 * itself otherwise (libbpf's prefixes).
 */
export function attachBtfId(p: ProgramSpec, kernel: Btf): number {
  const [name, kind]: [string, 'typedef' | 'func'] = p.sectionName.startsWith('tp_btf/')
    ? [`btf_trace_${p.attachTo}`, 'typedef']
    : p.type === ProgramType.lsm
      ? [`bpf_lsm_${p.attachTo}`, 'func']
      : p.attachType === AttachType.trace_iter
        ? [`bpf_iter_${p.attachTo}`, 'func']
        : [p.attachTo, 'func'];
  const t = kernel.findByName(name, kind);
  if (!t) throw new LinkError('ATTACH_TARGET_NOT_FOUND', `the kernel's BTF has no ${name} to attach to`);
  return t.id;
}

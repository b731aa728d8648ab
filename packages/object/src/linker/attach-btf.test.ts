import { describe, expect, it } from 'vitest';
import { Btf } from '../btf/btf.js';
import { LinkError } from '../errors.js';
import type { ProgramSpec } from '../spec.js';
import { BtfBuilder } from '../testing/btf-builder.js';
import { AttachType, ProgramType } from '../uapi.js';
import { attachBtfId, needsAttachBtfId } from './attach-btf.js';

function kernel() {
  const b = new BtfBuilder();
  const int = b.int('int', 4, { signed: true });
  const proto = b.funcProto(int, []);
  const ids = {
    fn: b.func('do_unlinkat', proto),
    lsmFn: b.func('bpf_lsm_file_open', proto),
    iterFn: b.func('bpf_iter_task', proto),
    // An iterator's target by its bare name must not be taken for bpf_iter_<name>.
    bareTask: b.func('task', proto),
    traceTypedef: b.ref('typedef', b.ref('ptr', proto), 'btf_trace_sched_switch'),
    // Same names under other kinds: the lookup must pick the right kind.
    decoy: b.variable('sched_switch', int),
  };
  return { btf: Btf.parse(b.build()), ids };
}

const program = (sectionName: string, type: number, attachTo: string, attachType?: number) =>
  ({ name: 'p', sectionName, type, attachTo, attachType }) as ProgramSpec;

describe('attachBtfId', () => {
  it('finds the function (fentry/fexit), the bpf_lsm_ hook (lsm) and the btf_trace_ typedef (tp_btf)', () => {
    const k = kernel();
    expect(attachBtfId(program('fentry/do_unlinkat', ProgramType.tracing, 'do_unlinkat'), k.btf)).toBe(k.ids.fn);
    expect(attachBtfId(program('lsm/file_open', ProgramType.lsm, 'file_open'), k.btf)).toBe(k.ids.lsmFn);
    expect(attachBtfId(program('tp_btf/sched_switch', ProgramType.tracing, 'sched_switch'), k.btf)).toBe(k.ids.traceTypedef);
  });

  it("finds an iterator's bpf_iter_<target> function (iter/task), as libbpf does", () => {
    const k = kernel();
    expect(attachBtfId(program('iter/task', ProgramType.tracing, 'task', AttachType.trace_iter), k.btf)).toBe(k.ids.iterFn);
  });

  it('names what is missing in a LinkError', () => {
    let caught: unknown;
    try {
      attachBtfId(program('fentry/nope', ProgramType.tracing, 'nope'), kernel().btf);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(LinkError);
    expect(caught).toMatchObject({ code: 'ATTACH_TARGET_NOT_FOUND', message: "the kernel's BTF has no nope to attach to" });
  });

  it('is needed by tracing and lsm programs only', () => {
    expect(needsAttachBtfId(program('fentry/x', ProgramType.tracing, 'x'))).toBe(true);
    expect(needsAttachBtfId(program('lsm/x', ProgramType.lsm, 'x'))).toBe(true);
    expect(needsAttachBtfId(program('xdp', ProgramType.xdp, ''))).toBe(false);
  });
});

// attachNetkit and queryNetkit above a fake bpf(): the exact BPF_LINK_CREATE
// and BPF_PROG_QUERY attrs (offsets from the generated layouts), and how a
// kernel's EINVAL is read (no netkit: NOT_SUPPORTED; netkit: the errno kept).
// A file of its own: the fake's probe answers stay out of the kernel tests.
import { beforeEach, describe, expect, it } from 'vitest';
import { AttachType, ProgramType } from '@tsbpf/object';
import { NotSupportedError } from './errors.js';
import { Link, attach } from './link.js';
import { attachNetkit, queryNetkit } from './netkit.js';
import { SyscallError } from './sys/errors.js';
import { getField } from './sys/fields.js';
import { linkCreateAttr as C, progQueryAttr as Q } from './sys/layouts.generated.js';
import { FakeKernel, fakeProgram } from './testing/fake-kernel.js';

const BPF_F_BEFORE = 1 << 3;
const BPF_F_AFTER = 1 << 4;
const BPF_F_LINK = 1 << 13;
const [ENODEV, EINVAL] = [19, 22];

describe('netkit attrs, above a fake bpf()', () => {
  const kernel = new FakeKernel();
  beforeEach(() => kernel.reset().install());

  const program = (name: string) => fakeProgram(kernel, ProgramType.sched_cls, name, 2);
  /** The LINK_CREATE fields netkit uses, as the call gave them; answers with `result` (a new fd when undefined). */
  const captureLinkCreate = (result?: number) =>
    kernel.record(
      'LINK_CREATE',
      ({ view }) => {
        const f = (name: keyof typeof C) => getField(view, C[name]);
        return {
          progFd: f('prog_fd'),
          target: f('target_fd'),
          attachType: f('attach_type'),
          flags: f('flags'),
          relative: f('netkit.relative_fd'),
          revision: f('netkit.expected_revision'),
        };
      },
      result,
    );

  it('primary by default, last; peer, after a program, at an expected revision', () => {
    using p = program('nk_a');
    using q = program('nk_b');
    const seen = captureLinkCreate();
    using l1 = attachNetkit(p, 7);
    using l2 = attachNetkit(q, 7, { attachType: 'peer', after: p, expectedRevision: 5 });
    expect(seen).toEqual([
      { progFd: p.fd, target: 7, attachType: AttachType.netkit_primary, flags: 0, relative: 0, revision: 0 },
      { progFd: q.fd, target: 7, attachType: AttachType.netkit_peer, flags: BPF_F_AFTER, relative: p.fd, revision: 5 },
    ]);
    expect(l1).toBeInstanceOf(Link);
    expect(l2.fd).not.toBe(l1.fd);
  });

  it('before a link: the link flag and the link fd; first: BPF_F_BEFORE alone', () => {
    using p = program('nk_c');
    const seen = captureLinkCreate();
    using anchor = attachNetkit(p, 3);
    using _l = attachNetkit(p, 3, { before: anchor });
    using _f = attachNetkit(p, 3, { first: true });
    expect(seen.slice(1).map(({ flags, relative }) => ({ flags, relative }))).toEqual([
      { flags: BPF_F_BEFORE | BPF_F_LINK, relative: anchor.fd },
      { flags: BPF_F_BEFORE, relative: 0 },
    ]);
  });

  it('attach() by section: SEC("netkit/primary") and SEC("netkit/peer") with an ifindex', () => {
    using p = program('nk_sec');
    const seen = captureLinkCreate();
    using _a = attach(p, { sectionName: 'netkit/primary', type: ProgramType.sched_cls, attachType: AttachType.netkit_primary, attachTo: '' }, { ifindex: 4 });
    using _b = attach(p, { sectionName: 'netkit/peer', type: ProgramType.sched_cls, attachType: AttachType.netkit_peer, attachTo: '' }, { ifindex: 4 });
    expect(seen.map(({ target, attachType }) => ({ target, attachType }))).toEqual([
      { target: 4, attachType: AttachType.netkit_primary },
      { target: 4, attachType: AttachType.netkit_peer },
    ]);
    expect(() => attach(p, { sectionName: 'netkit/peer', type: ProgramType.sched_cls, attachType: AttachType.netkit_peer, attachTo: '' })).toThrow(
      expect.objectContaining({ code: 'ATTACH_TARGET' }),
    );
  });

  it('bad arguments are INVALID_ARGUMENT before any bpf() call', () => {
    using p = program('nk_d');
    const before = kernel.calls.length;
    expect(() => attachNetkit(p, -1)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => attachNetkit(p, 1, { attachType: 'ingress' as never })).toThrow(/attachType must be primary or peer, not "ingress"/);
    expect(() => attachNetkit(p, 1, { first: true, last: true })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => attachNetkit(p, 1, { expectedRevision: 2 ** 32 })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => queryNetkit(1, 'both' as never)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(kernel.calls.length).toBe(before);
  });

  it('EINVAL from a kernel without netkit (its probe: EINVAL too) is NOT_SUPPORTED naming CONFIG_NETKIT', () => {
    using p = program('nk_e');
    kernel.answer = (cmd) => (cmd === 'LINK_CREATE' ? -EINVAL : cmd === 'PROG_LOAD' ? kernel.fd() : undefined);
    let error: unknown;
    try {
      attachNetkit(p, 9);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(NotSupportedError);
    expect(error).toMatchObject({
      code: 'NOT_SUPPORTED',
      message: expect.stringMatching(/^program nk_e: attach netkit\/primary to ifindex 9: this kernel has no netkit \(.*CONFIG_NETKIT/),
    });
    expect((error as Error).cause).toBeInstanceOf(SyscallError);
    // The probe ran: a program loaded with the netkit attach type, then BPF_LINK_CREATE on ifindex 0.
    expect(kernel.commands().slice(-3)).toEqual(['LINK_CREATE', 'PROG_LOAD', 'LINK_CREATE']);
  });

  it('EINVAL from a kernel with netkit (its probe finds no device: ENODEV) stays a SyscallError with a hint', () => {
    using p = program('nk_f');
    // ifindex 9 is refused with EINVAL; the probe's ifindex 0 with ENODEV (no such device).
    kernel.answer = (cmd, attr) =>
      cmd === 'LINK_CREATE' ? (getField(attr.view, C.target_fd) === 0 ? -ENODEV : -EINVAL) : cmd === 'PROG_LOAD' ? kernel.fd() : undefined;
    expect(() => attachNetkit(p, 9, { attachType: 'peer' })).toThrow(expect.objectContaining({ code: 'SYSCALL_FAILED', errnoName: 'EINVAL' }));
    expect(() => attachNetkit(p, 9, { attachType: 'peer' })).toThrow(
      /^program nk_f: attach netkit\/peer to ifindex 9: BPF_LINK_CREATE: EINVAL \(.*must be a netkit primary device/,
    );
  });

  it('query: the attr, and the lists read back', () => {
    const asked: number[][] = [];
    kernel.answer = (cmd, attr) => {
      if (cmd !== 'PROG_QUERY') return undefined;
      asked.push([getField(attr.view, Q.target_fd), getField(attr.view, Q.attach_type)]);
      attr.view.setUint32(Q.prog_cnt.offset, 0, true);
      attr.view.setBigUint64(Q.revision.offset, 4n, true);
      return 0;
    };
    expect(queryNetkit(12, 'peer')).toEqual({ programs: [], revision: 4 });
    expect(queryNetkit(12)).toEqual({ programs: [], revision: 4 });
    expect(asked).toEqual([
      [12, AttachType.netkit_peer],
      [12, AttachType.netkit_primary],
    ]);
  });
});

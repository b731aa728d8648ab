// Ordered cgroup programs on a cgroup v2 directory the test makes (and
// removes): four connect4 programs placed first, last, after a link and
// before a program (links and BPF_PROG_ATTACH mixed), each folding its digit
// into a shared counter, so one connect() by a process moved into the cgroup
// (in a namespace the test made) shows the order the kernel ran them; the
// query is compared with bpftool's and a stale revision is refused.
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AttachType, MapType, ProgramType, asm, encodeInstructions } from '@tsbpf/object';
import { attachCgroupOrdered, queryCgroup } from './cgroup-mprog.js';
import type { Link } from './link.js';
import { linkInfoByFd } from './link-info.js';
import { BpfMap } from './map.js';
import { Program } from './program.js';
import { SyscallError } from './sys/errors.js';
import { describeNeeds, hasCommand, isRoot } from '../../../test/support/env.js';
import { cgroup2Root, itByKernel } from '../../../test/support/kernel-features.js';
import { vethPair } from '../../../test/support/netns.js';

const BPF_FUNC_map_lookup_elem = 1;

/** A connect4 program doing `counter = counter * 10 + digit` and allowing the connect. */
function folder(map: BpfMap, digit: number): Program {
  return Program.load({
    type: ProgramType.cgroup_sock_addr,
    expectedAttachType: AttachType.cgroup_inet4_connect,
    name: `fold${digit}`,
    license: 'GPL',
    instructions: encodeInstructions(
      [
        asm.stMem(4, 10, -4, 0),
        asm.mov64Reg(2, 10),
        asm.alu64Imm('add', 2, -4),
        asm.ldMapFd(1, map.fd),
        asm.call(BPF_FUNC_map_lookup_elem),
        asm.jmpImm('jeq', 0, 0, 4),
        asm.ldxMem(8, 1, 0, 0),
        asm.alu64Imm('mul', 1, 10),
        asm.alu64Imm('add', 1, digit),
        asm.stxMem(8, 0, 1, 0),
        asm.mov64Imm(0, 1),
        asm.exit(),
      ],
      'little',
    ),
  });
}

const cgroup2 = cgroup2Root();

/** `fn` on a fresh cgroup v2 directory, removed afterwards (also on failure). */
function withCgroupDir(fn: (dir: string) => void): void {
  const dir = join(cgroup2.path, `tsbpf-mprog-${process.pid}`);
  mkdirSync(dir);
  try {
    fn(dir);
  } finally {
    rmdirSync(dir);
  }
}
describeNeeds([isRoot(), cgroup2, hasCommand('bpftool'), hasCommand('ip')], 'ordered cgroup programs on a cgroup of our own', () => {
  itByKernel('cgroup mprog', 'runs the programs in the order asked, lists them as bpftool does, and refuses a stale revision', {
    unsupported: () =>
      withCgroupDir((dir) => {
        using map = BpfMap.create({ type: MapType.array, keySize: 4, valueSize: 8, maxEntries: 1, name: 'order' });
        using p1 = folder(map, 1);
        expect(() => attachCgroupOrdered(p1, dir, AttachType.cgroup_inet4_connect, { first: true })).toThrow(/EINVAL.*Linux 6\.16/);
      }),
    supported: () =>
      withCgroupDir((dir) => {
        using pair = vethPair('cgmp');
        using map = BpfMap.create({ type: MapType.array, keySize: 4, valueSize: 8, maxEntries: 1, name: 'order' });
        using p1 = folder(map, 1);
        using p2 = folder(map, 2);
        using p3 = folder(map, 3);
        using p4 = folder(map, 4);
        using p5 = folder(map, 5);
        const hook = AttachType.cgroup_inet4_connect;
        const start = queryCgroup(dir, hook);
        expect(start.programs).toEqual([]);
        using l1 = attachCgroupOrdered(p1, dir, hook);
        using _l2 = attachCgroupOrdered(p2, dir, hook, { first: true });
        using legacy4 = attachCgroupOrdered(p4, dir, hook, { last: true }, { legacy: true });
        using l3 = attachCgroupOrdered(p3, dir, hook, { after: l1 as Link });
        const list = queryCgroup(dir, hook);
        expect(list.programs.map((p) => p.progId)).toEqual([p2.id(), p1.id(), p3.id(), p4.id()]);
        expect(list.programs.map((p) => p.linkId !== 0)).toEqual([true, true, true, false]);
        expect(list.programs[2]!.linkId).toBe(linkInfoByFd((l3 as Link).fd).id);
        expect(list.revision).toBe(start.revision + 4);
        const bpftool = JSON.parse(execFileSync('bpftool', ['-j', 'cgroup', 'show', dir], { encoding: 'utf8' })) as { id: number; attach_type: string }[];
        expect(bpftool.filter((x) => x.attach_type === 'cgroup_inet4_connect').map((x) => x.id)).toEqual(list.programs.map((p) => p.progId));

        // One connect() from a process moved into the cgroup: each program folds its digit in, in run order.
        const connect = () => {
          map.update(new Uint8Array(4), new Uint8Array(8));
          // Moved in before `ip netns exec` (which mounts its own /sys); children inherit the cgroup.
          const child = "const s = require('dgram').createSocket('udp4'); s.connect(9, '127.0.0.1', () => s.close());";
          const script = 'echo $$ > "$1/cgroup.procs" && exec ip netns exec "$2" "$3" -e "$4"';
          execFileSync('sh', ['-c', script, 'sh', dir, pair.a.ns, process.execPath, child], { timeout: 30_000 });
          return new DataView(map.lookup(new Uint8Array(4))!.buffer).getBigUint64(0, true);
        };
        expect(connect()).toBe(2134n);

        // A change at a revision that is no longer the list's is refused and changes nothing.
        let error: unknown;
        try {
          attachCgroupOrdered(p5, dir, hook, { first: true, expectedRevision: start.revision }).close();
        } catch (e) {
          error = e;
        }
        expect(error).toBeInstanceOf(SyscallError);
        expect((error as SyscallError).errnoName).toBe('ESTALE');
        // The kernel's anchors for BPF_PROG_ATTACH: a program held by a link is not found, a link is not accepted.
        const errnoOf = (fn: () => unknown) => {
          try {
            (fn() as { close(): void }).close();
          } catch (e) {
            return (e as SyscallError).errnoName;
          }
          return 'attached';
        };
        expect(errnoOf(() => attachCgroupOrdered(p5, dir, hook, { before: p1 }, { legacy: true }))).toBe('ENOENT');
        expect(errnoOf(() => attachCgroupOrdered(p5, dir, hook, { before: l1 as Link }, { legacy: true }))).toBe('EINVAL');
        expect(queryCgroup(dir, hook)).toEqual(list);
        {
          // BPF_PROG_ATTACH before a program attached the same way, at the current revision.
          using _legacy5 = attachCgroupOrdered(p5, dir, hook, { before: p4, expectedRevision: list.revision }, { legacy: true });
          expect(connect()).toBe(21354n);
        }
        legacy4.close();
        l3.close();
        expect(queryCgroup(dir, hook).programs.map((p) => p.progId)).toEqual([p2.id(), p1.id()]);
        expect(connect()).toBe(21n);
      }),
  });
});

describe('attachCgroupOrdered and queryCgroup refusals', () => {
  it('refuses a path that is not a cgroup directory and an order naming two places, with typed errors', () => {
    expect(() => queryCgroup('', AttachType.cgroup_inet4_connect)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => queryCgroup('/nonexistent/tsbpf-cgroup', AttachType.cgroup_inet4_connect)).toThrow(expect.objectContaining({ code: 'ATTACH_TARGET' }));
    expect(() => queryCgroup('/tmp', -1)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    const program = { name: 'p', fd: 99 } as unknown as Program;
    expect(() => attachCgroupOrdered(program, '/tmp', AttachType.cgroup_inet4_connect, { first: true, last: true })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
  });
});

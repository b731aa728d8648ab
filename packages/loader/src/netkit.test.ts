// netkit on the running kernel: where it has netkit, a pair made with
// `ip link add type netkit` between two namespaces of the test's own carries
// pings until a program attached to its primary or peer list drops them
// (listed by queryNetkit, swapped by Link.update, gone after close); where it
// has none, attachNetkit and queryNetkit say so with NOT_SUPPORTED.
import { execFileSync } from 'node:child_process';
import { describe, expect } from 'vitest';
import { AttachType, ProgramType, asm, encodeInstructions } from '@tsbpf/object';
import { NotSupportedError } from './errors.js';
import { attachNetkit, queryNetkit } from './netkit.js';
import { withNetns } from './netns.js';
import { Program } from './program.js';
import { describeNeeds, hasCommand, isRoot } from '../../../test/support/env.js';
import { itByKernel } from '../../../test/support/kernel-features.js';
import { vethPair } from '../../../test/support/netns.js';

const NETKIT_PASS = 0;
const NETKIT_DROP = 2;

const verdict = (name: string, v: number) =>
  Program.load({
    type: ProgramType.sched_cls,
    expectedAttachType: AttachType.netkit_primary,
    name,
    license: 'GPL',
    instructions: encodeInstructions([asm.mov64Imm(0, v), asm.exit()], 'little'),
  });

const ip = (...args: string[]) => execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

/** Two namespaces joined by a netkit pair (l3 mode): the primary nk0 in `a`, the peer nk1 in `b`; removed on dispose. */
function netkitPair(): Disposable & { a: string; b: string; addrB: string; primary: number; ping(): boolean } {
  const id = `${process.pid % 10000}`;
  const [a, b] = [`tsbpf-nk-a-${id}`, `tsbpf-nk-b-${id}`];
  const net = `10.${200 + (process.pid % 50)}.251`;
  const cleanup = () => {
    for (const ns of [a, b]) {
      try {
        ip('netns', 'del', ns);
      } catch {
        // already gone
      }
    }
  };
  try {
    ip('netns', 'add', a);
    ip('netns', 'add', b);
    ip('-n', a, 'link', 'add', 'nk0', 'type', 'netkit', 'mode', 'l3', 'peer', 'name', 'nk1', 'netns', b);
    ip('-n', a, 'addr', 'add', `${net}.1/24`, 'dev', 'nk0');
    ip('-n', b, 'addr', 'add', `${net}.2/24`, 'dev', 'nk1');
    ip('-n', a, 'link', 'set', 'nk0', 'up');
    ip('-n', b, 'link', 'set', 'nk1', 'up');
  } catch (e) {
    cleanup();
    throw e;
  }
  const primary = (JSON.parse(ip('-n', a, '-j', 'link', 'show', 'dev', 'nk0')) as { ifindex: number }[])[0]!.ifindex;
  return {
    a,
    b,
    addrB: `${net}.2`,
    primary,
    ping() {
      try {
        execFileSync('ip', ['netns', 'exec', a, 'ping', '-c', '1', '-W', '1', `${net}.2`], { stdio: 'ignore', timeout: 10_000 });
        return true;
      } catch {
        return false;
      }
    },
    [Symbol.dispose]: cleanup,
  };
}

describeNeeds([isRoot(), hasCommand('ip'), hasCommand('ping')], 'netkit links, with real packets where the kernel has netkit', () => {
  itByKernel('netkit', 'a drop program on the primary or the peer list stops pings until closed; the list shows it; update swaps it', {
    supported(ctx) {
      let pair: ReturnType<typeof netkitPair> | undefined;
      try {
        pair = netkitPair();
      } catch (e) {
        const why = `the kernel has netkit but \`ip link add type netkit\` failed (iproute2 before 6.7?): ${(e as Error).message.split('\n')[0]}`;
        // Under CI a kernel that claims netkit must have this test run: no silent skip.
        if (process.env.CI === 'true') throw new Error(why, { cause: e });
        return ctx.skip(why);
      }
      using p = pair;
      using drop = verdict('nk_drop', NETKIT_DROP);
      using pass = verdict('nk_pass', NETKIT_PASS);
      expect(p.ping()).toBe(true);
      const ns = `/var/run/netns/${p.a}`;
      const link = withNetns(ns, () => attachNetkit(drop, p.primary));
      try {
        expect(p.ping()).toBe(false);
        const list = withNetns(ns, () => queryNetkit(p.primary));
        expect(list.programs).toEqual([{ progId: drop.id(), linkId: expect.any(Number) }]);
        expect(list.programs[0]!.linkId).toBeGreaterThan(0);
        link.update(pass);
        expect(p.ping()).toBe(true);
        link.update(drop, { expected: pass });
        expect(p.ping()).toBe(false);
      } finally {
        link.close();
      }
      expect(p.ping()).toBe(true);
      expect(withNetns(ns, () => queryNetkit(p.primary)).programs).toEqual([]);
      // The peer's list, named by the primary's ifindex.
      using peer = withNetns(ns, () => attachNetkit(drop, p.primary, { attachType: 'peer' }));
      expect(withNetns(ns, () => queryNetkit(p.primary, 'peer')).programs.map((x) => x.progId)).toEqual([drop.id()]);
      expect(withNetns(ns, () => queryNetkit(p.primary, 'primary')).programs).toEqual([]);
      expect(p.ping()).toBe(false);
      peer.close();
      expect(p.ping()).toBe(true);
    },
    unsupported(answer) {
      expect(answer.why).toMatch(/EINVAL/);
      using pair = vethPair('nkno');
      const ifindex = pair.ifindex('b');
      using drop = verdict('nk_none', NETKIT_DROP);
      for (const attachType of ['primary', 'peer'] as const) {
        let error: unknown;
        try {
          withNetns(pair.b.path, () => attachNetkit(drop, ifindex, { attachType }).close());
        } catch (e) {
          error = e;
        }
        expect(error).toBeInstanceOf(NotSupportedError);
        expect((error as Error).message).toMatch(
          new RegExp(`^program nk_none: attach netkit/${attachType} to ifindex ${ifindex}: this kernel has no netkit .*CONFIG_NETKIT`),
        );
        expect(() => withNetns(pair.b.path, () => queryNetkit(ifindex, attachType))).toThrow(expect.objectContaining({ code: 'NOT_SUPPORTED' }));
      }
      // Traffic is untouched: nothing was attached.
      expect(pair.exec('a', ['ping', '-c', '1', '-W', '1', pair.b.addr])).toBe(0);
    },
  });
});

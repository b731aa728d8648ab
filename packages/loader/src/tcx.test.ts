// tcx ordering and revisions, and BPF_LINK_UPDATE on tcx and XDP links, with
// real packets between two namespaces: a program swapped under a ping flood
// sees every packet exactly once, old program or new, never neither or both.
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { AttachType, MapType, ProgramType, asm, encodeInstructions, type InstructionInput } from '@tsbpf/object';
import { attachXdp } from './link.js';
import { BpfMap } from './map.js';
import { withNetns } from './netns.js';
import { Program } from './program.js';
import { attachTcx, queryTcx } from './tcx.js';
import { SyscallError } from './sys/errors.js';
import { describeNeeds, hasCommand, isRoot } from '../../../test/support/env.js';
import { itWhenKernel } from '../../../test/support/kernel-features.js';
import { vethPair } from '../../../test/support/netns.js';

const TC_ACT_OK = 0;
const TC_ACT_SHOT = 2;
const XDP_DROP = 1;
const XDP_PASS = 2;

const load = (name: string, type: number, attachType: number, instructions: InstructionInput[]) =>
  Program.load({ type, expectedAttachType: attachType, name, license: 'GPL', instructions: encodeInstructions(instructions, 'little') });
const tcVerdict = (name: string, verdict: number) => load(name, ProgramType.sched_cls, AttachType.tcx_ingress, [asm.mov64Imm(0, verdict), asm.exit()]);
const xdpVerdict = (name: string, verdict: number) => load(name, ProgramType.xdp, AttachType.xdp, [asm.mov64Imm(0, verdict), asm.exit()]);

/** A tc program that counts ICMP echo requests (IPv4, 20-byte header) in `counter`'s only u64, and passes everything. */
function echoCounter(name: string, counter: BpfMap): Program {
  return load(name, ProgramType.sched_cls, AttachType.tcx_ingress, [
    asm.ldxMem(4, 2, 1, 76), // r2 = skb->data
    asm.ldxMem(4, 3, 1, 80), // r3 = skb->data_end
    asm.mov64Reg(4, 2),
    asm.alu64Imm('add', 4, 35),
    asm.jmpReg('jgt', 4, 3, 10), // fewer than 35 bytes: out
    asm.ldxMem(2, 5, 2, 12),
    asm.jmpImm('jne', 5, 0x0008, 8), // ethertype 0x0800, read little-endian
    asm.ldxMem(1, 5, 2, 23),
    asm.jmpImm('jne', 5, 1, 6), // IPPROTO_ICMP
    asm.ldxMem(1, 5, 2, 34),
    asm.jmpImm('jne', 5, 8, 4), // ICMP_ECHO
    asm.ldMapValue(1, counter.fd, 0),
    asm.mov64Imm(2, 1),
    asm.atomicAdd(8, 1, 2, 0),
    asm.mov64Imm(0, TC_ACT_OK), // out:
    asm.exit(),
  ]);
}

const counterMap = () => BpfMap.create({ type: MapType.array, keySize: 4, valueSize: 8, maxEntries: 1 });
const count = (m: BpfMap) => new DataView(m.lookup(new Uint8Array(4))!.buffer).getBigUint64(0, true);

describeNeeds([isRoot(), hasCommand('ip'), hasCommand('ping')], 'tcx lists and link updates, with real packets', () => {
  itWhenKernel('tcx', 'programs go where before/after/first/last say; the query lists them in run order with their links', () => {
    using pair = vethPair('tcxo');
    const ifindex = pair.ifindex('b');
    using a = tcVerdict('order_a', TC_ACT_OK);
    using b = tcVerdict('order_b', TC_ACT_OK);
    using c = tcVerdict('order_c', TC_ACT_OK);
    using d = tcVerdict('order_d', TC_ACT_OK);
    withNetns(pair.b.path, () => {
      const empty = queryTcx(ifindex, 'ingress');
      expect(empty.programs).toEqual([]);
      using la = attachTcx(a, ifindex, 'ingress');
      using _lb = attachTcx(b, ifindex, 'ingress', { first: true });
      using _lc = attachTcx(c, ifindex, 'ingress', { after: a });
      using _ld = attachTcx(d, ifindex, 'ingress', { before: la });
      const list = queryTcx(ifindex, 'ingress');
      expect(list.programs.map((p) => p.progId)).toEqual([b.id(), d.id(), a.id(), c.id()]);
      expect(new Set(list.programs.map((p) => p.linkId)).size).toBe(4);
      expect(list.programs.every((p) => p.linkId > 0)).toBe(true);
      expect(list.revision).toBeGreaterThan(empty.revision);
      expect(queryTcx(ifindex, 'egress').programs).toEqual([]);
    });
  });

  itWhenKernel('tcx', 'an attach at a stale revision is refused (ESTALE) and changes nothing', () => {
    using pair = vethPair('tcxr');
    const ifindex = pair.ifindex('b');
    using a = tcVerdict('rev_a', TC_ACT_OK);
    using b = tcVerdict('rev_b', TC_ACT_OK);
    withNetns(pair.b.path, () => {
      const before = queryTcx(ifindex, 'ingress').revision;
      using _la = attachTcx(a, ifindex, 'ingress', { expectedRevision: before });
      const after = queryTcx(ifindex, 'ingress');
      expect(after.programs.map((p) => p.progId)).toEqual([a.id()]);
      let error: unknown;
      try {
        attachTcx(b, ifindex, 'ingress', { expectedRevision: before }).close();
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(SyscallError);
      expect((error as SyscallError).errnoName).toBe('ESTALE');
      expect(queryTcx(ifindex, 'ingress')).toEqual(after);
    });
  });

  it('more than one place at once is a typed error before any syscall', () => {
    using a = tcVerdict('twice_a', TC_ACT_OK);
    expect(() => attachTcx(a, 1, 'ingress', { first: true, after: a })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });

  itWhenKernel('tcx', "update swaps a tcx link's program: drop, then pass again; a wrong `expected` is refused (EPERM)", () => {
    using pair = vethPair('tcxu');
    const ping = () => pair.exec('a', ['ping', '-c', '1', '-W', '1', pair.b.addr]);
    const ifindex = pair.ifindex('b');
    using pass = tcVerdict('upd_pass', TC_ACT_OK);
    using drop = tcVerdict('upd_drop', TC_ACT_SHOT);
    using link = withNetns(pair.b.path, () => attachTcx(pass, ifindex, 'ingress'));
    expect(ping()).toBe(0);
    link.update(drop, { expected: pass });
    expect(ping()).not.toBe(0);
    expect(() => link.update(pass, { expected: pass })).toThrow(expect.objectContaining({ errnoName: 'EPERM' }));
    expect(ping()).not.toBe(0);
    link.update(pass);
    expect(ping()).toBe(0);
    withNetns(pair.b.path, () => expect(queryTcx(ifindex, 'ingress').programs.map((p) => p.progId)).toEqual([pass.id()]));
  });

  it("update swaps an XDP link's program", () => {
    using pair = vethPair('xdpu');
    const ping = () => pair.exec('a', ['ping', '-c', '1', '-W', '1', pair.b.addr]);
    const ifindex = pair.ifindex('b');
    using pass = xdpVerdict('xdp_pass', XDP_PASS);
    using drop = xdpVerdict('xdp_drop', XDP_DROP);
    using link = withNetns(pair.b.path, () => attachXdp(pass, ifindex, 'generic'));
    expect(ping()).toBe(0);
    link.update(drop, { expected: pass });
    expect(ping()).not.toBe(0);
    link.update(pass, { expected: drop });
    expect(ping()).toBe(0);
  });

  itWhenKernel(
    'tcx',
    'a program swapped back and forth under a ping flood: every echo request counted exactly once, none lost',
    async () => {
      using pair = vethPair('tcxs');
      const ifindex = pair.ifindex('b');
      using mapA = counterMap();
      using mapB = counterMap();
      using progA = echoCounter('count_a', mapA);
      using progB = echoCounter('count_b', mapB);
      expect(pair.exec('a', ['ping', '-c', '1', '-W', '1', pair.b.addr])).toBe(0); // neighbours resolved before counting
      using link = withNetns(pair.b.path, () => attachTcx(progA, ifindex, 'ingress'));
      const SENT = 20_000;
      const flood = spawn('ip', ['netns', 'exec', pair.a.ns, 'ping', '-q', '-f', '-c', String(SENT), '-W', '1', pair.b.addr], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      flood.stdout.on('data', (d: Buffer) => (output += d.toString()));
      const exited = new Promise<number | null>((resolve) => flood.on('exit', resolve));
      let running = true;
      void exited.then(() => (running = false));
      let swaps = 0;
      let current = progA;
      try {
        while (running) {
          const next = current === progA ? progB : progA;
          link.update(next, { expected: current });
          current = next;
          swaps++;
          await new Promise((r) => setTimeout(r, 1));
        }
      } finally {
        flood.kill();
      }
      expect(await exited).toBe(0);
      const summary = /(\d+) packets transmitted, (\d+) received/.exec(output);
      expect(summary?.slice(1).map(Number)).toEqual([SENT, SENT]);
      const a = count(mapA);
      const b = count(mapB);
      expect(a + b).toBe(BigInt(SENT));
      expect(a > 0n && b > 0n).toBe(true);
      expect(swaps).toBeGreaterThan(10);
      console.log(`tcx swap under a ping flood: ${SENT} sent, ${SENT} received, ${swaps} swaps, counted ${a} by A and ${b} by B`);
    },
    60_000,
  );
});

describe('queryTcx', () => {
  it('is exported with attachTcx from the package', async () => {
    const pkg = await import('./index.js');
    expect(typeof pkg.queryTcx).toBe('function');
    expect(typeof pkg.attachTcx).toBe('function');
  });
});

// flow_dissector with real packets: a program attached to one namespace of
// the test's own counts its runs while ping replies arrive there on a veth
// with RPS turned on (its rx queue's rps_cpus, a setting of that namespace's
// device: RPS hashes each packet, so the kernel dissects it, with our program
// as it is attached); after the link is closed the pings still flow and the
// count stays where it was.
import { execFileSync } from 'node:child_process';
import { expect, it } from 'vitest';
import { AttachType, MapType, ProgramType, asm, encodeInstructions } from '@tsbpf/object';
import { BpfMap } from './map.js';
import { attachNetns, queryNetns } from './netns-attach.js';
import { Program } from './program.js';
import { describeNeeds, hasCommand, hasFile, isRoot } from '../../../test/support/env.js';
import { vethPair } from '../../../test/support/netns.js';

const BPF_OK = 0;

describeNeeds([isRoot(), hasCommand('ip'), hasFile('/sys/class/net/lo/queues/rx-0/rps_cpus'), hasCommand('ping')], 'flow_dissector with real packets', () => {
  it('counts the packets RPS has it dissect in its namespace, and none after close', () => {
    using pair = vethPair('flowd');
    // ip netns exec mounts the namespace's own /sys: this is veth0 of namespace a.
    execFileSync('ip', ['netns', 'exec', pair.a.ns, 'sh', '-c', `echo 3 > /sys/class/net/${pair.a.dev}/queues/rx-0/rps_cpus`]);
    using counter = BpfMap.create({ type: MapType.array, keySize: 4, valueSize: 8, maxEntries: 1, name: 'dissected' });
    using prog = Program.load({
      type: ProgramType.flow_dissector,
      expectedAttachType: AttachType.flow_dissector,
      name: 'count_flows',
      license: 'GPL',
      instructions: encodeInstructions(
        [asm.ldMapValue(1, counter.fd, 0), asm.mov64Imm(2, 1), asm.atomicAdd(8, 1, 2, 0), asm.mov64Imm(0, BPF_OK), asm.exit()],
        'little',
      ),
    });
    const count = () => new DataView(counter.lookup(new Uint8Array(4))!.buffer).getBigUint64(0, true);
    const ping = () => pair.exec('a', ['ping', '-c', '5', '-i', '0.05', '-W', '1', pair.b.addr]);

    expect(ping()).toBe(0);
    expect(count()).toBe(0n); // nothing attached yet
    const link = attachNetns(prog, pair.a.path);
    try {
      expect(queryNetns(pair.a.path, 'flow_dissector').progIds).toEqual([prog.id()]);
      expect(queryNetns(pair.b.path, 'flow_dissector').progIds).toEqual([]);
      expect(ping()).toBe(0);
      expect(count()).toBeGreaterThanOrEqual(5n); // at least the five echo replies
    } finally {
      link.close();
    }
    const after = count();
    expect(ping()).toBe(0);
    expect(count()).toBe(after);
    expect(queryNetns(pair.a.path, 'flow_dissector').progIds).toEqual([]);
  });
});

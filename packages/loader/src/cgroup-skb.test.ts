// cgroup_skb with real traffic: an egress program on a cgroup v2 directory
// the test makes (and removes) drops the UDP datagrams a process moved into
// that cgroup sends to one port and counts what it drops and passes; the
// receiver, in another namespace of the test's own, gets only the others,
// and all of them once the link is closed. Both ways (link and
// BPF_PROG_ATTACH) are run.
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { AttachType, MapType, ProgramType, asm, encodeInstructions } from '@tsbpf/object';
import { attachCgroup } from './link.js';
import { BpfMap } from './map.js';
import { Program } from './program.js';
import { describeNeeds, hasCommand, isRoot } from '../../../test/support/env.js';
import { cgroup2Root } from '../../../test/support/kernel-features.js';
import { vethPair, type VethPair } from '../../../test/support/netns.js';

const SKB_LOAD_BYTES = 26;
const [DROPPED_PORT, PASSED_PORT] = [9999, 9998];

/** Egress: an IPv4 UDP datagram to DROPPED_PORT is dropped (counted at 8), anything else passes (counted at 0). */
function dropPort(counts: BpfMap): Program {
  const swapped = ((DROPPED_PORT & 0xff) << 8) | (DROPPED_PORT >> 8); // the port's network-order bytes read little-endian
  const loadBytes = (offset: number, len: number) => [
    asm.mov64Reg(1, 6),
    asm.mov64Imm(2, offset),
    asm.mov64Reg(3, 10),
    asm.alu64Imm('add', 3, -8),
    asm.mov64Imm(4, len),
    asm.call(SKB_LOAD_BYTES),
  ];
  return Program.load({
    type: ProgramType.cgroup_skb,
    expectedAttachType: AttachType.cgroup_inet_egress,
    name: 'drop_port',
    license: 'GPL',
    instructions: encodeInstructions(
      [
        asm.mov64Reg(6, 1),
        ...loadBytes(9, 1), // the IPv4 protocol (skb data starts at the IP header)
        asm.jmpImm('jne', 0, 0, 17), // -> pass
        asm.ldxMem(1, 7, 10, -8),
        asm.jmpImm('jne', 7, 17, 15), // not UDP -> pass
        ...loadBytes(22, 2), // the UDP destination port (a 20-byte IP header)
        asm.jmpImm('jne', 0, 0, 8), // -> pass
        asm.ldxMem(2, 7, 10, -8),
        asm.jmpImm('jne', 7, swapped, 6), // -> pass
        asm.ldMapValue(1, counts.fd, 8),
        asm.mov64Imm(2, 1),
        asm.atomicAdd(8, 1, 2, 0),
        asm.mov64Imm(0, 0), // drop
        asm.exit(),
        asm.ldMapValue(1, counts.fd, 0), // pass:
        asm.mov64Imm(2, 1),
        asm.atomicAdd(8, 1, 2, 0),
        asm.mov64Imm(0, 1),
        asm.exit(),
      ],
      'little',
    ),
  });
}

/** Counts datagrams per port in namespace b until `end` arrives on PASSED_PORT. */
const RECEIVER = `
const dgram = require('node:dgram');
const got = { ${DROPPED_PORT}: 0, ${PASSED_PORT}: 0 };
let ready = 0;
const done = () => { console.log(JSON.stringify(got)); process.exit(0); };
for (const port of [${DROPPED_PORT}, ${PASSED_PORT}]) {
  const s = dgram.createSocket('udp4');
  s.on('message', (m) => (String(m) === 'end' ? done() : got[port]++));
  s.bind(port, () => ++ready === 2 && console.log('ready'));
}
setTimeout(done, 15000);
`;

/** Sends 10 datagrams to DROPPED_PORT, 7 to PASSED_PORT, then `end` there (each after the previous left). */
const SENDER = (to: string) => `
const s = require('node:dgram').createSocket('udp4');
const send = (port, text) => new Promise((r) => s.send(text, port, '${to}', r));
(async () => {
  for (let i = 0; i < 10; i++) await send(${DROPPED_PORT}, 'x' + i);
  for (let i = 0; i < 7; i++) await send(${PASSED_PORT}, 'y' + i);
  await send(${PASSED_PORT}, 'end');
  s.close();
})();
`;

/** One round: the receiver in b, the sender moved into `cgroup` and run in a; what b received. */
async function round(pair: VethPair, cgroup: string): Promise<Record<string, number>> {
  const receiver = spawn('ip', ['netns', 'exec', pair.b.ns, process.execPath, '-e', RECEIVER], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  receiver.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  let gone = false;
  const exited = once(receiver, 'exit').then(() => (gone = true));
  try {
    while (!out.includes('ready')) {
      if (gone) throw new Error(`the receiver exited before it was ready: ${out}`);
      await Promise.race([once(receiver.stdout, 'data'), exited]);
    }
    // Moved in before `ip netns exec` (which mounts its own /sys); the child inherits the cgroup.
    const script = 'echo $$ > "$1/cgroup.procs" && exec ip netns exec "$2" "$3" -e "$4"';
    execFileSync('sh', ['-c', script, 'sh', cgroup, pair.a.ns, process.execPath, SENDER(pair.b.addr)], { timeout: 30_000 });
    await exited;
  } finally {
    receiver.kill();
  }
  return JSON.parse(out.split('\n').find((l) => l.startsWith('{')) ?? 'null') as Record<string, number>;
}

const cgroup2 = cgroup2Root();

describeNeeds([isRoot(), cgroup2, hasCommand('ip')], 'cgroup_skb egress with real UDP between two namespaces', () => {
  for (const legacy of [false, true]) {
    it(`drops a process's datagrams to one port, counts drops and passes, and stops on close (${legacy ? 'BPF_PROG_ATTACH' : 'link'})`, async () => {
      const dir = join(cgroup2.path, `tsbpf-cgskb-${process.pid}-${legacy ? 'l' : 'n'}`);
      mkdirSync(dir);
      try {
        using pair = vethPair('cgskb');
        using counts = BpfMap.create({ type: MapType.array, keySize: 4, valueSize: 16, maxEntries: 1, name: 'cgskb_counts' });
        using prog = dropPort(counts);
        const read = () => {
          const v = new DataView(counts.lookup(new Uint8Array(4))!.buffer);
          return { passed: v.getBigUint64(0, true), dropped: v.getBigUint64(8, true) };
        };
        const attachment = attachCgroup(prog, dir, AttachType.cgroup_inet_egress, { legacy });
        try {
          expect(await round(pair, dir)).toEqual({ [DROPPED_PORT]: 0, [PASSED_PORT]: 7 });
          expect(read()).toEqual({ passed: 8n, dropped: 10n });
        } finally {
          attachment.close();
        }
        expect(await round(pair, dir)).toEqual({ [DROPPED_PORT]: 10, [PASSED_PORT]: 7 });
        expect(read()).toEqual({ passed: 8n, dropped: 10n });
      } finally {
        rmdirSync(dir);
      }
    }, 60_000);
  }
});

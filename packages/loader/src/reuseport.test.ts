// Reuseport programs on a real SO_REUSEPORT group of four UDP sockets in a
// namespace the test made: a C helper (build/c/reuseport-group) binds them
// and hands them to a Node child as inherited fds 3..6 (an fd number is all
// tsbpf needs; inheritance is simpler than pidfd_getfd or SCM_RIGHTS and
// needs no ptrace rights); the child attaches and sends, and the helper
// reports which socket received each datagram.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { attachReuseport } from './reuseport.js';
import type { Program } from './program.js';
import { cHelperPath, describeNeeds, hasCHelper, hasCommand, hasFile, isRoot, repoRoot } from '../../../test/support/env.js';
import { vethPair } from '../../../test/support/netns.js';

const dist = (pkg: string) => pathToFileURL(join(repoRoot, 'packages', pkg, 'dist/index.js')).href;
const PORT = 47_123;
const GROUP = [3, 4, 5, 6];

/**
 * Runs in the namespace with the group's sockets as fds 3..6. Phase A: an
 * sk_reuseport program selecting index 2 of a reuseport_sockarray filled
 * with the fds; phase S: a socket_filter program returning group index 1;
 * phase D: detached, the kernel's hash. Each phase sends 16 datagrams from
 * 16 fresh source ports.
 */
const CHILD = `
import dgram from 'node:dgram';
import { BpfMap, Program, attachReuseport, detachReuseport } from '${dist('loader')}';
import { AttachType, MapType, ProgramType, asm, encodeInstructions } from '${dist('object')}';
const BPF_FUNC_sk_select_reuseport = 82;
const group = ${JSON.stringify(GROUP)};
const map = BpfMap.create({ type: MapType.reuseport_sockarray, keySize: 4, valueSize: 8, maxEntries: group.length, name: 'group' });
group.forEach((fd, i) => map.update(new Uint8Array(new Uint32Array([i]).buffer), new Uint8Array(new BigUint64Array([BigInt(fd)]).buffer)));
const select = Program.load({ type: ProgramType.sk_reuseport, expectedAttachType: AttachType.sk_reuseport_select, name: 'pick2', license: 'GPL',
  instructions: encodeInstructions([
    asm.stMem(4, 10, -4, 2), asm.ldMapFd(2, map.fd), asm.mov64Reg(3, 10), asm.alu64Imm('add', 3, -4), asm.mov64Imm(4, 0),
    asm.call(BPF_FUNC_sk_select_reuseport), asm.mov64Imm(0, 1), asm.exit(),
  ], 'little') });
const index1 = Program.load({ type: ProgramType.socket_filter, name: 'index1', license: 'GPL',
  instructions: encodeInstructions([asm.mov64Imm(0, 1), asm.exit()], 'little') });
const send = async (tag) => {
  for (let i = 0; i < 16; i++) {
    const s = dgram.createSocket('udp4');
    await new Promise((r) => s.send(tag + i, ${PORT}, '127.0.0.1', r));
    s.close();
  }
};
attachReuseport(select, 3);
select.close(); // the group holds the program
map.close();
await send('A');
attachReuseport(index1, 6); // any socket of the group: replaces the group's program
await send('S');
detachReuseport(4);
await send('D');
let again = 'none';
try { detachReuseport(5); } catch (e) { again = e.errnoName; }
const lone = dgram.createSocket('udp4');
await new Promise((r) => lone.bind(0, '127.0.0.1', r));
let alone = 'none';
try { attachReuseport(index1, lone); } catch (e) { alone = e.code + ' ' + e.errnoName; }
lone.close();
console.error(JSON.stringify({ again, alone }));
`;

describeNeeds(
  [isRoot(), hasCommand('ip'), hasCHelper('reuseport-group'), hasFile(join(repoRoot, 'packages/loader/dist/index.js'))],
  'reuseport programs on a real SO_REUSEPORT group, in a namespace',
  () => {
    it('steers every datagram to the socket the program picks, and the kernel hash spreads them again after detach', () => {
      using pair = vethPair('rport');
      const cmd = [cHelperPath('reuseport-group'), String(PORT), String(GROUP.length), process.execPath, '--input-type=module', '-e', CHILD];
      const r = spawnSync('ip', ['netns', 'exec', pair.a.ns, ...cmd], { encoding: 'utf8', timeout: 30_000 });
      expect(r.status, r.stderr).toBe(0);
      const stdout = r.stdout;
      // Detaching twice is ENOENT; a socket outside any group is refused by the kernel.
      expect(JSON.parse(r.stderr.trim().split('\n').at(-1)!)).toEqual({ again: 'ENOENT', alone: 'SYSCALL_FAILED EINVAL' });
      const byPhase: Record<string, Set<number>> = { A: new Set(), S: new Set(), D: new Set() };
      const count: Record<string, number> = { A: 0, S: 0, D: 0 };
      for (const line of stdout.trim().split('\n')) {
        const [index, payload] = line.split(' ');
        byPhase[payload![0]!]!.add(Number(index));
        count[payload![0]!]!++;
      }
      expect(count).toEqual({ A: 16, S: 16, D: 16 });
      expect([...byPhase.A!]).toEqual([2]);
      expect([...byPhase.S!]).toEqual([1]);
      // 16 source ports hashed over 4 sockets: all on one would be a 4^-15 chance.
      expect(byPhase.D!.size).toBeGreaterThan(1);
    });
  },
);

describe('attachReuseport', () => {
  it('refuses a program of another type before touching the socket', () => {
    const xdp = { type: 6, name: 'x', fd: 99 } as unknown as Program;
    expect(() => attachReuseport(xdp, 3)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });
});

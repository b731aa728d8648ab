// Socket filters on real UDP sockets of a Node process inside a namespace the
// test made (a child process, so its sockets live there), and socketFd's
// typed refusals.
import { execFileSync } from 'node:child_process';
import dgram from 'node:dgram';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { socketFd } from './socket-filter.js';
import { describeNeeds, hasCommand, hasFile, isRoot, repoRoot } from '../../../test/support/env.js';
import { vethPair } from '../../../test/support/netns.js';

const dist = (pkg: string) => pathToFileURL(join(repoRoot, 'packages', pkg, 'dist/index.js')).href;

/**
 * Runs in the namespace: a socket filter that drops datagrams whose first
 * byte is 'x' (bpf_skb_load_bytes at the UDP payload: a UDP socket's filter
 * sees the packet from its UDP header), on a dgram socket; four datagrams
 * sent with it attached, four after it is detached.
 */
const CHILD = `
import dgram from 'node:dgram';
import { once } from 'node:events';
import { Program, attachSocketFilter, detachSocketFilter } from '${dist('loader')}';
import { ProgramType, asm, encodeInstructions } from '${dist('object')}';
const BPF_FUNC_skb_load_bytes = 26;
const prog = Program.load({ type: ProgramType.socket_filter, name: 'drop_x', license: 'GPL', instructions: encodeInstructions([
  asm.mov64Imm(2, 8), asm.mov64Reg(3, 10), asm.alu64Imm('add', 3, -8), asm.mov64Imm(4, 1), asm.call(BPF_FUNC_skb_load_bytes),
  asm.jmpImm('jne', 0, 0, 4), asm.ldxMem(1, 1, 10, -8), asm.jmpImm('jne', 1, 0x78, 2),
  asm.mov64Imm(0, 0), asm.exit(),
  asm.mov64Imm(0, 0x7fffffff), asm.exit(),
], 'little') });
const rx = dgram.createSocket('udp4');
rx.bind(0, '127.0.0.1');
await once(rx, 'listening');
const got = [];
rx.on('message', (m) => got.push(m.toString()));
const tx = dgram.createSocket('udp4');
const round = async () => {
  for (const m of ['a1', 'x2', 'b3', 'x4', 'c5']) await new Promise((r) => tx.send(m, rx.address().port, '127.0.0.1', r));
  await new Promise((r) => setTimeout(r, 300));
  return got.splice(0);
};
attachSocketFilter(prog, rx);
prog.close(); // the socket holds the program
const filtered = await round();
detachSocketFilter(rx);
const unfiltered = await round();
let again = 'none';
try { detachSocketFilter(rx); } catch (e) { again = e.errnoName; }
console.log(JSON.stringify({ filtered, unfiltered, again }));
rx.close(); tx.close();
`;

describeNeeds(
  [isRoot(), hasCommand('ip'), hasFile(join(repoRoot, 'packages/loader/dist/index.js'))],
  'socket filters on a real UDP socket, in a namespace',
  () => {
    it('drops the datagrams the program refuses until it is detached; the socket keeps the program alive', () => {
      using pair = vethPair('sockf');
      const out = execFileSync('ip', ['netns', 'exec', pair.a.ns, process.execPath, '--input-type=module', '-e', CHILD], { encoding: 'utf8', timeout: 30_000 });
      expect(JSON.parse(out)).toEqual({ filtered: ['a1', 'b3', 'c5'], unfiltered: ['a1', 'x2', 'b3', 'x4', 'c5'], again: 'ENOENT' });
    });
  },
);

describe('socketFd', () => {
  it('finds the fd of a bound dgram socket, and refuses one that has none with a typed error', async () => {
    const s = dgram.createSocket('udp4');
    expect(() => socketFd(s)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    s.bind(0, '127.0.0.1');
    await new Promise((r) => s.once('listening', r));
    try {
      expect(socketFd(s)).toBeGreaterThan(2);
    } finally {
      s.close();
    }
  });

  it('refuses what is not an fd', () => {
    for (const bad of [-1, 0.5, NaN, {}, { _handle: { fd: -1 } }]) {
      expect(() => socketFd(bad)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    }
    expect(socketFd(7)).toBe(7);
  });
});

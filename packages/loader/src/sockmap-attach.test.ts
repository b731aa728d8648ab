// A sockmap echo shortcut between two real TCP connections inside a
// namespace the test made (a child process, so its sockets live there): an
// sk_skb stream verdict program sends whatever the server's socket receives
// straight back to the client, and the server's JavaScript never sees it.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { attachSockMap } from './sockmap-attach.js';
import { describeNeeds, hasCommand, hasFile, isRoot, repoRoot } from '../../../test/support/env.js';
import { vethPair } from '../../../test/support/netns.js';

const dist = (pkg: string) => pathToFileURL(join(repoRoot, 'packages', pkg, 'dist/index.js')).href;

const CHILD = `
import net from 'node:net';
import { once } from 'node:events';
import { BpfMap, Program, attachSockMap, socketFd } from '${dist('loader')}';
import { MapType, ProgramType, AttachType, asm, encodeInstructions } from '${dist('object')}';
const SK_REDIRECT_MAP = 52;
const sockmap = BpfMap.create({ type: MapType.sockmap, keySize: 4, valueSize: 8, maxEntries: 1, name: 'echo_map' });
// return bpf_sk_redirect_map(skb, &echo_map, 0, 0): out of the socket at slot 0, the one the bytes came in on.
const prog = Program.load({ type: ProgramType.sk_skb, expectedAttachType: AttachType.sk_skb_stream_verdict, name: 'echo', license: 'GPL',
  instructions: encodeInstructions([asm.ldMapFd(2, sockmap.fd), asm.mov64Imm(3, 0), asm.mov64Imm(4, 0), asm.call(SK_REDIRECT_MAP), asm.exit()], 'little') });
const attachment = attachSockMap(prog, sockmap, 'stream_verdict');
let serverSaw = 0;
const accepted = [];
const server = net.createServer((c) => { accepted.push(c); c.on('data', (d) => (serverSaw += d.length)); });
server.listen(0, '127.0.0.1');
await once(server, 'listening');
const client = net.connect(server.address().port, '127.0.0.1');
await once(client, 'connect');
while (accepted.length === 0) await new Promise((r) => setTimeout(r, 5));
const value = new Uint8Array(8); new DataView(value.buffer).setBigUint64(0, BigInt(socketFd(accepted[0])), true);
sockmap.update(new Uint8Array(4), value);
const SENT = 256 * 1024;
let echoed = 0;
const payload = Buffer.alloc(SENT, 7);
const done = new Promise((resolve) => client.on('data', (d) => { echoed += d.length; if (echoed >= SENT) resolve(); }));
client.write(payload);
await Promise.race([done, new Promise((r) => setTimeout(r, 10000))]);
attachment.close();
console.log(JSON.stringify({ sent: SENT, echoed, serverSaw }));
client.destroy(); accepted[0].destroy(); server.close(); prog.close(); sockmap.close();
`;

describeNeeds([isRoot(), hasCommand('ip'), hasFile(join(repoRoot, 'packages/loader/dist/index.js'))], 'sockmap programs on real TCP connections', () => {
  it('an sk_skb stream verdict echoes every byte back through the sockmap; the server reads none of them', () => {
    using pair = vethPair('skmap');
    const out = execFileSync('ip', ['netns', 'exec', pair.a.ns, process.execPath, '--input-type=module', '-e', CHILD], { encoding: 'utf8', timeout: 30_000 });
    expect(JSON.parse(out)).toEqual({ sent: 256 * 1024, echoed: 256 * 1024, serverSaw: 0 });
  });
});

describe('attachSockMap', () => {
  it('refuses a program of the wrong type or a map that holds no sockets, before any syscall', () => {
    const prog = { name: 'p', type: 6, fd: 99 } as unknown as Parameters<typeof attachSockMap>[0];
    const map = { name: 'm', type: 15, fd: 98 } as unknown as Parameters<typeof attachSockMap>[1];
    expect(() => attachSockMap(prog, map, 'stream_verdict')).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => attachSockMap(prog, map, 'nope' as never)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });
});

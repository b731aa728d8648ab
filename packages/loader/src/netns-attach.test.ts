// sk_lookup steering real TCP connections for a port range to one listening
// socket through a sockmap, and flow_dissector attach and query, inside a
// namespace the test made (a child process, so its sockets live there).
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { describeNeeds, hasCommand, hasFile, isRoot, repoRoot } from '../../../test/support/env.js';
import { vethPair } from '../../../test/support/netns.js';

const dist = (pkg: string) => pathToFileURL(join(repoRoot, 'packages', pkg, 'dist/index.js')).href;

/**
 * In the namespace: a server listening on 127.0.0.1:7000, put in a sockmap
 * from Node; an sk_lookup program that hands connections to local ports
 * 8000-8010 to the socket in the map (bpf_sk_assign); connections to 8005
 * (nobody listens there) reach the server, 8020 is refused, and after the
 * link is closed 8005 is refused again.
 */
const CHILD = `
import net from 'node:net';
import { once } from 'node:events';
import { BpfMap, Program, attachNetns, queryNetns, socketFd } from '${dist('loader')}';
import { MapType, ProgramType, AttachType, asm, encodeInstructions } from '${dist('object')}';
const [MAP_LOOKUP_ELEM, SK_RELEASE, SK_ASSIGN] = [1, 86, 124];
const LOCAL_PORT = 60; // offsetof(struct bpf_sk_lookup, local_port), host order
const sockmap = BpfMap.create({ type: MapType.sockmap, keySize: 4, valueSize: 8, maxEntries: 1 });
const prog = Program.load({ type: ProgramType.sk_lookup, expectedAttachType: AttachType.sk_lookup, name: 'steer', license: 'GPL',
  instructions: encodeInstructions([
    asm.mov64Reg(6, 1),
    asm.ldxMem(4, 2, 1, LOCAL_PORT),
    asm.jmpImm('jlt', 2, 8000, 15),
    asm.jmpImm('jgt', 2, 8010, 14),
    asm.stMem(4, 10, -4, 0),
    asm.ldMapFd(1, sockmap.fd),
    asm.mov64Reg(2, 10),
    asm.alu64Imm('add', 2, -4),
    asm.call(MAP_LOOKUP_ELEM),
    asm.jmpImm('jeq', 0, 0, 7),
    asm.mov64Reg(7, 0),
    asm.mov64Reg(1, 6), asm.mov64Reg(2, 7), asm.mov64Imm(3, 0), asm.call(SK_ASSIGN),
    asm.mov64Reg(1, 7), asm.call(SK_RELEASE),
    asm.mov64Imm(0, 1), // SK_PASS
    asm.exit(),
  ], 'little') });
const server = net.createServer((c) => c.end('served by 7000'));
server.listen(7000, '127.0.0.1');
await once(server, 'listening');
const value = new Uint8Array(8); new DataView(value.buffer).setBigUint64(0, BigInt(socketFd(server)), true);
sockmap.update(new Uint8Array(4), value);
const connect = (port) => new Promise((resolve) => {
  const c = net.connect(port, '127.0.0.1');
  let data = '';
  c.on('data', (d) => (data += d));
  c.on('end', () => resolve(data));
  c.on('error', (e) => resolve(e.code));
});
const before = await connect(8005);
const link = attachNetns(prog, '/proc/self/ns/net');
const listed = queryNetns('/proc/self/ns/net', 'sk_lookup').progIds.includes(prog.id());
const steered = await connect(8005);
const edge = [await connect(8000), await connect(8010)];
const outside = await connect(8020);
link.close();
const after = await connect(8005);
const listedAfter = queryNetns('/proc/self/ns/net', 'sk_lookup').progIds.includes(prog.id());
console.log(JSON.stringify({ before, listed, steered, edge, outside, after, listedAfter }));
server.close(); prog.close(); sockmap.close();
`;

/** In the namespace: a flow dissector that answers BPF_OK attaches, is listed, and is gone after close. */
const FLOW_CHILD = `
import { Program, attachNetns, queryNetns } from '${dist('loader')}';
import { ProgramType, AttachType, asm, encodeInstructions } from '${dist('object')}';
const prog = Program.load({ type: ProgramType.flow_dissector, expectedAttachType: AttachType.flow_dissector, name: 'flows', license: 'GPL',
  instructions: encodeInstructions([asm.mov64Imm(0, 0), asm.exit()], 'little') });
const link = attachNetns(prog, '/proc/self/ns/net');
const listed = queryNetns('/proc/self/ns/net', 'flow_dissector').progIds;
link.close();
console.log(JSON.stringify({ listed: listed.includes(prog.id()), after: queryNetns('/proc/self/ns/net', 'flow_dissector').progIds.length }));
`;

const inNamespace = (ns: string, script: string) =>
  JSON.parse(
    execFileSync('ip', ['netns', 'exec', ns, process.execPath, '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 }),
  ) as unknown;

describeNeeds([isRoot(), hasCommand('ip'), hasFile(join(repoRoot, 'packages/loader/dist/index.js'))], 'programs on a network namespace', () => {
  it('sk_lookup hands connections to a port range to one listening socket, from a sockmap filled by Node', () => {
    using pair = vethPair('sklk');
    expect(inNamespace(pair.a.ns, CHILD)).toEqual({
      before: 'ECONNREFUSED',
      listed: true,
      steered: 'served by 7000',
      edge: ['served by 7000', 'served by 7000'],
      outside: 'ECONNREFUSED',
      after: 'ECONNREFUSED',
      listedAfter: false,
    });
  });

  it('a flow dissector attaches to a namespace, is listed, and detaches on close', () => {
    using pair = vethPair('flow');
    expect(inNamespace(pair.a.ns, FLOW_CHILD)).toEqual({ listed: true, after: 0 });
  });
});

describe('attachNetns', () => {
  it('refuses a program type that does not attach to a namespace, before any syscall', async () => {
    const { attachNetns } = await import('./netns-attach.js');
    const fake = { name: 'x', type: 6 /* xdp */, fd: 99 } as unknown as Parameters<typeof attachNetns>[0];
    expect(() => attachNetns(fake, '/nonexistent')).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });
});

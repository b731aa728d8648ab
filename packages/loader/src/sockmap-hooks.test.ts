// The sockmap hooks beyond the stream verdict echo (sockmap-attach.test.ts),
// each on real TCP connections inside a namespace the test made (a child
// running the built dist there): an sk_msg verdict that sends some messages
// to another socket by their first byte, a stream parser that frames a byte
// stream by a length prefix for a stream verdict that checks each frame, and
// an skb verdict that echoes, then drops. Byte counts and the programs' own
// counters are checked.
//
// Several frames in one TCP skb: strparser (net/strparser/strparser.c,
// __strp_recv) hands the parser and the verdict (net/core/skmsg.c,
// sk_psock_strp_parse and sk_psock_strp_read) a clone of the whole TCP skb
// the frame starts in, with the skbs it runs into appended; where the frame
// starts is strp_msg(skb)->offset, which __sk_buff does not show. So
// bpf_skb_load_bytes(skb, 0) reads the first frame's prefix for every frame
// of that skb, and skb->len is the clone's length, not the frame's; only the
// delivery uses offset and length (a pass-all verdict echoed exactly the
// frames the parser's lengths made). Seen here: [3]+3 bytes and [5]+5 bytes
// in one write were framed as bytes 0-3 and 4-7, both with skb->len 10. The
// programs below therefore keep where the next frame starts: the verdict
// stores the bytes after its frame (skb->len - offset - length), and the
// next frame starts that many bytes before the end of its skb (at 0 if none).
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { expect, it } from 'vitest';
import { describeNeeds, hasCommand, hasFile, isRoot, repoRoot } from '../../../test/support/env.js';
import { vethPair } from '../../../test/support/netns.js';

const dist = (pkg: string) => pathToFileURL(join(repoRoot, 'packages', pkg, 'dist/index.js')).href;

/** What every child starts with: imports, two TCP connections on loopback, helpers. */
const PRELUDE = `
import net from 'node:net';
import { once } from 'node:events';
import { BpfMap, Program, attachSockMap, socketFd } from '${dist('loader')}';
import { MapType, ProgramType, AttachType, asm, encodeInstructions } from '${dist('object')}';
const [SKB_LOAD_BYTES, SK_REDIRECT_MAP, MSG_REDIRECT_MAP] = [26, 52, 60];
const load = (type, expectedAttachType, name, insns) =>
  Program.load({ type, expectedAttachType, name, license: 'GPL', instructions: encodeInstructions(insns, 'little') });
const sockmap = BpfMap.create({ type: MapType.sockmap, keySize: 4, valueSize: 8, maxEntries: 2, name: 'hook_map' });
const put = (slot, socket) => {
  const k = new Uint8Array(4); new DataView(k.buffer).setUint32(0, slot, true);
  const v = new Uint8Array(8); new DataView(v.buffer).setBigUint64(0, BigInt(socketFd(socket)), true);
  sockmap.update(k, v);
};
const u64s = (m) => { const v = m.lookup(new Uint8Array(4)); const d = new DataView(v.buffer, v.byteOffset); return Array.from({ length: v.length / 8 }, (_, i) => Number(d.getBigUint64(i * 8, true))); };
async function connection() {
  const accepted = [];
  const server = net.createServer((c) => accepted.push(c));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const client = net.connect({ port: server.address().port, host: '127.0.0.1', noDelay: true });
  await once(client, 'connect');
  while (accepted.length === 0) await new Promise((r) => setTimeout(r, 5));
  const got = { client: [], server: [] };
  client.on('data', (d) => got.client.push(d));
  accepted[0].on('data', (d) => got.server.push(d));
  const bytes = (side) => Buffer.concat(got[side]);
  return { client, peer: accepted[0], server, bytes, close: () => { client.destroy(); accepted[0].destroy(); server.close(); } };
}
const write = (socket, data) => new Promise((resolve, reject) => socket.write(data, (e) => (e ? reject(e) : resolve())));
/** Waits (up to 10 s) until cond() holds; the caller checks the result. */
async function until(cond) { for (let i = 0; i < 1000 && !cond(); i++) await new Promise((r) => setTimeout(r, 10)); }
/** ctx (r6) out of the socket at sockmap slot \`slot\` with \`flags\`, by the redirect helper \`helper\`: its answer in r0. */
const redirect = (helper, slot, flags) => [asm.mov64Reg(1, 6), asm.ldMapFd(2, sockmap.fd), asm.mov64Imm(3, slot), asm.mov64Imm(4, flags), asm.call(helper)];
/**
 * The end of an sk_skb verdict (ctx in r6): adds register reg to the counts
 * map's first u64 and redirects the skb out of slot 0's socket; at TO_DROP
 * slots in, the drop branch adds reg to the second u64 and returns SK_DROP.
 */
const TO_DROP = 10;
const echoOrDrop = (counts, reg) => [
  asm.ldMapValue(1, counts.fd, 0),
  asm.atomicAdd(8, 1, reg, 0),
  ...redirect(SK_REDIRECT_MAP, 0, 0),
  asm.exit(),
  asm.ldMapValue(1, counts.fd, 8), // drop:
  asm.atomicAdd(8, 1, reg, 0),
  asm.mov64Imm(0, 0), // SK_DROP
  asm.exit(),
];
`;

/**
 * sk_msg verdict on the sending client c1 (slot 0): a message whose first byte
 * is 'R' goes into the receive queue of c2 (slot 1, BPF_F_INGRESS), the
 * others go out as sent, to c1's server side.
 */
const MSG_VERDICT = `${PRELUDE}
const BPF_F_INGRESS = 1;
const prog = load(ProgramType.sk_msg, AttachType.sk_msg_verdict, 'by_first_byte', [
  asm.mov64Reg(6, 1),
  asm.ldxMem(8, 2, 1, 0), // r2 = msg->data
  asm.ldxMem(8, 3, 1, 8), // r3 = msg->data_end
  asm.mov64Reg(4, 2),
  asm.alu64Imm('add', 4, 1),
  asm.jmpReg('jgt', 4, 3, 9), // no first byte: pass
  asm.ldxMem(1, 5, 2, 0),
  asm.jmpImm('jne', 5, 0x52, 7), // not 'R': pass
  ...redirect(MSG_REDIRECT_MAP, 1, BPF_F_INGRESS), // SK_PASS when redirected
  asm.exit(),
  asm.mov64Imm(0, 1), // pass: SK_PASS
  asm.exit(),
]);
const attachment = attachSockMap(prog, sockmap, 'msg_verdict');
const c1 = await connection();
const c2 = await connection();
put(0, c1.client);
put(1, c2.client);
let sentP = 0, sentR = 0;
for (let i = 0; i < 40; i++) {
  const letter = i % 3 === 0 ? 'R' : 'P';
  const data = Buffer.alloc(100 + i, letter);
  await write(c1.client, data);
  if (letter === 'R') sentR += data.length; else sentP += data.length;
}
await until(() => c1.bytes('server').length >= sentP && c2.bytes('client').length >= sentR);
attachment.close();
const atServer = c1.bytes('server').toString(), atC2 = c2.bytes('client').toString();
console.log(JSON.stringify({ sentP, sentR, server: atServer.length, serverAllP: /^P*$/.test(atServer), c2: atC2.length, c2AllR: /^R*$/.test(atC2), c2Server: c2.bytes('server').length }));
c1.close(); c2.close(); prog.close(); sockmap.close();
`;

/**
 * A stream parser frames the stream by the byte n a frame starts with (a
 * frame is n + 1 bytes), found as the top says (this holds while strparser
 * alone reads the socket, so each TCP skb is read from its start), and keeps
 * the frame's offset and length; the stream verdict counts a frame good when
 * it ends inside the verdict's skb and its prefix there gives that length
 * (else bad, and drops it), and echoes good frames out of the server's socket.
 */
const STREAM = `${PRELUDE}
const counts = BpfMap.create({ type: MapType.array, keySize: 4, valueSize: 16, maxEntries: 1, name: 'frames' });
// Where the next frame starts: the programs see each frame's skb from the start of the TCP skb it was cloned from (see the top).
const state = BpfMap.create({ type: MapType.array, keySize: 4, valueSize: 24, maxEntries: 1, name: 'frame_at' }); // tail, offset, length
const byteAt = [asm.mov64Reg(1, 6), asm.mov64Reg(3, 10), asm.alu64Imm('add', 3, -8), asm.mov64Imm(4, 1), asm.call(SKB_LOAD_BYTES)]; // r2: the offset
const parser = load(ProgramType.sk_skb, AttachType.sk_skb_stream_parser, 'len_prefix', [
  asm.mov64Reg(6, 1),
  asm.ldMapValue(7, state.fd, 0),
  asm.ldxMem(8, 8, 7, 0), // the bytes after the last frame in its skb
  asm.mov64Imm(2, 0), // none: this frame starts a new skb
  asm.jmpImm('jeq', 8, 0, 2),
  asm.ldxMem(4, 2, 6, 0), // else it starts that many bytes before this skb's end
  asm.alu64Reg('sub', 2, 8),
  asm.stxMem(8, 7, 2, 8), // its offset
  ...byteAt,
  asm.jmpImm('jne', 0, 0, 4),
  asm.ldxMem(1, 0, 10, -8),
  asm.alu64Imm('add', 0, 1), // the frame: prefix + n bytes
  asm.stxMem(8, 7, 0, 16), // its length
  asm.exit(),
  asm.mov64Imm(0, 0), // no byte yet: wait for more
  asm.exit(),
]);
const verdict = load(ProgramType.sk_skb, AttachType.sk_skb_stream_verdict, 'frame_check', [
  asm.mov64Reg(6, 1),
  asm.ldMapValue(7, state.fd, 0),
  asm.ldxMem(4, 3, 6, 0), // skb->len: the skbs the frame spans, whole
  asm.ldxMem(8, 2, 7, 8),
  asm.alu64Reg('sub', 3, 2),
  asm.ldxMem(8, 4, 7, 16),
  asm.alu64Reg('sub', 3, 4),
  asm.stxMem(8, 7, 3, 0), // what follows the frame: skb->len - offset - length
  asm.mov64Imm(9, 1), // a frame counts one
  asm.jmpImm('jslt', 3, 0, byteAt.length + 5 + TO_DROP), // the frame runs past its skb -> bad
  ...byteAt, // the prefix, at the offset (r2)
  asm.jmpImm('jne', 0, 0, 4 + TO_DROP), // -> bad
  asm.ldxMem(1, 8, 10, -8),
  asm.alu64Imm('add', 8, 1),
  asm.ldxMem(8, 2, 7, 16),
  asm.jmpReg('jne', 8, 2, TO_DROP), // not the length the parser gave -> bad
  ...echoOrDrop(counts, 9), // good: counted and echoed; bad: counted and dropped
]);
const a1 = attachSockMap(parser, sockmap, 'stream_parser');
const a2 = attachSockMap(verdict, sockmap, 'stream_verdict');
const c = await connection();
put(0, c.peer);
const frames = [];
for (let i = 0; i < 60; i++) { const n = (i * 37) % 200; frames.push(Buffer.from([n]), Buffer.alloc(n, i)); }
const stream = Buffer.concat(frames);
// Written 97 bytes at a time, without waiting: several frames in one write, frames split across writes.
for (let at = 0; at < stream.length; at += 97) await write(c.client, stream.subarray(at, at + 97));
await until(() => c.bytes('client').length >= stream.length);
a2.close(); a1.close();
const [good, bad] = u64s(counts);
console.log(JSON.stringify({ sent: stream.length, echoed: c.bytes('client').length, same: c.bytes('client').equals(stream), good, bad, serverSaw: c.bytes('server').length }));
c.close(); parser.close(); verdict.close(); counts.close(); state.close(); sockmap.close();
`;

/** An skb verdict (no parser) echoes each skb back and counts its bytes; with the mode map set, it drops and counts them instead. */
const SKB_VERDICT = `${PRELUDE}
const counts = BpfMap.create({ type: MapType.array, keySize: 4, valueSize: 16, maxEntries: 1, name: 'skb_bytes' });
const mode = BpfMap.create({ type: MapType.array, keySize: 4, valueSize: 8, maxEntries: 1, name: 'skb_mode' });
const prog = load(ProgramType.sk_skb, AttachType.sk_skb_verdict, 'echo_or_drop', [
  asm.mov64Reg(6, 1),
  asm.ldxMem(4, 7, 6, 0), // skb->len
  asm.ldMapValue(1, mode.fd, 0),
  asm.ldxMem(8, 2, 1, 0),
  asm.jmpImm('jne', 2, 0, TO_DROP), // -> drop
  ...echoOrDrop(counts, 7), // the bytes: echoed, or dropped
]);
const attachment = attachSockMap(prog, sockmap, 'skb_verdict');
const c = await connection();
put(0, c.peer);
const ECHO = 64 * 1024, DROP = 4096;
await write(c.client, Buffer.alloc(ECHO, 1));
await until(() => c.bytes('client').length >= ECHO);
const echoed = c.bytes('client').length;
const [echoCounted] = u64s(counts);
const on = new Uint8Array(8); on[0] = 1;
mode.update(new Uint8Array(4), on);
await write(c.client, Buffer.alloc(DROP, 2));
await until(() => u64s(counts)[1] >= DROP);
attachment.close();
const [, dropCounted] = u64s(counts);
console.log(JSON.stringify({ echoed, echoCounted, dropCounted, echoedAfter: c.bytes('client').length, serverSaw: c.bytes('server').length }));
c.close(); prog.close(); counts.close(); mode.close(); sockmap.close();
`;

function runChild(tag: string, script: string): unknown {
  using pair = vethPair(tag);
  const out = execFileSync('ip', ['netns', 'exec', pair.a.ns, process.execPath, '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 });
  return JSON.parse(out);
}

describeNeeds([isRoot(), hasCommand('ip'), hasFile(join(repoRoot, 'packages/loader/dist/index.js'))], 'sockmap hooks on real TCP connections', () => {
  it('msg_verdict: messages starting with R land in another socket, the rest reach their peer, byte for byte', () => {
    expect(runChild('skmsg', MSG_VERDICT)).toEqual({ sentP: 3107, sentR: 1673, server: 3107, serverAllP: true, c2: 1673, c2AllR: true, c2Server: 0 });
  }, 90_000);

  it('stream_parser + stream_verdict: 60 length-prefixed frames, several to a write and split across writes, each framed once and echoed', () => {
    const r = runChild('skstrp', STREAM) as { sent: number };
    expect(r).toEqual({ sent: r.sent, echoed: r.sent, same: true, good: 60, bad: 0, serverSaw: 0 });
  }, 90_000);

  it('skb_verdict: every byte echoed and counted, then, with the mode switched, dropped and counted; the server reads none', () => {
    expect(runChild('skskb', SKB_VERDICT)).toEqual({ echoed: 65536, echoCounted: 65536, dropCounted: 4096, echoedAfter: 65536, serverSaw: 0 });
  }, 90_000);
});

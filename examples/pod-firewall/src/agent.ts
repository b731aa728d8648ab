#!/usr/bin/env node
/**
 * The process inside each pod's network namespace (started through nsenter):
 * it serves its container ports (TCP: accept and close; UDP: echo) and makes
 * probes on request from a unix socket, which works across namespaces
 * because unix sockets live in the file system. Besides plain connections
 * (a request without `kind`) it probes what the conformance suites need:
 * several ports at once, large (fragmented) UDP datagrams checked whole at
 * the receiver, and raw packets with any source address or protocol
 * (agent-raw.ts), seen or not by the destination's agent. Every probe ends
 * by its deadline; a malformed request gets an error reply, never a crash.
 *
 *   agent.js --control /run/<name>/agents/<ns>-<pod>.sock --serve 80/TCP,81/UDP
 */
import { createSocket } from 'node:dgram';
import { createServer, connect, type Socket } from 'node:net';
import { rmSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { RawProbes, type RawProtocol } from './agent-raw.js';
import { FirewallError } from './errors.js';

/** A plain probe: one TCP connection or one UDP echo. */
export interface ProbeRequest {
  readonly id: number;
  readonly host: string;
  readonly port: number;
  readonly protocol: 'TCP' | 'UDP';
  readonly timeoutMs: number;
}

export interface ProbeReply {
  readonly id: number;
  readonly ok: boolean;
}

/** Plain probes to several ports of `host` at once; the reply's `results` follow `ports`. */
export interface PortsRequest {
  readonly kind: 'ports';
  readonly id: number;
  readonly host: string;
  readonly protocol: 'TCP' | 'UDP';
  readonly ports: readonly number[];
  readonly timeoutMs: number;
}

/** One UDP datagram of `size` payload bytes (past 1,472 it leaves in fragments): ok when the receiver got it whole. */
export interface DatagramRequest {
  readonly kind: 'datagram';
  readonly id: number;
  readonly host: string;
  readonly port: number;
  readonly size: number;
  readonly timeoutMs: number;
}

/** Start reporting raw probe packets of `protocol` that reach this pod (before `inject`s that `seen` will ask about). */
export interface SniffRequest {
  readonly kind: 'sniff';
  readonly id: number;
  readonly protocol: RawProtocol;
}

/** Send one raw probe packet (TCP SYN, UDP datagram, SCTP INIT) whose source address is `source`, ours or not. */
export interface InjectRequest {
  readonly kind: 'inject';
  readonly id: number;
  readonly protocol: RawProtocol;
  readonly source: string;
  readonly sourcePort: number;
  readonly host: string;
  readonly port: number;
  readonly token: number;
  /** With it, the IP header has a 4-byte option holding this number where a 20-byte header's reader looks for the destination port. */
  readonly decoyPort?: number;
}

/** Whether the raw probe packet `token` from `source` to our `port` arrived here (waits up to `timeoutMs`). */
export interface SeenRequest {
  readonly kind: 'seen';
  readonly id: number;
  readonly protocol: RawProtocol;
  readonly source: string;
  readonly port: number;
  readonly token: number;
  readonly timeoutMs: number;
}

export type AgentRequest = ProbeRequest | PortsRequest | DatagramRequest | SniffRequest | InjectRequest | SeenRequest;

/** The answer to any request: `ok` (for `ports`, whether all connected), per-port `results`, or why it could not run. */
export interface AgentReply extends ProbeReply {
  readonly results?: readonly boolean[];
  readonly error?: string;
}

function arg(name: string): string {
  const i = process.argv.indexOf(name);
  const v = i >= 0 ? process.argv[i + 1] : undefined;
  if (!v) throw new FirewallError('AGENT_USAGE', `agent: ${name} is required`);
  return v;
}

/** The UDP ports this pod serves: probes never take them as source ports (bind would fail). */
const servedUdp = new Set<number>();

function serve(spec: string): void {
  for (const item of spec.split(',').filter(Boolean)) {
    const [port, protocol] = item.split('/');
    // Peers reset connections and answers may not be deliverable (forged sources): neither may kill the agent.
    if (protocol === 'TCP') {
      createServer((s) => s.on('error', () => {}).end()).listen(Number(port));
    } else if (protocol === 'UDP') {
      servedUdp.add(Number(port));
      const sock = createSocket('udp4');
      let bound = false;
      sock.once('listening', () => (bound = true));
      sock.on('error', (e) => {
        if (!bound) throw e; // a port we cannot serve: fail loudly, as before
      });
      sock.on('message', (msg, from) => sock.send(datagramProbeAnswer(msg) ?? msg, from.port, from.address));
      sock.bind(Number(port));
    }
  }
}

/**
 * A probe's answer: `start` wires the socket's events to `done`; the first
 * of them, or the timeout (false), settles it, and `release` closes the
 * socket once.
 */
function firstAnswer(timeoutMs: number, release: () => void, start: (done: (ok: boolean) => void) => void): Promise<boolean> {
  return new Promise((resolve) => {
    let settled = false;
    const done = (ok: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      release();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    start(done);
  });
}

function probeTcp(r: ProbeRequest): Promise<boolean> {
  const s: Socket = connect({ host: r.host, port: r.port });
  return firstAnswer(
    r.timeoutMs,
    () => s.destroy(),
    (done) => {
      s.once('connect', () => done(true));
      s.once('error', () => done(false));
    },
  );
}

/*
 * UDP has no close: conntrack forgets a flow only after it idles for a minute.
 * A probe from a source port that an allowed probe used moments ago would be
 * that old flow again, so probes walk through the ports in order instead of
 * taking random ones.
 */
let nextUdpPort = 20000 + (process.pid % 1000) * 20;

function takeUdpPort(): number {
  let port: number;
  do {
    port = nextUdpPort;
    nextUdpPort = nextUdpPort >= 60000 ? 20000 : nextUdpPort + 1;
  } while (servedUdp.has(port));
  return port;
}

/** Sends `payload` from a fresh port; `answer` judges each reply (true: done, allowed). */
function udpExchange(r: { host: string; port: number; timeoutMs: number }, payload: Buffer | string, answer: (reply: Buffer) => boolean): Promise<boolean> {
  const s = createSocket('udp4');
  const port = takeUdpPort();
  return firstAnswer(
    r.timeoutMs,
    () => s.close(),
    (done) => {
      s.on('message', (reply) => answer(reply) && done(true));
      s.once('error', () => done(false));
      s.once('listening', () => s.send(payload, r.port, r.host));
      s.bind(port);
    },
  );
}

function probeUdp(r: ProbeRequest): Promise<boolean> {
  return udpExchange(r, `probe ${r.id}`, () => true);
}

/*
 * Datagram probes: `tsbpf-datagram <token> <size>` and a newline, then
 * filler derived from the token up to `size` bytes. The receiving agent
 * answers with a short `whole <token>` only when every byte is there (a
 * short answer, so that the reply is not fragmented itself: the probe
 * measures the fragments going one way).
 */
const DATAGRAM_MAGIC = 'tsbpf-datagram ';
const fillerByte = (token: number, i: number) => (i * 131 + token) & 0xff;

function datagramPayload(token: number, size: number): Buffer {
  const buf = Buffer.alloc(size);
  for (let i = 0; i < size; i++) buf[i] = fillerByte(token, i);
  const header = Buffer.from(`${DATAGRAM_MAGIC}${token} ${size}\n`);
  header.copy(buf);
  return buf;
}

/** The short answer to a datagram probe, or undefined when `msg` is not one (then it is echoed). */
function datagramProbeAnswer(msg: Buffer): Buffer | undefined {
  if (msg.length < DATAGRAM_MAGIC.length || msg.toString('latin1', 0, DATAGRAM_MAGIC.length) !== DATAGRAM_MAGIC) return undefined;
  const end = msg.indexOf(10);
  const [token, size] = msg.toString('latin1', DATAGRAM_MAGIC.length, end).split(' ').map(Number) as [number, number];
  let whole = end > 0 && msg.length === size;
  for (let i = end + 1; whole && i < msg.length; i++) whole = msg[i] === fillerByte(token, i);
  return Buffer.from(`${whole ? 'whole' : 'broken'} ${token}`);
}

function probeDatagram(r: DatagramRequest): Promise<boolean> {
  if (!Number.isInteger(r.size) || r.size < 64 || r.size > 65507) throw new FirewallError('AGENT_USAGE', `datagram size ${r.size} is not in 64..65507`);
  const token = Math.floor(Math.random() * 1e9);
  return udpExchange(r, datagramPayload(token, r.size), (reply) => reply.toString() === `whole ${token}`);
}

async function probePorts(r: PortsRequest): Promise<AgentReply> {
  const one = (port: number) => (r.protocol === 'TCP' ? probeTcp : probeUdp)({ id: r.id, host: r.host, port, protocol: r.protocol, timeoutMs: r.timeoutMs });
  const results = await Promise.all(r.ports.map(one));
  return { id: r.id, ok: results.every(Boolean), results };
}

const raw = new RawProbes();

async function answer(r: AgentRequest): Promise<AgentReply> {
  if (!('kind' in r)) return { id: r.id, ok: await (r.protocol === 'TCP' ? probeTcp(r) : probeUdp(r)) };
  switch (r.kind) {
    case 'ports':
      return probePorts(r);
    case 'datagram':
      return { id: r.id, ok: await probeDatagram(r) };
    case 'sniff':
      await raw.sniff(r.protocol);
      return { id: r.id, ok: true };
    case 'inject':
      if (r.decoyPort !== undefined && !(Number.isInteger(r.decoyPort) && r.decoyPort >= 1 && r.decoyPort <= 65535))
        throw new FirewallError('AGENT_USAGE', `decoy port ${r.decoyPort} is not in 1..65535`);
      await raw.send(r.protocol, r.source, r.host, r.sourcePort, r.port, r.token, r.decoyPort ?? 0);
      return { id: r.id, ok: true };
    case 'seen':
      return { id: r.id, ok: await raw.seen(r.protocol, r.token, r.source, r.port, r.timeoutMs) };
    default:
      throw new FirewallError('AGENT_USAGE', `unknown request kind ${JSON.stringify((r as { kind: unknown }).kind)}`);
  }
}

/** One request line in, one reply line out; whatever goes wrong is the reply's `error`. */
async function handle(line: string): Promise<AgentReply | undefined> {
  let r: AgentRequest;
  try {
    r = JSON.parse(line) as AgentRequest;
  } catch {
    return undefined; // not a request: nobody waits for an answer
  }
  try {
    return await answer(r);
  } catch (e) {
    return { id: r.id, ok: false, error: (e as Error).message };
  }
}

function main(): void {
  const control = arg('--control');
  serve(arg('--serve'));
  rmSync(control, { force: true });
  createServer((conn) => {
    createInterface({ input: conn }).on('line', (line) => {
      void handle(line).then((reply) => {
        if (reply && !conn.destroyed) conn.write(`${JSON.stringify(reply)}\n`);
      });
    });
    conn.on('error', () => {});
  }).listen(control);
  // Exit with the parent's orders only; a lost control client is normal.
  process.on('SIGTERM', () => {
    raw.close();
    process.exit(0);
  });
}

main();

#!/usr/bin/env node
/**
 * The process inside each pod's network namespace (started through nsenter):
 * it serves its container ports (TCP: accept and close; UDP: echo) and makes
 * probe connections on request from a unix socket, which works across
 * namespaces because unix sockets live in the file system.
 *
 *   agent.js --control /run/<name>/agents/<ns>-<pod>.sock --serve 80/TCP,81/UDP
 */
import { createSocket } from 'node:dgram';
import { createServer, connect, type Socket } from 'node:net';
import { rmSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { FirewallError } from './errors.js';

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

function arg(name: string): string {
  const i = process.argv.indexOf(name);
  const v = i >= 0 ? process.argv[i + 1] : undefined;
  if (!v) throw new FirewallError('AGENT_USAGE', `agent: ${name} is required`);
  return v;
}

function serve(spec: string): void {
  for (const item of spec.split(',').filter(Boolean)) {
    const [port, protocol] = item.split('/');
    if (protocol === 'TCP') {
      createServer((s) => s.end()).listen(Number(port));
    } else if (protocol === 'UDP') {
      const sock = createSocket('udp4');
      sock.on('message', (msg, from) => sock.send(msg, from.port, from.address));
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

function probeUdp(r: ProbeRequest): Promise<boolean> {
  const s = createSocket('udp4');
  const port = nextUdpPort;
  nextUdpPort = nextUdpPort >= 60000 ? 20000 : nextUdpPort + 1;
  return firstAnswer(
    r.timeoutMs,
    () => s.close(),
    (done) => {
      s.once('message', () => done(true));
      s.once('error', () => done(false));
      s.once('listening', () => s.send(`probe ${r.id}`, r.port, r.host));
      s.bind(port);
    },
  );
}

function main(): void {
  const control = arg('--control');
  serve(arg('--serve'));
  rmSync(control, { force: true });
  createServer((conn) => {
    createInterface({ input: conn }).on('line', (line) => {
      const r = JSON.parse(line) as ProbeRequest;
      void (r.protocol === 'TCP' ? probeTcp(r) : probeUdp(r)).then((ok) => {
        if (!conn.destroyed) conn.write(`${JSON.stringify({ id: r.id, ok } satisfies ProbeReply)}\n`);
      });
    });
    conn.on('error', () => {});
  }).listen(control);
  // Exit with the parent's orders only; a lost control client is normal.
  process.on('SIGTERM', () => process.exit(0));
}

main();

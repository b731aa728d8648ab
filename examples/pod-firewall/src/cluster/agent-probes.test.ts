/** AgentProbes against fake agents: no answer is blocked (never a hang); a probe or raw command that could not run is an error. */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { TsbpfError } from '@tsbpf/object';
import { AgentProbes } from './agent-probes.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

/** A unix-socket "agent" that hands each request line to `onRequest`. */
async function fakeAgent(onRequest: (req: { id: number; kind: string }, conn: Socket) => void): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'agent-probes-'));
  const path = join(dir, 'agent.sock');
  const server: Server = createServer((conn) => {
    conn.on('error', () => {});
    createInterface({ input: conn }).on('line', (line) => onRequest(JSON.parse(line) as { id: number; kind: string }, conn));
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  cleanups.push(() => {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return path;
}

const reply = (conn: Socket, body: object) => conn.write(`${JSON.stringify(body)}\n`);

describe('AgentProbes', () => {
  it('passes results through, matched by id', async () => {
    const path = await fakeAgent((req, conn) => {
      if (req.kind === 'ports') reply(conn, { id: req.id, ok: false, results: [true, false, true] });
      else reply(conn, { id: req.id, ok: req.kind !== 'seen' });
    });
    using agent = await AgentProbes.open(path);
    expect(await agent.ports('10.0.0.1', 'TCP', [1, 2, 3], 100)).toEqual([true, false, true]);
    expect(await agent.datagram('10.0.0.1', 80, 8000, 100)).toBe(true);
    expect(await agent.seen('UDP', 7, '10.0.0.2', 80, 100)).toBe(false);
    await agent.sniff('TCP');
    await agent.inject({ protocol: 'SCTP', source: '10.0.0.9', sourcePort: 10001, host: '10.0.0.1', port: 80, token: 7 });
  });

  it('sends an inject with its decoy port only when one is given', async () => {
    const injects: object[] = [];
    const path = await fakeAgent((req, conn) => {
      injects.push(req);
      reply(conn, { id: req.id, ok: true });
    });
    using agent = await AgentProbes.open(path);
    const packet = { protocol: 'TCP' as const, source: '10.0.0.2', sourcePort: 10001, host: '10.0.0.1', port: 81, token: 5 };
    await agent.inject({ ...packet, decoyPort: 80 });
    await agent.inject(packet);
    expect(injects).toMatchObject([
      { kind: 'inject', port: 81, decoyPort: 80 },
      { kind: 'inject', port: 81 },
    ]);
    expect(injects[1]).not.toHaveProperty('decoyPort');
  });

  it('counts every probe of an agent that hangs up as blocked, at once', async () => {
    const path = await fakeAgent((_req, conn) => conn.destroy());
    using agent = await AgentProbes.open(path);
    const started = Date.now();
    expect(await agent.ports('10.0.0.1', 'UDP', [80, 81], 60_000)).toEqual([false, false]);
    expect(await agent.datagram('10.0.0.1', 80, 1473, 60_000)).toBe(false);
    expect(Date.now() - started).toBeLessThan(30_000);
  });

  it('counts a probe of a silent agent as blocked after its deadline', async () => {
    const path = await fakeAgent(() => {});
    using agent = await AgentProbes.open(path);
    expect(await agent.seen('TCP', 1, '10.0.0.2', 80, 10)).toBe(false);
  });

  it('throws AGENT_FAILED when a probe or a raw command could not run, or a command gets no answer', async () => {
    const path = await fakeAgent((req, conn) => {
      if (req.kind !== 'sniff') reply(conn, { id: req.id, ok: false, error: 'the raw-probe helper is missing' });
    });
    using agent = await AgentProbes.open(path);
    const code = (p: Promise<unknown>) =>
      p.then(
        () => 'resolved',
        (e: unknown) => (TsbpfError.is(e) ? e.code : String(e)),
      );
    expect(await code(agent.inject({ protocol: 'TCP', source: '10.0.0.9', sourcePort: 10001, host: '10.0.0.1', port: 80, token: 1 }))).toBe('AGENT_FAILED');
    expect(await code(agent.datagram('10.0.0.1', 80, 8000, 10))).toBe('AGENT_FAILED');
    expect(await code(agent.sniff('UDP'))).toBe('AGENT_FAILED');
  }, 20_000);

  it('fails to open an agent that is not there', async () => {
    await expect(AgentProbes.open('/nonexistent/agent.sock')).rejects.toMatchObject({ code: 'AGENT_FAILED' });
  });
});

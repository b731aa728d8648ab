import { afterEach, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AgentClient } from './agents.js';

/**
 * The client side of an agent that misbehaves: one that accepts and never
 * answers, one that dies with probes pending, one that is not there. Every
 * probe settles (an AGENT_FAILED), none is left pending.
 */

let dir: string | undefined;
let server: Server | undefined;
const conns: Socket[] = [];

async function agentThat(onLine: (conn: Socket) => void): Promise<string> {
  dir = mkdtempSync(join(tmpdir(), 'pod-firewall-agent-'));
  const path = join(dir, 'agent.sock');
  server = createServer((conn) => {
    conns.push(conn);
    conn.on('data', () => onLine(conn));
    conn.on('error', () => {});
  });
  await new Promise<void>((resolve) => server!.listen(path, resolve));
  return path;
}

afterEach(async () => {
  for (const c of conns.splice(0)) c.destroy();
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  server = undefined;
  if (dir) rmSync(dir, { recursive: true, force: true });
});

it('a hung agent: the probe fails after its timeout and a grace period, not never', async () => {
  const client = await AgentClient.open(await agentThat(() => {}));
  await expect(client.probe('10.0.0.1', 80, 'TCP', 100)).rejects.toMatchObject({ code: 'AGENT_FAILED', message: expect.stringContaining('no answer') });
  // The client is broken from then on: later probes fail at once.
  await expect(client.probe('10.0.0.1', 80, 'TCP', 100)).rejects.toMatchObject({ code: 'AGENT_FAILED' });
  client.close();
}, 10_000);

it('an agent that dies with probes pending fails them all', async () => {
  const client = await AgentClient.open(await agentThat((conn) => conn.destroy()));
  const probes = [client.probe('10.0.0.1', 80, 'TCP', 5000), client.probe('10.0.0.2', 81, 'UDP', 5000)];
  for (const p of probes) await expect(p).rejects.toMatchObject({ code: 'AGENT_FAILED', message: expect.stringContaining('closed') });
  client.close();
});

it('an agent that answers garbage fails, one that answers is believed', async () => {
  const client = await AgentClient.open(
    await agentThat((conn) => {
      conn.write(`${JSON.stringify({ id: 1, ok: true })}\n`);
      conn.write('not json\n');
    }),
  );
  expect(await client.probe('10.0.0.1', 80, 'TCP', 1000)).toBe(true);
  await expect(client.probe('10.0.0.1', 80, 'TCP', 1000)).rejects.toMatchObject({ code: 'AGENT_FAILED' });
  client.close();
});

it('no agent at the socket: AGENT_FAILED at once', async () => {
  dir = mkdtempSync(join(tmpdir(), 'pod-firewall-agent-'));
  await expect(AgentClient.open(join(dir, 'none.sock'))).rejects.toMatchObject({ code: 'AGENT_FAILED' });
});

import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import type { ProbeReply, ProbeRequest } from '../agent.js';
import { FirewallError } from '../errors.js';
import { podKey, type Pod } from '../policy/model.js';
import { netnsPath } from './topology.js';

/**
 * The pods' agents from the controller's side: where the example's files
 * are, starting an agent inside a pod's namespace, waiting for its control
 * socket, and the client that asks it for probes.
 */

/** The example's package directory (from src/ under vitest, from dist/ when built). */
export function packageDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === '@tsbpf/example-pod-firewall') return dir;
    const up = dirname(dir);
    if (up === dir) throw new FirewallError('PACKAGE_NOT_FOUND', `no @tsbpf/example-pod-firewall package.json above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
}

export const agentSocket = (runDir: string, netns: string) => join(runDir, 'agents', `${netns}.sock`);

/** Starts a pod's agent inside its network namespace only (nsenter --net: /sys and bpffs stay as they are). */
export function startAgent(runDir: string, netns: string, pod: Pod): number {
  const script = join(packageDir(), 'dist', 'agent.js');
  if (!existsSync(script)) throw new FirewallError('AGENT_NOT_BUILT', `${script} is missing; run npm run build`);
  const serve = pod.ports
    .filter((p) => p.protocol !== 'SCTP')
    .map((p) => `${p.port}/${p.protocol}`)
    .join(',');
  const child = spawn('nsenter', [`--net=${netnsPath(netns)}`, process.execPath, script, '--control', agentSocket(runDir, netns), '--serve', serve], {
    detached: true,
    stdio: 'ignore',
  });
  child.unref();
  if (child.pid === undefined) throw new FirewallError('AGENT_FAILED', `could not start the agent of ${podKey(pod)}`);
  return child.pid;
}

export async function waitForSockets(paths: readonly string[], timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (const p of paths) {
    while (!existsSync(p)) {
      if (Date.now() > deadline) throw new FirewallError('AGENT_FAILED', `agent socket ${p} did not appear within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

/** A connection to one agent; probes are answered in any order, matched by id. */
export class AgentClient implements Disposable {
  private readonly pending = new Map<number, (ok: boolean) => void>();
  private nextId = 1;

  private constructor(private readonly socket: Socket) {
    createInterface({ input: socket }).on('line', (line) => {
      const r = JSON.parse(line) as ProbeReply;
      this.pending.get(r.id)?.(r.ok);
      this.pending.delete(r.id);
    });
  }

  static open(path: string): Promise<AgentClient> {
    return new Promise((resolve, reject) => {
      const s = connect(path);
      s.once('connect', () => resolve(new AgentClient(s)));
      s.once('error', (e) => reject(new FirewallError('AGENT_FAILED', `agent ${path}: ${e.message}`, { cause: e })));
    });
  }

  probe(host: string, port: number, protocol: 'TCP' | 'UDP', timeoutMs: number): Promise<boolean> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      this.socket.write(`${JSON.stringify({ id, host, port, protocol, timeoutMs } satisfies ProbeRequest)}\n`);
    });
  }

  close(): void {
    this.socket.destroy();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

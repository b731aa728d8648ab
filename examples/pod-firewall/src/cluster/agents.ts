import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
 * are, starting and stopping an agent inside a pod's namespace (its pid in
 * a file beside its socket), waiting for its control socket, and the client
 * that asks it for probes: every request has a deadline, and an agent that
 * dies fails its requests instead of leaving them pending.
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

const agentPidFile = (runDir: string, netns: string) => join(runDir, 'agents', `${netns}.pid`);

/** Starts a pod's agent inside its network namespace only (nsenter --net: /sys and bpffs stay as they are). */
export function startAgent(runDir: string, netns: string, pod: Pod): number {
  const script = join(packageDir(), 'dist', 'agent.js');
  if (!existsSync(script)) throw new FirewallError('AGENT_NOT_BUILT', `${script} is missing; run npm run build`);
  // A socket left by an agent that died would look like the new one listening.
  rmSync(agentSocket(runDir, netns), { force: true });
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
  // nsenter execs node: the pid is the agent's.
  writeFileSync(agentPidFile(runDir, netns), `${child.pid}\n`, { mode: 0o600 });
  return child.pid;
}

/** The pid of the pod's agent if it runs (its pid file names a live process that is that agent). */
export function agentPid(runDir: string, netns: string): number | undefined {
  let pid: number;
  try {
    pid = Number(readFileSync(agentPidFile(runDir, netns), 'utf8').trim());
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    // Right after spawn the process may still be nsenter, about to exec the agent: both name the socket.
    return cmdline.includes(agentSocket(runDir, netns)) ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Stops a pod's agent if it runs (by its pid file, or any process in the pod serving its socket) and removes its socket and pid file. */
export function stopAgent(runDir: string, netns: string): void {
  const socket = agentSocket(runDir, netns);
  const pids = new Set<number>();
  const recorded = agentPid(runDir, netns);
  if (recorded !== undefined) pids.add(recorded);
  // An agent whose pid file was never written (its starter died in between) is found by its command line.
  let inPod: string[] = [];
  try {
    inPod = execFileSync('ip', ['netns', 'pids', netns], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
      .split('\n')
      .filter(Boolean);
  } catch {
    // no such namespace
  }
  for (const pid of inPod) {
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(socket)) pids.add(Number(pid));
    } catch {
      // gone meanwhile
    }
  }
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
  rmSync(socket, { force: true });
  rmSync(agentPidFile(runDir, netns), { force: true });
}

const sleepSync = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/** Waits for the agents' sockets to appear (synchronously: callers hold the instance lock in a synchronous section). */
export function waitForSockets(paths: readonly string[], timeoutMs = 10_000): void {
  const deadline = Date.now() + timeoutMs;
  for (const p of paths) {
    while (!existsSync(p)) {
      if (Date.now() > deadline) throw new FirewallError('AGENT_FAILED', `agent socket ${p} did not appear within ${timeoutMs} ms`);
      sleepSync(20);
    }
  }
}

/** How long past a probe's own timeout an agent may take to answer before it counts as hung. */
const ANSWER_GRACE_MS = 2_000;

/** A connection to one agent; probes are answered in any order, matched by id. */
export class AgentClient implements Disposable {
  private readonly pending = new Map<number, { resolve: (ok: boolean) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  private nextId = 1;
  private failure: Error | undefined;

  private constructor(
    private readonly socket: Socket,
    private readonly path: string,
  ) {
    createInterface({ input: socket }).on('line', (line) => {
      let r: ProbeReply;
      try {
        r = JSON.parse(line) as ProbeReply;
      } catch {
        return this.fail(`sent a line that is not JSON: ${line.slice(0, 80)}`);
      }
      const p = this.pending.get(r.id);
      if (!p) return;
      clearTimeout(p.timer);
      this.pending.delete(r.id);
      p.resolve(r.ok === true);
    });
    socket.on('error', (e) => this.fail(e.message));
    socket.on('close', () => this.fail('closed the connection'));
  }

  static async open(path: string, timeoutMs = 3_000): Promise<AgentClient> {
    return new AgentClient(await connectAgent(path, timeoutMs), path);
  }

  /** Fails every pending and later request: the agent is gone or broken. */
  private fail(why: string): void {
    if (this.failure) return;
    this.failure = new FirewallError('AGENT_FAILED', `agent ${this.path}: ${why}`);
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(this.failure);
    }
    this.pending.clear();
    this.socket.destroy();
  }

  /** Connected (TCP) or echoed (UDP) within `timeoutMs`; rejects with AGENT_FAILED when the agent does not answer at all. */
  probe(host: string, port: number, protocol: 'TCP' | 'UDP', timeoutMs: number): Promise<boolean> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => this.fail(`no answer to a probe within ${timeoutMs + ANSWER_GRACE_MS} ms`), timeoutMs + ANSWER_GRACE_MS);
      this.pending.set(id, { resolve, reject, timer });
      this.socket.write(`${JSON.stringify({ id, host, port, protocol, timeoutMs } satisfies ProbeRequest)}\n`);
    });
  }

  close(): void {
    this.failure ??= new FirewallError('AGENT_FAILED', `agent ${this.path}: closed`);
    for (const p of this.pending.values()) clearTimeout(p.timer);
    this.pending.clear();
    this.socket.destroy();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/** A connection to a pod agent's unix socket, or AGENT_FAILED within `timeoutMs` (the clients of agents.ts and agent-probes.ts share it). */
export function connectAgent(path: string, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(path);
    const timer = setTimeout(() => {
      s.destroy();
      reject(new FirewallError('AGENT_FAILED', `agent ${path}: no connection within ${timeoutMs} ms`));
    }, timeoutMs);
    s.once('connect', () => {
      clearTimeout(timer);
      resolve(s);
    });
    s.once('error', (e) => {
      clearTimeout(timer);
      reject(new FirewallError('AGENT_FAILED', `agent ${path}: ${e.message}`, { cause: e }));
    });
  });
}

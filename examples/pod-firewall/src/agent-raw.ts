/**
 * The agent's raw-packet abilities, which Node has no sockets for: it drives
 * the `pod-raw-probe` C helper (src/conformance/heldout/raw-probe.c, built by
 * scripts/build-c-helpers into build/c/) as a child in the pod's namespace.
 * The helper sends hand-built packets (any source address: forgery; any IP
 * protocol: SCTP on a kernel without it) and reports the probe packets that
 * reach this pod, so another pod's probe can ask whether its packet arrived.
 * Every wait has a deadline; a dead helper fails what waits on it.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { FirewallError } from './errors.js';

export type RawProtocol = 'TCP' | 'UDP' | 'SCTP';

/** From dist/ (where the agent runs) up to the repository's build/c/. */
export const rawProbeHelper = () => fileURLToPath(new URL('../../../build/c/pod-raw-probe', import.meta.url));

/** How long the helper may take to acknowledge a command before it counts as failed. */
const HELPER_ANSWER_MS = 3000;

interface Sighting {
  readonly source: string;
  readonly port: number;
  readonly at: number;
}

/** What `seen` remembers: sightings older than this are forgotten (tokens are never reused sooner). */
const SIGHTING_TTL_MS = 120_000;

export class RawProbes {
  private child: ChildProcessWithoutNullStreams | undefined;
  /** Commands sent, waiting for their acknowledgement, by key ('sent <token>' or 'sniffing <proto>'). */
  private readonly acks = new Map<string, (error?: string) => void>();
  private readonly sightings = new Map<string, Sighting>();
  private readonly watchers = new Map<string, Set<() => void>>();

  /**
   * Sends one probe packet from `source` (which need not be ours) to
   * host:port; with a `decoyPort`, its IP header carries an option holding
   * that number where a 20-byte header would end (see raw-probe.c).
   * Rejects with the helper's reason.
   */
  send(protocol: RawProtocol, source: string, host: string, sourcePort: number, port: number, token: number, decoyPort = 0): Promise<void> {
    return this.command(`sent ${token}`, `send ${protocol.toLowerCase()} ${source} ${host} ${sourcePort} ${port} ${token} ${decoyPort}`);
  }

  /** Starts reporting `protocol` probe packets that reach this pod (idempotent). */
  sniff(protocol: RawProtocol): Promise<void> {
    const p = protocol.toLowerCase();
    return this.command(`sniffing ${p}`, `sniff ${p}`);
  }

  /**
   * Whether a probe packet with `token` from `source` to our `port` has
   * arrived since sniffing began: true as soon as it has, false when
   * `timeoutMs` passes first.
   */
  seen(protocol: RawProtocol, token: number, source: string, port: number, timeoutMs: number): Promise<boolean> {
    const key = `${protocol.toLowerCase()} ${token}`;
    const matches = () => {
      const s = this.sightings.get(key);
      return s !== undefined && s.source === source && s.port === port;
    };
    if (matches()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const waiting = this.watchers.get(key) ?? new Set<() => void>();
      this.watchers.set(key, waiting);
      const finish = (ok: boolean) => {
        clearTimeout(timer);
        waiting.delete(check);
        if (waiting.size === 0) this.watchers.delete(key);
        resolve(ok);
      };
      const check = () => {
        if (matches()) finish(true);
      };
      const timer = setTimeout(() => finish(false), timeoutMs);
      waiting.add(check);
    });
  }

  close(): void {
    this.child?.kill('SIGKILL');
  }

  private command(ackKey: string, line: string): Promise<void> {
    let child: ChildProcessWithoutNullStreams;
    try {
      child = this.helper();
    } catch (e) {
      return Promise.reject(e as FirewallError);
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => settle(`the raw-probe helper did not answer '${line}' within ${HELPER_ANSWER_MS} ms`), HELPER_ANSWER_MS);
      const settle = (error?: string) => {
        clearTimeout(timer);
        this.acks.delete(ackKey);
        if (error === undefined) resolve();
        else reject(new FirewallError('AGENT_FAILED', error));
      };
      this.acks.set(ackKey, settle);
      child.stdin.write(`${line}\n`);
    });
  }

  private helper(): ChildProcessWithoutNullStreams {
    if (this.child) return this.child;
    const path = rawProbeHelper();
    if (!existsSync(path)) throw new FirewallError('AGENT_FAILED', `the raw-probe helper ${path} is missing (scripts/build-c-helpers builds it)`);
    const child = spawn(path, [], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child = child;
    createInterface({ input: child.stdout }).on('line', (line) => this.onLine(line));
    child.stderr.resume();
    child.stdin.on('error', () => {});
    const gone = (why: string) => {
      if (this.child !== child) return;
      this.child = undefined;
      for (const settle of [...this.acks.values()]) settle(`the raw-probe helper ${why}`);
    };
    child.on('error', (e) => gone(`failed: ${e.message}`));
    child.on('exit', (code, signal) => gone(`exited (${signal ?? code})`));
    return child;
  }

  private onLine(line: string): void {
    const words = line.split(' ');
    if (words[0] === 'seen' && words.length === 7) {
      const [, proto, source, , , port, token] = words as [string, string, string, string, string, string, string];
      const key = `${proto} ${token}`;
      const now = Date.now();
      this.sightings.set(key, { source, port: Number(port), at: now });
      for (const check of [...(this.watchers.get(key) ?? [])]) check();
      if (this.sightings.size > 10_000) for (const [k, s] of this.sightings) if (now - s.at > SIGHTING_TTL_MS) this.sightings.delete(k);
    } else if (words[0] === 'sent' || words[0] === 'sniffing') {
      this.acks.get(line)?.();
    } else if (words[0] === 'error') {
      const token = words[1];
      const why = words.slice(2).join(' ');
      // A send names its token; a sniff error (token 0) fails every pending sniff.
      const keys = token === '0' ? [...this.acks.keys()].filter((k) => k.startsWith('sniffing ')) : [`sent ${token}`];
      for (const k of keys) this.acks.get(k)?.(why);
    }
  }
}

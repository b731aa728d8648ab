/**
 * The built `pod-firewall` command as the kernel tests run it: one process
 * per command (as an operator runs it), synchronously or several at once,
 * with its exit code, output and the signal that ended it; and the probe's
 * JSON read back.
 */
import { spawn, spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const MAIN = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist', 'main.js');

export interface Run {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export function cliSync(name: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): Run {
  const r = spawnSync(process.execPath, [MAIN, '--name', name, ...args], { encoding: 'utf8', timeout: 120_000, env: { ...process.env, ...env } });
  return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

/** Runs a command; `killAfterMs` sends SIGKILL that long after the start (if it still runs). */
export function cli(name: string, args: readonly string[], o: { env?: NodeJS.ProcessEnv; killAfterMs?: number; input?: string } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, '--name', name, ...args], { env: { ...process.env, ...o.env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdin.end(o.input ?? '');
    const killer = o.killAfterMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), o.killAfterMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (killer) clearTimeout(killer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** Output of a command that must succeed; anything else fails with what it printed. */
export function must(r: Run, what: string): string {
  if (r.code !== 0) throw new Error(`pod-firewall ${what}: exit ${r.code ?? r.signal}\n${r.stderr}${r.stdout}`);
  return r.stdout;
}

export interface ProbeJson {
  readonly results: Record<string, boolean>;
  readonly denied: string[];
  readonly failedAgents: Record<string, string>;
}

export function probeJson(name: string, timeoutMs = 1500): ProbeJson {
  const r = cliSync(name, ['probe', '--json', '--timeout', String(timeoutMs)]);
  // A failed agent exits 1 after printing the JSON: the caller looks at failedAgents.
  if (r.code !== 0 && !r.stdout.trim().startsWith('{')) throw new Error(`pod-firewall probe: exit ${r.code}\n${r.stderr}`);
  return JSON.parse(r.stdout) as ProbeJson;
}

export interface StatusJson {
  readonly policies: string[];
  readonly enforced: boolean;
  readonly mismatches: string[];
  readonly interrupted?: string;
  readonly endpoints: { pod: string; ip: string; ingress: boolean; egress: boolean; labels: Record<string, string> }[];
}

export const statusJson = (name: string): StatusJson => JSON.parse(must(cliSync(name, ['status', '--json']), 'status')) as StatusJson;

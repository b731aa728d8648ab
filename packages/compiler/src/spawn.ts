/** `runProgram`: a child process without a shell, its output collected. */
import { spawn } from 'node:child_process';

export interface Completed {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a program without a shell and collects its output; rejects only if it cannot start. */
export function runProgram(file: string, args: readonly string[], options: { cwd?: string; signal?: AbortSignal } = {}): Promise<Completed> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { cwd: options.cwd, signal: options.signal, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

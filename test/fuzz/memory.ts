/**
 * Runs fuzz cases in a child process to weigh their memory: the cases are
 * written to a directory, memory-child.ts is bundled with esbuild (the
 * packages from their sources) and started with --expose-gc and a heap cap,
 * and its per-case figures are read back.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import type { FuzzCase } from './harness.js';

const repo = fileURLToPath(new URL('../..', import.meta.url));

export interface CaseMemory {
  readonly label: string;
  /** Bytes the heap and array buffers grew by while the case ran. */
  readonly grew: number;
  /** Bytes still held after a collection, since the child started. */
  readonly retained: number;
}

export interface MemoryRun {
  readonly results: CaseMemory[];
  /** Set when the child died (a heap cap blown, a crash): the case it was running, and how it ended. */
  readonly died?: { label: string; how: string };
}

/** The heap cap of the child, MiB: a case that needs more kills it. */
export const HEAP_CAP_MB = 1024;

export async function weighCases(cases: readonly FuzzCase[]): Promise<MemoryRun> {
  // Inside the repository, so that the bundle finds what it leaves out (koffi) in node_modules.
  const out = join(repo, 'node_modules', '.cache', 'tsbpf-fuzz');
  mkdirSync(out, { recursive: true });
  const bundle = join(out, `memory-child-${process.pid}.mjs`);
  const src = (pkg: string) => join(repo, 'packages', pkg, 'src', 'index.ts');
  await build({
    entryPoints: [join(repo, 'test', 'fuzz', 'memory-child.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    outfile: bundle,
    alias: { '@tsbpf/object': src('object'), '@tsbpf/maps': src('maps'), '@tsbpf/loader': src('loader') },
    external: ['koffi'],
    logLevel: 'warning',
  });
  const dir = mkdtempSync(join(tmpdir(), 'tsbpf-fuzz-memory-'));
  try {
    const labels = new Map<string, string>();
    cases.forEach((c, i) => {
      const file = `${String(i).padStart(5, '0')}.${c.kind}`;
      labels.set(file, c.label);
      writeFileSync(join(dir, file), c.bytes);
    });
    const r = spawnSync(process.execPath, ['--expose-gc', `--max-old-space-size=${HEAP_CAP_MB}`, bundle, dir], {
      encoding: 'utf8',
      maxBuffer: 64 << 20,
      timeout: 300_000,
    });
    const results = r.stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { file: string; grew: number; retained: number })
      .map((x) => ({ label: labels.get(x.file) ?? x.file, grew: x.grew, retained: x.retained }));
    if (r.status === 0) return { results };
    const last = /case (\S+)\n(?![\s\S]*case )/.exec(r.stderr)?.[1] ?? '?';
    const how = r.error ? String(r.error) : `exit ${r.status ?? r.signal}: ${r.stderr.split('\n').slice(-8).join(' ')}`;
    return { results, died: { label: labels.get(last) ?? last, how } };
  } finally {
    rmSync(dir, { recursive: true, force: true });
    rmSync(bundle, { force: true });
  }
}

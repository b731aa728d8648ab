/** `findClang`: the clang 14-19 with the BPF target to build with, and why each other candidate was refused. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { ClangNotFoundError } from './errors.js';

const run = promisify(execFile);

export interface ClangInfo {
  readonly path: string;
  readonly version: { readonly major: number; readonly minor: number; readonly patch: number };
  /** The first line of `clang --version`, which goes into cache keys. */
  readonly versionText: string;
  /** `llvm-strip` of the same version when installed, else the unversioned one (may not exist). */
  readonly strip: string;
}

export const MIN_CLANG = 14;
export const MAX_CLANG = 19;

export interface FindClangOptions {
  /** Defaults to process.env. */
  readonly env?: NodeJS.ProcessEnv;
}

const found = new Map<string, Promise<ClangInfo>>();

/**
 * The clang to build with: `TSBPF_CLANG` if set, else the newest of
 * `clang-19` ... `clang-14` on PATH, else `clang`. A candidate must report a
 * version from 14 to 19 and list the BPF target among its registered
 * targets. Memoised per process.
 */
export function findClang(options: FindClangOptions = {}): Promise<ClangInfo> {
  const env = options.env ?? process.env;
  const key = `${env.TSBPF_CLANG ?? ''}\0${env.PATH ?? ''}`;
  let p = found.get(key);
  if (!p) {
    p = search(env);
    found.set(key, p);
    p.catch(() => found.delete(key));
  }
  return p;
}

async function search(env: NodeJS.ProcessEnv): Promise<ClangInfo> {
  const explicit = env.TSBPF_CLANG;
  const candidates = explicit ? [explicit] : [...Array.from({ length: MAX_CLANG - MIN_CLANG + 1 }, (_, i) => `clang-${MAX_CLANG - i}`), 'clang'];
  const tried: string[] = [];
  for (const candidate of candidates) {
    const result = await probe(candidate, env);
    if (typeof result === 'string') {
      tried.push(`${candidate}: ${result}`);
      if (explicit) throw new ClangNotFoundError(`TSBPF_CLANG=${explicit} is not usable: ${result}`, tried);
      continue;
    }
    return result;
  }
  throw new ClangNotFoundError(`no clang ${MIN_CLANG} to ${MAX_CLANG} with the BPF target found`, tried);
}

/** A ClangInfo, or why the candidate is refused. */
async function probe(candidate: string, env: NodeJS.ProcessEnv): Promise<ClangInfo | string> {
  let versionOut: string;
  try {
    versionOut = (await run(candidate, ['--version'], { env })).stdout;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'not found' : `--version failed: ${(e as Error).message}`;
  }
  const m = /clang version (\d+)\.(\d+)\.(\d+)/.exec(versionOut);
  if (!m) return `unrecognised version output: ${versionOut.split('\n')[0]}`;
  const version = { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]) };
  if (version.major < MIN_CLANG || version.major > MAX_CLANG) return `version ${version.major} is outside ${MIN_CLANG}-${MAX_CLANG}`;
  let targets: string;
  try {
    targets = (await run(candidate, ['-print-targets'], { env })).stdout;
  } catch (e) {
    return `-print-targets failed: ${(e as Error).message}`;
  }
  if (!/^\s+bpf\s/m.test(targets)) return 'built without the BPF target';
  const path = await resolveOnPath(candidate, env);
  const strip = (await onPath(`llvm-strip-${version.major}`, env)) ?? 'llvm-strip';
  return { path, version, versionText: versionOut.split('\n')[0]!.trim(), strip };
}

async function onPath(cmd: string, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  try {
    return (await run('sh', ['-c', 'command -v "$1"', 'sh', cmd], { env })).stdout.trim() || undefined;
  } catch {
    return undefined;
  }
}

async function resolveOnPath(cmd: string, env: NodeJS.ProcessEnv): Promise<string> {
  if (cmd.includes('/')) return cmd;
  return (await onPath(cmd, env)) ?? cmd;
}

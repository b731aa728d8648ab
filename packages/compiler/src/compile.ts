/** `compile`: one BPF C file through clang (and llvm-strip), with the cache, vmlinux.h and typed failures. */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { BuildCache, atomicWrite, defaultCacheDir, sha256 } from './cache.js';
import { parseDepfile } from './depfile.js';
import { isError, parseDiagnostics, type Diagnostic } from './diagnostics.js';
import { ClangNotFoundError, CompileError, CompilerError, StripError } from './errors.js';
import { findClang, type ClangInfo } from './find-clang.js';
import { hostFacts } from './host.js';
import { runProgram } from './spawn.js';
import { ensureVmlinuxHeader } from './vmlinux.js';

export type BpfTarget = 'bpfel' | 'bpfeb' | 'bpf';

export interface CompileOptions {
  /** The `.bpf.c` file. */
  readonly source: string;
  /** Also write the object here. */
  readonly output?: string;
  readonly includeDirs?: readonly string[];
  /** `NAME` or `NAME=VALUE`, as for `-D`. */
  readonly defines?: readonly string[];
  /** Default: the host's byte order (`bpfel` on x86 and arm64). */
  readonly target?: BpfTarget;
  /** `-mcpu`; default `v3` (ALU32, JMP32; Linux 5.1+). */
  readonly cpu?: string;
  /** `llvm-strip -g` the object (DWARF goes, BTF stays). Default true. */
  readonly strip?: boolean;
  /** Use and fill the build cache. Default true. */
  readonly cache?: boolean;
  /** Default: `$TSBPF_CACHE_DIR`, else `$XDG_CACHE_HOME/tsbpf`, else `~/.cache/tsbpf`. */
  readonly cacheDir?: string;
  /** The cache's size bound; least recently used entries go past it. Default 256 MiB. */
  readonly cacheMaxBytes?: number;
  /**
   * Generate `vmlinux.h` from a kernel BTF (true: `/sys/kernel/btf/vmlinux`)
   * once per BTF content, and put it on the include path.
   */
  readonly vmlinux?: boolean | string;
  /** More clang arguments, after ours. */
  readonly extraArgs?: readonly string[];
  /** The clang to use (default: `findClang()`). */
  readonly clang?: ClangInfo;
  readonly signal?: AbortSignal;
}

export interface CompileResult {
  readonly source: string;
  readonly object: Uint8Array;
  readonly output: string | undefined;
  /** Warnings (a failed compile throws CompileError instead). */
  readonly diagnostics: readonly Diagnostic[];
  /** True when the object came from the cache and clang did not run. */
  readonly cached: boolean;
  readonly argv: readonly string[];
  readonly clang: ClangInfo;
}

/**
 * Compiles one BPF C file with clang (spawned without a shell). Always
 * `-O2 -g` (BTF needs debug info), reproducible (`-fno-ident`, debug paths
 * relative to the source's directory), host facts (`__TARGET_ARCH_*`, the
 * multiarch include dir) filled in. Throws `CompileError` with parsed
 * diagnostics when clang refuses the source.
 */
export async function compile(options: CompileOptions): Promise<CompileResult> {
  const clang = options.clang ?? (await findClang());
  const source = resolve(options.source);
  const srcDir = dirname(source);
  const host = hostFacts();
  const cacheDir = options.cacheDir ?? defaultCacheDir();
  const includeDirs = [...(options.includeDirs ?? [])].map((d) => resolve(d));
  if (options.vmlinux) {
    includeDirs.unshift(ensureVmlinuxHeader({ btfPath: options.vmlinux === true ? undefined : options.vmlinux, cacheDir }));
  }

  const args = [
    '-target',
    options.target ?? host.bpfTarget,
    '-O2',
    '-g',
    '-Wall',
    `-mcpu=${options.cpu ?? 'v3'}`,
    '-fno-ident',
    `-fdebug-prefix-map=${srcDir}=.`,
    '-fdebug-compilation-dir=.',
    `-D__TARGET_ARCH_${host.targetArch}`,
    ...(host.multiarchInclude ? ['-idirafter', host.multiarchInclude] : []),
    ...includeDirs.flatMap((d) => ['-I', d]),
    ...(options.defines ?? []).map((d) => `-D${d}`),
    // Carets stay on: without them clang prints no fix-its. The parser skips the snippet lines.
    '-fno-color-diagnostics',
    '-fdiagnostics-parseable-fixits',
    ...(options.extraArgs ?? []),
  ];
  const strip = options.strip ?? true;
  const key = sha256(JSON.stringify({ v: 1, clang: clang.versionText, path: clang.path, args, strip, source, text: sha256(readSource(source)) }));
  const cache = options.cache === false ? undefined : new BuildCache(cacheDir, options.cacheMaxBytes);

  const hit = cache?.lookup(key);
  if (hit) {
    if (options.output) writeOutput(options.output, hit.object);
    return {
      source: options.source,
      object: hit.object,
      output: options.output,
      diagnostics: parseDiagnostics(hit.warnings),
      cached: true,
      argv: [clang.path, ...args, '-c', source],
      clang,
    };
  }

  const tmp = mkdtempSync(join(tmpdir(), 'tsbpf-cc-'));
  try {
    const out = join(tmp, 'out.o');
    const dep = join(tmp, 'out.d');
    const argv = [...args, '-MD', '-MF', dep, '-c', source, '-o', out];
    const r = await runProgram(clang.path, argv, { cwd: srcDir, signal: options.signal }).catch((e: Error) => {
      if (e.name === 'AbortError') throw e; // the caller's own abort, as Node reports it
      throw new ClangNotFoundError(`${clang.path} could not be started: ${e.message}`, [], { cause: e });
    });
    const diagnostics = parseDiagnostics(r.stderr);
    if (r.code !== 0 || diagnostics.some(isError)) {
      throw new CompileError(options.source, diagnostics, [clang.path, ...argv], r.stderr, r.code);
    }
    if (strip) {
      const s = await runProgram(clang.strip, ['-g', out]).catch((e: Error) => ({ code: -1, stdout: '', stderr: e.message }));
      if (s.code !== 0) throw new StripError(options.source, [clang.strip, '-g', out], s.stderr);
    }
    const object = new Uint8Array(readFileSync(out));
    const headers = parseDepfile(readFileSync(dep, 'utf8'))
      .map((p) => resolve(srcDir, p))
      .filter((p) => p !== source);
    try {
      cache?.store(key, headers, object, r.stderr);
    } catch {
      // A cache that cannot be written (read-only, full) only costs the next build a clang run.
    }
    if (options.output) writeOutput(options.output, object);
    return { source: options.source, object, output: options.output, diagnostics, cached: false, argv: [clang.path, ...argv], clang };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

function readSource(source: string): Uint8Array {
  try {
    return readFileSync(source);
  } catch (e) {
    throw CompilerError.io('SOURCE_UNREADABLE', source, e);
  }
}

function writeOutput(output: string, object: Uint8Array): void {
  try {
    atomicWrite(resolve(output), object);
  } catch (e) {
    throw CompilerError.io('OUTPUT_UNWRITABLE', output, e);
  }
}

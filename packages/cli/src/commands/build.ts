/** `tsbpf build`: compiles BPF C sources in parallel and prints clang's diagnostics like tsc (or as JSON). */
import { availableParallelism } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { CompileError, compile, findClang, formatDiagnostic, type BpfTarget, type CompileResult, type Diagnostic } from '@tsbpf/compiler';
import { TsbpfError } from '@tsbpf/object';
import { CliError, type CliIo } from '../io.js';

export interface BuildOptions {
  output?: string;
  outDir?: string;
  include: string[];
  define: string[];
  vmlinux?: boolean;
  target?: BpfTarget;
  json?: boolean;
  cache: boolean;
  /** Progress lines (default: when stderr is a terminal). */
  progress?: boolean;
  color?: boolean;
}

interface Outcome {
  source: string;
  output: string;
  ok: boolean;
  cached: boolean;
  diagnostics: Diagnostic[];
  error?: string;
  hint?: string;
}

/** `x.bpf.c` → `x.bpf.o`, `x.c` → `x.o`. */
export function objectName(source: string): string {
  const base = basename(source);
  return base.endsWith('.c') ? `${base.slice(0, -2)}.o` : `${base}.o`;
}

/** `tsbpf build`: compiles every source in parallel; exit code 1 if any fails. */
export async function build(io: CliIo, sources: string[], opts: BuildOptions): Promise<number> {
  if (opts.output && sources.length !== 1) throw new CliError('-o names one output; with several sources use --out-dir', 1, 'USAGE');
  const clang = await findClang(); // a ClangNotFoundError is printed as it is
  const outputOf = (s: string) =>
    opts.output ? resolve(opts.output) : opts.outDir ? join(resolve(opts.outDir), objectName(s)) : join(resolve(s, '..'), objectName(s));
  const progress = opts.progress ?? (!opts.json && process.stderr.isTTY === true);
  let done = 0;

  const one = async (source: string): Promise<Outcome> => {
    const output = outputOf(source);
    let r: CompileResult;
    try {
      r = await compile({
        source,
        output,
        includeDirs: opts.include,
        defines: opts.define,
        target: opts.target,
        vmlinux: opts.vmlinux,
        cache: opts.cache,
        clang,
      });
    } catch (e) {
      done++;
      if (progress) io.err(`[${done}/${sources.length}] ✗ ${source}\n`);
      if (e instanceof CompileError) {
        return { source, output, ok: false, cached: false, diagnostics: [...e.diagnostics], error: e.message, hint: e.hint };
      }
      // Any other typed failure (an unreadable source, an unwritable output) is this source's; a bug is everyone's.
      if (!TsbpfError.is(e)) throw e;
      return { source, output, ok: false, cached: false, diagnostics: [], error: e.message };
    }
    done++;
    if (progress) io.err(`[${done}/${sources.length}] ✓ ${source} → ${output}${r.cached ? ' (cached)' : ''}\n`);
    return { source, output, ok: true, cached: r.cached, diagnostics: [...r.diagnostics] };
  };

  const outcomes = await pool(sources, Math.max(1, availableParallelism()), one);
  if (opts.json) {
    io.out(JSON.stringify(outcomes, null, 2) + '\n');
  } else {
    for (const o of outcomes) {
      for (const d of o.diagnostics) io.err(formatDiagnostic(d, { color: opts.color }) + '\n');
      if (!o.ok && o.diagnostics.length === 0) io.err(`tsbpf: ${o.error}\n`);
      if (o.hint) io.err(`hint: ${o.hint}\n\n`);
    }
    const failed = outcomes.filter((o) => !o.ok).length;
    // A failure without diagnostics (an unreadable source, an unwritable output) is one error.
    const errors = outcomes.reduce((n, o) => n + (o.ok || o.diagnostics.length > 0 ? o.diagnostics.filter((d) => d.severity.endsWith('error')).length : 1), 0);
    if (failed > 0) io.err(`Found ${errors} error${errors === 1 ? '' : 's'} in ${failed} file${failed === 1 ? '' : 's'}.\n`);
  }
  return outcomes.every((o) => o.ok) ? 0 : 1;
}

/** Runs `fn` over `items` with at most `limit` at once, keeping the input order in the result. */
async function pool<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

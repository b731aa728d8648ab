/** The introspection tests' BPF object (test/support/bpf/inspect.bpf.c), compiled once per run with the build cache. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compile } from '@tsbpf/compiler';
import { repoRoot } from './env.js';

let built: Promise<string> | undefined;

/** The path of the compiled object (in a temporary directory). */
export function inspectObject(): Promise<string> {
  built ??= (async () => {
    const output = join(mkdtempSync(join(tmpdir(), 'tsbpf-inspect-obj-')), 'inspect.bpf.o');
    await compile({ source: join(repoRoot, 'test/support/bpf/inspect.bpf.c'), output });
    return output;
  })();
  return built;
}

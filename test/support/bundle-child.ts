/**
 * A test's child script, bundled with esbuild from this tree's sources into
 * test-results/ (next to node_modules, where the packages left external
 * resolve): the child runs the code under test, not a stale dist/.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { build, type BuildOptions } from 'esbuild';
import { repoRoot } from './env.js';

/**
 * Bundles `entry` (a path from the repository root) to
 * test-results/<name>-<pid>.mjs and returns that path. `options` add to or
 * replace the defaults: ESM for Node 20, every package external but
 * @tsbpf/object, taken from its sources.
 */
export async function bundleChild(entry: string, name: string, options: BuildOptions = {}): Promise<string> {
  const out = join(repoRoot, 'test-results', `${name}-${process.pid}.mjs`);
  mkdirSync(join(repoRoot, 'test-results'), { recursive: true });
  await build({
    entryPoints: [join(repoRoot, entry)],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outfile: out,
    alias: { '@tsbpf/object': join(repoRoot, 'packages/object/src/index.ts') },
    packages: 'external',
    logLevel: 'error',
    ...options,
  });
  return out;
}

const packageSource = (pkg: string) => join(repoRoot, 'packages', pkg, 'src', 'index.ts');

/**
 * A child bundled with every @tsbpf package from this tree's sources (the
 * code under test, not dist/) and only koffi left external, given a
 * require() for it: for children that load programs, use maps or ask V8.
 */
export function bundleSourcesChild(entry: string, name: string): Promise<string> {
  return bundleChild(entry, name, {
    alias: { '@tsbpf/object': packageSource('object'), '@tsbpf/loader': packageSource('loader'), '@tsbpf/maps': packageSource('maps') },
    packages: undefined,
    external: ['koffi'],
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  });
}

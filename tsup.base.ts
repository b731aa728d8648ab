/** The build every package shares (tsup): ESM and CJS with types and source maps, for Node 20; each adds what it keeps external. */
import type { Options } from 'tsup';

export function library(external: string[] = []): Options {
  return { entry: ['src/index.ts'], format: ['esm', 'cjs'], dts: true, sourcemap: true, clean: true, target: 'node20', external };
}

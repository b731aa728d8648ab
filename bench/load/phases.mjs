#!/usr/bin/env node
// bench/load/phases.mjs: bundles phases.ts (which reaches into the packages' sources) with esbuild into bench/.build/ and runs it: each phase of a load timed apart.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { root } from '../support/compare.mjs';

const out = join(root, 'bench/.build/load-phases.mjs');
execFileSync(
  join(root, 'node_modules/.bin/esbuild'),
  [join(root, 'bench/load/phases.ts'), '--bundle', '--platform=node', '--format=esm', '--packages=external', `--outfile=${out}`, '--log-level=warning'],
  { stdio: 'inherit' },
);
await import(out);

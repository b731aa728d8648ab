#!/usr/bin/env node
// bench/load/alloc.mjs: bundles alloc.ts (which reaches into the packages' sources) with esbuild and runs it twice: bytes a call per phase in a 64 MB semi-space, then collections per 10,000 loads in a 1 MB one.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { root } from '../support/compare.mjs';

const out = join(root, 'bench/.build/load-alloc.mjs');
execFileSync(
  join(root, 'node_modules/.bin/esbuild'),
  [join(root, 'bench/load/alloc.ts'), '--bundle', '--platform=node', '--format=esm', '--packages=external', `--outfile=${out}`, '--log-level=warning'],
  { stdio: 'inherit' },
);
const run = (flags, env) => execFileSync(process.execPath, [...flags, out], { stdio: 'inherit', env: { ...process.env, ...env } });
run(['--min-semi-space-size=64', '--max-semi-space-size=64'], { MODE: 'bytes' });
run(['--max-semi-space-size=1'], { MODE: 'parse' });
if (process.env.KERNEL !== '0') run(['--max-semi-space-size=1'], { MODE: 'whole' });

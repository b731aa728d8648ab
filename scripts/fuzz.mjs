#!/usr/bin/env node
/**
 * The long fuzz run: the fuzz suite (test/fuzz) with a random seed, for as
 * long as asked. The seed is printed first, so a failure is replayed with
 * `--seed S` (the failing case's own FUZZ_CASE is in the failure report).
 *
 *   npm run fuzz -- --seconds 600            ten minutes of random cases
 *   npm run fuzz -- --seed 1234 --case 57    replay one case
 */
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({ options: { seconds: { type: 'string', default: '300' }, seed: { type: 'string' }, case: { type: 'string' } } });
const seconds = Number(values.seconds);
if (!Number.isFinite(seconds) || seconds <= 0) {
  console.error('fuzz: --seconds takes a positive number');
  process.exit(2);
}
const seed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 32) : Number(values.seed);
if (!Number.isInteger(seed) || seed < 0 || seed >= 2 ** 32) {
  console.error('fuzz: --seed takes an integer in [0, 2^32)');
  process.exit(2);
}
console.log(`fuzz: seed ${seed}, ${seconds} s (replay with: npm run fuzz -- --seed ${seed} --seconds ${seconds})`);
const env = { ...process.env, FUZZ_SEED: String(seed), FUZZ_SECONDS: String(seconds) };
if (values.case !== undefined) env.FUZZ_CASE = values.case;
const vitest = join(root, 'node_modules', 'vitest', 'vitest.mjs');
const only = values.case === undefined ? [] : ['-t', 'replays case'];
const r = spawnSync(process.execPath, [vitest, 'run', 'test/fuzz/fuzz.test.ts', ...only], { cwd: root, env, stdio: 'inherit' });
process.exit(r.status ?? 1);

#!/usr/bin/env node
// Runs every bench/<name>/run.mjs in turn (npm run bench).
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const only = process.argv.slice(2);
for (const name of readdirSync(here).sort()) {
  const script = join(here, name, 'run.mjs');
  if (!existsSync(script) || (only.length > 0 && !only.includes(name))) continue;
  execFileSync(process.execPath, [script], { stdio: 'inherit' });
}

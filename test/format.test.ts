/**
 * The code is as Prettier formats it (.prettierrc.json): `npm run
 * format:check` over the sources, tests, scripts and benchmarks passes, so CI
 * (which runs this suite) enforces the formatter.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { describeNeeds, hasFile, repoRoot } from './support/env.js';

describeNeeds([hasFile(join(repoRoot, 'node_modules/.bin/prettier'))], 'formatting', () => {
  it('every source file is formatted (npm run format:check)', () => {
    // The script is the one list of what is checked; this test only runs it.
    const r = spawnSync('npm', ['run', '--silent', 'format:check'], { cwd: repoRoot, encoding: 'utf8' });
    const unformatted = `${r.stdout}${r.stderr}`
      .split('\n')
      .filter((l) => l.startsWith('[warn] ') && !l.includes('Code style issues'))
      .map((l) => l.slice('[warn] '.length));
    expect(unformatted, `not formatted as Prettier would (run \`npm run format\`): ${unformatted.join(', ')}`).toEqual([]);
    expect(r.status, r.stderr).toBe(0);
  }, 120_000);
});

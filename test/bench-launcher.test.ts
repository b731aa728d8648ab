/**
 * The benches' helper runner (bench/support/compare.mjs runJson): helpers
 * run from the launcher process, never forked from the bench's own (a fork
 * leaves the bench's heap copy-on-write and its next tsbpf round pays a
 * fault a page); their JSON comes back, a failure rejects with the helper's
 * standard error, and a script that used it still ends when its work does.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { expect, it } from 'vitest';
import { runJson } from '../bench/support/compare.mjs';
import { repoRoot } from './support/env.js';

it("runs a helper from another process than the bench's, and returns its one JSON object", async () => {
  const got = (await runJson('/bin/sh', ['-c', 'echo "{\\"parent\\": $PPID, \\"args\\": \\"$0\\"}"', 'x'])) as { parent: number; args: string };
  expect(got.args).toBe('x');
  expect(got.parent).toBeGreaterThan(0);
  expect(got.parent).not.toBe(process.pid); // the launcher forked it, not this process
});

it("rejects with the helper's standard error when it fails, and when it prints no JSON", async () => {
  await expect(runJson('/bin/sh', ['-c', 'echo broken >&2; exit 3'])).rejects.toThrow(/broken/);
  await expect(runJson('/bin/sh', ['-c', 'echo not json'])).rejects.toThrow(/not one JSON object/);
});

it('leaves a script free to end once its work is done (the launcher holds no event loop)', () => {
  const compare = pathToFileURL(join(repoRoot, 'bench/support/compare.mjs')).href;
  const script = `const { runJson } = await import(${JSON.stringify(compare)}); console.log(JSON.stringify(await runJson('/bin/echo', ['{"ok":true}'])));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
  expect(r.error).toBeUndefined(); // no timeout
  expect(r.status, r.stderr).toBe(0);
  expect(JSON.parse(r.stdout.trim())).toEqual({ ok: true });
});

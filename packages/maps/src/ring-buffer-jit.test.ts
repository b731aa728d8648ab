import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { bundleSourcesChild } from '../../../test/support/bundle-child.js';
import { describeNeeds, isRoot } from '../../../test/support/env.js';

// What a ring buffer's loop asks on every record stays optimized through the
// first close() of another reader in the process: close() used to write
// `closed` fields V8 had taken for constants (written once), and every
// function that had read one was deoptimized. Asked of V8 itself, in a child.
let child = '';

describeNeeds([isRoot()], 'a ring buffer under V8', () => {
  beforeAll(async () => {
    child = await bundleSourcesChild('test/support/ring-jit-child.ts', 'ring-buffer-jit');
  }, 60_000);
  afterAll(() => {
    if (child) rmSync(child, { force: true });
  });

  it('stays optimized through the first close() of another reader', () => {
    const r = spawnSync(process.execPath, ['--allow-natives-syntax', child], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    const got = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as Record<string, boolean[]>;
    expect(got).toEqual({ optimized: [true, true], afterFirstClose: [true, true] });
  });
});

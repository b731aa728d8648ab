import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { bundleSourcesChild } from '../../../test/support/bundle-child.js';
import { describeNeeds, isRoot } from '../../../test/support/env.js';

// The hot paths stay optimized: the first close() of a map in a process used
// to deoptimize TypedMap.set and get (close() rewrote fields V8 had taken for
// constants), and each new map's first call deoptimized them again (its
// bound syscall was a new call target). Asked of V8 itself, in a child.
let child = '';

describeNeeds([isRoot()], 'TypedMap set and get under V8', () => {
  beforeAll(async () => {
    child = await bundleSourcesChild('test/support/jit-child.ts', 'typed-map-jit');
  }, 60_000);
  afterAll(() => {
    if (child) rmSync(child, { force: true });
  });

  it('stay optimized through the first close() of another map and the first calls on a new one', () => {
    const r = spawnSync(process.execPath, ['--allow-natives-syntax', child], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    const got = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as Record<string, boolean[]>;
    expect(got).toEqual({ optimized: [true, true], afterFirstClose: [true, true], afterAnotherMap: [true, true] });
  });
});

import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { bundleChild } from '../../../test/support/bundle-child.js';
import { describeNeeds, isRoot, repoRoot } from '../../../test/support/env.js';

// The hot paths stay optimized: the first close() of a map in a process used
// to deoptimize TypedMap.set and get (close() rewrote fields V8 had taken for
// constants), and each new map's first call deoptimized them again (its
// bound syscall was a new call target). Asked of V8 itself, in a child.
let child = '';
const src = (pkg: string) => join(repoRoot, 'packages', pkg, 'src', 'index.ts');

describeNeeds([isRoot()], 'TypedMap set and get under V8', () => {
  beforeAll(async () => {
    child = await bundleChild('test/support/jit-child.ts', 'typed-map-jit', {
      alias: { '@tsbpf/object': src('object'), '@tsbpf/loader': src('loader'), '@tsbpf/maps': src('maps') },
      packages: undefined,
      external: ['koffi'],
      banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
    });
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

/**
 * The built packages work in plain Node, outside vitest's module interop:
 * ESM import and CJS require of @tsbpf/object, and the CLI bundle.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { fixturePath } from '@tsbpf/fixtures';
import { describeNeeds, hasFile, repoRoot } from './support/env.js';

const esm = join(repoRoot, 'packages/object/dist/index.js');
const cjs = join(repoRoot, 'packages/object/dist/index.cjs');
const obj = fixturePath('maps_btf.bpf.o');

describeNeeds([hasFile(esm), hasFile(cjs)], 'built @tsbpf/object', () => {
  it('imports as ESM and parses an object', () => {
    const out = execFileSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `import { parseCollectionSpec } from ${JSON.stringify(esm)}; import { readFileSync } from 'node:fs';
       const s = parseCollectionSpec(readFileSync(${JSON.stringify(obj)})); console.log(Object.keys(s.maps).length);`,
      ],
      { encoding: 'utf8' },
    );
    expect(Number(out)).toBeGreaterThan(5);
  });

  it('requires as CJS and parses an object', () => {
    const out = execFileSync(
      process.execPath,
      [
        '-e',
        `const { parseCollectionSpec } = require(${JSON.stringify(cjs)});
       const s = parseCollectionSpec(require('fs').readFileSync(${JSON.stringify(obj)})); console.log(Object.keys(s.programs).length);`,
      ],
      { encoding: 'utf8' },
    );
    expect(Number(out)).toBe(2);
  });
});

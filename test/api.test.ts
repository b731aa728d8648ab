/**
 * Public APIs change only on purpose: each package's built `.d.ts` (without
 * comments) must equal its checked-in snapshot in api/. A deliberate change
 * is committed with `npm run api:update`, so review sees it.
 */
import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { API_PACKAGES, apiOf, builtDeclarations, snapshotPath } from '../scripts/api-snapshot.mjs';
import { describeNeeds, hasFile } from './support/env.js';

describeNeeds(
  API_PACKAGES.map((pkg) => hasFile(builtDeclarations(pkg))),
  'API snapshots',
  () => {
    for (const pkg of API_PACKAGES) {
      it(`${pkg}: the built API is api/${pkg}.d.ts`, () => {
        const built = apiOf(readFileSync(builtDeclarations(pkg), 'utf8'), `${pkg}/dist/index.d.ts`);
        const snapshot = readFileSync(snapshotPath(pkg), 'utf8');
        expect(built, `the public API of packages/${pkg} changed: if that is deliberate, run \`npm run api:update\` and commit api/${pkg}.d.ts`).toBe(snapshot);
      });
    }

    it('comments and layout are not API: only declarations change a snapshot', () => {
      const a = apiOf('/** one */\nexport declare function f(x: number): void;\n');
      const b = apiOf('// two\nexport declare function f(\n  x: number,\n): void;\n');
      expect(a).toBe(b);
      expect(apiOf('export declare function f(x: string): void;\n')).not.toBe(a);
    });
  },
);

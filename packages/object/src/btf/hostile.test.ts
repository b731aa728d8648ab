import { describe, expect, it } from 'vitest';
import { TsbpfError } from '../errors.js';
import { hostileBtfs } from '../testing/hostile-btf.js';
import { Btf } from './btf.js';
import { formatBtfC } from './format-c.js';
import { formatBtfRaw } from './format-raw.js';

/** Hostile BTF through every walk over types: an answer or a typed error, each within a time budget. */
describe('BTF built to make recursion blow up', () => {
  const BUDGET_MS = 1000;
  const walks: [string, (btf: Btf, root: number) => unknown][] = [
    ['typeName', (btf, root) => btf.typeName(root)],
    ['sizeof', (btf, root) => btf.sizeof(root)],
    ['alignof', (btf, root) => btf.alignof(root)],
    ['resolve', (btf, root) => btf.resolve(root)],
    [
      'every type decoded and named',
      (btf) => {
        for (const t of btf.types()) btf.typeName(t.id);
      },
    ],
    ['raw dump', (btf) => formatBtfRaw(btf)],
    ['C header', (btf) => formatBtfC(btf)],
  ];
  for (const h of hostileBtfs()) {
    for (const [what, walk] of walks) {
      it(`${h.name}: ${what}`, () => {
        const start = performance.now();
        try {
          walk(Btf.parse(h.bytes), h.root);
        } catch (e) {
          if (!TsbpfError.is(e)) throw e;
        }
        expect(performance.now() - start).toBeLessThan(BUDGET_MS);
      });
    }
  }

  it('names a cycle as a cycle', () => {
    const loop = hostileBtfs().find((h) => h.name === 'struct containing itself')!;
    expect(() => Btf.parse(loop.bytes).alignof(loop.root)).toThrow(/contains itself by value/);
    expect(() => formatBtfC(Btf.parse(loop.bytes))).toThrow(/contains itself by value/);
    const proto = hostileBtfs().find((h) => h.name === 'self-referential function pointer')!;
    // The name refers back to itself: `...` where it would recurse.
    expect(Btf.parse(proto.bytes).typeName(proto.root)).toBe('... (*)(..., ...) *');
  });
});

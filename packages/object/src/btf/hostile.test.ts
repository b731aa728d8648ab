import { describe, expect, it } from 'vitest';
import { TsbpfError } from '../errors.js';
import { hostileBtfs } from '../testing/hostile-btf.js';
import { Btf } from './btf.js';
import { formatBtfC } from './format-c.js';
import { formatBtfRaw } from './format-raw.js';

/** Hostile BTF through every walk over types: an answer or a typed error, each within a time budget. */
describe('BTF built to make recursion blow up', () => {
  /** A second, and a millisecond more per KiB (the widest shapes are megabytes). */
  const budgetMs = (bytes: Uint8Array) => 1000 + bytes.length / 1024;
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
        // CPU time, not wall time: other tests share the machine.
        const start = process.cpuUsage();
        try {
          walk(Btf.parse(h.bytes), h.root);
        } catch (e) {
          if (!TsbpfError.is(e)) throw e;
        }
        const used = process.cpuUsage(start);
        expect((used.user + used.system) / 1000).toBeLessThan(budgetMs(h.bytes));
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

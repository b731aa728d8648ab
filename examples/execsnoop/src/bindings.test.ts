/**
 * bindings.ts is what tsbpf gen writes for execsnoop.bpf.c as it is. It is
 * checked in, not generated at build time, so that the example, its type
 * check and its build need no clang; this test (which has clang) fails when
 * it is stale. Types and codecs only (--no-embed): the object is compiled
 * at run time against the running kernel's vmlinux.h, so an embedded one
 * would differ from kernel to kernel, where the record layout does not.
 * Regenerate after changing `struct event`:
 *
 *   npx vitest run -u examples/execsnoop/src/bindings.test.ts
 */
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { compile } from '@tsbpf/compiler';
import { generateBindings } from '@tsbpf/maps';
import { parseCollectionSpec } from '@tsbpf/object';
import { describeNeeds, hasCommand, hasFile } from '../../../test/support/env.js';

describeNeeds([hasCommand('clang'), hasFile('/sys/kernel/btf/vmlinux')], 'the execsnoop bindings', () => {
  it('bindings.ts is what tsbpf gen --no-embed writes for the probe', async () => {
    const { object } = await compile({ source: fileURLToPath(new URL('./execsnoop.bpf.c', import.meta.url)), vmlinux: true });
    await expect(generateBindings(parseCollectionSpec(object), { source: 'execsnoop.bpf.o' })).toMatchFileSnapshot('./bindings.ts');
  });
});

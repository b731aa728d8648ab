/**
 * bindings.ts is what tsbpf gen writes for bpf/firewall.bpf.c as it is, and
 * layout.ts's REASONS name its `enum reason`. The bindings are checked in,
 * not generated at build time, so that the controller, its type check and
 * its unit tests need neither clang nor a build; this test (which has
 * clang) fails when they are stale. Regenerate after changing a map's
 * types in the C:
 *
 *   npx vitest run -u examples/pod-firewall/src/datapath/bindings.test.ts
 */
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { compile } from '@tsbpf/compiler';
import { generateBindings } from '@tsbpf/maps';
import { parseCollectionSpec } from '@tsbpf/object';
import { REASONS } from './layout.js';
import { describeNeeds, hasCommand } from '../../../../test/support/env.js';

const source = fileURLToPath(new URL('../../bpf/firewall.bpf.c', import.meta.url));

describeNeeds([hasCommand('clang')], 'the datapath bindings', () => {
  it('bindings.ts is what tsbpf gen writes for the datapath (types and codecs only, camelCase, addresses as text)', async () => {
    const { object } = await compile({ source });
    const text = generateBindings(parseCollectionSpec(object), {
      source: 'firewall.bpf.o',
      memberNames: 'camel',
      typedefs: { ipv4_addr: 'ipv4' },
    });
    await expect(text).toMatchFileSnapshot('./bindings.ts');
  });

  it('REASONS are the datapath\'s enum reason, in order', async () => {
    const { object } = await compile({ source });
    const reason = parseCollectionSpec(object).btf?.findByName('reason', 'enum');
    const named = reason!.values.filter((v) => v.name !== 'REASON_MAX');
    expect(named.map((v) => v.value)).toEqual(named.map((_, i) => i));
    expect(REASONS).toEqual(named.map((v) => v.name.replace(/^REASON_/, '').toLowerCase().replace(/_/g, '-')));
  });
});

/**
 * bindings.ts is what tsbpf gen writes for bpf/firewall.bpf.c as it is, and
 * layout.ts's REASONS name its `enum reason`. The bindings are checked in,
 * not generated at build time, so that the controller, its type check and
 * its unit tests need neither clang nor a build; this test (which has
 * clang) fails when they are stale. Regenerate after changing a map's
 * types in the C:
 *
 *   npx vitest run examples/pod-firewall/src/datapath/bindings.test.ts -u
 */
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { compile } from '@tsbpf/compiler';
import { codecFromBtf, decode, encode, generateBindings, type Codec } from '@tsbpf/maps';
import { parseCollectionSpec } from '@tsbpf/object';
import { mapCodecs } from './bindings.js';
import { REASONS } from './layout.js';
import { POLICY_MAP_CAPACITY, PORT_RANGE_MAP_CAPACITY } from '../policy/compile.js';
import { describeNeeds, hasCommand } from '../../../../test/support/env.js';

const source = fileURLToPath(new URL('../../bpf/firewall.bpf.c', import.meta.url));

describeNeeds([hasCommand('clang')], 'the datapath bindings', () => {
  it('bindings.ts is what tsbpf gen writes for the datapath (types and codecs only, camelCase, addresses as text)', async () => {
    const { object } = await compile({ source });
    const text = generateBindings(parseCollectionSpec(object), {
      source: 'firewall.bpf.o',
      memberNames: 'camel',
      typedefs: { ipv4_addr: 'ipv4', port_be: 'be16' },
    });
    await expect(text).toMatchFileSnapshot('./bindings.ts');
  });

  it('its codecs code as codecFromBtf does with the same options', async () => {
    const { object } = await compile({ source });
    const spec = parseCollectionSpec(object);
    for (const [name, codecs] of Object.entries(mapCodecs) as [string, Record<'key' | 'value', Codec<unknown>>][]) {
      const m = spec.maps[name]!;
      for (const [role, id] of [
        ['key', m.btfKeyTypeId],
        ['value', m.btfValueTypeId],
      ] as const) {
        if (role === 'key' && name === 'ipcache') continue; // CIDR text: no BTF type says so
        const fromBtf = codecFromBtf(spec.btf!, id, { memberNames: 'camel', typedefs: { ipv4_addr: 'ipv4', port_be: 'be16' } });
        const bytes = Uint8Array.from({ length: fromBtf.size }, (_, i) => (i * 37 + 11) & 0xff);
        const value = decode(fromBtf, bytes);
        expect(decode(codecs[role], bytes)).toEqual(value);
        expect(encode(codecs[role], value)).toEqual(encode(fromBtf, value));
      }
    }
  });

  it("REASONS are the datapath's enum reason, in order", async () => {
    const { object } = await compile({ source });
    const reason = parseCollectionSpec(object).btf?.findByName('reason', 'enum');
    const named = reason!.values.filter((v) => v.name !== 'REASON_MAX');
    expect(named.map((v) => v.value)).toEqual(named.map((_, i) => i));
    expect(REASONS).toEqual(
      named.map((v) =>
        v.name
          .replace(/^REASON_/, '')
          .toLowerCase()
          .replace(/_/g, '-'),
      ),
    );
  });

  it("the capacities the planner checks are the maps' max_entries", async () => {
    const { object } = await compile({ source });
    const maps = parseCollectionSpec(object).maps;
    expect(maps.policy!.maxEntries).toBe(POLICY_MAP_CAPACITY);
    expect(maps.port_ranges!.maxEntries).toBe(PORT_RANGE_MAP_CAPACITY);
  });
});

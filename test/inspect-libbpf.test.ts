/**
 * Differential test: `tsbpf inspect --json` against libbpf's own view of the
 * same object (bpf_object__open in a small C helper built against libbpf-dev).
 * Same programs (name, section, type, expected attach type, own instruction
 * count) and the same non-internal maps.
 */
import { execFileSync } from 'node:child_process';
import { expect, it } from 'vitest';
import { parseCollectionSpec } from '@tsbpf/object';
import { inspectJson } from 'tsbpf';
import { allFixtures, readFixture } from '@tsbpf/fixtures';
import { cHelperPath, describeNeeds, hasCHelper } from './support/env.js';

interface LibbpfView {
  programs: { name: string; section: string; type: string; attachType: string | null; instructions: number }[];
  maps: { name: string; type: string; keySize: number; valueSize: number; maxEntries: number; flags: number; internal?: boolean }[];
}

const byName = <T extends { name: string }>(xs: T[]) => [...xs].sort((a, b) => a.name.localeCompare(b.name));

describeNeeds([hasCHelper('libbpf-inspect')], 'inspect vs libbpf bpf_object__open', () => {
  const fixtures = allFixtures().filter((f) => f.libbpfOpens);
  it('has fixtures libbpf opens', () => expect(fixtures.length).toBeGreaterThan(3));

  for (const fixture of fixtures) {
    it(fixture.name, () => {
      const libbpf = JSON.parse(execFileSync(cHelperPath('libbpf-inspect'), [fixture.path], { encoding: 'utf8' })) as LibbpfView;
      const ours = inspectJson(parseCollectionSpec(readFixture(fixture.name)));
      expect(byName(ours.programs)).toEqual(byName(libbpf.programs));
      const internal = new Set(['data', 'rodata', 'bss']);
      const spec = parseCollectionSpec(readFixture(fixture.name));
      const ourMaps = ours.maps.filter((m) => !internal.has(spec.maps[m.name]!.kind));
      const theirMaps = libbpf.maps.filter((m) => !m.internal).map(({ internal: _, ...m }) => m);
      expect(byName(ourMaps)).toEqual(byName(theirMaps));
    });
  }
});

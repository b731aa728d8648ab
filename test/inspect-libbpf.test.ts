/**
 * Differential test: `tsbpf inspect --json` against libbpf's own view of the
 * same object (bpf_object__open in a small C helper built against libbpf-dev).
 * Same programs (name, section, type, expected attach type, own instruction
 * count) and the same non-internal maps.
 */
import { execFileSync, spawnSync } from 'node:child_process';
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

  // The manifest's claim that libbpf refuses these is itself checked against libbpf.
  for (const fixture of allFixtures().filter((f) => !f.libbpfOpens && f.endian === 'little' && !f.invalid)) {
    it(`${fixture.name}: libbpf 1.1 refuses it, as the manifest says`, () => {
      const r = spawnSync(cHelperPath('libbpf-inspect'), [fixture.path], { encoding: 'utf8' });
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/bpf_object__open_file/);
    });
  }

  for (const fixture of fixtures) {
    it(fixture.name, () => {
      const libbpf = JSON.parse(execFileSync(cHelperPath('libbpf-inspect'), [fixture.path], { encoding: 'utf8' })) as LibbpfView;
      const ours = inspectJson(parseCollectionSpec(readFixture(fixture.name)));
      if (fixture.libbpfUnknownSections) {
        // Sections newer than libbpf 1.1: it opens them as unspec, we know their types.
        for (const p of libbpf.programs) expect(p).toMatchObject({ type: 'unspec', attachType: null });
        for (const p of ours.programs) expect(p.type).not.toBe('unspec');
        const shape = (ps: LibbpfView['programs']) => byName(ps).map(({ name, section, instructions }) => ({ name, section, instructions }));
        expect(shape(ours.programs)).toEqual(shape(libbpf.programs));
      } else {
        expect(byName(ours.programs)).toEqual(byName(libbpf.programs));
      }
      const internal = new Set(['data', 'rodata', 'bss']);
      const spec = parseCollectionSpec(readFixture(fixture.name));
      const ourMaps = ours.maps.filter((m) => !internal.has(spec.maps[m.name]!.kind));
      const theirMaps = libbpf.maps.filter((m) => !m.internal).map(({ internal: _, ...m }) => m);
      expect(byName(ourMaps)).toEqual(byName(theirMaps));
    });
  }
});

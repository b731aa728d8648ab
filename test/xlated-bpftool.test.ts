/**
 * Differential test of the loader against libbpf: the same object loaded by
 * tsbpf and by `bpftool prog loadall` (libbpf) must give the kernel the same
 * program. Compared on `bpftool prog dump xlated` of each program, with map
 * ids replaced by map names (peers/support/xlated.ts: libbpf prefixes
 * internal map names with the object's name, so compared from the first dot).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { loadCollection } from '@tsbpf/loader';
import { parseCollectionSpec } from '@tsbpf/object';
import { fixturePath, readFixture } from '@tsbpf/fixtures';
import { xlatedOf as xlated } from './peers/support/xlated.js';
import { describeNeeds, hasCommand, hasFile, isRoot } from './support/env.js';

const root = `/sys/fs/bpf/tsbpf-xlated-${process.pid}`;
// maps_btf has a LIBBPF_PIN_BY_NAME map, which libbpf pins at /sys/fs/bpf/<name>.
const byNamePins = ['/sys/fs/bpf/pinned'].filter((p) => !existsSync(p));
afterAll(() => {
  rmSync(root, { recursive: true, force: true });
  for (const p of byNamePins) rmSync(p, { force: true });
});

const bpftool = (...args: string[]) => execFileSync('bpftool', args, { encoding: 'utf8' });

const FIXTURES = [
  'metadata.bpf.o',
  'minimal.bpf.o',
  'maps_btf.bpf.o',
  'global_data.bpf.o',
  'subprogs.bpf.o',
  'btf_kinds.bpf.o',
  'core.bpf.o',
  'ksyms_typeless.bpf.o',
];
// externs.bpf.o is left out: libbpf 1.1 refuses it ("func_proto incompatible with kernel" for bpf_task_acquire), while the kernel accepts it from us.

describeNeeds([isRoot(), hasCommand('bpftool'), hasFile('/sys/fs/bpf')], 'loaded programs vs libbpf (bpftool prog loadall)', () => {
  for (const name of FIXTURES) {
    it(`${name}: identical xlated instructions`, () => {
      const dir = join(root, name.replace(/\W/g, '_'));
      const ours = join(dir, 'ours');
      const theirs = join(dir, 'libbpf');
      mkdirSync(ours, { recursive: true });
      const spec = parseCollectionSpec(readFixture(name));
      using c = loadCollection(spec);
      for (const [prog, p] of Object.entries(c.programs)) p.pin(join(ours, prog));
      bpftool('prog', 'loadall', fixturePath(name), theirs);
      for (const prog of Object.keys(spec.programs)) {
        const a = xlated(join(ours, prog));
        const b = xlated(join(theirs, prog));
        expect(a.length, prog).toBeGreaterThan(0);
        expect(a, prog).toBe(b);
      }
    });
  }
});

describeNeeds([isRoot(), hasCommand('bpftool'), hasFile('/sys/fs/bpf')], 'program metadata vs libbpf (BPF_PROG_BIND_MAP)', () => {
  it('bpftool prog show finds the same bpf_metadata_* of a tsbpf-loaded program as of a libbpf-loaded one', () => {
    const dir = join(root, 'metadata');
    mkdirSync(join(dir, 'ours'), { recursive: true });
    using c = loadCollection(parseCollectionSpec(readFixture('metadata.bpf.o')));
    c.programs.xdp_meta!.pin(join(dir, 'ours', 'xdp_meta'));
    bpftool('prog', 'loadall', fixturePath('metadata.bpf.o'), join(dir, 'libbpf'));
    const show = (side: string) =>
      JSON.parse(bpftool('-j', 'prog', 'show', 'pinned', join(dir, side, 'xdp_meta'))) as { metadata?: unknown; map_ids?: number[] };
    const ours = show('ours');
    expect(ours.metadata).toEqual({ name: 'tsbpf-fixture', version: 3 });
    expect(ours.metadata).toEqual(show('libbpf').metadata);
    // The program reads no map: the one it holds is the bound .rodata.
    expect(ours.map_ids).toHaveLength(1);
  });
});

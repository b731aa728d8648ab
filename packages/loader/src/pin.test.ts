import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { afterAll, expect, it } from 'vitest';
import { parseCollectionSpec } from '@tsbpf/object';
import { readFixture } from '@tsbpf/fixtures';
import { loadCollection } from './collection.js';
import { Link, attach } from './link.js';
import { unpin } from './pin.js';
import { Program } from './program.js';
import { describeNeeds, hasCommand, hasFile, isRoot } from '../../../test/support/env.js';

const root = `/sys/fs/bpf/tsbpf-pin-${process.pid}`;
afterAll(() => rmSync(root, { recursive: true, force: true }));
const links = () => JSON.parse(execFileSync('bpftool', ['-j', 'link', 'show'], { encoding: 'utf8' })) as { prog_id: number }[];

describeNeeds([isRoot(), hasFile('/sys/fs/bpf'), hasCommand('bpftool')], 'pinning programs and links', () => {
  it('a pinned program and a pinned link outlive their fds, reopen by path, and go with unpin', () => {
    mkdirSync(root, { recursive: true });
    const s = parseCollectionSpec(readFixture('prog_types.bpf.o'));
    let id: number;
    {
      using c = loadCollection(s, { programs: ['raw_tp_prog'] });
      const p = c.programs.raw_tp_prog!;
      id = p.id();
      p.pin(`${root}/prog`);
      const link = attach(p, s.programs.raw_tp_prog!);
      link.pin(`${root}/link`);
      link.close();
    }
    // Everything closed; the pins keep the program loaded and attached.
    expect(links().some((l) => l.prog_id === id)).toBe(true);
    using reopened = Program.fromPin(`${root}/prog`);
    expect(reopened.id()).toBe(id);
    expect(reopened.name).toBe('raw_tp_prog');
    {
      using link = Link.fromPin(`${root}/link`);
      unpin(`${root}/link`);
      expect(existsSync(`${root}/link`)).toBe(false);
      expect(links().some((l) => l.prog_id === id)).toBe(true); // our fd still holds it
    }
    expect(links().some((l) => l.prog_id === id)).toBe(false);
    unpin(`${root}/prog`);
  });
});

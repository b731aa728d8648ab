import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { buildElf } from '../packages/object/src/testing/elf-builder.js';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fixturePath } from '@tsbpf/fixtures';
import { describeNeeds, hasFile, repoRoot } from './support/env.js';
import { runCli as run } from './support/cli.js';

describe('tsbpf (in-process)', () => {
  it('inspect --json follows the documented contract', async () => {
    const { code, out } = await run('inspect', fixturePath('minimal.bpf.o'), '--json');
    expect(code).toBe(0);
    const json = JSON.parse(out);
    expect(Object.keys(json)).toEqual(['programs', 'maps']);
    expect(json.programs.length).toBeGreaterThan(0);
    for (const p of json.programs) {
      expect(Object.keys(p)).toEqual(['name', 'section', 'type', 'attachType', 'instructions']);
      expect(p.instructions).toBeGreaterThan(0);
    }
    for (const m of json.maps) expect(Object.keys(m)).toEqual(['name', 'type', 'keySize', 'valueSize', 'maxEntries', 'flags']);
    expect(json.programs[0]).toMatchObject({ section: 'xdp', type: 'xdp', attachType: 'xdp' });
  });

  it('inspect prints a table', async () => {
    const { code, out } = await run('inspect', fixturePath('minimal.bpf.o'));
    expect(code).toBe(0);
    expect(out).toMatch(/PROGRAM\s+SECTION\s+TYPE/);
  });

  it('objdump disassembles with source lines', async () => {
    const { code, out } = await run('objdump', fixturePath('minimal.bpf.o'));
    expect(code).toBe(0);
    expect(out).toMatch(/^\s+0: \([0-9a-f]{2}\) /m);
    expect(out).toMatch(/exit/);
    expect(out).toMatch(/^; /m);
  });

  it('objdump of an object without programs says so', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsbpf-cli-'));
    try {
      const file = join(dir, 'maps-only.o');
      writeFileSync(file, buildElf([{ name: 'license', type: 1, flags: 2, data: new TextEncoder().encode('GPL\0') }]));
      const { code, out } = await run('objdump', file);
      expect(code).toBe(0);
      expect(out).toBe(`; ${file}: no programs (maps and data only)\n`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('btf dump shows the BTF of an object whose other sections the parser refuses', async () => {
    const broken = fixturePath('invalid_relocation.bpf.o');
    const inspect = await run('inspect', broken);
    expect(inspect.code).toBe(1);
    expect(inspect.err).toMatch(/RELOCATION_INVALID/);
    const dump = await run('btf', 'dump', broken);
    expect(dump.code).toBe(0);
    // The same types as the object it was made from (only a relocation was broken).
    expect(dump.out).toBe((await run('btf', 'dump', fixturePath('maps_legacy.bpf.o'))).out);
    expect(dump.out.length).toBeGreaterThan(0);
  });

  it('objdump --program picks one and names the alternatives when wrong', async () => {
    const bad = await run('objdump', fixturePath('minimal.bpf.o'), '--program', 'nope');
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/no program named nope; have /);
  });

  it('a missing file is a one-line error, exit 1', async () => {
    const { code, err } = await run('inspect', '/nonexistent.o');
    expect(code).toBe(1);
    expect(err).toBe('tsbpf: /nonexistent.o: no such file\n');
  });

  it('a file that is not an object names the problem and its code', async () => {
    const { code, err } = await run('inspect', join(repoRoot, 'package.json'));
    expect(code).toBe(1);
    expect(err).toMatch(/not an ELF file.*\[ELF_INVALID\]/);
  });

  it('a program in an unknown section is listed as unspec, as libbpf lists it', async () => {
    const { code, out } = await run('inspect', fixturePath('unknown_section.bpf.o'));
    expect(code).toBe(0);
    expect(out).toMatch(/lost.*nonsense\/foo.*unspec/);
  });

  it("btf dump --format c writes a header with the object's types", async () => {
    const { code, out } = await run('btf', 'dump', fixturePath('maps_btf.bpf.o'), '--format', 'c');
    expect(code).toBe(0);
    expect(out).toMatch(/^#ifndef __VMLINUX_H__/);
    expect(out).toContain('struct flow_key {');
  });

  it('rejects an unknown format', async () => {
    const { code, err } = await run('btf', 'dump', fixturePath('minimal.bpf.o'), '--format', 'yaml');
    expect(code).not.toBe(0);
    expect(err).toMatch(/yaml/);
  });
});

const bin = join(repoRoot, 'packages/cli/dist/cli.js');
describeNeeds([hasFile(bin)], 'the built tsbpf binary', () => {
  it('runs as npx tsbpf from the repository root', () => {
    const out = execFileSync('npx', ['--no-install', 'tsbpf', 'inspect', fixturePath('minimal.bpf.o'), '--json'], {
      cwd: repoRoot,
      encoding: 'utf8',
    });
    expect(JSON.parse(out).programs.length).toBeGreaterThan(0);
  });

  it('exits 0 quietly when its reader closes early', () => {
    const r = spawnSync('sh', ['-c', `node ${bin} btf dump /sys/kernel/btf/vmlinux | head -1`], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^\[1\] /);
  });
});

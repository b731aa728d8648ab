/**
 * `tsbpf load` and `tsbpf run` against the real kernel: pins like
 * `bpftool prog loadall`, test runs, and verifier rejections printed like a
 * compiler error with the C source line.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { compile } from '@tsbpf/compiler';
import { fixturePath } from '@tsbpf/fixtures';
import { describeNeeds, hasCommand, hasFile, isRoot } from './support/env.js';
import { runCli as run } from './support/cli.js';

const pinDir = `/sys/fs/bpf/tsbpf-cli-${process.pid}`;
const work = mkdtempSync(join(tmpdir(), 'tsbpf-cli-load-'));
afterAll(() => {
  rmSync(pinDir, { recursive: true, force: true });
  rmSync(work, { recursive: true, force: true });
});

describeNeeds([isRoot(), hasFile('/sys/fs/bpf'), hasCommand('bpftool')], 'tsbpf load / run', () => {
  it('load pins every program at DIR/<name>, and the kernel has them', async () => {
    const r = await run('load', fixturePath('subprogs.bpf.o'), '--pin', pinDir);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    for (const name of ['first', 'second']) {
      expect(existsSync(join(pinDir, name))).toBe(true);
      const info = JSON.parse(execFileSync('bpftool', ['-j', 'prog', 'show', 'pinned', join(pinDir, name)], { encoding: 'utf8' }));
      expect(info).toMatchObject({ type: 'xdp', name });
    }
  });

  it('load --program loads only the named ones', async () => {
    const dir = join(pinDir, 'one');
    const r = await run('load', fixturePath('maps_btf.bpf.o'), '--pin', dir, '--program', 'tail_target');
    expect(r.code).toBe(0);
    expect(existsSync(join(dir, 'tail_target'))).toBe(true);
    expect(existsSync(join(dir, 'use_maps'))).toBe(false);
  });

  it('load --pin-maps pins the maps too, so a prog array keeps its slots after the command', async () => {
    const progs = join(pinDir, 'pm-progs');
    const maps = join(pinDir, 'pm-maps');
    const r = await run('load', fixturePath('maps_btf.bpf.o'), '--pin', progs, '--pin-maps', maps);
    expect(r.code).toBe(0);
    expect(r.out).toContain(`${join(maps, 'jumps')}\n`);
    const jumps = JSON.parse(execFileSync('bpftool', ['-j', 'map', 'dump', 'pinned', join(maps, 'jumps')], { encoding: 'utf8' }));
    expect(jumps.length).toBeGreaterThan(0); // .values = { [2] = &tail_target } survives the command's exit
    const info = JSON.parse(execFileSync('bpftool', ['-j', 'map', 'show', 'pinned', join(maps, 'flows')], { encoding: 'utf8' }));
    expect(info).toMatchObject({ type: 'hash', name: 'flows' });
    expect(existsSync(join(maps, '_rodata_cst16'))).toBe(true); // .rodata.cst16: bpffs refuses dots, sanitised as libbpf does
  });

  it("an unknown --program is the user's error: exit 1 and the names there are, no stack", async () => {
    const r = await run('run', fixturePath('minimal.bpf.o'), '--program', 'nope');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^tsbpf: .*minimal\.bpf\.o: no program named nope; have xdp_pass\n$/);
  });

  it('run executes BPF_PROG_TEST_RUN on the given packet', async () => {
    const packet = join(work, 'packet.bin');
    writeFileSync(packet, new Uint8Array(100));
    const r = await run('run', fixturePath('minimal.bpf.o'), '--program', 'xdp_pass', '--data-in', packet, '--repeat', '5', '--json');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.out);
    expect(out).toMatchObject({ program: 'xdp_pass', retval: 2, repeat: 5 });
    expect(out.dataOut).toBe('00'.repeat(100));
    const text = await run('run', fixturePath('minimal.bpf.o'), '--program', 'xdp_pass');
    expect(text.out).toMatch(/^xdp_pass: return value 2, \d+ ns per run \(1 run\)\n$/);
  });
});

describeNeeds([isRoot(), hasCommand('clang')], 'verifier rejections, printed like compiler errors', () => {
  it('names the C file and line, the reason, and shows the source line', async () => {
    const src = join(work, 'reject.bpf.c');
    writeFileSync(
      src,
      `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
struct thing { int a; };
__noinline int peek(struct thing *t)
{
	return t->a;
}
SEC("xdp") int rejected(struct xdp_md *ctx)
{
	struct thing t = { .a = 2 };
	return peek(&t);
}
char LICENSE[] SEC("license") = "GPL";
`,
    );
    const obj = join(work, 'reject.bpf.o');
    await compile({ source: src, output: obj, cache: false });
    const r = await run('load', obj, '--pin', join(pinDir, 'reject'));
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^reject\.bpf\.c:6 - error: program rejected rejected by the verifier \(EACCES\): .*invalid mem access/m);
    expect(r.err).toContain('\n6 return t->a;\n');
    const verbose = await run('load', obj, '--pin', join(pinDir, 'reject'), '--verbose');
    expect(verbose.err).toMatch(/Validating peek\(\) func#1/);
  });
});

/**
 * `tsbpf build` end to end with the real clang: several sources in parallel,
 * --out-dir, --json, the cache, and tsc-style diagnostics with exit code 1.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { parseCollectionSpec } from '@tsbpf/object';
import { describeNeeds, hasCommand } from './support/env.js';
import { runCli as run } from './support/cli.js';

const work = mkdtempSync(join(tmpdir(), 'tsbpf-build-test-'));
const prevCache = process.env.TSBPF_CACHE_DIR;
process.env.TSBPF_CACHE_DIR = join(work, 'cache');
afterAll(() => {
  rmSync(work, { recursive: true, force: true });
  if (prevCache === undefined) delete process.env.TSBPF_CACHE_DIR;
  else process.env.TSBPF_CACHE_DIR = prevCache;
});

const prog = (name: string, ret: string) => `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
SEC("xdp") int ${name}(struct xdp_md *ctx) { return ${ret}; }
char LICENSE[] SEC("license") = "GPL";
`;

describeNeeds([hasCommand('clang'), hasCommand('llvm-strip')], 'tsbpf build', () => {
  const src = join(work, 'src');
  mkdirSync(src, { recursive: true });
  writeFileSync(join(src, 'a.bpf.c'), prog('pass_a', 'XDP_PASS'));
  writeFileSync(join(src, 'b.bpf.c'), prog('drop_b', 'XDP_DROP'));
  writeFileSync(join(src, 'bad.bpf.c'), '#include <linux/bpf.h>\nint f(void)\n{\n\treturn missing;\n}\n');

  it('builds several sources into --out-dir and reports them as JSON', async () => {
    const out = join(work, 'out');
    const r = await run('build', join(src, 'a.bpf.c'), join(src, 'b.bpf.c'), '--out-dir', out, '--json');
    expect(r.code).toBe(0);
    const results = JSON.parse(r.out) as { source: string; output: string; ok: boolean; cached: boolean }[];
    expect(results.map((x) => [x.ok, x.output])).toEqual([
      [true, join(out, 'a.bpf.o')],
      [true, join(out, 'b.bpf.o')],
    ]);
    expect(Object.keys(parseCollectionSpec(readFileSync(join(out, 'b.bpf.o'))).programs)).toEqual(['drop_b']);

    const again = JSON.parse((await run('build', join(src, 'a.bpf.c'), '-o', join(out, 'a2.o'), '--json')).out);
    expect(again[0].cached).toBe(true);
    const fresh = JSON.parse((await run('build', join(src, 'a.bpf.c'), '-o', join(out, 'a3.o'), '--json', '--no-cache')).out);
    expect(fresh[0].cached).toBe(false);
  });

  it('prints diagnostics like tsc and exits 1 when a source fails', async () => {
    const r = await run('build', join(src, 'a.bpf.c'), join(src, 'bad.bpf.c'), '--out-dir', join(work, 'out2'));
    expect(r.code).toBe(1);
    expect(r.err).toContain(`${join(src, 'bad.bpf.c')}:4:9 - error: use of undeclared identifier 'missing'`);
    expect(r.err).toContain('\n4 \treturn missing;\n'.replace('\t', ' '));
    expect(r.err).toMatch(/\n {10}\^\n/);
    expect(r.err).toContain('Found 1 error in 1 file.');
  });

  it('gives JSON diagnostics with --json', async () => {
    const r = await run('build', join(src, 'bad.bpf.c'), '--out-dir', join(work, 'out3'), '--json');
    expect(r.code).toBe(1);
    const [result] = JSON.parse(r.out);
    expect(result.ok).toBe(false);
    expect(result.diagnostics[0]).toMatchObject({ line: 4, column: 9, severity: 'error' });
  });

  it('passes -I and -D to clang', async () => {
    const inc = join(work, 'inc');
    mkdirSync(inc, { recursive: true });
    writeFileSync(join(inc, 'cfg.h'), '#define VERDICT XDP_PASS\n');
    writeFileSync(
      join(src, 'cfg.bpf.c'),
      `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "cfg.h"
#ifndef NAME_OK
#error NAME_OK not defined
#endif
SEC("xdp") int cfg(struct xdp_md *ctx) { return VERDICT + NAME_OK; }
char LICENSE[] SEC("license") = "GPL";
`,
    );
    const out = join(work, 'cfg.o');
    const r = await run('build', join(src, 'cfg.bpf.c'), '-o', out, '-I', inc, '-D', 'NAME_OK=0');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(Object.keys(parseCollectionSpec(readFileSync(out)).programs)).toEqual(['cfg']);
    const without = await run('build', join(src, 'cfg.bpf.c'), '-o', out, '-I', inc);
    expect(without.code).toBe(1);
    expect(without.err).toMatch(/error: NAME_OK not defined/);
  });

  it('-o with several sources is a usage error', async () => {
    const r = await run('build', join(src, 'a.bpf.c'), join(src, 'b.bpf.c'), '-o', join(work, 'x.o'));
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/-o names one output/);
  });
});

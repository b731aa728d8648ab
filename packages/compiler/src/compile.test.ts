import { execFileSync } from 'node:child_process';
import { chmodSync, cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { parseCollectionSpec } from '@tsbpf/object';
import { allFixtures, readFixture } from '@tsbpf/fixtures';
import { compile } from './compile.js';
import { CompileError, ClangNotFoundError, StripError } from './errors.js';
import { findClang } from './find-clang.js';
import { describeNeeds, hasCommand, repoRoot } from '../../../test/support/env.js';

const work = mkdtempSync(join(tmpdir(), 'tsbpf-compile-test-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const cacheDir = join(work, 'cache');

function writeSource(dir: string, name: string, text: string): string {
  execFileSync('mkdir', ['-p', dir]);
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

const MINIMAL = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "limits.h"
SEC("xdp") int pass(struct xdp_md *ctx) { return LIMIT > 1 ? XDP_PASS : XDP_DROP; }
char LICENSE[] SEC("license") = "GPL";
`;

it('refuses an unusable TSBPF_CLANG with a hint on how to install clang', async () => {
  const err = await findClang({ env: { ...process.env, TSBPF_CLANG: '/nonexistent/clang' } }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ClangNotFoundError);
  expect((err as Error).message).toMatch(/TSBPF_CLANG=\/nonexistent\/clang is not usable: not found/);
  expect((err as Error).message).toMatch(/apt-get install clang/);
});

describeNeeds([hasCommand('clang'), hasCommand('llvm-strip')], 'compile with the real clang', () => {
  it('finds a clang 14-19 with the BPF target', async () => {
    const clang = await findClang();
    expect(clang.version.major).toBeGreaterThanOrEqual(14);
    expect(clang.version.major).toBeLessThanOrEqual(19);
  });

  it('compiles every fixture source to the programs and maps of the committed object', async () => {
    const sources = allFixtures().filter((f) => f.source && f.endian === 'little' && !f.invalid);
    expect(sources.length).toBeGreaterThan(5);
    for (const f of sources) {
      const r = await compile({ source: join(repoRoot, 'fixtures', f.source!), cacheDir, cache: false });
      const ours = parseCollectionSpec(r.object);
      const committed = parseCollectionSpec(readFixture(f.name));
      expect(Object.keys(ours.programs).sort(), f.name).toEqual(Object.keys(committed.programs).sort());
      expect(Object.keys(ours.maps).sort(), f.name).toEqual(Object.keys(committed.maps).sort());
    }
  });

  it('a strip that fails is a StripError naming the command, not a bare Error', async () => {
    const src = writeSource(
      join(work, 'strip'),
      'pass.bpf.c',
      '#include <linux/bpf.h>\n#include <bpf/bpf_helpers.h>\nSEC("xdp") int pass(struct xdp_md *ctx) { return XDP_PASS; }\n',
    );
    const clang = { ...(await findClang()), strip: '/bin/false' };
    const err = await compile({ source: src, clang, cache: false }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StripError);
    expect(err).toMatchObject({ code: 'STRIP_FAILED', source: src });
    expect((err as Error).message).toMatch(/\/bin\/false -g .* failed: .*install llvm, or pass strip: false/);
  });

  it('reports a broken source with file, line, column and a fix-it', async () => {
    const src = writeSource(join(work, 'broken'), 'broken.bpf.c', '#include <linux/bpf.h>\nint f(void)\n{\n\tint x = y;\n\treturn x\n}\n');
    const err = await compile({ source: src, cacheDir }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CompileError);
    const e = err as CompileError;
    const errors = e.diagnostics.filter((d) => d.severity === 'error');
    expect(errors.map((d) => [d.file, d.line, d.column])).toEqual([
      [src, 4, 10],
      [src, 5, 10],
    ]);
    expect(errors[1]!.fixIts[0]).toMatchObject({ line: 5, column: 10, replacement: ';' });
    expect(e.message).toMatch(/broken\.bpf\.c:4:10: use of undeclared identifier 'y' \(and 1 more error\)/);
    expect(e.argv[0]).toMatch(/clang/);
    expect(e.stderr).toMatch(/undeclared identifier/);
  });

  it('hints at the package to install, or at --vmlinux, for a missing header', async () => {
    const src = writeSource(join(work, 'nohdr'), 'prog.bpf.c', '#include "vmlinux.h"\nint x;\n');
    const err = (await compile({ source: src, cacheDir }).catch((e: unknown) => e)) as CompileError;
    expect(err).toBeInstanceOf(CompileError);
    expect(err.hint).toMatch(/vmlinux: true.*--vmlinux/);
    expect(err.message).toMatch(/hint: generate it from the running kernel/);
  });

  it('serves an unchanged build from the cache without running clang, and notices a changed header', async () => {
    // A clang that logs each run, so "did not compile" is observed, not inferred.
    const real = (await findClang()).path;
    const log = join(work, 'clang.log');
    const wrapper = join(work, 'logging-clang');
    writeFileSync(wrapper, `#!/bin/sh\necho "$@" >> ${log}\nexec ${real} "$@"\n`);
    chmodSync(wrapper, 0o755);
    const clang = await findClang({ env: { ...process.env, TSBPF_CLANG: wrapper } });
    const dir = join(work, 'cached');
    const src = writeSource(dir, 'prog.bpf.c', MINIMAL);
    writeSource(dir, 'limits.h', '#define LIMIT 5\n');
    const compiles = () =>
      readFileSync(log, 'utf8')
        .split('\n')
        .filter((l) => / -c /.test(l)).length;

    const first = await compile({ source: src, cacheDir, clang });
    expect(first.cached).toBe(false);
    expect(compiles()).toBe(1);
    const second = await compile({ source: src, cacheDir, clang, output: join(dir, 'out.o') });
    expect(second.cached).toBe(true);
    expect(compiles()).toBe(1);
    expect(second.object).toEqual(first.object);
    expect(new Uint8Array(readFileSync(join(dir, 'out.o')))).toEqual(first.object);

    writeFileSync(join(dir, 'limits.h'), '#define LIMIT 0\n');
    const third = await compile({ source: src, cacheDir, clang });
    expect(third.cached).toBe(false);
    expect(compiles()).toBe(2);
    expect(third.object).not.toEqual(first.object);

    const bypass = await compile({ source: src, cacheDir, clang, cache: false });
    expect(bypass.cached).toBe(false);
    expect(compiles()).toBe(3);
  });

  it('is reproducible: two builds, even from different directories, are byte-identical', async () => {
    const a = join(work, 'repro-a');
    const src = writeSource(a, 'prog.bpf.c', MINIMAL);
    writeSource(a, 'limits.h', '#define LIMIT 5\n');
    const b = join(work, 'elsewhere', 'repro-b');
    cpSync(a, b, { recursive: true });
    const one = await compile({ source: src, cacheDir, cache: false });
    const two = await compile({ source: src, cacheDir, cache: false });
    const three = await compile({ source: join(b, 'prog.bpf.c'), cacheDir, cache: false });
    expect(two.object).toEqual(one.object);
    expect(three.object).toEqual(one.object);
  });

  it('builds big-endian objects on request', async () => {
    const dir = join(work, 'eb');
    const src = writeSource(dir, 'prog.bpf.c', MINIMAL);
    writeSource(dir, 'limits.h', '#define LIMIT 5\n');
    const r = await compile({ source: src, cacheDir, target: 'bpfeb', cache: false });
    expect(parseCollectionSpec(r.object).byteOrder).toBe('big');
  });
});

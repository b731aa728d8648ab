import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TsbpfError } from '@tsbpf/object';
import type { ClangInfo } from './find-clang.js';
import { compile } from './compile.js';
import { ClangNotFoundError, CompileError, CompilerError, StripError } from './errors.js';
import * as compiler from './index.js';
import { KERNEL_BTF } from './vmlinux.js';
import { describeNeeds, hasFile, repoRoot } from '../../../test/support/env.js';

const work = mkdtempSync(join(tmpdir(), 'tsbpf-compiler-errors-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** A clang that is never run: these failures come before clang would start (or when it cannot). */
const noClang: ClangInfo = { path: join(work, 'no-such-clang'), version: { major: 14, minor: 0, patch: 0 }, versionText: 'none', strip: '/bin/false' };
const source = join(work, 'ok.bpf.c');
writeFileSync(source, 'int x;\n');

const codeOf = (p: Promise<unknown>) =>
  p.then(
    () => 'resolved',
    (e: unknown) => (TsbpfError.is(e) ? e.code : `not a TsbpfError: ${String(e)}`),
  );

describe('compiler errors', () => {
  it('every exported error class is a TsbpfError whose codes docs/errors.md lists', () => {
    const classes = Object.entries(compiler).filter(([name, v]) => typeof v === 'function' && /^[A-Z]\w*Error$/.test(name));
    expect(classes.map(([n]) => n).sort()).toEqual(['ClangNotFoundError', 'CompileError', 'CompilerError', 'StripError']);
    const samples = [
      new ClangNotFoundError('none'),
      new CompileError('x.c', [], ['clang'], '', 1),
      new StripError('x.c', ['llvm-strip'], ''),
      new CompilerError('SOURCE_UNREADABLE', 'x.c: ENOENT'),
    ];
    const docs = readFileSync(join(repoRoot, 'docs/errors.md'), 'utf8');
    const section = docs.slice(docs.indexOf('## @tsbpf/compiler'), docs.indexOf('\n## ', docs.indexOf('## @tsbpf/compiler') + 1));
    for (const e of samples) {
      expect(TsbpfError.is(e), e.name).toBe(true);
      expect(e).toBeInstanceOf(CompilerError);
      expect(section, e.name).toContain(`\`${e.code}\``);
    }
    const codes = ['CLANG_NOT_FOUND', 'COMPILE_FAILED', 'STRIP_FAILED', 'SOURCE_UNREADABLE', 'OUTPUT_UNWRITABLE', 'BTF_UNREADABLE', 'CACHE_UNWRITABLE'];
    for (const c of codes) expect(section, c).toContain(`\`${c}\``);
  });

  it('a source that cannot be read', async () => {
    expect(await codeOf(compile({ source: join(work, 'missing.bpf.c'), clang: noClang, cache: false }))).toBe('SOURCE_UNREADABLE');
    const e = (await compile({ source: join(work, 'missing.bpf.c'), clang: noClang }).catch((x: unknown) => x)) as CompilerError;
    expect(e.message).toMatch(/missing\.bpf\.c: ENOENT/);
    expect(e.errno).toBe(2);
  });

  it('a kernel BTF that cannot be read for vmlinux.h', async () => {
    expect(await codeOf(compile({ source, clang: noClang, vmlinux: join(work, 'no-btf'), cacheDir: work }))).toBe('BTF_UNREADABLE');
  });

  it('a BTF that is not BTF, named in the message', async () => {
    const bogus = join(work, 'bogus.btf');
    writeFileSync(bogus, 'not btf');
    const e = (await compile({ source, clang: noClang, vmlinux: bogus, cacheDir: work }).catch((x: unknown) => x)) as TsbpfError;
    expect(e.code).toBe('BTF_INVALID');
    expect(e.message).toMatch(/^vmlinux\.h from \S+bogus\.btf: /);
  });

  it('a clang that cannot be started', async () => {
    const e = await compile({ source, clang: noClang, cache: false }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ClangNotFoundError);
    expect((e as Error).message).toMatch(/no-such-clang could not be started/);
  });
});

describeNeeds([hasFile(KERNEL_BTF)], 'compiler errors with the kernel BTF', () => {
  it('a cache directory vmlinux.h cannot be written into', async () => {
    const notADir = join(work, 'file');
    writeFileSync(notADir, '');
    expect(await codeOf(compile({ source, clang: noClang, vmlinux: true, cacheDir: join(notADir, 'cache') }))).toBe('CACHE_UNWRITABLE');
  });
});

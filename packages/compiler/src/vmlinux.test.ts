/**
 * vmlinux.h from BTF, proven by the compiler: the header compiles, and a
 * generated file of _Static_asserts checks sizeof and offsetof of every named
 * struct and union against BTF, for the running kernel and every fixture;
 * and the cached header is verified on every use, a planted one never used.
 */
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Btf, formatBtfC, parseCollectionSpec } from '@tsbpf/object';
import { allFixtures, readFixture } from '@tsbpf/fixtures';
import { compile } from './compile.js';
import { layoutAsserts } from './layout-asserts.js';
import { ensureVmlinuxHeader, KERNEL_BTF } from './vmlinux.js';
import { describeNeeds, hasCommand, hasFile } from '../../../test/support/env.js';

const work = mkdtempSync(join(tmpdir(), 'tsbpf-vmlinux-test-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const cacheDir = join(work, 'cache');

/** Writes header + asserts for a BTF and compiles them; returns the number of asserts. */
async function proveLayout(name: string, btf: Btf): Promise<number> {
  const dir = join(work, name);
  const { asserts, source } = layoutAsserts(btf, 'vmlinux.h');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'vmlinux.h'), formatBtfC(btf));
  writeFileSync(join(dir, 'asserts.c'), source);
  await compile({ source: join(dir, 'asserts.c'), cache: false, cacheDir, strip: false });
  return asserts;
}

describeNeeds([hasCommand('clang'), hasFile(KERNEL_BTF)], 'vmlinux.h', () => {
  it("this kernel's vmlinux.h compiles and every struct/union layout matches BTF", async () => {
    const btf = Btf.parse(new Uint8Array(readFileSync(KERNEL_BTF)));
    const asserts = await proveLayout('kernel', btf);
    expect(asserts).toBeGreaterThan(10_000);
  });

  it('every fixture: the header compiles and layouts match BTF', async () => {
    const fixtures = allFixtures().filter((f) => !f.invalid);
    for (const f of fixtures) {
      const btf = parseCollectionSpec(readFixture(f.name)).btf;
      expect(btf, f.name).toBeDefined();
      await proveLayout(f.name.replace(/\W/g, '_'), btf!);
    }
  });

  it('is generated once per BTF content and cached', () => {
    const dir = ensureVmlinuxHeader({ cacheDir });
    expect(readdirSync(dir)).toEqual(['vmlinux.h']);
    expect(ensureVmlinuxHeader({ cacheDir })).toBe(dir);
    expect(readFileSync(join(dir, 'vmlinux.h'), 'utf8')).toMatch(/struct task_struct \{/);
  });

  it('builds a CO-RE program against the generated vmlinux.h', async () => {
    const src = join(work, 'core.bpf.c');
    writeFileSync(
      src,
      `#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
int parent_tgid;
SEC("tp_btf/sched_process_exec")
int BPF_PROG(on_exec, struct task_struct *p)
{
	parent_tgid = BPF_CORE_READ(p, real_parent, tgid);
	return 0;
}
char LICENSE[] SEC("license") = "GPL";
`,
    );
    const r = await compile({ source: src, vmlinux: true, cacheDir });
    const spec = parseCollectionSpec(r.object);
    const prog = spec.programs.on_exec!;
    expect(prog.typeName).toBe('tracing');
    expect(prog.coreRelos.length).toBeGreaterThanOrEqual(2);
    const names = prog.coreRelos.map((c) => spec.btf!.type(c.typeId).name);
    expect(names).toContain('task_struct');
  });
});

describe('vmlinux.h in the cache is verified on every use', () => {
  // A small BTF (a fixture's own) so that generating the header is quick.
  const btfPath = join(work, 'small.btf');
  writeFileSync(btfPath, parseCollectionSpec(readFixture('maps_btf.bpf.o')).btf!.raw);
  const expected = formatBtfC(parseCollectionSpec(readFixture('maps_btf.bpf.o')).btf!);
  const trustDir = join(work, 'trust-cache');

  it('a changed (planted) vmlinux.h, or one through a symbolic link, is made again; nothing beside it is left on the include path', () => {
    const dir = ensureVmlinuxHeader({ btfPath, cacheDir: trustDir });
    const header = join(dir, 'vmlinux.h');
    expect(readFileSync(header, 'utf8')).toBe(expected);

    writeFileSync(header, '#error planted\n');
    expect(ensureVmlinuxHeader({ btfPath, cacheDir: trustDir })).toBe(dir);
    expect(readFileSync(header, 'utf8')).toBe(expected);

    // A header that would shadow the system's, planted beside it.
    mkdirSync(join(dir, 'linux'));
    writeFileSync(join(dir, 'linux', 'types.h'), '#error planted\n');
    ensureVmlinuxHeader({ btfPath, cacheDir: trustDir });
    expect(readdirSync(dir)).toEqual(['vmlinux.h']);

    const outside = join(work, 'outside.h');
    writeFileSync(outside, expected);
    rmSync(header);
    symlinkSync(outside, header);
    ensureVmlinuxHeader({ btfPath, cacheDir: trustDir });
    expect(lstatSync(header).isSymbolicLink()).toBe(false);
    expect(readFileSync(header, 'utf8')).toBe(expected);

    // Planting a header and its recorded hash both takes writing the cache: a cache others can write is refused.
    chmodSync(trustDir, 0o777);
    expect(() => ensureVmlinuxHeader({ btfPath, cacheDir: trustDir })).toThrow(expect.objectContaining({ code: 'CACHE_UNTRUSTED' }));
    chmodSync(trustDir, 0o700);
  });
});

describeNeeds([hasCommand('clang')], 'vmlinux.h planted in the cache', () => {
  it('is never compiled', async () => {
    const btfPath = join(work, 'small-for-clang.btf');
    writeFileSync(btfPath, parseCollectionSpec(readFixture('maps_btf.bpf.o')).btf!.raw);
    const cache = join(work, 'planted-cache');
    const src = join(work, 'uses-vmlinux.bpf.c');
    writeFileSync(src, '#include "vmlinux.h"\nstruct inner x;\nchar LICENSE[] __attribute__((section("license"))) = "GPL";\n');
    const first = await compile({ source: src, vmlinux: btfPath, cacheDir: cache });
    const dir = ensureVmlinuxHeader({ btfPath, cacheDir: cache });
    writeFileSync(join(dir, 'vmlinux.h'), '#error planted vmlinux.h\n');
    const again = await compile({ source: src, vmlinux: btfPath, cacheDir: cache });
    expect(again.object).toEqual(first.object);
    writeFileSync(join(dir, 'vmlinux.h'), '#error planted vmlinux.h\n');
    const fresh = await compile({ source: src, vmlinux: btfPath, cacheDir: cache, cache: false });
    expect(fresh.object).toEqual(first.object);
    expect(readFileSync(join(dir, 'vmlinux.h'), 'utf8')).toBe('#error planted vmlinux.h\n'); // cache: false never looked there

    // A cache others can write is refused; cache: false still builds with vmlinux.h, not touching it.
    chmodSync(cache, 0o777);
    await expect(compile({ source: src, vmlinux: btfPath, cacheDir: cache })).rejects.toThrow(expect.objectContaining({ code: 'CACHE_UNTRUSTED' }));
    const bypass = await compile({ source: src, vmlinux: btfPath, cacheDir: cache, cache: false });
    expect(bypass.object).toEqual(first.object);
    expect(readFileSync(join(dir, 'vmlinux.h'), 'utf8')).toBe('#error planted vmlinux.h\n');
    chmodSync(cache, 0o700);
  });
});

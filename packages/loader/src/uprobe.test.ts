import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { parseCollectionSpec } from '@tsbpf/object';
import { compile } from '@tsbpf/compiler';
import { loadCollection } from './collection.js';
import { functionFileOffset } from './elf-symbols.js';
import { attachUprobe } from './link.js';
import { describeNeeds, hasCommand, hasFile, isRoot } from '../../../test/support/env.js';

const work = mkdtempSync(join(tmpdir(), 'tsbpf-uprobe-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const u32 = (n: number) => new Uint8Array(new Uint32Array([n]).buffer);

describeNeeds([isRoot(), hasCommand('cc'), hasCommand('clang'), hasFile('/sys/bus/event_source/devices/uprobe/type')], 'uprobes', () => {
  it('counts real calls of a function in a program we run, at entry and at return', async () => {
    const target = join(work, 'target');
    writeFileSync(
      join(work, 'target.c'),
      `__attribute__((noinline)) int tsbpf_probe_target(int x) { __asm__ volatile(""); return x + 1; }
int main(void) { int s = 0; for (int i = 0; i < 7; i++) s += tsbpf_probe_target(i); return s == 28 ? 0 : 1; }
`,
    );
    execFileSync('cc', ['-O1', '-o', target, join(work, 'target.c')]);
    expect(functionFileOffset(target, 'tsbpf_probe_target')).toBeGreaterThan(0);

    writeFileSync(
      join(work, 'count.bpf.c'),
      `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
unsigned long long entries, returns;
SEC("uprobe") int on_entry(void *ctx) { __sync_fetch_and_add(&entries, 1); return 0; }
SEC("uretprobe") int on_return(void *ctx) { __sync_fetch_and_add(&returns, 1); return 0; }
char LICENSE[] SEC("license") = "GPL";
`,
    );
    const { object } = await compile({ source: join(work, 'count.bpf.c'), cache: false });
    using c = loadCollection(parseCollectionSpec(object));
    const counts = () => {
      const bss = new DataView(c.maps['.bss']!.lookup(u32(0))!.buffer);
      return [bss.getBigUint64(0, true), bss.getBigUint64(8, true)];
    };
    {
      using _entry = attachUprobe(c.programs.on_entry!, target, 'tsbpf_probe_target');
      using _return = attachUprobe(c.programs.on_return!, target, 'tsbpf_probe_target', { retprobe: true });
      execFileSync(target);
      execFileSync(target);
    }
    expect(counts()).toEqual([14n, 14n]);
    execFileSync(target); // detached: no more counts
    expect(counts()).toEqual([14n, 14n]);
  });

  it('finds versioned dynamic symbols in a shared library', () => {
    expect(functionFileOffset('/lib/x86_64-linux-gnu/libc.so.6', 'getpid')).toBeGreaterThan(0);
    expect(() => functionFileOffset('/lib/x86_64-linux-gnu/libc.so.6', 'no_such_function_here')).toThrow(/no function/);
  });
});

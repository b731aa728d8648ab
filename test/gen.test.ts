/**
 * `tsbpf gen`: the generated bindings compile under `tsc --strict`, and
 * loading through them gives typed maps, programs, globals and ring buffers
 * that work against the kernel.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { main } from 'tsbpf';
import { compile } from '@tsbpf/compiler';
import { fixturePath } from '@tsbpf/fixtures';
import { describeNeeds, hasCommand, hasFile, isRoot, repoRoot } from './support/env.js';

// Inside the repository, so the generated imports resolve through node_modules.
const dir = join(repoRoot, 'test-results', `gen-${process.pid}`);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function gen(obj: string, out: string, ...extra: string[]) {
  let err = '';
  const code = await main(['gen', obj, '-o', out, ...extra], { out: () => {}, err: (t) => void (err += t) });
  if (code !== 0) throw new Error(err);
}

const EVENTS = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
struct event { __u64 seq; __u32 len; char comm[8]; };
struct event *unused_event __attribute__((unused));
struct { __uint(type, BPF_MAP_TYPE_RINGBUF); __uint(max_entries, 65536); } events SEC(".maps");
const volatile __u32 stride = 1;
__u64 seq;
SEC("xdp") int emit(struct xdp_md *ctx)
{
	struct event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) return XDP_PASS;
	e->seq = __sync_fetch_and_add(&seq, stride);
	e->len = ctx->data_end - ctx->data;
	__builtin_memcpy(e->comm, "tsbpf", 6);
	bpf_ringbuf_submit(e, 0);
	return XDP_PASS;
}
char LICENSE[] SEC("license") = "GPL";
`;

describeNeeds([hasFile(join(repoRoot, 'packages/maps/dist/index.d.ts')), hasCommand('clang')], 'tsbpf gen', () => {
  it('generates bindings that compile under tsc --strict', async () => {
    mkdirSync(dir, { recursive: true });
    await gen(fixturePath('maps_btf.bpf.o'), join(dir, 'maps_btf.ts'));
    writeFileSync(join(dir, 'events.bpf.c'), EVENTS);
    await compile({ source: join(dir, 'events.bpf.c'), output: join(dir, 'events.bpf.o'), cache: false });
    await gen(join(dir, 'events.bpf.o'), join(dir, 'events.ts'));
    // Globals are typed: a wrong name, a wrong type or a write to .rodata does not compile.
    writeFileSync(
      join(dir, 'usage.ts'),
      `import { load } from './events.js';
export function use(): bigint {
  const l = load();
  const seq: bigint = l.globals.get('seq');
  l.globals.set('seq', seq + 1n);
  // @ts-expect-error no such global
  l.globals.get('nope');
  // @ts-expect-error seq is a bigint
  l.globals.set('seq', 1);
  // @ts-expect-error stride is .rodata: a constant, not settable
  l.globals.set('stride', 2);
  const stride: number = l.globals.get('stride');
  return seq + BigInt(stride);
}
`,
    );
    execFileSync(
      join(repoRoot, 'node_modules/.bin/tsc'),
      ['--strict', '--noEmit', '--skipLibCheck', '--target', 'es2022', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--lib', 'es2022,esnext.disposable,dom', '--types', 'node', join(dir, 'maps_btf.ts'), join(dir, 'events.ts'), join(dir, 'usage.ts')],
      { cwd: repoRoot, encoding: 'utf8' },
    );
  }, 120_000);
});

describeNeeds([hasFile(join(repoRoot, 'packages/maps/dist/index.d.ts'))], 'tsbpf gen --record', () => {
  it('a record type for a map that is not a ring buffer is an error, not a silent no-op', async () => {
    mkdirSync(dir, { recursive: true });
    const obj = fixturePath('maps_btf.bpf.o');
    await expect(gen(obj, join(dir, 'typo.ts'), '--record', 'evnets=flow_stats')).rejects.toThrow(/records: no map named evnets; ring buffers: events/);
    await expect(gen(obj, join(dir, 'typo.ts'), '--record', 'flows=flow_stats')).rejects.toThrow(/map flows is a hash, not a ring buffer/);
    await expect(gen(obj, join(dir, 'typo.ts'), '--record', 'events=no_such')).rejects.toThrow(/no struct no_such/);
    await gen(obj, join(dir, 'typo.ts'), '--record', 'events=flow_stats'); // a real pair is fine
  });
});

describeNeeds([isRoot(), hasFile(join(repoRoot, 'packages/maps/dist/index.d.ts')), hasCommand('clang')], 'generated bindings against the kernel', () => {
  it('typed maps, constants, globals and ring buffer records', async () => {
    mkdirSync(dir, { recursive: true });
    await gen(fixturePath('maps_btf.bpf.o'), join(dir, 'maps_btf_run.ts'));
    writeFileSync(join(dir, 'events2.bpf.c'), EVENTS);
    await compile({ source: join(dir, 'events2.bpf.c'), output: join(dir, 'events2.bpf.o'), cache: false });
    await gen(join(dir, 'events2.bpf.o'), join(dir, 'events_run.ts'));

    const mapsBtf = await import(join(dir, 'maps_btf_run.ts'));
    {
      using l = mapsBtf.load();
      const key = { saddr: 0, daddr: 0, sport: 0, dport: 0, proto: 6 };
      l.maps.flows.set(key, { packets: 1n, bytes: 2n });
      l.programs.use_maps.testRun({ data: new Uint8Array(64) });
      expect(l.maps.flows.get(key)).toEqual({ packets: 2n, bytes: 2n });
      // An LPM trie keyed { prefixlen, addr[4] } gets CIDR text keys.
      expect(l.maps.cidrs.get('1.2.3.4')).toBeUndefined();
      l.maps.cidrs.set('1.2.0.0/16', 7);
      expect(l.maps.cidrs.get('1.2.3.4')).toBe(7);
      expect([...l.maps.cidrs.keys()]).toEqual(['1.2.0.0/16']);
      // Prog arrays and maps of maps come wrapped: a slot holds a program or a map, read back as its id.
      expect(l.maps.jumps.get(1)).toBe(l.programs.tail_target.id()); // .values = { [1] = &tail_target }
      l.maps.outer_array.set(1, l.collection.maps.inner_b);
      expect(typeof l.maps.outer_array.get(1)).toBe('number');
    }

    const events = await import(join(dir, 'events_run.ts'));
    using l = events.load({ constants: { stride: 10 } });
    using ring = l.ringBuffers.events();
    l.programs.emit.testRun({ data: new Uint8Array(42), repeat: 3 });
    expect(ring.drain()).toEqual([
      { seq: 0n, len: 42, comm: 'tsbpf' },
      { seq: 10n, len: 42, comm: 'tsbpf' },
      { seq: 20n, len: 42, comm: 'tsbpf' },
    ]);
    expect(l.globals.get('seq')).toBe(30n);
  });
});

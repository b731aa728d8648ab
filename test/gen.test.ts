/**
 * `tsbpf gen`: the generated file is what test/gen/*.snap hold for the
 * committed fixtures (object bytes elided), compiles under `tsc --strict`,
 * and loading through it gives typed maps, programs, globals and ring
 * buffers that work against the kernel, also for types only the object's
 * BTF can decode (unions, bit-fields).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from 'tsbpf';
import { compile } from '@tsbpf/compiler';
import { fixturePath, readFixture } from '@tsbpf/fixtures';
import { codecFromBtf, decode, encode, type Codec } from '@tsbpf/maps';
import { MapType, parseCollectionSpec } from '@tsbpf/object';
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

/** A generated file with the embedded object's base64 lines left out, for a snapshot that does not change with every byte. */
const elideObject = (text: string) =>
  text.replace(/^const OBJECT = \[\n(?:  '[A-Za-z0-9+\/=]*',\n)+\]/m, (m) => `const OBJECT = [\n  // ${m.split('\n').length - 2} lines of base64\n]`);

describe('tsbpf gen output', () => {
  const cases: [name: string, fixture: string, flags: string[]][] = [
    ['maps_btf', 'maps_btf.bpf.o', ['--record', 'events=flow_stats']],
    ['maps_btf.no-embed', 'maps_btf.bpf.o', ['--no-embed', '--camel-case']],
    ['global_data', 'global_data.bpf.o', []],
    ['btf_kinds', 'btf_kinds.bpf.o', []],
  ];
  for (const [name, fixture, flags] of cases) {
    it(`${fixture} ${flags.join(' ')}: as test/gen/${name}.ts.snap`, async () => {
      mkdirSync(dir, { recursive: true });
      const out = join(dir, `${name}.ts`);
      await gen(fixturePath(fixture), out, ...flags);
      const text = readFileSync(out, 'utf8');
      await expect(elideObject(text)).toMatchFileSnapshot(join(repoRoot, 'test/gen', `${name}.ts.snap`));
      // Formatted: two-space indentation, no tabs, no trailing blanks, lines of a reasonable length.
      for (const line of text.split('\n')) {
        expect(line).toMatch(/^(  )*(\S.*)?$/);
        expect(line).not.toMatch(/\s$/);
        expect(line.length).toBeLessThanOrEqual(120);
      }
      // No dead statements and no double casts.
      expect(text).not.toMatch(/\bvoid \w+;|as unknown as/);
    });
  }
});

describe('codecs written out', () => {
  it('code as codecFromBtf does for the same types (random bytes decoded, values encoded)', async () => {
    mkdirSync(dir, { recursive: true });
    const file = join(dir, 'written.ts');
    await gen(fixturePath('maps_btf.bpf.o'), file, '--no-embed', '--camel-case');
    const { mapCodecs } = (await import(file)) as { mapCodecs: Record<string, Record<'key' | 'value', Codec<unknown>>> };
    const spec = parseCollectionSpec(readFixture('maps_btf.bpf.o'));
    let compared = 0;
    for (const [name, m] of Object.entries(spec.maps)) {
      for (const [role, id] of [
        ['key', m.btfKeyTypeId],
        ['value', m.btfValueTypeId],
      ] as const) {
        const written = mapCodecs[name]?.[role];
        if (!written || !id || (role === 'key' && m.type === MapType.lpm_trie)) continue;
        const fromBtf = codecFromBtf(spec.btf!, id, { memberNames: 'camel' });
        expect(written.size).toBe(fromBtf.size);
        for (let i = 0; i < 16; i++) {
          const bytes = Uint8Array.from({ length: fromBtf.size }, () => Math.floor(Math.random() * 256));
          const value = decode(fromBtf, bytes);
          expect(decode(written, bytes)).toEqual(value);
          expect(encode(written, value)).toEqual(encode(fromBtf, value));
        }
        compared++;
      }
    }
    expect(compared).toBeGreaterThanOrEqual(8);
  });
});

const KINDS = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
enum color { RED, GREEN = 5, BLUE };
typedef __u32 quad[4];
struct tagged {
	enum color color;
	unsigned int flags : 3;
	unsigned int mode : 5;
	union { __u32 as_u32; __u8 as_bytes[4]; };
	struct { __u16 lo; __u16 hi; } pair;
};
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 8); __type(key, __u32); __type(value, struct tagged); } tagged SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 2); __type(key, __u32); __type(value, quad); } quads SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 1); __type(key, __u32); __type(value, enum color); } colors SEC(".maps");
SEC("xdp") int touch(struct xdp_md *ctx)
{
	__u32 k = 1;
	struct tagged *t = bpf_map_lookup_elem(&tagged, &k);
	if (t)
		t->mode = 3;
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
    writeFileSync(join(dir, 'kinds.bpf.c'), KINDS);
    await compile({ source: join(dir, 'kinds.bpf.c'), output: join(dir, 'kinds.bpf.o'), cache: false });
    await gen(join(dir, 'kinds.bpf.o'), join(dir, 'kinds.ts'));
    // Types only BTF decodes are read through the embedded object; --no-embed cannot have them.
    expect(readFileSync(join(dir, 'kinds.ts'), 'utf8')).toMatch(/export const Tagged = btfCodec<Tagged>\(\d+\);/);
    await expect(gen(join(dir, 'kinds.bpf.o'), join(dir, 'kinds-no-embed.ts'), '--no-embed')).rejects.toThrow(/struct tagged needs the object's BTF/);
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
      [
        ...['--strict', '--noUncheckedIndexedAccess', '--noUnusedLocals', '--noEmit', '--skipLibCheck', '--target', 'es2022', '--module', 'nodenext'],
        ...['--moduleResolution', 'nodenext', '--lib', 'es2022,esnext.disposable,dom', '--types', 'node'],
        ...['maps_btf.ts', 'events.ts', 'kinds.ts', 'usage.ts'].map((f) => join(dir, f)),
      ],
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

    // Unions and bit-fields (from the object's BTF), a typedef'd array, an enum.
    writeFileSync(join(dir, 'kinds2.bpf.c'), KINDS);
    await compile({ source: join(dir, 'kinds2.bpf.c'), output: join(dir, 'kinds2.bpf.o'), cache: false });
    await gen(join(dir, 'kinds2.bpf.o'), join(dir, 'kinds_run.ts'));
    const kinds = await import(join(dir, 'kinds_run.ts'));
    using k = kinds.load();
    k.maps.tagged.set(1, { color: 'GREEN', flags: 5, mode: 2, as_u32: 0x04030201, pair: { lo: 1, hi: 2 } });
    k.programs.touch.testRun({ data: new Uint8Array(64) });
    expect(k.maps.tagged.get(1)).toMatchObject({
      color: 'GREEN',
      flags: 5,
      mode: 3,
      as_u32: 0x04030201,
      as_bytes: Uint8Array.from([1, 2, 3, 4]),
      pair: { lo: 1, hi: 2 },
    });
    k.maps.quads.set(1, Uint32Array.from([1, 2, 3, 4]));
    expect(k.maps.quads.get(1)).toEqual(Uint32Array.from([1, 2, 3, 4]));
    k.maps.colors.set(0, 'BLUE');
    expect(k.maps.colors.get(0)).toBe('BLUE');
  });
});

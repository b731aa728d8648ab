/**
 * The kernel's inventory through tsbpf against bpftool, on an object loaded
 * both by tsbpf and by libbpf (`bpftool prog loadall`): `tsbpf prog|map|link|
 * btf list --json` equal `bpftool -j ... show` on every field both print, for
 * every object present in both snapshots (other tests load and unload
 * meanwhile); a map libbpf created dumped as typed JSON through its BTF;
 * xlated and jited images byte for byte; statistics counted while
 * BPF_ENABLE_STATS holds; objects opened by id.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  attachXdp,
  enableStats,
  linkFromId,
  linkInfo,
  loadCollection,
  mapFromId,
  programFromId,
  programInfo,
  statsSysctlEnabled,
  withNetns,
  type Collection,
  type Link,
} from '@tsbpf/loader';
import { mapTypeName, parseCollectionSpec, programTypeName } from '@tsbpf/object';
import { linkTypeName } from '@tsbpf/loader';
import { describeNeeds, hasCommand, hasFile, isRoot } from './support/env.js';
import { runCli } from './support/cli.js';
import { inspectObject } from './support/inspect-object.js';

const pins = `/sys/fs/bpf/tsbpf-inventory-${process.pid}`;
const netns = `tsbpf-inv-${process.pid}`;
const work = mkdtempSync(join(tmpdir(), 'tsbpf-inventory-'));
const bpftool = (...args: string[]) => execFileSync('bpftool', args, { encoding: 'utf8' });
const bpftoolJson = <T>(...args: string[]) => JSON.parse(bpftool('-j', ...args)) as T;

type Obj = Record<string, unknown> & { id: number };

async function cliJson<T>(...argv: string[]): Promise<T> {
  const r = await runCli(...argv);
  expect(r.err).toBe('');
  expect(r.code).toBe(0);
  return JSON.parse(r.out) as T;
}

/**
 * Every field both print must be equal, for every id in both snapshots:
 * `loaded_at` within a second (both derive it from the boot time at their
 * own moment); a type that bpftool (libbpf 1.1) prints as a number because
 * it is newer than its table must be the name our table gives that number.
 */
function compareCommon(ours: Obj[], theirs: Obj[], names: Record<string, (n: number) => string>): number {
  const mine = new Map(ours.map((o) => [o.id, o]));
  let compared = 0;
  for (const t of theirs) {
    const o = mine.get(t.id);
    if (!o) continue;
    compared++;
    for (const [k, v] of Object.entries(t)) {
      if (!(k in o)) continue;
      const ctx = `id ${t.id} ${k}`;
      if (k === 'loaded_at') expect(Math.abs((o[k] as number) - (v as number)), ctx).toBeLessThanOrEqual(1);
      else if (typeof v === 'number' && typeof o[k] === 'string' && names[k]) expect(o[k], ctx).toBe(names[k]!(v));
      else if (Array.isArray(v)) expect([...(o[k] as number[])].sort(), ctx).toEqual([...(v as number[])].sort());
      else expect(o[k], ctx).toEqual(v);
    }
  }
  return compared;
}

describeNeeds([isRoot(), hasCommand('bpftool'), hasCommand('clang'), hasCommand('ip'), hasFile('/sys/fs/bpf')], 'the kernel inventory against bpftool', () => {
  let c: Collection;
  let link: Link;
  let ours: { prog: number; flows: number; events: number };
  let libbpf: { prog: number; flows: number };

  beforeAll(async () => {
    const obj = await inspectObject();
    c = loadCollection(parseCollectionSpec(new Uint8Array(readFileSync(obj))));
    mkdirSync(pins, { recursive: true });
    bpftool('prog', 'loadall', obj, join(pins, 'progs'), 'pinmaps', join(pins, 'maps'));
    execFileSync('ip', ['netns', 'add', netns]);
    link = withNetns(`/var/run/netns/${netns}`, () => attachXdp(c.programs.count_packets!, 1));
    ours = { prog: c.programs.count_packets!.id(), flows: mapId(c, 'flows'), events: mapId(c, 'events') };
    libbpf = {
      prog: bpftoolJson<{ id: number }>('prog', 'show', 'pinned', join(pins, 'progs', 'count_packets')).id,
      flows: bpftoolJson<{ id: number }>('map', 'show', 'pinned', join(pins, 'maps', 'flows')).id,
    };
  }, 60_000);

  afterAll(() => {
    link?.close();
    c?.close();
    rmSync(pins, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
    try {
      execFileSync('ip', ['netns', 'del', netns], { stdio: 'ignore' });
    } catch {
      // not made
    }
  });

  it('prog list --json equals bpftool -j prog show on every field both have', async () => {
    const theirs = bpftoolJson<Obj[]>('prog', 'show');
    const mine = await cliJson<Obj[]>('prog', 'list', '--json');
    const ids = mine.map((p) => p.id);
    expect(ids).toContain(ours.prog);
    expect(ids).toContain(libbpf.prog);
    expect(compareCommon(mine, theirs, { type: programTypeName })).toBeGreaterThanOrEqual(2);
    const fields = new Set(theirs.flatMap((t) => Object.keys(t)));
    for (const f of [
      'id',
      'type',
      'name',
      'tag',
      'gpl_compatible',
      'loaded_at',
      'uid',
      'bytes_xlated',
      'jited',
      'bytes_jited',
      'bytes_memlock',
      'map_ids',
      'btf_id',
    ]) {
      expect(fields, `bpftool prints ${f}`).toContain(f);
    }
  });

  it('map list --json equals bpftool -j map show on every field both have', async () => {
    const theirs = bpftoolJson<Obj[]>('map', 'show');
    const mine = await cliJson<Obj[]>('map', 'list', '--json');
    expect(mine.map((m) => m.id)).toEqual(expect.arrayContaining([ours.flows, ours.events, libbpf.flows]));
    expect(compareCommon(mine, theirs, { type: mapTypeName, owner_prog_type: programTypeName })).toBeGreaterThanOrEqual(6);
  });

  it('link list --json equals bpftool -j link show on every field both have', async () => {
    const theirs = bpftoolJson<Obj[]>('link', 'show');
    const mine = await cliJson<Obj[]>('link', 'list', '--json');
    const id = mine.find((l) => l.prog_id === ours.prog)?.id;
    expect(id, 'our XDP link').toBeDefined();
    expect(mine.find((l) => l.id === id)).toMatchObject({ type: 'xdp', prog_id: ours.prog, ifindex: 1 });
    expect(compareCommon(mine, theirs, { type: linkTypeName })).toBeGreaterThanOrEqual(1);
  });

  it('btf list --json equals bpftool -j btf list (who uses each BTF: for our programs and maps)', async () => {
    const theirs = bpftoolJson<Obj[]>('btf', 'list');
    const mine = await cliJson<Obj[]>('btf', 'list', '--json');
    const stable = ({ prog_ids: _p, map_ids: _m, ...rest }: Obj) => rest as Obj;
    expect(compareCommon(mine.map(stable), theirs.map(stable), {})).toBeGreaterThanOrEqual(3);
    const ourBtf = programInfo(ours.prog).btfId;
    const a = mine.find((b) => b.id === ourBtf)!;
    const b = theirs.find((x) => x.id === ourBtf)!;
    expect(a.prog_ids).toEqual(b.prog_ids);
    expect([...(a.map_ids as number[])].sort()).toEqual([...(b.map_ids as number[])].sort());
    expect(mine.find((x) => x.id === 1)).toMatchObject({ kernel: true, name: 'vmlinux' });
  });

  it('map dump decodes a map libbpf created, through its own BTF', async () => {
    // struct flow { saddr 0x0a000001, daddr 0x0a000002, sport 80, dport 443, proto 6 } -> { packets 5, bytes 1500 }
    const key = ['01', '00', '00', '0a', '02', '00', '00', '0a', '50', '00', 'bb', '01', '06', '00', '00', '00'];
    const value = ['05', '00', '00', '00', '00', '00', '00', '00', 'dc', '05', '00', '00', '00', '00', '00', '00'];
    bpftool('map', 'update', 'id', String(libbpf.flows), 'key', 'hex', ...key, 'value', 'hex', ...value);
    const dump = await cliJson<unknown[]>('map', 'dump', String(libbpf.flows), '--json');
    expect(dump).toEqual([{ key: { saddr: 0x0a000001, daddr: 0x0a000002, sport: 80, dport: 443, proto: 6 }, value: { packets: 5, bytes: 1500 } }]);
  });

  it('map update, lookup and delete write and read typed values the kernel sees as bytes', async () => {
    const key = JSON.stringify({ saddr: 1, daddr: 2, sport: 3, dport: 4, proto: 17 });
    let r = await runCli('map', 'update', 'id', String(ours.flows), '--key', key, '--value', '{"packets":18446744073709551615,"bytes":"7"}');
    expect(r.err).toBe('');
    const raw = bpftoolJson<{ value: string[] }>(
      'map',
      'lookup',
      'id',
      String(ours.flows),
      'key',
      'hex',
      '01',
      '00',
      '00',
      '00',
      '02',
      '00',
      '00',
      '00',
      '03',
      '00',
      '04',
      '00',
      '11',
      '00',
      '00',
      '00',
    );
    expect(raw.value.map((b) => b.replace(/^0x/, '')).join('')).toBe('ffffffffffffffff0700000000000000');
    r = await runCli('map', 'lookup', String(ours.flows), '--key', key);
    expect(r.out).toBe('{"packets":18446744073709551615,"bytes":7}\n');
    expect((await runCli('map', 'delete', String(ours.flows), '--key', key)).code).toBe(0);
    r = await runCli('map', 'lookup', String(ours.flows), '--key', key);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/no element with key/);
  });

  it('dump xlated gives the bytes bpftool dumps; dump jited the image bpftool sizes', async () => {
    const args = ['prog', 'dump', 'xlated', 'id', String(ours.prog)];
    const mineFile = join(work, 'xlated.ours');
    const theirFile = join(work, 'xlated.bpftool');
    expect((await runCli(...args, '-o', mineFile)).code).toBe(0);
    bpftool(...args, 'file', theirFile);
    expect(readFileSync(mineFile).equals(readFileSync(theirFile)), 'xlated').toBe(true);
    // Debian's bpftool is built without libbfd and refuses `dump jited` even to a file; its
    // bytes_jited sizes the image, and on x86-64 the JIT's prologue starts it (a 5-byte NOP
    // kept for fentry patching, then push %rbp; mov %rsp,%rbp).
    const jited = join(work, 'jited.ours');
    expect((await runCli('prog', 'dump', 'jited', String(ours.prog), '-o', jited)).code).toBe(0);
    const image = readFileSync(jited);
    expect(image.length).toBe(bpftoolJson<{ bytes_jited: number }>('prog', 'show', 'id', String(ours.prog)).bytes_jited);
    if (process.arch === 'x64') {
      expect(image.subarray(0, 5).toString('hex')).toBe('0f1f440000');
      expect(image.subarray(0, 16).toString('hex')).toContain('554889e5');
    }
    const text = await runCli('prog', 'dump', 'xlated', String(ours.prog));
    expect(text.out).toMatch(/^count_packets:\n/);
    expect(text.out).toContain('; __u64 *h = bpf_map_lookup_elem(&hits, &zero);');
  });

  it('statistics count while BPF_ENABLE_STATS is held, and stop when it is closed', () => {
    const prog = c.programs.count_packets!;
    const before = programInfo(ours.prog);
    {
      using _stats = enableStats();
      prog.testRun({ data: new Uint8Array(64), repeat: 50 });
      const during = programInfo(ours.prog);
      expect(during.runCount - before.runCount).toBe(50n);
      expect(during.runTimeNs).toBeGreaterThan(before.runTimeNs);
    }
    const after = programInfo(ours.prog);
    prog.testRun({ data: new Uint8Array(64), repeat: 10 });
    const later = programInfo(ours.prog);
    expect(later.runCount - after.runCount).toBe(statsSysctlEnabled() ? 10n : 0n);
    expect(later.verifiedInstructions).toBeGreaterThan(10);
  });

  it('programs, maps and links open by id as this process’s own objects', () => {
    using p = programFromId(libbpf.prog);
    expect(p.name).toBe('count_packets');
    expect(p.testRun({ data: new Uint8Array(64) }).retval).toBe(2); // XDP_PASS
    using m = mapFromId(ours.flows);
    expect(m.name).toBe('flows');
    const key = new Uint8Array(16).fill(9);
    c.maps.flows!.update(key, new Uint8Array(16).fill(1));
    expect(m.lookup(key)).toEqual(new Uint8Array(16).fill(1));
    const linkId = linkInfo(findLink(ours.prog)).id;
    using l = linkFromId(linkId);
    l.detach();
    expect(execFileSync('ip', ['-n', netns, 'link', 'show', 'lo'], { encoding: 'utf8' })).not.toMatch(/xdp/);
  });

  it('an id that is not there, or not an id, is a typed error', async () => {
    let r = await runCli('prog', 'show', '4294967295');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/program id 4294967295: BPF_PROG_GET_FD_BY_ID: ENOENT \(no program has that id/);
    r = await runCli('map', 'dump', 'id', 'x');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/expected an id/);
    r = await runCli('map', 'dump', String(ours.events));
    expect(r.err).toMatch(/ringbuf has no elements/);
  });
});

/** The kernel id of one of our maps, from its fd's /proc fdinfo (the kernel's word, not ours). */
function mapId(c: Collection, name: string): number {
  const info = readFileSync(`/proc/self/fdinfo/${c.maps[name]!.fd}`, 'utf8');
  return Number(/^map_id:\s+(\d+)$/m.exec(info)![1]);
}

function findLink(progId: number): number {
  const links = bpftoolJson<Obj[]>('link', 'show');
  return links.find((l) => l.prog_id === progId)!.id;
}

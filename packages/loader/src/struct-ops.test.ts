// A TCP congestion control written in BPF (tcp_congestion_ops), registered
// by tsbpf both ways (map update, struct_ops link), chosen by a real TCP
// connection's socket (setsockopt TCP_CONGESTION, in a network namespace
// the test made) whose callbacks count their calls into a map; the link is
// swapped to another map, and closing unregisters the name. bpftool checks
// what the kernel says was registered, and that it is what libbpf registers.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect } from 'vitest';
import { LinkError, MapType, parseCollectionSpec, structOpsLayout, type CollectionSpec } from '@tsbpf/object';
import { compile } from '@tsbpf/compiler';
import { loadCollection, type Collection } from './collection.js';
import { runningKernelBtf } from './kernel-btf.js';
import { attachStructOps, StructOpsLink, StructOpsRegistration } from './struct-ops.js';
import { mapInfoByFd, programInfoByFd } from './info.js';
import { linkInfoByFd } from './link-info.js';
import { BpfMap } from './map.js';
import { cHelperPath, describeNeeds, hasCHelper, hasCommand, hasFile, isRoot } from '../../../test/support/env.js';
import { itByKernel, itWhenKernel } from '../../../test/support/kernel-features.js';

const SOURCE = `#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

/* Calls of each callback: 0 init, 1 ssthresh, 2 cong_avoid, 3 undo_cwnd. */
struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 4);
  __type(key, __u32);
  __type(value, __u64);
} calls SEC(".maps");

static __always_inline void count(__u32 i) {
  __u64 *n = bpf_map_lookup_elem(&calls, &i);
  if (n) __sync_fetch_and_add(n, 1);
}

SEC("struct_ops/cc_init") void BPF_PROG(cc_init, struct sock *sk) { count(0); }

/* Halve the window on loss, as Reno does. */
SEC("struct_ops/cc_ssthresh") __u32 BPF_PROG(cc_ssthresh, struct sock *sk) {
  const struct tcp_sock *tp = (const struct tcp_sock *)sk;
  count(1);
  return tp->snd_cwnd > 4 ? tp->snd_cwnd / 2 : 2;
}

/* A fixed window: this algorithm only counts. */
SEC("struct_ops/cc_cong_avoid") void BPF_PROG(cc_cong_avoid, struct sock *sk, __u32 ack, __u32 acked) { count(2); }

SEC("struct_ops/cc_undo_cwnd") __u32 BPF_PROG(cc_undo_cwnd, struct sock *sk) {
  const struct tcp_sock *tp = (const struct tcp_sock *)sk;
  count(3);
  return tp->snd_cwnd;
}

/* Registered by writing the map's value. */
SEC(".struct_ops") struct tcp_congestion_ops cc_map = {
  .init = (void *)cc_init,
  .ssthresh = (void *)cc_ssthresh,
  .cong_avoid = (void *)cc_cong_avoid,
  .undo_cwnd = (void *)cc_undo_cwnd,
  .name = "tsbpf_map",
};

/* Registered through a struct_ops link. */
SEC(".struct_ops.link") struct tcp_congestion_ops cc_link = {
  .init = (void *)cc_init,
  .ssthresh = (void *)cc_ssthresh,
  .cong_avoid = (void *)cc_cong_avoid,
  .undo_cwnd = (void *)cc_undo_cwnd,
  .name = "tsbpf_link",
};

char LICENSE[] SEC("license") = "GPL";
`;

const AVAILABLE = '/proc/sys/net/ipv4/tcp_available_congestion_control';
const available = () => readFileSync(AVAILABLE, 'utf8').trim().split(/\s+/);
const work = mkdtempSync(join(tmpdir(), 'tsbpf-struct-ops-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** A copy of the spec whose struct_ops map `map` sets `.name` to `name` (the name is global: one per test run). */
function renamed(spec: CollectionSpec, map: string, name: string): CollectionSpec {
  const m = spec.maps[map]!;
  const struct = spec.btf!.resolve(m.btfValueTypeId);
  if (struct.kind !== 'struct') throw new Error('not a struct');
  const at = struct.members.find((x) => x.name === 'name')!.bitOffset / 8;
  const value = m.initialValue!.slice();
  value.fill(0, at, at + 16);
  value.set(new TextEncoder().encode(name), at);
  return { ...spec, maps: { ...spec.maps, [map]: { ...m, initialValue: value } } };
}

/** Each callback's calls so far: init, ssthresh, cong_avoid, undo_cwnd. */
function calls(c: Collection): bigint[] {
  return [0, 1, 2, 3].map((i) => new DataView(c.maps.calls!.lookup(new Uint8Array(new Uint32Array([i]).buffer))!.buffer).getBigUint64(0, true));
}

/** A TCP transfer over loopback in the test's own namespace, its client socket on congestion control `name`. */
function transfer(ns: string, name: string, bytes: number): { congestion: string; received: number } {
  const out = execFileSync('ip', ['netns', 'exec', ns, cHelperPath('tcp-cc-transfer'), name, String(bytes)], { encoding: 'utf8', timeout: 60_000 });
  return JSON.parse(out) as { congestion: string; received: number };
}

/** bpftool's JSON: `struct_ops dump id` prints two objects separated by a comma, `dump name` a list of them: read as one list. */
function bpftoolJson(args: string[]): unknown[] {
  return (JSON.parse(`[${execFileSync('bpftool', ['-j', ...args], { encoding: 'utf8' })}]`) as unknown[]).flat();
}

const run = `${process.pid % 100000}`;
const NS = `tsbpf-stops-${run}`;

describeNeeds(
  [isRoot(), hasCommand('clang'), hasCommand('ip'), hasCommand('bpftool'), hasFile('/sys/kernel/btf/vmlinux'), hasCHelper('tcp-cc-transfer')],
  'struct_ops: a TCP congestion control in BPF',
  () => {
    let spec: CollectionSpec;
    beforeAll(async () => {
      writeFileSync(join(work, 'cc.bpf.c'), SOURCE);
      const { object } = await compile({ source: join(work, 'cc.bpf.c'), vmlinux: true, cache: false });
      spec = parseCollectionSpec(object);
      execFileSync('ip', ['netns', 'add', NS]);
      execFileSync('ip', ['-n', NS, 'link', 'set', 'lo', 'up']);
    }, 180_000);
    afterAll(() => {
      spawnSync('ip', ['netns', 'del', NS]);
    });

    itByKernel('tcp struct_ops', 'registers by map update: a connection runs its callbacks; bpftool sees it; close() unregisters the name', {
      supported() {
        const name = `tsbpf_m${run}`;
        const c = loadCollection(renamed(spec, 'cc_map', name));
        let reg: ReturnType<typeof attachStructOps> | undefined;
        try {
          expect(available()).not.toContain(name);
          reg = attachStructOps(c.maps.cc_map!);
          expect(reg).toBeInstanceOf(StructOpsRegistration);
          expect(available()).toContain(name);
          expect(calls(c)).toEqual([0n, 0n, 0n, 0n]);
          expect(transfer(NS, name, 4 << 20)).toEqual({ congestion: name, received: 4 << 20 });
          const [init, , congAvoid] = calls(c);
          expect(init).toBeGreaterThan(0n);
          expect(congAvoid).toBeGreaterThan(0n);
          // What the kernel says was registered, through libbpf's tool.
          const id = mapInfoByFd(c.maps.cc_map!.fd).id;
          const [shown] = bpftoolJson(['struct_ops', 'show', 'id', String(id)]);
          expect(shown).toEqual({ id, name: 'cc_map', kernel_struct_ops: 'tcp_congestion_ops' });
          const [info, value] = bpftoolJson(['struct_ops', 'dump', 'id', String(id)]) as [
            { bpf_map_info: Record<string, number> },
            { bpf_struct_ops_tcp_congestion_ops: { common: { state: string }; data: Record<string, unknown> } },
          ];
          const layout = structOpsLayout(spec, 'cc_map', runningKernelBtf());
          expect(info.bpf_map_info).toMatchObject({ type: MapType.struct_ops, value_size: layout.valueSize, btf_vmlinux_value_type_id: layout.valueTypeId });
          const ops = value.bpf_struct_ops_tcp_congestion_ops;
          expect(ops.common.state).toBe('BPF_STRUCT_OPS_STATE_INUSE');
          expect(ops.data.name).toBe(name);
          for (const p of ['init', 'ssthresh', 'cong_avoid', 'undo_cwnd']) {
            expect(ops.data[p]).toMatch(new RegExp(` cc_${p}/prog_id:${programInfoByFd(c.programs[`cc_${p}`]!.fd).id}$`));
          }
          expect(ops.data.release).toMatch(/ 0$/);
          // The registration holds a map fd of its own: closing the collection leaves it registered, and it still unregisters.
          c.close();
          expect(available()).toContain(name);
        } finally {
          c.close();
          reg?.close();
        }
        expect(available()).not.toContain(name);
      },
      unsupported() {
        // No such struct_ops type: said before anything is created.
        expect(() => loadCollection(spec)).toThrow(expect.objectContaining({ code: 'ATTACH_TARGET_NOT_FOUND' }));
      },
    });

    itWhenKernel('tcp struct_ops', 'registers through a struct_ops link, swaps the map under it (update), and unregisters on close', () => {
      const name = `tsbpf_l${run}`;
      using a = loadCollection(renamed(spec, 'cc_link', name));
      using b = loadCollection(renamed(spec, 'cc_link', name));
      const link = attachStructOps(a.maps.cc_link!);
      try {
        expect(link).toBeInstanceOf(StructOpsLink);
        expect(available()).toContain(name);
        expect(linkInfoByFd((link as StructOpsLink).fd)).toMatchObject({ typeName: 'struct_ops', mapId: mapInfoByFd(a.maps.cc_link!.fd).id });
        expect(transfer(NS, name, 1 << 20)).toEqual({ congestion: name, received: 1 << 20 });
        const before = calls(a);
        expect(before[0]).toBeGreaterThan(0n);
        expect(calls(b)).toEqual([0n, 0n, 0n, 0n]);
        // Only if the link holds `expected` now: b's map is not it.
        expect(() => (link as StructOpsLink).update(b.maps.cc_link!, { expected: b.maps.cc_link! })).toThrow(expect.objectContaining({ errnoName: 'EPERM' }));
        expect(() => (link as StructOpsLink).update(a.programs.cc_init!)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
        (link as StructOpsLink).update(b.maps.cc_link!, { expected: a.maps.cc_link! });
        expect(linkInfoByFd((link as StructOpsLink).fd)).toMatchObject({ mapId: mapInfoByFd(b.maps.cc_link!.fd).id });
        expect(transfer(NS, name, 1 << 20)).toEqual({ congestion: name, received: 1 << 20 });
        expect(calls(a)).toEqual(before);
        expect(calls(b)[0]).toBeGreaterThan(0n);
        expect(calls(b)[2]).toBeGreaterThan(0n);
      } finally {
        link.close();
      }
      expect(available()).not.toContain(name);
    });

    itWhenKernel(
      'tcp struct_ops',
      'registers the value libbpf registers: `bpftool struct_ops register` of the same object dumps the same',
      async () => {
        // One .struct_ops variable (this bpftool's libbpf predates .struct_ops.link), with a name of this run.
        const name = `tsbpf_d${run}`;
        const source = SOURCE.replace(/\/\* Registered through a struct_ops link[\s\S]*?\};\n/, '')
          .replace('cc_map =', 'cc_diff =')
          .replace('"tsbpf_map"', `"${name}"`);
        writeFileSync(join(work, 'diff.bpf.c'), source);
        // tsbpf's own vmlinux.h: its padding is unnamed bit-fields as bpftool's, which libbpf (1.1) skips
        // (named pad members it looked for in the kernel's type and refused the object).
        const { object } = await compile({ source: join(work, 'diff.bpf.c'), vmlinux: true, cache: false });
        writeFileSync(join(work, 'diff.bpf.o'), object);
        /** The registered value as bpftool dumps it, program ids left out (each load has its own). */
        const dump = () => {
          const [info, value] = bpftoolJson(['struct_ops', 'dump', 'name', 'cc_diff']) as [
            { bpf_map_info: Record<string, number> },
            { bpf_struct_ops_tcp_congestion_ops: { common: { state: string }; data: Record<string, unknown> } },
          ];
          const { id: _id, btf_id: _btf, ...map } = info.bpf_map_info;
          const ops = value.bpf_struct_ops_tcp_congestion_ops;
          return { map, state: ops.common.state, data: JSON.parse(JSON.stringify(ops.data).replace(/\/prog_id:\d+/g, '')) as unknown };
        };
        let libbpf: ReturnType<typeof dump>;
        execFileSync('bpftool', ['struct_ops', 'register', join(work, 'diff.bpf.o')], { stdio: 'pipe' });
        try {
          expect(available()).toContain(name);
          libbpf = dump();
        } finally {
          execFileSync('bpftool', ['struct_ops', 'unregister', 'name', 'cc_diff'], { stdio: 'pipe' });
        }
        expect(available()).not.toContain(name);
        using c = loadCollection(parseCollectionSpec(object));
        using _reg = attachStructOps(c.maps.cc_diff!);
        expect(available()).toContain(name);
        const ours = dump();
        expect(ours).toEqual(libbpf);
        expect(ours.data).toMatchObject({ name, init: 'void (struct sock *) cc_init', release: 'void (struct sock *) 0' });
      },
      120_000,
    );

    itWhenKernel('tcp struct_ops', 'refuses a map it did not make and a closed map, before any syscall', () => {
      using plain = BpfMap.create({ type: MapType.array, keySize: 4, valueSize: 4, maxEntries: 1, name: 'plain' });
      expect(() => attachStructOps(plain)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
      const c = loadCollection(renamed(spec, 'cc_map', `tsbpf_x${run}`));
      c.close();
      expect(() => attachStructOps(c.maps.cc_map!)).toThrow(expect.objectContaining({ code: 'CLOSED' }));
    });

    itWhenKernel('tcp struct_ops', 'a .struct_ops.link value the kernel refuses fails the load, as one transaction', () => {
      // tcp_congestion_ops without undo_cwnd: the kernel's validation refuses the value when it is written at load.
      const m = spec.maps.cc_link!;
      const broken = { ...spec, maps: { ...spec.maps, cc_link: { ...m, slots: m.slots.filter((x) => x.member !== 'undo_cwnd') } } };
      const fds = readdirSync('/proc/self/fd').length;
      expect(() => loadCollection(broken)).toThrow(expect.objectContaining({ name: 'SyscallError', syscall: 'BPF_MAP_UPDATE_ELEM', errnoName: 'EINVAL' }));
      // Its maps, programs and BTF were closed.
      expect(readdirSync('/proc/self/fd').length).toBe(fds);
    });
  },
);

const MISMATCH = `#include <linux/types.h>
#include <bpf/bpf_helpers.h>
/* Not the kernel's tcp_congestion_ops: a member it lacks, set, and a name of another size. */
struct tcp_congestion_ops { char name[16]; int not_in_kernel; };
struct short_name_ops { char name[8]; };
SEC(".struct_ops") struct tcp_congestion_ops lacking = { .name = "a", .not_in_kernel = 1 };
SEC(".struct_ops") struct tcp_congestion_ops unset = { .name = "b" };
char LICENSE[] SEC("license") = "GPL";
`;

const UNKNOWN = `#include <linux/types.h>
#include <bpf/bpf_helpers.h>
struct no_such_ops_in_any_kernel { int x; };
SEC(".struct_ops") struct no_such_ops_in_any_kernel nothing = { .x = 1 };
char LICENSE[] SEC("license") = "GPL";
`;

describeNeeds([hasCommand('clang'), hasFile('/sys/kernel/btf/vmlinux')], 'structOpsLayout against the running kernel BTF', () => {
  itWhenKernel(
    'tcp struct_ops',
    'matches members by name: data copied at the kernel offset, programs at their member index',
    async () => {
      writeFileSync(join(work, 'layout.bpf.c'), SOURCE);
      const { object } = await compile({ source: join(work, 'layout.bpf.c'), vmlinux: true, cache: false });
      const kernel = runningKernelBtf();
      const layout = structOpsLayout(parseCollectionSpec(object), 'cc_link', kernel);
      const ops = kernel.findByName('tcp_congestion_ops', 'struct')!;
      const value = kernel.findByName('bpf_struct_ops_tcp_congestion_ops', 'struct')!;
      if (ops.kind !== 'struct' || value.kind !== 'struct') throw new Error('no tcp_congestion_ops');
      const data = value.members.find((x) => x.name === 'data')!.bitOffset / 8;
      expect(layout).toMatchObject({ typeName: 'tcp_congestion_ops', structTypeId: ops.id, valueTypeId: value.id, valueSize: value.size, link: true });
      const at = (n: string) => ops.members.findIndex((x) => x.name === n);
      expect(layout.programs.map((p) => [p.member, p.memberIndex, p.offset, p.program])).toEqual(
        ['init', 'ssthresh', 'cong_avoid', 'undo_cwnd']
          .map((n) => [n, at(n), data + ops.members[at(n)]!.bitOffset / 8, `cc_${n}`])
          .sort((x, y) => (x[1] as number) - (y[1] as number)),
      );
      const nameAt = data + ops.members[at('name')]!.bitOffset / 8;
      expect(new TextDecoder().decode(layout.value.subarray(nameAt, nameAt + 10))).toBe('tsbpf_link');
      // Everything but the name is zero: function pointers are filled with fds by the loader.
      expect(layout.value.filter((b) => b !== 0).length).toBe('tsbpf_link'.length);
    },
    60_000,
  );

  itWhenKernel(
    'tcp struct_ops',
    'refuses a member the kernel lacks when it is set, and a struct_ops type the kernel does not have',
    async () => {
      writeFileSync(join(work, 'mismatch.bpf.c'), MISMATCH);
      writeFileSync(join(work, 'unknown.bpf.c'), UNKNOWN);
      const kernel = runningKernelBtf();
      const mismatch = parseCollectionSpec((await compile({ source: join(work, 'mismatch.bpf.c'), cache: false })).object);
      expect(() => structOpsLayout(mismatch, 'lacking', kernel)).toThrow(
        expect.objectContaining({ code: 'STRUCT_OPS_INVALID', message: expect.stringContaining('not_in_kernel') }),
      );
      // Unset, the member is left out (an object built for another kernel).
      expect(structOpsLayout(mismatch, 'unset', kernel).programs).toEqual([]);
      const unknown = parseCollectionSpec((await compile({ source: join(work, 'unknown.bpf.c'), cache: false })).object);
      expect(() => structOpsLayout(unknown, 'nothing', kernel)).toThrow(LinkError);
      expect(() => structOpsLayout(unknown, 'nothing', kernel)).toThrow(expect.objectContaining({ code: 'ATTACH_TARGET_NOT_FOUND' }));
      expect(() => structOpsLayout(unknown, 'no_map', kernel)).toThrow(expect.objectContaining({ code: 'SPEC_INVALID' }));
    },
    60_000,
  );
});

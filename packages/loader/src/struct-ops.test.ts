// A TCP congestion control written in BPF (tcp_congestion_ops), registered
// by tsbpf both ways (map update, struct_ops link), chosen by a real TCP
// connection's socket (setsockopt TCP_CONGESTION, in a network namespace
// the test made) whose callbacks count their calls into a map; the link is
// swapped to another map, and closing unregisters the name. bpftool checks
// what the kernel says was registered.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LinkError, MapType, parseCollectionSpec, structOpsLayout, type CollectionSpec } from '@tsbpf/object';
import { compile } from '@tsbpf/compiler';
import { loadCollection, type Collection } from './collection.js';
import { runningKernelBtf } from './kernel-btf.js';
import { attachStructOps, StructOpsLink, StructOpsRegistration } from './struct-ops.js';
import { cHelperPath, describeNeeds, hasCHelper, hasCommand, hasFile, isRoot } from '../../../test/support/env.js';

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

const run = `${process.pid % 100000}`;
const NS = `tsbpf-stops-${run}`;

describeNeeds(
  [isRoot(), hasCommand('clang'), hasCommand('ip'), hasFile('/sys/kernel/btf/vmlinux'), hasCHelper('tcp-cc-transfer')],
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

    it('registers by map update: a connection runs its callbacks; close() unregisters the name', () => {
      const name = `tsbpf_m${run}`;
      using c = loadCollection(renamed(spec, 'cc_map', name), { programs: Object.keys(spec.programs) });
      expect(available()).not.toContain(name);
      const reg = attachStructOps(c.maps.cc_map!);
      try {
        expect(reg).toBeInstanceOf(StructOpsRegistration);
        expect(available()).toContain(name);
        expect(calls(c)).toEqual([0n, 0n, 0n, 0n]);
        expect(transfer(NS, name, 4 << 20)).toEqual({ congestion: name, received: 4 << 20 });
        const [init, , congAvoid] = calls(c);
        expect(init).toBeGreaterThan(0n);
        expect(congAvoid).toBeGreaterThan(0n);
      } finally {
        reg.close();
      }
      expect(available()).not.toContain(name);
    });
  },
);

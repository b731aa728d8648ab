#!/usr/bin/env node
// bench/maps/call-gap: where the nanoseconds between a bare koffi bpf() call
// and tsbpf's single-element calls go (issue 19). One process, one 1,024-key
// u32 -> u64 hash (and the u32 -> 24-byte struct map of bench/typed), and, in
// rotating rounds, forms from the bare call up to BpfMap and TypedMap, each
// adding one piece of what tsbpf's call does; beside C (call-gap.c: libbpf,
// single-threaded and with one idle thread, as a Node process always has).
// Each form runs its own loop (as the benches do). Root. Knobs: N (ops a
// round, 200,000), ROUNDS (7), FORMS (names separated by ';', default all).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { median, root } from '../support/compare.mjs';

const N = Number(process.env.N ?? 200_000);
const ROUNDS = Number(process.env.ROUNDS ?? 7);
const cBin = join(root, 'build/c/call-gap');
if (!existsSync(cBin)) {
  mkdirSync(join(root, 'build/c'), { recursive: true });
  execFileSync('cc', ['-O2', '-o', cBin, join(root, 'bench/maps/call-gap.c'), '-lbpf', '-lpthread'], { stdio: 'inherit' });
}
const { BpfMap } = await import(join(root, 'packages/loader/dist/index.js'));
const { TypedMap, struct, u32, u64 } = await import(join(root, 'packages/maps/dist/index.js'));
const koffi = createRequire(join(root, 'packages/loader/package.json'))('koffi');
const libc = koffi.load('libc.so.6');
const NR_BPF = { x64: 321, arm64: 280 }[process.arch];
if (NR_BPF === undefined) throw new Error(`call-gap: no SYS_bpf for ${process.arch}`);
const sys = libc.func('syscall', 'long', ['long', 'int', 'uintptr_t', 'unsigned int']);
const calloc = libc.func('void *calloc(size_t, size_t)');

const m = BpfMap.create({ type: 1, keySize: 4, valueSize: 8, maxEntries: 1024, name: 'call_gap' });
const Stats = struct({ packets: u64, bytes: u64, ifindex: u32, flags: u32 });
const ms = BpfMap.create({ type: 1, keySize: 4, valueSize: 24, maxEntries: 65536, name: 'call_gap_s' });
const tm = new TypedMap(m, u32, u64);
const ts = new TypedMap(ms, u32, Stats);
const keys = Array.from({ length: 1024 }, (_, i) => new Uint8Array(new Uint32Array([i]).buffer));
const key = new Uint8Array(4);
const keyDv = new DataView(key.buffer);
const value = new Uint8Array(8);
const valueDv = new DataView(value.buffer);
for (let k = 0; k < 1024; k++) {
  m.update(keys[k], value);
  ts.set(k, { packets: 0n, bytes: 0n, ifindex: k, flags: 0 });
}

/** A bare attr of our own (fd, key, value pointers) in calloc'd memory, as ffi-tax has it. */
function bareAttr(fd) {
  const attr = calloc(1, 32),
    key = calloc(1, 8),
    val = calloc(1, 32);
  const av = new DataView(koffi.view(attr, 32));
  av.setUint32(0, fd, true);
  av.setBigUint64(8, koffi.address(key), true);
  av.setBigUint64(16, koffi.address(val), true);
  return { address: Number(koffi.address(attr)), key: new DataView(koffi.view(key, 8)), value: new Uint8Array(koffi.view(val, 32)) };
}
const bare = bareAttr(m.fd);
const bareS = bareAttr(ms.fd);
// tsbpf's own pieces, reached past TypeScript's `private` (a measurement only).
const ops = m.memory.ops;
const keyBytes = m.keyBytes;
const valueBytes = m.valueBytes;

// Each form returns [wall, user, system] ns an op: user and system time from getrusage split the
// kernel's part from ours (and are not inflated by time the VM spends elsewhere, as wall time is).
let cpu0;
const start = () => ((cpu0 = process.cpuUsage()), process.hrtime.bigint());
const ns = (t0) => {
  const wall = Number(process.hrtime.bigint() - t0) / N;
  const c = process.cpuUsage(cpu0);
  return [wall, (c.user * 1000) / N, (c.system * 1000) / N];
};
let sum = 0;
const forms = {
  // Lookups, from the bare call up.
  'lookup: bare koffi call'() {
    const { address, key, value: v } = bare;
    const t0 = start();
    for (let i = 0; i < N; i++) {
      key.setUint32(0, i & 1023, true);
      if (sys(NR_BPF, 1, address, 32) !== 0) throw new Error('lookup failed');
      sum += v[0];
    }
    return ns(t0);
  },
  'lookup: + tsbpf bound call (ops.lookupCall)'() {
    const kv = m.keyView;
    const call = () => ops.lookupCall(); // a method since the per-map closures went (README)
    const t0 = start();
    for (let i = 0; i < N; i++) {
      kv.setUint32(0, i & 1023, true);
      if (call() !== 0) throw new Error('lookup failed');
      sum += valueBytes[0];
    }
    return ns(t0);
  },
  'lookup: + key copied from a Uint8Array'() {
    const call = () => ops.lookupCall(); // a method since the per-map closures went (README)
    const t0 = start();
    for (let i = 0; i < N; i++) {
      const k = keys[i & 1023];
      for (let j = 0; j < 4; j++) keyBytes[j] = k[j];
      if (call() !== 0) throw new Error('lookup failed');
      sum += valueBytes[0];
    }
    return ns(t0);
  },
  'lookup: + a fresh 8-byte copy returned'() {
    const call = () => ops.lookupCall(); // a method since the per-map closures went (README)
    const t0 = start();
    for (let i = 0; i < N; i++) {
      const k = keys[i & 1023];
      for (let j = 0; j < 4; j++) keyBytes[j] = k[j];
      if (call() !== 0) throw new Error('lookup failed');
      const out = new Uint8Array(8);
      for (let j = 0; j < 8; j++) out[j] = valueBytes[j];
      sum += out[0];
    }
    return ns(t0);
  },
  'lookupPrepared (keyView.setUint32)'() {
    const t0 = start();
    for (let i = 0; i < N; i++) {
      m.keyView.setUint32(0, i & 1023, true);
      if (!m.lookupPrepared()) throw new Error('lookup failed');
      sum += valueBytes[0];
    }
    return ns(t0);
  },
  'BpfMap.lookupInto'() {
    const out = new Uint8Array(8);
    const t0 = start();
    for (let i = 0; i < N; i++) if (m.lookupInto(keys[i & 1023], out)) sum += out[0];
    return ns(t0);
  },
  'BpfMap.lookup'() {
    const t0 = start();
    for (let i = 0; i < N; i++) sum += m.lookup(keys[i & 1023])[0];
    return ns(t0);
  },
  // The key written into one reused buffer, as C writes its stack variable (bench/maps since 2026-12-03).
  'BpfMap.lookupInto, one key buffer'() {
    const out = new Uint8Array(8);
    const t0 = start();
    for (let i = 0; i < N; i++) {
      keyDv.setUint32(0, i & 1023, true);
      if (m.lookupInto(key, out)) sum += out[0];
    }
    return ns(t0);
  },
  'BpfMap.lookup, one key buffer'() {
    const t0 = start();
    for (let i = 0; i < N; i++) {
      keyDv.setUint32(0, i & 1023, true);
      sum += m.lookup(key)[0];
    }
    return ns(t0);
  },
  'TypedMap<u32, u64>.get'() {
    const t0 = start();
    let s = 0n;
    for (let i = 0; i < N; i++) s += tm.get(i & 1023);
    sum += Number(s & 1n);
    return ns(t0);
  },
  // Updates.
  'update: bare koffi call'() {
    const { address, key, value: v } = bare;
    const dv = new DataView(v.buffer, v.byteOffset);
    const t0 = start();
    for (let i = 0; i < N; i++) {
      key.setUint32(0, i & 1023, true);
      dv.setUint32(0, i, true);
      if (sys(NR_BPF, 2, address, 32) !== 0) throw new Error('update failed');
    }
    return ns(t0);
  },
  'update: + tsbpf ops.update(0)'() {
    const kv = m.keyView,
      vv = m.valueView;
    const t0 = start();
    for (let i = 0; i < N; i++) {
      kv.setUint32(0, i & 1023, true);
      vv.setUint32(0, i, true);
      ops.update(0);
    }
    return ns(t0);
  },
  'updatePrepared (key/valueView.setUint32)'() {
    const t0 = start();
    for (let i = 0; i < N; i++) {
      m.keyView.setUint32(0, i & 1023, true);
      m.valueView.setUint32(0, i, true);
      m.updatePrepared();
    }
    return ns(t0);
  },
  'BpfMap.update'() {
    const t0 = start();
    for (let i = 0; i < N; i++) {
      valueDv.setUint32(0, i, true);
      m.update(keys[i & 1023], value);
    }
    return ns(t0);
  },
  'BpfMap.update, one key buffer'() {
    const t0 = start();
    for (let i = 0; i < N; i++) {
      keyDv.setUint32(0, i & 1023, true);
      valueDv.setUint32(0, i, true);
      m.update(key, value);
    }
    return ns(t0);
  },
  'TypedMap<u32, u64>.set'() {
    const t0 = start();
    for (let i = 0; i < N; i++) tm.set(i & 1023, BigInt(i));
    return ns(t0);
  },
  // bench/typed's map: u32 -> 24-byte struct of two u64 and two u32.
  'struct lookup: bare koffi call'() {
    const { address, key, value: v } = bareS;
    const t0 = start();
    for (let i = 0; i < N; i++) {
      key.setUint32(0, i & 1023, true);
      if (sys(NR_BPF, 1, address, 32) !== 0) throw new Error('lookup failed');
      sum += v[0];
    }
    return ns(t0);
  },
  'TypedMap<u32, Stats>.get (bench/typed)'() {
    const t0 = start();
    let s = 0n;
    for (let i = 0; i < N; i++) {
      const v = ts.get(i & 1023);
      if (v) s += v.packets;
    }
    sum += Number(s & 1n);
    return ns(t0);
  },
  'struct update: bare koffi call'() {
    const { address, key, value: v } = bareS;
    const dv = new DataView(v.buffer, v.byteOffset);
    const t0 = start();
    for (let i = 0; i < N; i++) {
      key.setUint32(0, i & 1023, true);
      dv.setUint32(0, i, true); // packets (low half)
      dv.setUint32(8, i * 2, true); // bytes (low half)
      dv.setUint32(16, i & 1023, true); // ifindex
      if (sys(NR_BPF, 2, address, 32) !== 0) throw new Error('update failed');
    }
    return ns(t0);
  },
  // The bench's own object and two bigints a call, written into the value by hand (no checks, no
  // codec, no closed test), and the bare call. Meant as a typed set's floor, but on 2026-12-03 it
  // measured no more user time than the bare call, while the same loop in a plain script costs ~60 ns
  // more (docs/performance.md): read it beside 'set, one object' below, not as a floor.
  "struct update: bare call + the caller's object and bigints"() {
    const { address, key, value: v } = bareS;
    const dv = new DataView(v.buffer, v.byteOffset);
    const words = new BigUint64Array(v.buffer, v.byteOffset, 3);
    const t0 = start();
    for (let i = 0; i < N; i++) {
      const s = { packets: BigInt(i), bytes: BigInt(i * 2), ifindex: i & 1023, flags: 0 };
      key.setUint32(0, i & 1023, true);
      words[0] = s.packets;
      words[1] = s.bytes;
      dv.setUint32(16, s.ifindex, true);
      dv.setUint32(20, s.flags, true);
      if (sys(NR_BPF, 2, address, 32) !== 0) throw new Error('update failed');
    }
    return ns(t0);
  },
  'TypedMap<u32, Stats>.set (bench/typed)'() {
    const t0 = start();
    for (let i = 0; i < N; i++) ts.set(i & 1023, { packets: BigInt(i), bytes: BigInt(i * 2), ifindex: i & 1023, flags: 0 });
    return ns(t0);
  },
  // The same set with one object, its members rewritten each call (numbers a u64 would refuse: so bigints
  // cached by value): no young garbage a call. Beside the row above, it shows what the caller's fresh
  // object and two bigints cost in user time and, through the caches they sweep, in the kernel's.
  'TypedMap<u32, Stats>.set, one object, 1,024 bigints kept'() {
    const o = { packets: 0n, bytes: 0n, ifindex: 0, flags: 0 };
    const big = Array.from({ length: 1024 }, (_, i) => BigInt(i));
    const t0 = start();
    for (let i = 0; i < N; i++) {
      const k = i & 1023;
      o.packets = big[k];
      o.bytes = big[k];
      o.ifindex = k;
      ts.set(k, o);
    }
    return ns(t0);
  },
  // As bench/typed runs it: a fresh map each round (its first 1,024 sets insert).
  'TypedMap<u32, Stats>.set, fresh map'() {
    const raw = BpfMap.create({ type: 1, keySize: 4, valueSize: 24, maxEntries: 65536, name: 'call_gap_f' });
    const t = new TypedMap(raw, u32, Stats);
    try {
      const t0 = start();
      for (let i = 0; i < N; i++) t.set(i & 1023, { packets: BigInt(i), bytes: BigInt(i * 2), ifindex: i & 1023, flags: 0 });
      return ns(t0);
    } finally {
      raw.close();
    }
  },
  'C: libbpf lookup'() {
    return JSON.parse(execFileSync(cBin, [String(N), '0'], { encoding: 'utf8' })).lookup;
  },
  'C: libbpf update'() {
    return JSON.parse(execFileSync(cBin, [String(N), '0'], { encoding: 'utf8' })).update;
  },
  'C: libbpf lookup, one idle thread'() {
    return JSON.parse(execFileSync(cBin, [String(N), '1'], { encoding: 'utf8' })).lookup;
  },
  'C: libbpf update, one idle thread'() {
    return JSON.parse(execFileSync(cBin, [String(N), '1'], { encoding: 'utf8' })).update;
  },
};

const chosen = process.env.FORMS ? process.env.FORMS.split(';').map((s) => s.trim()) : Object.keys(forms);
for (const f of chosen) if (!forms[f]) throw new Error(`call-gap: no form ${JSON.stringify(f)}`);
for (const f of chosen) forms[f](); // warm-up
const res = Object.fromEntries(chosen.map((f) => [f, []]));
for (let r = 0; r < ROUNDS; r++) for (let j = 0; j < chosen.length; j++) res[chosen[(j + r) % chosen.length]].push(forms[chosen[(j + r) % chosen.length]]());
if (sum < 0) throw new Error('unreachable');
m.close();
ms.close();
const K = ['wall', 'user', 'system'];
const med = Object.fromEntries(chosen.map((f) => [f, K.map((_, k) => median(res[f].map((x) => x[k])))]));
console.log(
  `bench/maps/call-gap: ${ROUNDS} rotating rounds of ${N} ops, medians in ns an op (wall time, and user and system CPU time from getrusage); load ${(await import('node:os')).loadavg()[0].toFixed(1)}`,
);
console.table(
  Object.fromEntries(
    chosen.map((f) => {
      const [w, u, s] = med[f];
      return [
        f,
        {
          wall: w.toFixed(0),
          user: u.toFixed(0),
          system: s.toFixed(0),
          'wall range': `${Math.min(...res[f].map((x) => x[0])).toFixed(0)}–${Math.max(...res[f].map((x) => x[0])).toFixed(0)}`,
        },
      ];
    }),
  ),
);

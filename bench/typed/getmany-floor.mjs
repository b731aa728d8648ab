#!/usr/bin/env node
// bench/typed/getmany-floor: how much of getMany(every key)'s gap to libbpf
// Node itself costs, and how much is library work (issue 19). On bench/typed's
// map (a hash of 65,536 u32 -> struct { u64 packets; u64 bytes; u32 ifindex;
// u32 flags }, every key present), in one process, alternated call by call in
// a rotating order:
// - walk: the bare batch walk from Node, BPF_MAP_LOOKUP_BATCH of 1,024
//   through koffi as the loader calls bpf() (syscall(2), the attr as an
//   integer address), the attr prepared once, nothing decoded: the kernel and
//   the FFI alone;
// - floor: the same walk, each value decoded into a new object with two
//   bigints (read through typed-array views of the batch) and kept in a
//   pre-sized answer at its key's place (key k is asked for at position k, so
//   no index): what any JavaScript getMany must do at least, since the API
//   returns decoded objects that live until the call returns;
// - tsbpf (or A and B): TypedMap.getMany(every key, in order), the bench's
//   call, with its key index, checks and codec.
// Each sample is one call's ns per element; a round takes WALKS samples a
// side and keeps their median. libbpf's getMany (build/c/bench-typed, the
// bench's helper: a batch walk picking keys out of an index and copying each
// value into a static answer) runs once between rounds as its own process,
// with OPS=1,000 single calls, and its getManyNs is printed beside.
// Usage (root): node bench/typed/getmany-floor.mjs, or A=dir B=dir node
// bench/typed/getmany-floor.mjs to compare two builds of @tsbpf/maps, each a
// copy of packages/maps/dist kept inside packages/maps (so its imports
// resolve); counts the rounds B beats A. Knobs: ROUNDS (9), WALKS (7), GC=1
// (run with node --expose-gc: a full collection, untimed, before every call,
// so that no call pays for the garbage of the sides before it; each still
// pays its own scavenges and promotions. For A/B runs only: --trace-deopt
// shows getMany's code deoptimized after each forced collection ("insufficient
// type feedback") and optimized again, which a program never sees).
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { median, root, runJson, startHelpers } from '../support/compare.mjs';

const ROUNDS = Number(process.env.ROUNDS ?? 9);
const WALKS = Number(process.env.WALKS ?? 7);
const N = 65536;
const collect = process.env.GC === '1' ? globalThis.gc : undefined;
if (process.env.GC === '1' && !collect) throw new Error('getmany-floor: GC=1 needs node --expose-gc');
const B = 1024;
const dirs = process.env.A
  ? { A: resolve(process.env.A), ...(process.env.B ? { B: resolve(process.env.B) } : {}) }
  : { tsbpf: join(root, 'packages/maps/dist') };

const { BpfMap } = await import(join(root, 'packages/loader/dist/index.js'));
const koffi = createRequire(join(root, 'packages/loader/package.json'))('koffi');
const libc = koffi.load('libc.so.6');
const syscall = libc.func('syscall', 'long', ['long', 'int', 'uintptr_t', 'unsigned int']);
const SYS_BPF = { x64: 321, arm64: 280, riscv64: 280, loong64: 280, s390x: 351, ppc64: 361 }[process.arch];
if (SYS_BPF === undefined) throw new Error(`getmany-floor: no bpf() number for ${process.arch}`);
const MAP_LOOKUP_BATCH = 24;
const ENOENT = 2;
// union bpf_attr's batch part (as packages/loader/src/sys/layouts.generated.ts has it).
const A_IN = 0,
  A_OUT = 8,
  A_KEYS = 16,
  A_VALUES = 24,
  A_COUNT = 32,
  A_FD = 36,
  ATTR_SIZE = 56;

/** Native memory for this script's life: the pointer, its address and an ArrayBuffer over it. */
function pinned(size) {
  const p = koffi.alloc('uint8_t', size);
  return { p, address: BigInt(koffi.address(p)), buffer: koffi.view(p, size) };
}

const raw = BpfMap.create({ type: 1, keySize: 4, valueSize: 24, maxEntries: N, name: 'getmany_floor' });
const sides = {};
let fill;
for (const [name, dir] of Object.entries(dirs)) {
  if (!existsSync(join(dir, 'index.js'))) throw new Error(`getmany-floor: no ${dir}/index.js (build first)`);
  const { TypedMap, struct, u32, u64 } = await import(join(dir, 'index.js'));
  const m = new TypedMap(raw, u32, struct({ packets: u64, bytes: u64, ifindex: u32, flags: u32 }));
  fill ??= m;
  sides[name] = m;
}
fill.setMany(Array.from({ length: N }, (_, i) => [i, { packets: BigInt(i), bytes: BigInt(i * 3), ifindex: i, flags: 7 }]));

const keys = pinned(B * 4);
const values = pinned(B * 24);
const cursorIn = pinned(8);
const cursorOut = pinned(8);
const attr = pinned(ATTR_SIZE);
const av = new DataView(attr.buffer);
const attrAddress = Number(attr.address);
av.setBigUint64(A_OUT, cursorOut.address, true);
av.setBigUint64(A_KEYS, keys.address, true);
av.setBigUint64(A_VALUES, values.address, true);
av.setUint32(A_FD, raw.fd, true);
const keyWords = new Uint32Array(keys.buffer);
const valueWords = new Uint32Array(values.buffer);
const valueBig = new BigUint64Array(values.buffer);
const inBytes = new Uint8Array(cursorIn.buffer);
const outBytes = new Uint8Array(cursorOut.buffer);

/** Set by batch() when the kernel said the walk is over (ENOENT: its batch, maybe not empty, is the last). */
let done = false;
/** One BPF_MAP_LOOKUP_BATCH (the first of a walk with no in_batch): the entries it gave. */
function batch(first) {
  av.setBigUint64(A_IN, first ? 0n : cursorIn.address, true);
  av.setUint32(A_COUNT, B, true);
  const r = Number(syscall(SYS_BPF, MAP_LOOKUP_BATCH, attrAddress, ATTR_SIZE));
  const count = av.getUint32(A_COUNT, true);
  done = r < 0;
  if (done) {
    const errno = koffi.errno();
    if (errno !== ENOENT) throw new Error(`getmany-floor: MAP_LOOKUP_BATCH errno ${errno}`);
  } else inBytes.set(outBytes);
  return count;
}

/** The walk alone: every batch read, nothing decoded. */
function walk() {
  let seen = 0;
  let sum = 0;
  for (let first = true; first || !done; first = false) {
    const count = batch(first);
    seen += count;
    if (count > 0) sum += keyWords[count - 1];
  }
  if (seen !== N) throw new Error(`getmany-floor: walked ${seen} of ${N}`);
  return sum;
}

/** The walk with each value decoded into an object with two bigints, kept at its key's place in the answer. */
function floor() {
  const out = new Array(N).fill(undefined);
  let seen = 0;
  for (let first = true; first || !done; first = false) {
    const count = batch(first);
    for (let j = 0; j < count; j++) {
      out[keyWords[j]] = { packets: valueBig[j * 3], bytes: valueBig[j * 3 + 1], ifindex: valueWords[j * 6 + 4], flags: valueWords[j * 6 + 5] };
    }
    seen += count;
  }
  if (seen !== N) throw new Error(`getmany-floor: walked ${seen} of ${N}`);
  return out;
}

const everyKey = Array.from({ length: N }, (_, i) => i);
const calls = { walk, floor };
for (const [name, m] of Object.entries(sides)) calls[name] = () => m.getMany(everyKey);
const names = Object.keys(calls);

/** Checks that every side answers the same values (walk aside). */
function check() {
  const want = floor();
  for (const n of names.slice(2)) {
    const got = calls[n]();
    for (const i of [0, 1, 1023, 4097, N - 1]) {
      if (got[i].packets !== want[i].packets || got[i].bytes !== want[i].bytes || got[i].ifindex !== want[i].ifindex || got[i].flags !== want[i].flags)
        throw new Error(`getmany-floor: ${n} and the floor differ at key ${i}`);
    }
  }
}

let sink = 0;
function round(r) {
  const t = Object.fromEntries(names.map((n) => [n, []]));
  for (let w = 0; w < WALKS; w++) {
    for (let k = 0; k < names.length; k++) {
      const n = names[(w + r + k) % names.length];
      if (collect) collect();
      const s = process.hrtime.bigint();
      const got = calls[n]();
      t[n].push(Number(process.hrtime.bigint() - s) / N);
      sink += typeof got === 'number' ? got : got.length;
    }
  }
  return Object.fromEntries(names.map((n) => [n, median(t[n])]));
}

const helper = join(root, 'build/c/bench-typed');
const haveC = existsSync(helper);
if (haveC) startHelpers(); // before the rounds (compare.mjs: no fork of this process between them)
try {
  check();
  for (let i = 0; i < 3; i++) for (const n of names) calls[n]();
  console.log(
    `bench/typed/getmany-floor: ${ROUNDS} rounds, ${WALKS} calls a side a round alternated call by call (medians, ns an element), 65,536 u32 -> 24-byte struct${collect ? ', a full GC before each call' : ''}`,
  );
  const rounds = Object.fromEntries([...(haveC ? ['libbpf'] : []), ...names].map((n) => [n, []]));
  for (let r = 0; r < ROUNDS; r++) {
    const m = round(r);
    if (haveC) m.libbpf = (await runJson(helper, [1000, WALKS])).getManyNs;
    for (const n of Object.keys(rounds)) rounds[n].push(m[n]);
    console.log(
      `round ${r + 1}: ${Object.keys(rounds)
        .map((n) => `${n} ${m[n].toFixed(0)}`)
        .join('   ')}`,
    );
  }
  const med = Object.fromEntries(Object.keys(rounds).map((n) => [n, median(rounds[n])]));
  console.log(
    `median over rounds: ${Object.keys(rounds)
      .map((n) => `${n} ${med[n].toFixed(0)}`)
      .join('   ')}`,
  );
  const per = (n, base) => median(rounds[n].map((v, r) => v - rounds[base][r]));
  console.log(`decode and keep (floor - walk): ${per('floor', 'walk').toFixed(0)} ns an element (median of the rounds' differences)`);
  for (const n of names.slice(2)) {
    console.log(`library work (${n} - floor): ${per(n, 'floor').toFixed(0)} ns an element`);
    if (haveC)
      console.log(
        `${n}/libbpf ${(med[n] / med.libbpf).toFixed(2)}x, floor/libbpf ${(med.floor / med.libbpf).toFixed(2)}x, walk/libbpf ${(med.walk / med.libbpf).toFixed(2)}x`,
      );
  }
  if (!haveC) console.log('(no build/c/bench-typed: run scripts/build-c-helpers for the libbpf column)');
  if (names.length === 4) {
    const [, , a, b] = names;
    const wins = rounds[a].filter((v, r) => rounds[b][r] < v).length;
    console.log(`${b} faster than ${a} in ${wins} of ${ROUNDS} rounds`);
  }
  if (sink < 0) throw new Error('unreachable');
} finally {
  raw.close();
}

#!/usr/bin/env node
// bench/maps/ffi-tax: what koffi's call costs by itself, apart from the map
// code (issue 19): libc calls with no syscall (abs, strnlen on a pointer),
// getpid, bpf() with an unknown command and a hash lookup, each through the
// declaration forms tsbpf could use (the attr as a `void *` koffi pointer, or
// as an integer address: what sys/ffi.ts uses since 2026-12-03), beside C
// (ffi-tax.c, built here with cc and libbpf) in rotating rounds; medians in ns.
// On x86-64 also bpf() through a stub of machine code taking the attr's
// address as its one argument (the command and size built in, the raw
// `syscall` instruction, -errno returned in rax): what a call with one
// argument instead of syscall(2)'s four saves (a lever tried, not kept:
// docs/performance.md, 2026-12-04).
// A measurement of koffi only: tsbpf's own calls go through packages/loader.
// Root (bpf()). Knobs: N (calls a round, 500,000), ROUNDS (9).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { root } from '../support/compare.mjs';

const N = Number(process.env.N ?? 500_000);
const ROUNDS = Number(process.env.ROUNDS ?? 9);
const cBin = join(root, 'build/c/ffi-tax');
if (!existsSync(cBin)) {
  mkdirSync(join(root, 'build/c'), { recursive: true });
  execFileSync('cc', ['-O2', '-o', cBin, join(root, 'bench/maps/ffi-tax.c'), '-lbpf'], { stdio: 'inherit' });
}
const koffi = createRequire(join(root, 'packages/loader/package.json'))('koffi');
const libc = koffi.load('libc.so.6');
const NR_BPF = { x64: 321, arm64: 280 }[process.arch];
const NR_GETPID = { x64: 39, arm64: 172 }[process.arch];
if (NR_BPF === undefined) throw new Error(`ffi-tax: no syscall numbers for ${process.arch}`);

const abs = libc.func('int abs(int)');
const strnlenP = libc.func('strnlen', 'size_t', ['void *', 'size_t']);
const strnlenU = libc.func('strnlen', 'size_t', ['uintptr_t', 'size_t']);
const getpid = libc.func('int getpid()');
const sysP = libc.func('syscall', 'long', ['long', 'int', 'void *', 'unsigned int']);
const sysU = libc.func('syscall', 'long', ['long', 'int', 'uintptr_t', 'unsigned int']);
const calloc = libc.func('void *calloc(size_t, size_t)');

// A hash map u32 -> u64 of 1,024 keys, and a lookup attr pointing at a key and a value buffer, all in calloc'd memory.
const createAttr = calloc(1, 128);
const cv = new DataView(koffi.view(createAttr, 128));
[1, 4, 8, 1024].forEach((v, i) => cv.setUint32(4 * i, v, true)); // map_type hash, key 4, value 8, 1,024 entries
const fd = sysP(NR_BPF, 0, createAttr, 128);
if (fd < 0) throw new Error(`ffi-tax: BPF_MAP_CREATE failed (errno ${koffi.errno()}): run as root`);
const attr = calloc(1, 32);
const av = new DataView(koffi.view(attr, 32));
const key = calloc(1, 8);
const kv = new DataView(koffi.view(key, 8));
const value = calloc(1, 8);
av.setUint32(0, fd, true);
av.setBigUint64(8, koffi.address(key), true);
av.setBigUint64(16, koffi.address(value), true);
for (let k = 0; k < 1024; k++) {
  kv.setUint32(0, k, true);
  if (sysP(NR_BPF, 2, attr, 32) !== 0) throw new Error('ffi-tax: update failed');
}
const attrAddress = Number(koffi.address(attr));

/** bpf(cmd, attr, size) as a one-argument function of machine code (x86-64), or undefined elsewhere. */
const mmap = libc.func('void *mmap(void *addr, size_t length, int prot, int flags, int fd, long offset)');
const mprotect = libc.func('int mprotect(void *addr, size_t len, int prot)');
const BpfStub = koffi.proto('long bpf_stub(uintptr_t attr)');
function bpfStub(cmd, size) {
  if (process.arch !== 'x64') return undefined;
  const u32 = (v) => [v & 255, (v >>> 8) & 255, (v >>> 16) & 255, v >>> 24];
  // mov rsi, rdi; mov edi, cmd; mov edx, size; mov eax, NR_BPF; syscall; ret
  const code = [0x48, 0x89, 0xfe, 0xbf, ...u32(cmd), 0xba, ...u32(size), 0xb8, ...u32(NR_BPF), 0x0f, 0x05, 0xc3];
  const page = mmap(null, 4096, 3, 0x22, -1, 0); // PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS
  new Uint8Array(koffi.view(page, 4096)).set(code);
  if (mprotect(page, 4096, 5) !== 0) throw new Error('ffi-tax: mprotect(PROT_READ|PROT_EXEC) refused'); // W^X: never both
  return koffi.decode(page, BpfStub);
}
const lookupStub = bpfStub(1, 32);
const badStub = bpfStub(9999, 32);
const zeros = calloc(1, 64); // strnlen's argument: returns 0 at once
const zerosAddress = Number(koffi.address(zeros));

let i = 0;
const sides = {
  'abs()': () => abs(-1) - 1,
  'strnlen(void *)': () => strnlenP(zeros, 8),
  'strnlen(uintptr_t)': () => strnlenU(zerosAddress, 8),
  'getpid()': () => (getpid() > 0 ? 0 : 1),
  'syscall(getpid, void *)': () => (sysP(NR_GETPID, 0, attr, 32) > 0 ? 0 : 1),
  'syscall(getpid, uintptr_t)': () => (sysU(NR_GETPID, 0, attrAddress, 32) > 0 ? 0 : 1),
  'bpf(bad command, void *)': () => sysP(NR_BPF, 9999, attr, 32) + 1,
  'bpf(bad command, uintptr_t)': () => sysU(NR_BPF, 9999, attrAddress, 32) + 1,
  'bpf(lookup, void *)': () => (kv.setUint32(0, i++ & 1023, true), sysP(NR_BPF, 1, attr, 32)),
  'bpf(lookup, uintptr_t)': () => (kv.setUint32(0, i++ & 1023, true), sysU(NR_BPF, 1, attrAddress, 32)),
};
if (lookupStub) {
  sides['bpf(bad command), 1-argument stub'] = () => badStub(attrAddress) + 22; // -EINVAL
  sides['bpf(lookup), 1-argument stub'] = () => (kv.setUint32(0, i++ & 1023, true), lookupStub(attrAddress));
}
const time = (f) => {
  const t0 = process.hrtime.bigint();
  for (let j = 0; j < N; j++) if (f() !== 0) throw new Error('ffi-tax: a call failed');
  return Number(process.hrtime.bigint() - t0) / N;
};
const names = Object.keys(sides);
const res = Object.fromEntries([...names, 'C getpid', 'C bpf(bad command)', 'C bpf_map_lookup_elem'].map((n) => [n, []]));
for (const n of names) time(sides[n]); // warm-up
for (let r = 0; r < ROUNDS; r++) {
  for (let j = 0; j < names.length; j++) {
    const n = names[(j + r) % names.length];
    res[n].push(time(sides[n]));
  }
  const c = JSON.parse(execFileSync(cBin, [String(N)], { encoding: 'utf8' }));
  res['C getpid'].push(c.getpid);
  res['C bpf(bad command)'].push(c.badbpf);
  res['C bpf_map_lookup_elem'].push(c.lookup);
}
const median = (a) => a.slice().sort((x, y) => x - y)[a.length >> 1];
if (lookupStub) {
  // Same-round pairs: the stub against syscall(2) with the address as an integer.
  const pair = (a, b) => res[a].map((x, r) => x - res[b][r]);
  const saved = (a, b) => {
    const d = pair(a, b);
    return `${median(d).toFixed(1)} ns (stub faster in ${d.filter((x) => x > 0).length} of ${d.length} rounds)`;
  };
  console.log(
    `the 1-argument stub saves, paired by round: lookup ${saved('bpf(lookup, uintptr_t)', 'bpf(lookup), 1-argument stub')}; bad command ${saved('bpf(bad command, uintptr_t)', 'bpf(bad command), 1-argument stub')}`,
  );
}
console.log(`bench/maps/ffi-tax: ${ROUNDS} rounds of ${N} calls, medians in ns (min–max)`);
console.table(
  Object.fromEntries(
    Object.entries(res).map(([n, a]) => [n, { ns: median(a).toFixed(0), range: `${Math.min(...a).toFixed(0)}–${Math.max(...a).toFixed(0)}` }]),
  ),
);

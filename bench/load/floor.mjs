#!/usr/bin/env node
// bench/load/floor: what a Node process pays for a small object's load with no
// library work at all, beside tsbpf's whole load, alternated in one process.
// The floor does what tsbpf's open + load + close does in the kernel and the
// file system, with every attr and blob prepared once beforehand: read the
// object file (readFileSync), BPF_BTF_LOAD of the BTF as the kernel takes it,
// one BPF_PROG_LOAD per program (relocated instructions, license, name,
// expected attach type, func_info and line_info), then close(2) of every fd.
// It calls bpf() through koffi as the loader does (syscall(2), the attr as an
// integer address). The blobs come from @tsbpf/object's own functions on the
// same object (btfForKernel, linkProgram, relocateProgram, funcInfoBytes,
// lineInfoBytes) and the offsets from the loader's generated attr layouts, so
// the floor stays the same work if the fixture changes. tsbpf's side is the
// row's loop: loadCollection(parseCollectionSpec(readFileSync(OBJ))).close().
// The difference, tsbpf minus floor, is the library work a load adds.
// Usage (root): node bench/load/floor.mjs, or A=dir B=dir node bench/load/floor.mjs
// to compare two builds (each dir a repository root, or a copy of one, with
// packages/object/dist and packages/loader/dist; the floor is prepared from
// A's). LEAN=1 adds a side between the two: lean-load.mjs, a hand-written
// read + parse + load of objects shaped like minimal.bpf.o with no spec and
// no checks, the least JavaScript the load can be; LEAN=spec adds that and
// the same load building a spec's plain data as it goes. Knobs: OBJ (an object
// without maps), N (300 loads a sample), ROUNDS (7), WARMUP (3,000). The sides alternate load by load in a rotating order;
// prints each round's medians (µs) and the median over rounds.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { median, root, runJson, startHelpers } from '../support/compare.mjs';
import { makeLeanLoad } from './lean-load.mjs';

const OBJ = process.env.OBJ ?? join(root, 'fixtures/out/minimal.bpf.o');
const N = Number(process.env.N ?? 300);
const ROUNDS = Number(process.env.ROUNDS ?? 7);
const WARMUP = Number(process.env.WARMUP ?? 3000);
const dirs = process.env.A ? { A: resolve(process.env.A), ...(process.env.B ? { B: resolve(process.env.B) } : {}) } : { tsbpf: root };

const first = Object.values(dirs)[0];
const O = await import(join(first, 'packages/object/dist/index.js'));
// The loader's attr layouts (its dist is one bundle): this tree's generated file, through esbuild.
const layouts = join(root, 'bench/.build/load-floor-layouts.mjs');
execFileSync(
  join(root, 'node_modules/.bin/esbuild'),
  [join(root, 'packages/loader/src/sys/layouts.generated.ts'), '--format=esm', `--outfile=${layouts}`, '--log-level=warning'],
  {
    stdio: 'inherit',
  },
);
const L = await import(layouts);
const koffi = createRequire(join(first, 'packages/loader/package.json'))('koffi');
const libc = koffi.load('libc.so.6');
const syscall = libc.func('syscall', 'long', ['long', 'int', 'uintptr_t', 'unsigned int']);
const close = libc.func('int close(int fd)');
const SYS_BPF = { x64: 321, arm64: 280, riscv64: 280, loong64: 280, s390x: 351, ppc64: 361 }[process.arch];
if (SYS_BPF === undefined) throw new Error(`floor: no bpf() number for ${process.arch}`);

/** Native memory holding `bytes` for good (this script's life): its address as a number. */
function pinned(bytes) {
  const p = koffi.alloc('uint8_t', Math.max(bytes.length, 1));
  new Uint8Array(koffi.view(p, Math.max(bytes.length, 1))).set(bytes);
  return { p, address: Number(koffi.address(p)), size: bytes.length };
}
/** A zeroed attr for `cmd` at the loader's size, with a DataView to fill it. */
function attr(cmd) {
  const a = pinned(new Uint8Array(L.attrSize[cmd]));
  return { ...a, view: new DataView(koffi.view(a.p, a.size)) };
}
function put(view, field, value) {
  if (field.size === 8) view.setBigUint64(field.offset, BigInt(value), true);
  else if (field.size === 4) view.setUint32(field.offset, value, true);
  else throw new Error(`floor: a ${field.size}-byte field`);
}

// Everything prepared once, from the same object.
const spec = O.parseCollectionSpec(readFileSync(OBJ));
if (Object.keys(spec.maps).length > 0) throw new Error(`floor: ${OBJ} has maps; the floor prepares programs and BTF only`);
if (!spec.btf) throw new Error(`floor: ${OBJ} has no BTF`);
const { bytes: kernelBtf } = O.btfForKernel(spec);
const btfBlob = pinned(kernelBtf);
const btfAttr = attr('BTF_LOAD');
put(btfAttr.view, L.btfLoadAttr.btf, btfBlob.address);
put(btfAttr.view, L.btfLoadAttr.btf_size, btfBlob.size);
const P = L.progLoadAttr;
const programs = Object.values(spec.programs).map((p) => {
  const linked = O.linkProgram(spec, p.name);
  if (linked.coreRelos.length > 0) throw new Error(`floor: program ${p.name} has CO-RE relocations`);
  const insns = pinned(O.relocateProgram(spec, linked, { mapFds: new Map(), btfFd: undefined }));
  const funcInfo = pinned(O.funcInfoBytes(linked, spec.byteOrder));
  const lineInfo = pinned(O.lineInfoBytes(linked, spec.byteOrder));
  const license = pinned(new TextEncoder().encode(`${p.license}\0`));
  const a = attr('PROG_LOAD');
  put(a.view, P.prog_type, p.type);
  put(a.view, P.insn_cnt, insns.size / 8);
  put(a.view, P.insns, insns.address);
  put(a.view, P.license, license.address);
  put(a.view, P.kern_version, p.kernelVersion ?? 0);
  put(a.view, P.prog_flags, p.sleepable ? 1 << 4 : 0);
  new Uint8Array(a.view.buffer).set(new TextEncoder().encode(p.name).subarray(0, P.prog_name.size - 1), P.prog_name.offset);
  put(a.view, P.expected_attach_type, p.attachType ?? 0);
  put(a.view, P.func_info_rec_size, O.FUNC_INFO_SIZE);
  put(a.view, P.func_info, funcInfo.address);
  put(a.view, P.func_info_cnt, funcInfo.size / O.FUNC_INFO_SIZE);
  put(a.view, P.line_info_rec_size, O.LINE_INFO_SIZE);
  put(a.view, P.line_info, lineInfo.address);
  put(a.view, P.line_info_cnt, lineInfo.size / O.LINE_INFO_SIZE);
  return { name: p.name, attr: a, keep: [insns, funcInfo, lineInfo, license] };
});
const progFds = new Array(programs.length).fill(-1);

function floor() {
  readFileSync(OBJ);
  const btfFd = Number(syscall(SYS_BPF, L.bpfCmd.BTF_LOAD, btfAttr.address, btfAttr.size));
  if (btfFd < 0) throw new Error(`floor: BTF_LOAD errno ${koffi.errno()}`);
  for (let i = 0; i < programs.length; i++) {
    const a = programs[i].attr;
    a.view.setUint32(P.prog_btf_fd.offset, btfFd, true);
    const fd = Number(syscall(SYS_BPF, L.bpfCmd.PROG_LOAD, a.address, a.size));
    if (fd < 0) throw new Error(`floor: PROG_LOAD of ${programs[i].name} errno ${koffi.errno()}`);
    progFds[i] = fd;
  }
  for (let i = 0; i < programs.length; i++) close(progFds[i]);
  close(btfFd);
}

const sides = { floor };
// LEAN=1: a third side, the least JavaScript such a load can be (lean-load.mjs), so the library's work can be set beside it.
if (process.env.LEAN === '1' || process.env.LEAN === 'spec') sides.lean = makeLeanLoad({ koffi, syscall, close, L, SYS_BPF, OBJ });
// LEAN=spec: a fourth side, the lean load that also builds a spec's plain data (what keeping a spec adds).
if (process.env.LEAN === 'spec') sides.leanSpec = makeLeanLoad({ koffi, syscall, close, L, SYS_BPF, OBJ, withSpec: true });
for (const [name, dir] of Object.entries(dirs)) {
  const { parseCollectionSpec } = await import(join(dir, 'packages/object/dist/index.js'));
  const { loadCollection } = await import(join(dir, 'packages/loader/dist/index.js'));
  sides[name] = () => loadCollection(parseCollectionSpec(readFileSync(OBJ))).close();
}
const names = Object.keys(sides);

/** One round: N loads a side, the sides alternated load by load (order rotated each load); each side's median. */
function round() {
  const t = Object.fromEntries(names.map((n) => [n, new Array(N)]));
  for (let i = 0; i < N; i++) {
    for (let k = 0; k < names.length; k++) {
      const n = names[(i + k) % names.length];
      const s = process.hrtime.bigint();
      sides[n]();
      t[n][i] = Number(process.hrtime.bigint() - s) / 1000;
    }
  }
  return Object.fromEntries(names.map((n) => [n, median(t[n])]));
}

for (let i = 0; i < WARMUP; i++) for (const n of names) sides[n]();
const rounds = Object.fromEntries(names.map((n) => [n, []]));
console.log(
  `bench/load/floor: ${OBJ.split('/').pop()}, ${ROUNDS} rounds of ${N} loads a side alternated load by load (medians, µs), after ${WARMUP} warm-up loads`,
);
// libbpf's whole open + load + close (build/c/bench-load, N loads) after each round, when it is built: the row's reference in the same run.
const libbpfBin = join(root, 'build/c/bench-load');
const libbpf = existsSync(libbpfBin) ? [] : undefined;
if (libbpf) startHelpers(); // before the rounds (compare.mjs: no fork of this process between them)
for (let r = 0; r < ROUNDS; r++) {
  const m = round();
  for (const n of names) rounds[n].push(m[n]);
  if (libbpf) libbpf.push((await runJson(libbpfBin, [OBJ, N])).medianUs);
  console.log(
    `round ${r + 1}: ${libbpf ? `libbpf ${libbpf[r].toFixed(1)}   ` : ''}${names.map((n) => `${n} ${m[n].toFixed(1)}`).join('   ')}   library work ${names
      .slice(1)
      .map((n) => `${n} ${(m[n] - m.floor).toFixed(1)}`)
      .join('   ')}`,
  );
}
const med = Object.fromEntries(names.map((n) => [n, median(rounds[n])]));
console.log(`median over rounds: ${libbpf ? `libbpf ${median(libbpf).toFixed(1)} µs   ` : ''}${names.map((n) => `${n} ${med[n].toFixed(1)} µs`).join('   ')}`);
if (libbpf) {
  const ratios = names.map((n) => `${n} ${median(rounds[n].map((v, r) => v / libbpf[r])).toFixed(2)}x`);
  console.log(`against libbpf (median of the rounds' ratios): ${ratios.join('   ')}`);
}
for (const n of names.slice(1)) {
  const work = rounds[n].map((v, r) => v - rounds.floor[r]);
  console.log(
    `library work (${n} - floor, per round): median ${median(work).toFixed(1)} µs, range ${Math.min(...work).toFixed(1)}–${Math.max(...work).toFixed(1)}`,
  );
}
if (names.length === 3) {
  const [, a, b] = names;
  const wins = rounds[a].filter((v, r) => rounds[b][r] < v).length;
  console.log(`${b} faster than ${a} in ${wins} of ${ROUNDS} rounds`);
}

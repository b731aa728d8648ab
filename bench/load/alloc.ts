// bench/load/alloc: bytes allocated on the V8 heap by each phase of tsbpf's
// open + load + close of a small object, and by the whole pipeline (heapUsed
// over many calls in a new space large enough that no collection runs in
// between; a repetition during which a collection ran is dropped), then
// scavenges per 10,000 whole loads in a 1 MB semi-space. Deterministic where
// the row's time is not: run with `node bench/load/alloc.mjs`, which bundles
// this file and starts node with the heap flags.
import { readFileSync } from 'node:fs';
import { PerformanceObserver } from 'node:perf_hooks';
import {
  Btf,
  btfForKernel,
  funcInfoBytes,
  lineInfoBytes,
  linkProgram,
  parseBtfExt,
  parseCollectionSpec,
  relocateProgram,
} from '../../packages/object/src/index.js';
import { readElf } from '../../packages/object/src/elf/elf-file.js';
import { readSymbols } from '../../packages/object/src/elf/symbols.js';
import { readRelocations } from '../../packages/object/src/elf/relocations.js';
import { loadCollection } from '../../packages/loader/src/index.js';

const OBJ = process.env.OBJ ?? new URL('../../fixtures/out/minimal.bpf.o', import.meta.url).pathname;
const CALLS = Number(process.env.CALLS ?? 500);
const REPS = Number(process.env.REPS ?? 7);
const WARMUP = Number(process.env.WARMUP ?? 3000);
const LOADS = Number(process.env.LOADS ?? 10000);
const KERNEL = process.env.KERNEL !== '0';
const MODE = process.env.MODE ?? 'bytes';

let gcs = 0;
new PerformanceObserver((list) => {
  gcs += list.getEntries().length;
}).observe({ entryTypes: ['gc'] });
const tick = () => new Promise((r) => setImmediate(r));

const bytes = readFileSync(OBJ);
const elf = readElf(bytes);
const symbols = readSymbols(elf);
const btfSec = elf.sectionByName('.BTF')!;
const extSec = elf.sectionByName('.BTF.ext');
const btf = Btf.parse(btfSec.data.slice());
const spec = parseCollectionSpec(bytes);
const progName = Object.keys(spec.programs)[0]!;
const linked = linkProgram(spec, progName);
let sink: unknown;

const phases: [string, () => unknown, boolean?][] = [
  ['readFileSync', () => readFileSync(OBJ)],
  ['readElf', () => readElf(bytes)],
  ['symbols', () => readSymbols(elf)],
  ['ELF relocations', () => readRelocations(elf, symbols)],
  ['Btf.parse (with copy)', () => Btf.parse(btfSec.data.slice())],
  ['Btf.parse + BTF.ext', () => extSec && parseBtfExt(extSec.data, Btf.parse(btfSec.data.slice()))],
  ['parseCollectionSpec', () => parseCollectionSpec(bytes)],
  ['btfForKernel', () => btfForKernel(spec)],
  ['linkProgram', () => linkProgram(spec, progName)],
  ['relocateProgram', () => relocateProgram(spec, linked, { mapFds: new Map(), btfFd: undefined } as never)],
  ['funcInfo + lineInfo bytes', () => [funcInfoBytes(linked, spec.byteOrder), lineInfoBytes(linked, spec.byteOrder)]],
  ['loadCollection + close', () => loadCollection(spec).close(), true],
  ['whole pipeline', () => loadCollection(parseCollectionSpec(readFileSync(OBJ))).close(), true],
];

async function bytesPerCall(f: () => unknown): Promise<number | undefined> {
  for (let i = 0; i < WARMUP; i++) sink = f();
  const got: number[] = [];
  for (let rep = 0; rep < REPS; rep++) {
    await tick();
    const before = gcs;
    const h0 = process.memoryUsage().heapUsed;
    for (let i = 0; i < CALLS; i++) sink = f();
    const h1 = process.memoryUsage().heapUsed;
    await tick();
    if (gcs === before) got.push((h1 - h0) / CALLS);
  }
  got.sort((a, b) => a - b);
  return got.length ? got[got.length >> 1] : undefined;
}

if (MODE === 'bytes') {
  console.log(`bytes a call on the V8 heap (median of ${REPS} repetitions of ${CALLS} calls, after ${WARMUP} warm-up calls)`);
  for (const [name, f, kernel] of phases) {
    if (kernel && !KERNEL) continue;
    const b = await bytesPerCall(f);
    console.log(`${name.padEnd(28)} ${b === undefined ? 'a collection ran in every repetition' : Math.round(b).toString().padStart(7)}`);
  }
} else {
  const whole = () => loadCollection(parseCollectionSpec(readFileSync(OBJ))).close();
  const parse = () => parseCollectionSpec(bytes);
  const f = MODE === 'parse' ? parse : whole;
  for (let i = 0; i < WARMUP; i++) sink = f();
  await tick();
  const before = gcs;
  for (let i = 0; i < LOADS; i++) sink = f();
  await tick();
  console.log(`${MODE === 'parse' ? 'parseCollectionSpec' : 'whole pipeline'}: ${gcs - before} collections in ${LOADS} calls`);
}
void sink;

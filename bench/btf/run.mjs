#!/usr/bin/env node
// bench/btf: parse the kernel's BTF and find task_struct, tsbpf against
// libbpf (build/c/bench-btf) in the same run. Rounds alternate between the two
// so machine noise hits both alike; medians of all samples are compared.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const FILE = process.env.BTF_FILE ?? '/sys/kernel/btf/vmlinux';
const ROUNDS = Number(process.env.ROUNDS ?? 5);
const PER_ROUND = Number(process.env.PER_ROUND ?? 30);
const TARGET = 1.5;

let Btf, loadKernelBtf, readFileBytes;
try {
  ({ Btf } = await import(join(root, 'packages/object/dist/index.js')));
  ({ loadKernelBtf, readFileBytes } = await import(join(root, 'packages/loader/dist/index.js')));
} catch (e) {
  console.error(`bench/btf: build first (npm run build): ${e.message}`);
  process.exit(1);
}

function time(fn, n) {
  const out = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    fn();
    out.push(performance.now() - t);
  }
  return out;
}

const tsbpf = {
  // What a program does: the loader maps the file (Linux 6.16+) or reads it.
  parseFind: () => {
    if (!loadKernelBtf({ path: FILE }).findByName('task_struct', 'struct')) throw new Error('no task_struct');
  },
  parseFindMemory: (() => {
    const bytes = readFileBytes(FILE);
    return () => {
      if (!Btf.parse(bytes).findByName('task_struct', 'struct')) throw new Error('no task_struct');
    };
  })(),
  fullDecode: () => {
    const btf = loadKernelBtf({ path: FILE });
    let sum = 0;
    for (const t of btf.types()) {
      sum += t.name.length;
      if (t.kind === 'struct' || t.kind === 'union') for (const m of t.members) sum += m.name.length;
    }
    return sum;
  },
};

const ours = { parseFind: [], parseFindMemory: [], fullDecode: [] };
const theirs = { parseFind: [], parseFindMemory: [], fullDecode: [] };
for (const k of Object.keys(tsbpf)) time(tsbpf[k], 5); // warm up the JIT
for (let r = 0; r < ROUNDS; r++) {
  const c = JSON.parse(execFileSync(join(root, 'build/c/bench-btf'), [FILE, String(PER_ROUND)], { encoding: 'utf8' }));
  for (const k of Object.keys(theirs)) theirs[k].push(c[k].median);
  for (const k of Object.keys(ours)) ours[k].push(...time(tsbpf[k], k === 'fullDecode' ? Math.ceil(PER_ROUND / 5) : PER_ROUND));
}
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

const rows = [
  ['parse + find task_struct (file)', 'parseFind', TARGET],
  ['parse + find task_struct (bytes in memory)', 'parseFindMemory', undefined],
  ['parse + decode every type', 'fullDecode', undefined],
].map(([label, key, target]) => {
  const a = median(ours[key]);
  const b = median(theirs[key]);
  return { metric: label, tsbpfMs: +a.toFixed(2), libbpfMs: +b.toFixed(2), ratio: +(a / b).toFixed(2), target: target ? `<= ${target}x` : '' };
});
console.log(`bench/btf: ${FILE}, ${ROUNDS} interleaved rounds`);
console.table(rows);
const main = rows[0];
if (main.ratio > TARGET) console.log(`TARGET MISSED: parse + find is ${main.ratio}x libbpf (target ${TARGET}x)`);
else console.log(`target met: parse + find is ${main.ratio}x libbpf (target ${TARGET}x)`);
mkdirSync(join(root, 'bench/results'), { recursive: true });
writeFileSync(join(root, 'bench/results/btf.json'), JSON.stringify({ file: FILE, date: new Date().toISOString(), rows }, null, 2) + '\n');

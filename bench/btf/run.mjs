#!/usr/bin/env node
// bench/btf: parse the kernel's BTF and find task_struct, tsbpf against
// libbpf (build/c/bench-btf), cilium/ebpf and aya in the same run. Rounds
// alternate between them so machine noise hits all alike; medians of all
// samples are compared.
import { join } from 'node:path';
import { interleave, peerBins, report, root, runJson } from '../support/compare.mjs';

const FILE = process.env.BTF_FILE ?? '/sys/kernel/btf/vmlinux';
const ROUNDS = Number(process.env.ROUNDS ?? 5);
const PER_ROUND = Number(process.env.PER_ROUND ?? 30);

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

const peers = peerBins();
for (const k of Object.keys(tsbpf)) time(tsbpf[k], 5); // warm up the JIT
/** A helper's { row: { median } } as { row: median }. */
const medians = (o) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, v.median]));
const sides = {
  libbpf: async () => medians(await runJson(join(root, 'build/c/bench-btf'), [FILE, PER_ROUND])),
  tsbpf: () => Object.fromEntries(Object.keys(tsbpf).map((k) => [k, time(tsbpf[k], k === 'fullDecode' ? Math.ceil(PER_ROUND / 5) : PER_ROUND)])),
};
for (const [name, bin] of Object.entries(peers)) sides[name] = async () => medians(await runJson(bin, ['btf', FILE, PER_ROUND]));
const results = await interleave(ROUNDS, sides);
report({
  bench: 'btf',
  title: `bench/btf: ${FILE}, ${ROUNDS} interleaved rounds`,
  unit: 'ms',
  results,
  rows: [
    { key: 'parseFind', metric: 'parse + find task_struct (file)', target: 1.2 },
    { key: 'parseFindMemory', metric: 'parse + find task_struct (bytes in memory)' },
    { key: 'fullDecode', metric: 'parse + decode every type' },
  ],
  notes: [
    'cilium/ebpf: btf.LoadSpec / LoadSpecFromReader + TypeByName; every type through Spec.All().',
    'aya: Btf::parse_file / Btf::parse + id_by_type_name_kind (it decodes every type while parsing; no API to visit their names).',
  ],
});

#!/usr/bin/env node
// Prints the README's side-by-side table (libbpf, cilium/ebpf, aya, tsbpf,
// the ratios and what tsbpf adds) as Markdown from the last run's
// bench/results/*.json: `node scripts/bench-table.mjs [bench...]`.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const benches = process.argv.slice(2).length ? process.argv.slice(2) : ['maps', 'typed', 'load', 'btf', 'ringbuf'];

const num = (x, unit) => {
  if (x === undefined || x === null) return '—';
  if (unit === 'records/s') return `${(x / 1e6).toPrecision(3)}M`;
  return Math.abs(x) >= 100 ? Math.round(x).toLocaleString('en-US') : String(+x.toPrecision(3));
};
const r = (x) => (x === undefined || x === null ? '—' : `${x}x`);

console.log('| Bench | Row | libbpf | cilium/ebpf | aya | tsbpf | tsbpf/libbpf | tsbpf/cilium | tsbpf/aya | tsbpf adds | Target |');
console.log('|---|---|---|---|---|---|---|---|---|---|---|');
for (const bench of benches) {
  const file = join(root, 'bench/results', `${bench}.json`);
  if (!existsSync(file)) {
    console.error(`no ${file}: run node bench/run.mjs ${bench}`);
    process.exitCode = 1;
    continue;
  }
  const { date, rows } = JSON.parse(readFileSync(file, 'utf8'));
  for (const l of rows) {
    const unit = l.unit === 'records/s' ? '' : ` ${l.unit}`;
    const adds = l['tsbpf +ns'] === undefined ? '—' : `${l['tsbpf +ns']} ns${l.unit === 'records/s' ? ' a record' : ''}`;
    const target = l.target ? `${l.target}: ${l.met ? 'met' : 'missed'}` : '';
    const cells = ['libbpf', 'cilium', 'aya', 'tsbpf'].map((s) => (l[s] === undefined ? '—' : `${num(l[s], l.unit)}${unit}`));
    console.log(
      `| \`${bench}\` ${date.slice(0, 10)} | ${l.metric} | ${cells.join(' | ')} | ${r(l['tsbpf/libbpf'])} | ${r(l['tsbpf/cilium'])} | ${r(l['tsbpf/aya'])} | ${adds} | ${target} |`,
    );
  }
}

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
/** Cost of a over cost of b (rates turned into time a record): above 1, a is slower. */
const ratio = (l, a, b) => {
  if (l[a] === undefined || l[b] === undefined) return '—';
  const x = l.unit === 'records/s' ? l[b] / l[a] : l[a] / l[b];
  return `${x < 0.1 ? x.toPrecision(2) : x.toFixed(2)}x`;
};
/** What tsbpf adds over libbpf, in the row's unit (a rate: ns a record). */
const adds = (l) => {
  const ns = l['tsbpf +ns'];
  if (ns === undefined || ns === null) return '—';
  if (l.unit === 'records/s') return `${ns} ns a record`;
  const per = { ns: 1, us: 1e3, ms: 1e6 }[l.unit];
  return `${+(ns / per).toPrecision(3)} ${l.unit === 'us' ? 'µs' : l.unit}`;
};

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
    const unit = l.unit === 'records/s' ? '' : ` ${l.unit === 'us' ? 'µs' : l.unit}`;
    const target = l.target ? `${l.target.replace('<=', '≤').replace('>=', '≥')}: ${l.met ? 'met' : 'missed'}` : '';
    const cells = ['libbpf', 'cilium', 'aya', 'tsbpf'].map((s) => (l[s] === undefined ? '—' : `${num(l[s], l.unit)}${unit}`));
    console.log(
      `| \`${bench}\` ${date.slice(0, 10)} | ${l.metric} | ${cells.join(' | ')} | ${ratio(l, 'tsbpf', 'libbpf')} | ${ratio(l, 'tsbpf', 'cilium')} | ${ratio(l, 'tsbpf', 'aya')} | ${adds(l)} | ${target} |`,
    );
  }
}

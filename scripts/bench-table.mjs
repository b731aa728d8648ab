#!/usr/bin/env node
// Prints the README's side-by-side table (libbpf, cilium/ebpf, aya, tsbpf,
// the ratios and what tsbpf adds) as Markdown from bench results: the last
// run's bench/results/*.json, or several runs' copies of that directory
// (`--runs DIR,DIR,...`), each cell then the range over the runs and each
// target met in k of n. `node scripts/bench-table.mjs [--runs ...] [bench...]`.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const at = args.indexOf('--runs');
const dirs = at >= 0 ? args.splice(at, 2)[1].split(',') : [join(root, 'bench/results')];
const benches = args.length ? args : ['maps', 'typed', 'load', 'btf', 'ringbuf'];
const SIDES = ['libbpf', 'cilium', 'aya', 'tsbpf'];

const figure = (x, unit) => {
  if (unit === 'records/s') return `${(x / 1e6).toPrecision(3)}M`;
  return Math.abs(x) >= 100 ? Math.round(x).toLocaleString('en-US') : String(+x.toPrecision(3));
};
/** min–max of the defined values, each formatted; '—' when none. */
const range = (xs, fmt) => {
  const v = xs.filter((x) => x !== undefined && x !== null);
  if (v.length === 0) return '—';
  const lo = Math.min(...v),
    hi = Math.max(...v);
  return fmt(lo) === fmt(hi) ? fmt(lo) : `${fmt(lo)}–${fmt(hi)}`;
};
/** Cost of a over cost of b (rates turned into time a record): above 1, a is slower. */
const ratio = (l, a, b) => (l[a] === undefined || l[b] === undefined ? undefined : l.unit === 'records/s' ? l[b] / l[a] : l[a] / l[b]);
const ratioText = (x) => `${x < 0.1 ? x.toPrecision(2) : x.toFixed(2)}x`;
const unitText = (u) => (u === 'us' ? 'µs' : u);
/** What tsbpf adds over libbpf, in the row's unit (a rate: ns a record). */
const adds = (l) => {
  const ns = l['tsbpf +ns'];
  if (ns === undefined || ns === null) return undefined;
  return l.unit === 'records/s' ? ns : ns / { ns: 1, us: 1e3, ms: 1e6 }[l.unit];
};

console.log('| Bench | Row | libbpf | cilium/ebpf | aya | tsbpf | tsbpf/libbpf | tsbpf/cilium | tsbpf/aya | tsbpf adds | Target |');
console.log('|---|---|---|---|---|---|---|---|---|---|---|');
for (const bench of benches) {
  const runs = [];
  for (const dir of dirs) {
    const file = join(dir, `${bench}.json`);
    if (existsSync(file)) runs.push(JSON.parse(readFileSync(file, 'utf8')).rows);
    else {
      console.error(`no ${file}: run node bench/run.mjs ${bench}`);
      process.exitCode = 1;
    }
  }
  if (runs.length === 0) continue;
  // Rows are matched by metric, not position: a bench may have gained rows between runs.
  const metrics = [...new Set([...runs].reverse().flatMap((r) => r.map((l) => l.metric)))];
  for (const name of metrics) {
    const rows = runs.map((r) => r.find((l) => l.metric === name)).filter((l) => l !== undefined);
    const first = rows[0];
    const u = first.unit === 'records/s' ? '' : ` ${unitText(first.unit)}`;
    const cells = SIDES.map((s) => {
      const r = range(
        rows.map((l) => l[s]),
        (x) => figure(x, first.unit),
      );
      return r === '—' ? r : `${r}${u}`;
    });
    // The run's own ratio where it saved one (since 2026-12-04 the median of the rounds' pairs), else the medians'.
    const ratios = ['libbpf', 'cilium', 'aya'].map((b) =>
      range(
        rows.map((l) => l[`tsbpf/${b}`] ?? ratio(l, 'tsbpf', b)),
        ratioText,
      ),
    );
    const added = range(rows.map(adds), (x) => String(+x.toPrecision(3)));
    const addText = added === '—' ? added : `${added} ${first.unit === 'records/s' ? 'ns a record' : unitText(first.unit)}`;
    const met = rows.filter((l) => l.met).length;
    const target = first.target
      ? `${first.target.replace('<=', '≤').replace('>=', '≥')}: ${rows.length === 1 ? (met ? 'met' : 'missed') : `met in ${met} of ${rows.length}`}`
      : '';
    const metric = first.metric.replace(/</g, '&lt;');
    console.log(`| \`${bench}\` | ${metric} | ${cells.join(' | ')} | ${ratios.join(' | ')} | ${addText} | ${target} |`);
  }
}

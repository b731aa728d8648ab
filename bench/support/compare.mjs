// What every bench shares: the peers (libbpf's C helper, cilium/ebpf, aya and
// tsbpf) run round by round in a rotating order, and the report: each row's
// medians side by side, every ratio against libbpf and tsbpf against each peer
// (each the median of the rounds' pairs), the nanoseconds each adds over
// libbpf, the targets, and bench/results/*.json.
import { fork } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildPeers } from '../peers/build.mjs';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const SIDES = ['libbpf', 'cilium', 'aya', 'tsbpf'];
const LABEL = { libbpf: 'libbpf', cilium: 'cilium/ebpf', aya: 'aya', tsbpf: 'tsbpf' };

let built;
/** The Go and Rust peers, built once per machine ({ cilium?: bin, aya?: bin }); PEERS=none leaves them out. */
export function peerBins() {
  startHelpers(); // before the rounds: this process forks once, to start it
  if (!built) {
    built = {};
    if (process.env.PEERS !== 'none') for (const p of buildPeers().peers) built[p.name] = p;
  }
  return Object.fromEntries(Object.entries(built).map(([k, p]) => [k, p.bin]));
}
export function peerLabels() {
  peerBins();
  return Object.fromEntries(Object.entries(built).map(([k, p]) => [k, p.label]));
}

/**
 * The process that runs the peers' helpers (bench/support/launcher.mjs),
 * started once, before any round. Why not execFileSync from here: a fork of
 * this process leaves every page of its heap copy-on-write until written,
 * and the next tsbpf round then takes a minor fault on each page of V8's
 * young generation it allocates into: 300–1,300 faults in a 20,000-call
 * round of `BpfMap.lookup` (a fresh array a call), 50–130 ns a call on this
 * VM (2026-12-04, docs/performance.md), which a program that does not fork
 * between its calls never pays and no peer pays (each runs in a process of
 * its own). The launcher forks instead.
 */
let launcher;
function startLauncher() {
  // No execArgv: the launcher is a plain node, whatever flags this process was started with.
  const child = fork(join(root, 'bench/support/launcher.mjs'), [], { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const pending = new Map();
  let next = 0;
  // The channel holds the event loop only while a helper runs: a bench ends when its work does.
  const hold = () => (pending.size > 0 ? child.channel?.ref() : child.channel?.unref());
  child.on('message', ({ id, out, error }) => {
    const p = pending.get(id);
    if (!p) return;
    pending.delete(id);
    hold();
    if (error !== undefined) p.reject(new Error(error));
    else {
      try {
        p.resolve(JSON.parse(out));
      } catch (e) {
        p.reject(new Error(`${p.what}: not one JSON object: ${e.message}`));
      }
    }
  });
  child.on('exit', (code, signal) => {
    for (const p of pending.values()) p.reject(new Error(`${p.what}: the bench's launcher exited (${signal ?? code})`));
    pending.clear();
    launcher = undefined;
  });
  child.unref();
  launcher = {
    run(bin, args) {
      return new Promise((resolve, reject) => {
        const id = next++;
        pending.set(id, { resolve, reject, what: `${bin} ${args.join(' ')}` });
        hold();
        child.send({ id, bin, args });
      });
    },
  };
  hold();
}

/** Starts the launcher if it is not running: for a script that calls runJson without peerBins(), before its rounds. */
export function startHelpers() {
  if (!launcher) startLauncher();
}

/**
 * Runs a helper that prints one JSON object, from the launcher process (see
 * above); resolves to that object. The launcher starts on the first call if
 * peerBins() or startHelpers() has not started it.
 */
export function runJson(bin, args) {
  startHelpers();
  return launcher.run(bin, args.map(String));
}

export const median = (xs) => [...xs].sort((x, y) => x - y)[xs.length >> 1];

/**
 * Runs `rounds` rounds; in each, every side's function once, in an order that
 * rotates from round to round so that no side always follows another. A side
 * returns { key: figure } (or { key: [figures] }, which counts as their
 * median for the round); a missing key is a row the side does not have.
 * Returns { side: { key: [every figure] } }, and under `rounds` the same as
 * { side: { key: [one figure a round, undefined where none] } }: the pairs
 * report() compares round by round.
 */
export async function interleave(rounds, sides) {
  const names = Object.keys(sides);
  const out = Object.fromEntries(names.map((n) => [n, {}]));
  const perRound = Object.fromEntries(names.map((n) => [n, {}]));
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < names.length; i++) {
      const name = names[(i + r) % names.length];
      const figures = await sides[name]();
      for (const [k, v] of Object.entries(figures)) {
        const xs = Array.isArray(v) ? v.filter((x) => typeof x === 'number') : typeof v === 'number' ? [v] : [];
        if (xs.length === 0) continue;
        (out[name][k] ??= []).push(...xs);
        (perRound[name][k] ??= [])[r] = median(xs);
      }
    }
  }
  Object.defineProperty(out, 'rounds', { value: perRound, enumerable: false });
  return out;
}

/**
 * The median over rounds of a's cost over b's in the same round (rates turned
 * into time a record), and of what a adds over b in ns: this VM changes
 * speed every few hundred milliseconds (libbpf's own lookup by up to 1.6x),
 * so figures taken in the same round are compared with each other, not
 * medians taken at different moments. undefined when no round has both.
 */
function paired(results, a, keyA, b, keyB, rate, toNs) {
  const xs = results.rounds?.[a]?.[keyA] ?? [];
  const ys = results.rounds?.[b]?.[keyB] ?? [];
  const ratios = [];
  const adds = [];
  for (let r = 0; r < xs.length; r++) {
    if (xs[r] === undefined || ys[r] === undefined) continue;
    const ca = rate ? 1e9 / xs[r] : xs[r];
    const cb = rate ? 1e9 / ys[r] : ys[r];
    ratios.push(ca / cb);
    adds.push((ca - cb) * (rate ? 1 : toNs));
  }
  return ratios.length ? { ratio: median(ratios), adds: median(adds) } : undefined;
}

/** The result key a side's figure for `row` is under (a peer's may differ from tsbpf's). */
const keyOf = (row, side) => (side === 'tsbpf' ? row.key : (row.peerKey?.[side] ?? row.peerKey?.all ?? row.key));

const fmt = (x) => (x === undefined ? '—' : Math.abs(x) >= 100 ? Math.round(x).toLocaleString('en-US') : +x.toFixed(2));

/**
 * rows: [{ metric, key, peerKey?, target? }] where target is a number (a
 * ratio to libbpf tsbpf must stay under, or for rates the share of libbpf's
 * rate it must reach). unit: 'ns', 'us', 'ms' (cost, lower is better) or
 * 'records/s' (a rate). results: what interleave() returned.
 */
export function report({ bench, title, unit, rows, results, notes = [] }) {
  const rate = unit === 'records/s';
  const toNs = { ns: 1, us: 1e3, ms: 1e6 }[unit];
  const sides = SIDES.filter((s) => results[s]);
  const out = rows.map((row) => {
    const med = {};
    for (const s of sides) {
      const xs = results[s][keyOf(row, s)];
      if (xs?.length) med[s] = median(xs);
    }
    const line = { metric: row.metric, unit, ...Object.fromEntries(sides.map((s) => [s, med[s]])) };
    const pair = (a, b) => (med[a] === undefined || med[b] === undefined ? undefined : paired(results, a, keyOf(row, a), b, keyOf(row, b), rate, toNs));
    const ratioOf = (p) => (p === undefined ? undefined : p.ratio < 0.1 ? +p.ratio.toPrecision(2) : +p.ratio.toFixed(2));
    for (const s of ['cilium', 'aya', 'tsbpf']) {
      const p = pair(s, 'libbpf');
      line[`${s}/libbpf`] = ratioOf(p);
      line[`${s} +ns`] = p === undefined ? undefined : +p.adds.toFixed(0);
    }
    line['tsbpf/cilium'] = ratioOf(pair('tsbpf', 'cilium'));
    line['tsbpf/aya'] = ratioOf(pair('tsbpf', 'aya'));
    if (row.target !== undefined) {
      line.target = rate ? `>= ${row.target * 100}% of libbpf` : `<= ${row.target}x`;
      line.met = line['tsbpf/libbpf'] !== undefined && (rate ? 1 / line['tsbpf/libbpf'] >= row.target : line['tsbpf/libbpf'] <= row.target);
    }
    return line;
  });
  console.log(`\n${title}`);
  console.log(`figures: medians in ${unit}${rate ? ' (higher is better)' : ' (lower is better)'}`);
  console.table(Object.fromEntries(out.map((l) => [l.metric, Object.fromEntries(sides.map((s) => [LABEL[s], fmt(l[s])]))])));
  console.log(
    `ratios: cost against libbpf${rate ? ' (ns a record; libbpf rate / side rate)' : ''}, tsbpf against each peer (< 1: tsbpf is faster), and the ns each adds over libbpf: medians over rounds of each round's pair`,
  );
  const cols = ['cilium/libbpf', 'aya/libbpf', 'tsbpf/libbpf', 'tsbpf/cilium', 'tsbpf/aya', 'tsbpf +ns', 'cilium +ns', 'aya +ns', 'target'];
  console.table(Object.fromEntries(out.map((l) => [l.metric, Object.fromEntries(cols.map((c) => [c, l[c] ?? '—']))])));
  for (const l of out) {
    if (l.target)
      console.log(
        `${l.met ? 'target met' : 'TARGET MISSED'}: ${l.metric}: tsbpf ${rate ? `${Math.round(100 / l['tsbpf/libbpf'])}% of libbpf's rate` : `${l['tsbpf/libbpf']}x libbpf`} (target ${l.target})`,
      );
    if (l['tsbpf/cilium'] !== undefined)
      console.log(`${l['tsbpf/cilium'] <= 1 ? 'ahead of cilium/ebpf' : 'BEHIND cilium/ebpf'}: ${l.metric}: ${l['tsbpf/cilium']}x its cost`);
  }
  for (const n of notes) console.log(n);
  // BENCH_ROUNDS=1: every round's figure per side and row, to see a bench's spread.
  if (process.env.BENCH_ROUNDS)
    for (const row of rows)
      for (const s of sides) {
        const xs = results.rounds?.[s]?.[keyOf(row, s)];
        if (xs?.length) console.log(`rounds: ${row.key} ${s}: ${xs.map((x) => (x === undefined ? '-' : fmt(x))).join(' ')}`);
      }
  mkdirSync(join(root, 'bench/results'), { recursive: true });
  writeFileSync(join(root, `bench/results/${bench}.json`), JSON.stringify({ date: new Date().toISOString(), peers: peerLabels(), rows: out }, null, 2) + '\n');
  return out;
}

#!/usr/bin/env node
// bench/scale: how cost grows with work, for libbpf, cilium/ebpf, aya and
// tsbpf on the same plots (SVG files beside this one, written by this run):
// load time of objects with 1 to 500 programs and 1 to 200 maps, the
// kernel's BTF plus 0 to 100 (synthetic) module BTFs, typed map walks of 1k
// to 1M entries, and ring buffer throughput with 1 to 4 producers. Every
// point is the median of ROUNDS interleaved rounds. `node bench/scale/run.mjs
// load btf` runs some curves (load, btf, walks, ringbuf).
import { spawn } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { interleave, median, peerBins, peerLabels, root, runJson } from '../support/compare.mjs';
import { lineChart } from '../support/plot.mjs';
import { writeModules } from './gen-btf.mjs';
import { scaleObject } from './gen-objects.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const list = (name, def) => (process.env[name] ?? def).split(',').map(Number);
const PROGRAMS = list('PROGRAMS', '1,10,50,100,200,500');
const MAPS = list('MAPS', '1,10,50,100,200');
const MODULES = list('MODULES', '0,1,10,25,50,100');
const ENTRIES = list('ENTRIES', '1024,4096,16384,65536,262144,1048576');
const PRODUCERS = list('PRODUCERS', '1,2,3,4');
const RECORDS = Number(process.env.RECORDS ?? 1_000_000);
const VMLINUX = '/sys/kernel/btf/vmlinux';
const C = join(root, 'build/c/bench-scale');
const curves = process.argv.slice(2).length ? process.argv.slice(2) : ['load', 'btf', 'walks', 'ringbuf'];

const { parseCollectionSpec } = await import(join(root, 'packages/object/dist/index.js'));
const { loadCollection, loadKernelBtf, BpfMap, RingBufferReader } = await import(join(root, 'packages/loader/dist/index.js'));
const { TypedMap, struct, u32, u64 } = await import(join(root, 'packages/maps/dist/index.js'));

const peers = peerBins();
const labels = peerLabels();
const say = (s) => process.stderr.write(`[scale] ${s}\n`);

/** One point: each side's figure (its median over ROUNDS interleaved rounds), or undefined where it has none. */
async function point(sides) {
  const results = await interleave(ROUNDS, sides);
  return Object.fromEntries(Object.entries(results).map(([s, figs]) => [s, Object.fromEntries(Object.entries(figs).map(([k, xs]) => [k, median(xs)]))]));
}

/** series[side] = [[x, y]] from points[x][side][key]. */
function series(points, key, scale = 1, sides = ['libbpf', 'cilium', 'aya', 'tsbpf']) {
  return Object.fromEntries(
    sides.map((s) => [s, { points: Object.entries(points).flatMap(([x, p]) => (p[s]?.[key] === undefined ? [] : [[Number(x), p[s][key] * scale]])) }]),
  );
}

function table(title, points, key, unit) {
  console.log(`\n${title} (${unit})`);
  console.table(
    Object.fromEntries(
      Object.entries(points).map(([x, p]) => [
        x,
        Object.fromEntries(Object.entries(p).map(([s, f]) => [s, f[key] === undefined ? '—' : +f[key].toPrecision(4)])),
      ]),
    ),
  );
}

const day = new Date().toISOString().slice(0, 10);
const who = `libbpf 1.1, ${Object.values(labels).join(', ')}, tsbpf · ${availableParallelism()} CPUs · medians of ${ROUNDS} interleaved rounds · ${day}`;
const written = [];
function plot(file, chart) {
  writeFileSync(join(here, file), lineChart({ ...chart, subtitle: chart.subtitle ?? who }));
  written.push(`bench/scale/${file}`);
}

// --- load: objects with 1 to 500 programs, 1 to 200 maps ------------------------------------
function loadPoint(obj, n) {
  const per = Math.max(3, Math.round(200 / n));
  const ours = () => {
    const t = [];
    for (let i = 0; i < per; i++) {
      const start = process.hrtime.bigint();
      loadCollection(parseCollectionSpec(readFileSync(obj))).close();
      t.push(Number(process.hrtime.bigint() - start) / 1e6);
    }
    return { ms: t };
  };
  for (let i = 0; i < 3; i++) ours();
  const sides = { libbpf: async () => ({ ms: (await runJson(join(root, 'build/c/bench-load'), [obj, per])).medianUs / 1e3 }), tsbpf: ours };
  for (const [name, bin] of Object.entries(peers)) sides[name] = async () => ({ ms: (await runJson(bin, ['load', obj, per, 3])).medianUs / 1e3 });
  return point(sides);
}

if (curves.includes('load')) {
  const small = scaleObject(root, 'programs', 1);
  for (let i = 0; i < 3000; i++) loadCollection(parseCollectionSpec(readFileSync(small))).close(); // JIT tiers settle
  const byPrograms = {};
  for (const p of PROGRAMS) {
    say(`load: ${p} programs`);
    byPrograms[p] = await loadPoint(scaleObject(root, 'programs', p), p);
  }
  const byMaps = {};
  for (const m of MAPS) {
    say(`load: ${m} maps`);
    byMaps[m] = await loadPoint(scaleObject(root, 'maps', m), m);
  }
  table('open + load + close, by programs in the object', byPrograms, 'ms', 'ms');
  table('open + load + close, by maps in the object', byMaps, 'ms', 'ms');
  plot('load.svg', {
    title: 'Open + load + close of one object, by its size',
    panels: [
      { title: 'XDP programs sharing one map', xLabel: 'programs in the object', yLabel: 'ms per load', xLog: true, series: series(byPrograms, 'ms') },
      { title: 'hash maps beside one program', xLabel: 'maps in the object', yLabel: 'ms per load', xLog: true, series: series(byMaps, 'ms') },
    ],
  });
}

// --- btf: the kernel plus 0 to 100 module BTFs ------------------------------------------------
if (curves.includes('btf')) {
  const base = loadKernelBtf();
  const dir = join(root, 'build/scale/btf');
  const mods = writeModules(base, dir, Math.max(...MODULES));
  const byModules = {};
  for (const k of MODULES) {
    say(`btf: vmlinux + ${k} modules`);
    const these = mods.slice(0, k);
    const per = k >= 50 ? 3 : 5;
    const ours = () => {
      const t = [];
      for (let i = 0; i < per; i++) {
        const start = performance.now();
        const vmlinux = loadKernelBtf();
        if (!vmlinux.findByName('task_struct', 'struct')) throw new Error('no task_struct');
        for (const path of these) if (!loadKernelBtf({ path, base: vmlinux }).findByName('bench_module_root', 'struct')) throw new Error(path);
        t.push(performance.now() - start);
      }
      return { ms: t };
    };
    ours();
    const sides = { libbpf: async () => ({ ms: (await runJson(C, ['btfsplit', VMLINUX, per, ...these])).medianMs }), tsbpf: ours };
    if (peers.cilium) sides.cilium = async () => ({ ms: (await runJson(peers.cilium, ['btfsplit', VMLINUX, per, ...these])).medianMs });
    // aya has no split BTF: its point is the kernel's BTF alone.
    if (peers.aya && k === 0) sides.aya = async () => ({ ms: (await runJson(peers.aya, ['btf', VMLINUX, per])).parseFind.median });
    byModules[k] = await point(sides);
  }
  table('parse the kernel BTF + K split module BTFs, find a struct in each', byModules, 'ms', 'ms');
  const s = series(byModules, 'ms');
  if (s.aya) s.aya.label = 'aya (vmlinux only: no split BTF)';
  plot('btf.svg', {
    title: `Kernel BTF plus K module BTFs (synthetic, split on vmlinux, ${1 + 4 * 375} types each)`,
    panels: [{ title: 'parse all + find one struct in each', xLabel: 'module BTFs', yLabel: 'ms', series: s }],
  });
  rmSync(dir, { recursive: true, force: true });
}

// --- walks: typed map walks of 1k to 1M entries ------------------------------------------------
if (curves.includes('walks')) {
  const Stats = struct({ packets: u64, bytes: u64, ifindex: u32, flags: u32 });
  const byEntries = {};
  for (const n of ENTRIES) {
    say(`walks: ${n} entries`);
    const ours = () => {
      const raw = BpfMap.create({ type: 1, keySize: 4, valueSize: 24, maxEntries: n, name: 'walk' });
      try {
        const m = new TypedMap(raw, u32, Stats);
        for (let i = 0; i < n; i += 65536) {
          const chunk = [];
          for (let j = i; j < Math.min(n, i + 65536); j++) chunk.push([j, { packets: BigInt(j), bytes: 0n, ifindex: j, flags: 0 }]);
          m.setMany(chunk);
        }
        const entries = [];
        const each = [];
        let sink = 0n;
        for (let w = 0; w < 3; w++) {
          let t = process.hrtime.bigint();
          for (const [, v] of m.entries()) sink += v.packets;
          entries.push(Number(process.hrtime.bigint() - t) / n);
          t = process.hrtime.bigint();
          m.forEach((v) => {
            sink += v.packets;
          });
          each.push(Number(process.hrtime.bigint() - t) / n);
        }
        if (sink < 0n) throw new Error('unreachable');
        return { entriesNs: median(entries), forEachNs: median(each) };
      } finally {
        raw.close();
      }
    };
    ours();
    const sides = { libbpf: () => runJson(C, ['walk', n, 3]), tsbpf: ours };
    for (const [name, bin] of Object.entries(peers)) sides[name] = () => runJson(bin, ['walk', n, 3]);
    byEntries[n] = await point(sides);
  }
  table('typed walk, ns an entry', byEntries, 'entriesNs', 'ns');
  table('tsbpf forEach(), ns an entry', byEntries, 'forEachNs', 'ns');
  const s = series(byEntries, 'entriesNs');
  s.tsbpf.label = 'tsbpf entries()';
  s.tsbpf2 = { label: 'tsbpf forEach()', points: series(byEntries, 'forEachNs', 1, ['tsbpf']).tsbpf.points };
  if (s.cilium) s.cilium.label = 'cilium/ebpf BatchLookup';
  if (s.aya) s.aya.label = 'aya iter (key by key)';
  plot('walks.svg', {
    title: 'Walking a u32 → 24-byte struct hash map, by its size',
    panels: [{ title: 'every entry decoded', xLabel: 'entries in the map', yLabel: 'ns an entry', xLog: true, series: s }],
  });
}

// --- ringbuf: 1 to 4 producers on different CPUs -----------------------------------------------
if (curves.includes('ringbuf')) {
  const obj = join(root, 'build/c/ringbuf-emit.bpf.o');
  const pin = `/sys/fs/bpf/tsbpf-bench-scale-${process.pid}`;
  const byProducers = {};
  for (const k of PRODUCERS) {
    say(`ringbuf: ${k} producers, ${RECORDS} records`);
    const ours = async () => {
      const c = loadCollection(parseCollectionSpec(readFileSync(obj)));
      try {
        const reader = new RingBufferReader(c.maps.records);
        c.programs.emit.pin(pin);
        const child = spawn(C, ['produce', pin, String(k), String(RECORDS)], { stdio: ['ignore', 'ignore', 'inherit'] });
        const exited = new Promise((resolve) => child.on('exit', resolve));
        let seen = 0;
        let checksum = 0;
        let first = 0n;
        while (seen < RECORDS) {
          // Timed from the first record to the last, as the other sides (not from the first call that returned some).
          seen += reader.consumeAt((view, offset) => {
            if (first === 0n) first = process.hrtime.bigint();
            checksum += view.getUint32(offset, true) + view.getUint32(offset + 8, true);
          });
        }
        const s = Number(process.hrtime.bigint() - first) / 1e9;
        reader.close();
        if ((await exited) !== 0) throw new Error('the producer failed');
        if (checksum < 0) throw new Error('unreachable');
        return { recordsPerSec: RECORDS / s };
      } finally {
        rmSync(pin, { force: true });
        c.close();
      }
    };
    const sides = { libbpf: () => runJson(C, ['ringbuf-mp', obj, RECORDS, k, C, pin]), tsbpf: ours };
    for (const [name, bin] of Object.entries(peers)) sides[name] = () => runJson(bin, ['ringbuf-mp', obj, RECORDS, k, C, pin]);
    byProducers[k] = await point(sides);
  }
  table('ring buffer, records/s while K producers write', byProducers, 'recordsPerSec', 'records/s');
  const s = series(byProducers, 'recordsPerSec', 1e-6);
  s.tsbpf.label = 'tsbpf consumeAt';
  const cpus = availableParallelism();
  plot('ringbuf.svg', {
    title: `Ring buffer: ${RECORDS.toLocaleString('en-US')} records while K producers write (producer i on CPU i mod ${cpus})`,
    panels: [{ title: 'records consumed, first to last', xLabel: 'producers', yLabel: 'million records/s', series: s }],
  });
}
console.log(`\nplots: ${written.join(', ')}`);

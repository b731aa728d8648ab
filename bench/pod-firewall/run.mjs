#!/usr/bin/env node
// bench/pod-firewall: the pod firewall example's performance, in one run.
//
//  1. test-run  the datapath's in-kernel cost per packet (BPF_PROG_TEST_RUN,
//               kernel-measured) with 10, 1,000 and 100,000 policy entries;
//  2. apply     PodFirewall.apply of a policy of 10,000 map entries;
//  3. traffic   client pod -> node namespace -> server pod: TCP throughput
//               (iperf3), TCP connect/request/response rate and 64-byte UDP
//               packet rate (build/c/bench-netperf), with no filter, this
//               firewall, and iptables in the node namespace, at N = 10, 1,000,
//               10,000 rules/policy entries, interleaved round by round.
//
// Writes bench/results/pod-firewall.json and examples/pod-firewall/docs/rate-vs-rules.svg.
// Knobs: PARTS (comma list, default all), ROUNDS (traffic, 3), SECONDS (per sample, 3),
// NS (traffic, "10,1000,10000"), TR_ROUNDS (7), TR_REPEAT (200000), TR_NS ("10,1000,100000"),
// APPLY_SAMPLES (15).
// Root only; it brings up the example's cluster `pfb` (its namespaces, pods in 10.252.0.0/16)
// and takes it down at the end, also on failure and Ctrl-C.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const list = (s) => s.split(',').map((x) => Number(x.trim()));
const PARTS = (process.env.PARTS ?? 'test-run,apply,traffic').split(',').map((s) => s.trim());
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const SECONDS = Number(process.env.SECONDS ?? 3);
const NS = list(process.env.NS ?? '10,1000,10000');
const TR_ROUNDS = Number(process.env.TR_ROUNDS ?? 7);
const TR_REPEAT = Number(process.env.TR_REPEAT ?? 200_000);
const TR_NS = list(process.env.TR_NS ?? '10,1000,100000');
const APPLY_SAMPLES = Number(process.env.APPLY_SAMPLES ?? 15);
const VARIANTS = ['none', 'firewall', 'iptables'];
const LABEL = { none: 'no filter', firewall: 'pod-firewall (BPF)', iptables: 'iptables (nft)' };

for (const need of ['examples/pod-firewall/dist/index.js', 'packages/loader/dist/index.js', 'build/c/bench-netperf']) {
  if (!existsSync(join(root, need))) {
    console.error(`bench/pod-firewall: ${need} is missing: build first (npm run build; scripts/build-c-helpers)`);
    process.exit(1);
  }
}
if (process.getuid?.() !== 0) {
  console.error('bench/pod-firewall: needs root (BPF, network namespaces)');
  process.exit(1);
}

const { runTestRun } = await import('./testrun.mjs');
const traffic = await import('./traffic.mjs');
const { lineChartSvg } = await import('./plot.mjs');

const started = performance.now();
const log = (s) => console.error(s);
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const pairedRatio = (xs, base) => median(xs.map((x, i) => x / base[i]));
const results = { date: new Date().toISOString(), machine: { cpus: (await import('node:os')).cpus().length, kernel: (await import('node:os')).release() } };
const verdicts = [];

let fw;
let cleaning = false;
async function cleanup() {
  if (cleaning) return;
  cleaning = true;
  try {
    fw?.close();
  } catch {
    // closed
  }
  await traffic.downCluster(root);
}
process.on('SIGINT', () => {
  console.error('\nbench/pod-firewall: interrupted, cleaning up');
  cleanup().finally(() => process.exit(130));
});
process.on('SIGTERM', () => cleanup().finally(() => process.exit(143)));

try {
  // ---- 1. in-kernel cost per packet ----------------------------------------
  if (PARTS.includes('test-run')) {
    log(`bench/pod-firewall: test-run, ${TR_ROUNDS} rounds of ${TR_REPEAT} repeats per case and N`);
    await traffic.waitIdle(10_000);
    const tr = await runTestRun({ root, Ns: TR_NS, rounds: TR_ROUNDS, repeat: TR_REPEAT, log });
    results.testRun = { repeat: tr.repeat, rounds: tr.rounds, Ns: tr.Ns, rows: tr.rows, samples: tr.samples };
    console.log(
      `\nbench/pod-firewall: per packet (to_pod unless the case names from_pod), ns (BPF_PROG_TEST_RUN, kernel-measured; median of ${TR_ROUNDS} runs of ${TR_REPEAT.toLocaleString('en-US')})`,
    );
    console.table(tr.rows);
    const worst = Math.max(
      ...tr.rows.flatMap((r) =>
        Object.entries(r)
          .filter(([k]) => k.includes(' / '))
          .map(([, v]) => v),
      ),
    );
    verdicts.push(`${worst <= 1.2 ? 'target met' : 'TARGET MISSED'}: per-packet cost flat in N (worst ratio to N=${TR_NS[0]}: ${worst}x, target <= 1.2x)`);
  }

  if (PARTS.includes('apply') || PARTS.includes('traffic')) {
    log('bench/pod-firewall: bringing up cluster pfb (2 pods)');
    fw = await traffic.upCluster(root);
  }

  // ---- 2. apply time ---------------------------------------------------------
  if (PARTS.includes('apply')) {
    await traffic.waitIdle(10_000);
    const a = traffic.applyBench(fw, { entries: 10000, samples: APPLY_SAMPLES });
    const sorted = [...a.ms].sort((x, y) => x - y);
    const row = {
      'policy entries': a.entries.join(','),
      applies: a.ms.length,
      'median ms': +median(a.ms).toFixed(1),
      'min ms': +sorted[0].toFixed(1),
      'p90 ms': +sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.9))].toFixed(1),
      'max ms': +sorted.at(-1).toFixed(1),
    };
    results.apply = { ...row, samplesMs: a.ms.map((x) => +x.toFixed(2)) };
    console.log('\nbench/pod-firewall: PodFirewall.apply, alternating two policies of 10,000 entries (write idle generation, flip, delete old)');
    console.table([row]);
    verdicts.push(`${row['median ms'] < 100 ? 'target met' : 'TARGET MISSED'}: apply of 10,000 entries, median ${row['median ms']} ms (target < 100 ms)`);
  }

  // ---- 3. traffic --------------------------------------------------------------
  if (PARTS.includes('traffic')) {
    log(`bench/pod-firewall: traffic, N=${NS.join(',')}, ${ROUNDS} rounds x ${VARIANTS.length} variants x 3 metrics x ${SECONDS} s`);
    const t = await traffic.trafficBench(root, fw, { Ns: NS, rounds: ROUNDS, seconds: SECONDS, variants: VARIANTS, log });
    const METRICS = {
      udpKpps: { label: '64-byte UDP, kpackets/s', digits: 1 },
      crrPerSec: { label: 'TCP connect/request/response, conn/s', digits: 0 },
      tcpGbps: { label: 'TCP throughput (iperf3), Gbit/s', digits: 2 },
    };
    const rows = [];
    const med = {};
    for (const [m, { label, digits }] of Object.entries(METRICS)) {
      med[m] = {};
      for (const v of VARIANTS) med[m][v] = Object.fromEntries(NS.map((n) => [n, median(t.samples[m][v][n])]));
      for (const n of NS) {
        const row = { metric: label, N: n };
        for (const v of VARIANTS) row[LABEL[v]] = +med[m][v][n].toFixed(digits);
        // Paired: each round's sample against that round's no-filter sample, then the median (drift between rounds cancels).
        for (const v of VARIANTS.slice(1)) row[`${v} / none`] = +pairedRatio(t.samples[m][v][n], t.samples[m].none[n]).toFixed(2);
        rows.push(row);
      }
    }
    results.traffic = {
      rounds: ROUNDS,
      seconds: SECONDS,
      Ns: NS,
      pinning: 'TCP and UDP: client CPU0, server CPU1; CRR: both on CPU1',
      setup: t.applied,
      medians: med,
      samples: t.samples,
      idleWaitsMs: t.waits,
      notes: t.notes,
      counters: Object.fromEntries(Object.entries(t.counters).map(([k, v]) => [k, { packets: Number(v.packets), bytes: Number(v.bytes) }])),
      rows,
    };
    console.log(
      `\nbench/pod-firewall: client pod -> node -> server pod, medians of ${ROUNDS} interleaved rounds of ${SECONDS} s; ratios: median of the rounds' ratios`,
    );
    console.log('(N: firewall = N+3 policy entries; iptables = N non-matching rules before the accepts, stateless, nft backend)');
    console.table(rows);
    const top = NS.at(-1);
    for (const m of ['udpKpps', 'crrPerSec']) {
      const f = pairedRatio(t.samples[m].firewall[top], t.samples[m].none[top]);
      const i = pairedRatio(t.samples[m].iptables[top], t.samples[m].none[top]);
      verdicts.push(
        `${f >= 0.9 ? 'target met' : 'TARGET MISSED'}: ${METRICS[m].label} at N=${top.toLocaleString('en-US')}: firewall ${(f * 100).toFixed(0)}% of no filter (target >= 90%), iptables ${(i * 100).toFixed(0)}%`,
      );
    }
    if (t.notes.length) for (const n of t.notes) console.log(`note: ${n}`);

    const svg = lineChartSvg({
      title: 'Pod to pod through the node: rate vs number of rules',
      subtitle: `one 2-vCPU VM, medians of ${ROUNDS} runs of ${SECONDS} s; firewall: N+3 policy entries, iptables: N rules before the accept`,
      panels: [
        { title: '64-byte UDP packet rate', unit: 'kpackets/s', series: Object.fromEntries(VARIANTS.map((v) => [v, NS.map((n) => [n, med.udpKpps[v][n]])])) },
        {
          title: 'TCP connect/request/response rate',
          unit: 'connections/s',
          series: Object.fromEntries(VARIANTS.map((v) => [v, NS.map((n) => [n, med.crrPerSec[v][n]])])),
        },
      ],
      styles: {
        none: { label: LABEL.none, color: '#777777', dash: '6 4' },
        firewall: { label: LABEL.firewall, color: '#1f77b4' },
        iptables: { label: LABEL.iptables, color: '#d62728' },
      },
    });
    mkdirSync(join(root, 'examples/pod-firewall/docs'), { recursive: true });
    writeFileSync(join(root, 'examples/pod-firewall/docs/rate-vs-rules.svg'), svg);
    log('bench/pod-firewall: wrote examples/pod-firewall/docs/rate-vs-rules.svg');
  }
} finally {
  await cleanup();
}

results.seconds = +((performance.now() - started) / 1000).toFixed(1);
results.verdicts = verdicts;
mkdirSync(join(root, 'bench/results'), { recursive: true });
writeFileSync(join(root, 'bench/results/pod-firewall.json'), JSON.stringify(results, null, 2) + '\n');
console.log('');
for (const v of verdicts) console.log(v);
console.log(`bench/pod-firewall: ${results.seconds} s in all; wrote bench/results/pod-firewall.json`);

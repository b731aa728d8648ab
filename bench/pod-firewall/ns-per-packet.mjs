#!/usr/bin/env node
// bench/pod-firewall/ns-per-packet.mjs: what the pod firewall's datapath costs
// per packet under real traffic, as the kernel counts it (BPF_ENABLE_STATS:
// run_time_ns and run_cnt of `from_pod` and `to_pod`), so machine noise does
// not enter the figure the way it enters a rate.
//
// It brings up the bench's cluster `pfb` (client and server pod), applies the
// bench's policy (policyFor in traffic.mjs) at each N, and per N and round
// drives three loads from the client pod (CPU1, with the server):
//   crr   many short TCP connections to an allowed port (a SYN per connection
//         is a new flow: both sides decided at the client's from_pod)
//   udp   64-byte UDP to an allowed port: one new flow, then established only
//   deny  64-byte UDP to a port no policy allows: every packet a denied new flow
// and prints ns per run of each program, and for crr the ns per connection
// (both programs' time / connections).
//
// Knobs: NS ("10,1000,10000"), ROUNDS (3), SECONDS (2), LOADS ("crr,udp,deny"),
// DATAPATHS ("before=/tmp/old/firewall.bpf.c,after=examples/pod-firewall/bpf/firewall.bpf.c":
// datapaths compared in one run, swapped in by fw.upgrade on the same pinned maps,
// interleaved round by round; default: the example's own, as up() loads it), FAST_PATH ("on,off": the
// local fast path switched with reconcile round by round, each datapath in each mode; default: as up()
// leaves it). With the fast path on, to_pod does not run for what from_pod delivers: compare the
// connection rate (crr conn/s) and ns/conn, not to_pod's ns per run. Root only; run it under
// the kernel lock (flock /tmp/tsbpf-kernel.lock): other firewalls' programs
// running at the same time would be mistaken for ours (it refuses if it sees
// two active programs of one name). The deny load stops at from_pod: to_pod shows 0.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const NS = (process.env.NS ?? '10,1000,10000').split(',').map(Number);
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const SECONDS = Number(process.env.SECONDS ?? 2);
const LOADS = (process.env.LOADS ?? 'crr,udp,deny').split(',');
// name=path.bpf.c,...: datapaths to compare, swapped in with fw.upgrade (same pinned maps) round by round.
const FAST_PATH = (process.env.FAST_PATH ?? '').split(',').filter(Boolean);
const DATAPATHS = (process.env.DATAPATHS ?? '')
  .split(',')
  .filter(Boolean)
  .map((d) => d.split('='));
const SERVER_IP = '10.252.0.2';
const CRR_PORT = 5202;
const UDP_PORT = 5203;
const DENIED_PORT = 5299;

if (process.getuid?.() !== 0) {
  console.error('ns-per-packet: needs root');
  process.exit(1);
}
const traffic = await import('./traffic.mjs');
const { enableStats, statsSnapshot, costsBetween } = await import(join(root, 'packages/loader/dist/index.js'));
const bin = join(root, 'build/c/bench-netperf');
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

/** Runs argv in netns `ns` on CPU `cpu`; resolves with its stdout (rejects on failure). */
function run(ns, cpu, argv, timeoutMs) {
  return new Promise((resolve, reject) => {
    const c = spawn('taskset', ['-c', String(cpu), 'nsenter', `--net=/run/netns/${ns}`, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    c.stdout.on('data', (d) => (out += d));
    c.stderr.on('data', (d) => (err += d));
    const timer = setTimeout(() => c.kill('SIGKILL'), timeoutMs);
    c.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`${argv.join(' ')}: exit ${code}: ${err.trim()}`));
    });
  });
}

/** The cost of from_pod and to_pod over one load (refuses if two programs of one name ran). */
async function measure(load) {
  const before = statsSnapshot();
  const result = await load();
  const costs = costsBetween(before, statsSnapshot()).filter((c) => c.runsDelta > 0n);
  const one = (name) => {
    const m = costs.filter((c) => c.name === name);
    // The deny load never reaches to_pod (from_pod decides both sides of a pod-to-pod flow).
    if (m.length === 0) return { nsPerRun: 0, runsDelta: 0n, runTimeDeltaNs: 0n };
    if (m.length !== 1) throw new Error(`ns-per-packet: ${m.length} active programs named ${name}: is another firewall running?`);
    return m[0];
  };
  return { result, from: one('from_pod'), to: one('to_pod') };
}

let fw;
let server;
const stats = enableStats();
try {
  fw = await traffic.upCluster(root);
  const state = JSON.parse(readFileSync(`/run/${traffic.NAME}/state.json`, 'utf8')).generations[0];
  const nsOf = (pod) => state.pods.find((p) => p.pod === pod).netns;
  const client = nsOf('bench/client');
  const serverNs = nsOf('bench/server');
  server = spawn('taskset', ['-c', '1', 'nsenter', `--net=/run/netns/${serverNs}`, bin, 'crr-server', String(CRR_PORT)], { stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, 300));
  const t = SECONDS;
  const loads = {
    crr: () => run(client, 1, [bin, 'crr-client', SERVER_IP, String(CRR_PORT), String(t)], (t + 15) * 1000),
    udp: () => run(client, 1, [bin, 'udp-blast', SERVER_IP, String(UDP_PORT), String(t)], (t + 15) * 1000),
    deny: () => run(client, 1, [bin, 'udp-blast', SERVER_IP, String(DENIED_PORT), String(t)], (t + 15) * 1000),
  };
  const { compile } = await import('@tsbpf/compiler');
  const objects = [];
  for (const [name, source] of DATAPATHS) objects.push({ name, object: (await compile({ source })).object });
  if (objects.length === 0) objects.push({ name: '' });
  const { PodFirewall } = await import(join(root, 'examples/pod-firewall/dist/index.js'));
  const modes = FAST_PATH.length > 0 ? FAST_PATH : [''];
  const samples = {}; // samples[row][column] = []
  const push = (row, k, v) => ((samples[row] ??= {})[k] ??= []).push(v);
  for (let r = 0; r < ROUNDS; r++) {
    for (const n of NS)
      for (const { name: dp, object } of objects)
        for (const mode of modes) {
          if (object) await fw.upgrade({ object, source: dp });
          if (mode) {
            fw.close();
            fw = (await PodFirewall.reconcile(traffic.cluster, { name: traffic.NAME, fastPath: mode === 'on' })).fw;
          }
          const row = [dp, mode && `fast-path=${mode}`, `N=${n}`].filter(Boolean).join(' ');
          fw.apply([traffic.policyFor(n)]);
          for (const [name, load] of Object.entries(loads).filter(([k]) => LOADS.includes(k))) {
            const m = await measure(load);
            push(row, `${name} from_pod`, m.from.nsPerRun);
            push(row, `${name} to_pod`, m.to.nsPerRun);
            if (name === 'crr') {
              const conns = JSON.parse(m.result).count;
              push(row, 'crr ns/conn', Number(m.from.runTimeDeltaNs + m.to.runTimeDeltaNs) / conns);
              push(row, 'crr pkts/conn', Number(m.from.runsDelta + m.to.runsDelta) / conns);
              push(row, 'crr conn/s', JSON.parse(m.result).rate);
            }
          }
          console.error(`  round ${r + 1}/${ROUNDS} ${row} done`);
        }
  }
  const rows = Object.entries(samples).map(([row, cols]) => ({
    run: row,
    ...Object.fromEntries(Object.entries(cols).map(([k, v]) => [k, +median(v).toFixed(1)])),
  }));
  console.log(`\nns-per-packet: kernel run_time_ns / run_cnt, medians of ${ROUNDS} rounds of ${SECONDS} s (${new Date().toISOString()})`);
  console.table(rows);
  if (process.env.JSON) console.log(JSON.stringify({ rows, samples }));
} finally {
  try {
    if (server) process.kill(server.pid, 'SIGKILL');
  } catch {
    // exited
  }
  try {
    fw?.close();
  } catch {
    // closed
  }
  await traffic.downCluster(root);
  stats.close();
}

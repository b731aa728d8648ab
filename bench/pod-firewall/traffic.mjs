// Parts 2 and 3 of bench/pod-firewall, on a real two-pod cluster
// (`pfb`: pods bench/client 10.252.0.1 and bench/server 10.252.0.2, the
// cluster's node namespace between them):
//
//  - the time `PodFirewall.apply` takes for a policy of 10,000 map entries;
//  - traffic from client to server through the node with (a) no filter,
//    (b) the firewall, (c) iptables in the node namespace, each with the same
//    policy of N port rules (see `policyFor` and `iptablesFor`).
//
// Variants are switched inside one run, round by round: the firewall's tcx
// links are detached (its pins removed, our own links closed) and attached
// again from the same programs and pinned maps; iptables is loaded with
// iptables-restore in pfb's node namespace only, and flushed (to empty base chains) when
// another variant runs.
import { spawn, execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

export const NAME = 'pfb';
// The namespaces' names are the example's business: read back after up() (see `resolveNames`).
let NODE, CLIENT_NS, SERVER_NS;
const CLIENT_IP = '10.252.0.1';
const SERVER_IP = '10.252.0.2';
const PORTS = { iperf: 5201, crr: 5202, udp: 5203 };
const FILLER_BASE = 10000;

export const cluster = {
  namespaces: [{ name: 'bench', labels: { 'kubernetes.io/metadata.name': 'bench' } }],
  pods: [
    // Each agent serves one port (they need one); the benchmark uses its own servers.
    { namespace: 'bench', name: 'client', labels: { role: 'client' }, ip: CLIENT_IP, ports: [{ port: 80, protocol: 'TCP' }] },
    { namespace: 'bench', name: 'server', labels: { role: 'server' }, ip: SERVER_IP, ports: [{ port: 80, protocol: 'TCP' }] },
  ],
};

/** `n` filler ports: TCP on the first half (rounded up) from `base`, UDP on the rest. */
const split = (n) => ({ tcp: Math.ceil(n / 2), udp: Math.floor(n / 2) });

/**
 * The server pod takes, from the client pod only, TCP and UDP on n filler
 * ports from `base` (n policy entries, one per port) plus the
 * three benchmark ports: n + 3 entries.
 */
export function policyFor(n, base = FILLER_BASE) {
  const { tcp, udp } = split(n);
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: 'bench-server', namespace: 'bench' },
    spec: {
      podSelector: { matchLabels: { role: 'server' } },
      policyTypes: ['Ingress'],
      ingress: [
        {
          from: [{ podSelector: { matchLabels: { role: 'client' } } }],
          ports: [
            // One port each, not endPort ranges: a range is a handful of aligned blocks, not n entries.
            ...Array.from({ length: tcp }, (_, i) => ({ protocol: 'TCP', port: base + i })),
            ...Array.from({ length: udp }, (_, i) => ({ protocol: 'UDP', port: base + i })),
            { protocol: 'TCP', port: PORTS.iperf },
            { protocol: 'TCP', port: PORTS.crr },
            { protocol: 'UDP', port: PORTS.udp },
          ],
        },
      ],
    },
  };
}

/**
 * The same policy as a stateless iptables chain for traffic into the server's
 * veth: n rules for the filler ports (each fails on the port, after matching
 * the source), then the benchmark ports, then drop. Replies to the client do
 * not enter the chain.
 */
export function iptablesFor(n, serverVeth) {
  const count = split(n);
  const chain = `${NAME}-server`;
  const lines = [
    '*filter',
    ':INPUT ACCEPT [0:0]',
    ':FORWARD ACCEPT [0:0]',
    ':OUTPUT ACCEPT [0:0]',
    `:${chain} - [0:0]`,
    `-A FORWARD -o ${serverVeth} -j ${chain}`,
  ];
  for (const proto of ['tcp', 'udp']) {
    for (let i = 0; i < count[proto]; i++) lines.push(`-A ${chain} -s ${CLIENT_IP}/32 -p ${proto} -m ${proto} --dport ${FILLER_BASE + i} -j ACCEPT`);
  }
  lines.push(`-A ${chain} -s ${CLIENT_IP}/32 -p tcp -m tcp --dport ${PORTS.iperf} -j ACCEPT`);
  lines.push(`-A ${chain} -s ${CLIENT_IP}/32 -p tcp -m tcp --dport ${PORTS.crr} -j ACCEPT`);
  lines.push(`-A ${chain} -s ${CLIENT_IP}/32 -p udp -m udp --dport ${PORTS.udp} -j ACCEPT`);
  lines.push(`-A ${chain} -j DROP`, 'COMMIT', '');
  return { text: lines.join('\n'), rules: n + 4 };
}

const EMPTY_IPTABLES = ['*filter', ':INPUT ACCEPT [0:0]', ':FORWARD ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', 'COMMIT', ''].join('\n');

/**
 * Runs a command in one of our namespaces (network namespace only: nsenter
 * --net, not `ip netns exec`, which also remounts /sys and failed now and then
 * here while other namespaces came and went). Errors carry its stderr.
 */
function inNetns(ns, argv, input) {
  try {
    return execFileSync('nsenter', [`--net=/run/netns/${ns}`, ...argv], { input, encoding: 'utf8', maxBuffer: 64 << 20, stdio: ['pipe', 'pipe', 'pipe'] });
  } catch (e) {
    throw new Error(`${argv.join(' ')} in ${ns}: ${String(e.stderr ?? e.message).trim()}`);
  }
}

/** Only ever in our node namespace. */
function iptablesRestore(text) {
  inNetns(NODE, ['iptables-restore'], text);
}

function iptablesRuleCount() {
  return inNetns(NODE, ['iptables-save', '-t', 'filter'])
    .split('\n')
    .filter((l) => l.startsWith('-A ')).length;
}

// ---- processes in the pods ------------------------------------------------

const children = new Set();

/** Kills every process this module started and that still runs (SIGKILL, by pid). */
export function killChildren() {
  for (const c of children) {
    try {
      process.kill(c.pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  children.clear();
}

/** Starts `argv` inside netns `ns` on CPU `cpu` (taskset and nsenter exec in place: one pid). */
function start(ns, cpu, argv) {
  const child = spawn('taskset', ['-c', String(cpu), 'nsenter', `--net=/run/netns/${ns}`, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const done = new Promise((resolve) => {
    child.on('close', (code, signal) => {
      children.delete(child);
      resolve({ code, signal, stdout, stderr });
    });
    child.on('error', (e) => {
      children.delete(child);
      resolve({ code: -1, signal: null, stdout, stderr: `${stderr}${e.message}` });
    });
  });
  const output = () => stdout;
  return { child, done, output };
}

/** Runs to completion (killed after `timeoutMs`). */
async function run(ns, cpu, argv, timeoutMs) {
  const p = start(ns, cpu, argv);
  const timer = setTimeout(() => p.child.kill('SIGKILL'), timeoutMs);
  const r = await p.done;
  clearTimeout(timer);
  if (r.code !== 0) throw new Error(`${argv.join(' ')} in ${ns}: exit ${r.code ?? r.signal}: ${r.stderr.trim()}`);
  return r.stdout;
}

async function waitFor(p, what, re, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  while (!re.test(p.output())) {
    if (p.child.exitCode !== null || Date.now() > deadline) throw new Error(`${what} did not start`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

// ---- an idle machine ------------------------------------------------------

function cpuTimes() {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const idle = f[3] + (f[4] ?? 0);
  return { idle, total: f.slice(0, 8).reduce((a, b) => a + b, 0) };
}

/** The share of CPU time (all CPUs) busy over `ms`. */
async function busy(ms) {
  const a = cpuTimes();
  await new Promise((r) => setTimeout(r, ms));
  const b = cpuTimes();
  return b.total === a.total ? 0 : 1 - (b.idle - a.idle) / (b.total - a.total);
}

/** Waits (up to `maxMs`) until the machine is under 10% busy over 300 ms; returns the wait, or -1 if it never was. */
export async function waitIdle(maxMs = 20_000) {
  const t0 = Date.now();
  while (Date.now() - t0 < maxMs) if ((await busy(300)) < 0.1) return Date.now() - t0;
  return -1;
}

// ---- the bench ------------------------------------------------------------

/**
 * Our namespaces, as up() named them: the pods' from its saved state, the
 * node's as the one of our namespaces (prefix `pfb` and a separator) that
 * holds the host veths.
 */
function resolveNames() {
  // state.json keeps a state per map generation; right after up both are the same.
  const state = JSON.parse(readFileSync(`/run/${NAME}/state.json`, 'utf8')).generations[0];
  const pod = (key) => state.pods.find((p) => p.pod === key);
  CLIENT_NS = pod('bench/client').netns;
  SERVER_NS = pod('bench/server').netns;
  const veth = pod('bench/server').hostVeth;
  const candidates = readdirSync('/run/netns').filter((n) => /^pfb[.-]/.test(n) && n !== CLIENT_NS && n !== SERVER_NS);
  NODE = candidates.find((n) => {
    try {
      execFileSync('ip', ['-n', n, 'link', 'show', 'dev', veth], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  });
  if (!NODE) throw new Error(`bench/pod-firewall: no namespace of ${NAME} holds ${veth}`);
}

export async function upCluster(root) {
  const { PodFirewall } = await import(join(root, 'examples/pod-firewall/dist/index.js'));
  const fw = await PodFirewall.up(cluster, { name: NAME });
  resolveNames();
  // The client closes first (TIME_WAIT on its side) thousands of times a second.
  inNetns(CLIENT_NS, ['sysctl', '-qw', 'net.ipv4.ip_local_port_range=1024 65535', 'net.ipv4.tcp_tw_reuse=1']);
  return fw;
}

export async function downCluster(root) {
  killChildren();
  const { PodFirewall } = await import(join(root, 'examples/pod-firewall/dist/index.js'));
  PodFirewall.down({ name: NAME });
}

/** `fw.apply` of a 10,000-entry policy, alternating two (different ports), on the up cluster. */
export function applyBench(fw, { entries = 10000, warmup = 2, samples = 15 } = {}) {
  const ms = [];
  const counts = new Set();
  for (let i = 0; i < warmup + samples; i++) {
    const p = policyFor(entries - 3, i & 1 ? 30000 : FILLER_BASE);
    const r = fw.apply([p]);
    counts.add(r.entries);
    if (i >= warmup) ms.push(r.milliseconds);
  }
  return { entries: [...counts], ms };
}

/** Attaches and detaches the firewall's programs (the pinned maps, the programs the object has). */
export async function datapathSwitch(root) {
  const { compile } = await import('@tsbpf/compiler');
  const { parseCollectionSpec } = await import('@tsbpf/object');
  const { loadCollection, attachTcx, withNetns } = await import('@tsbpf/loader');
  const pins = `/sys/fs/bpf/${NAME}`;
  // state.json keeps a state per map generation; right after up both are the same.
  const state = JSON.parse(readFileSync(`/run/${NAME}/state.json`, 'utf8')).generations[0];
  const { object } = await compile({ source: join(root, 'examples/pod-firewall/bpf/firewall.bpf.c') });
  const collection = loadCollection(parseCollectionSpec(object), { pinRoot: pins });
  let links = [];
  const sw = {
    pods: state.pods,
    attached: true, // by up(), pinned
    attach() {
      if (sw.attached) return;
      withNetns(`/run/netns/${NODE}`, () => {
        for (const p of state.pods) {
          links.push(attachTcx(collection.programs.from_pod, p.ifindex, 'ingress'));
          links.push(attachTcx(collection.programs.to_pod, p.ifindex, 'egress'));
        }
      });
      sw.attached = true;
    },
    detach() {
      if (!sw.attached) return;
      // up()'s pinned links go with their pins; ours with their fds.
      for (const f of readdirSync(join(pins, 'links'))) rmSync(join(pins, 'links', f));
      for (const l of links) l.close();
      links = [];
      sw.attached = false;
    },
    close() {
      for (const l of links) l.close();
      collection.close();
    },
  };
  return sw;
}

/**
 * TCP throughput (iperf3, client CPU0 / server CPU1), TCP connect/request/
 * response rate (both on CPU1: a latency-bound loop, where a cross-CPU wakeup
 * per step would dominate), 64-byte UDP (client CPU0 / sink CPU1).
 */
export async function trafficBench(root, fw, { Ns, rounds, seconds, variants, log }) {
  const bin = join(root, 'build/c/bench-netperf');
  const sw = await datapathSwitch(root);
  const serverVeth = sw.pods.find((p) => p.pod === 'bench/server').hostVeth;
  const servers = [];
  const samples = {}; // samples[metric][variant][n] = []
  const waits = [];
  const notes = [];
  try {
    servers.push(start(SERVER_NS, 1, ['iperf3', '-s', '--forceflush', '-p', String(PORTS.iperf)]));
    servers.push(start(SERVER_NS, 1, [bin, 'crr-server', String(PORTS.crr)]));
    await waitFor(servers[0], 'iperf3 -s', /listening/i);
    await waitFor(servers[1], 'crr-server', /listening/);
    const metrics = {
      tcpGbps: async () => {
        const out = await run(
          CLIENT_NS,
          0,
          ['iperf3', '-c', SERVER_IP, '-p', String(PORTS.iperf), '-t', String(seconds), '-J', '--connect-timeout', '3000'],
          (seconds + 15) * 1000,
        );
        return JSON.parse(out).end.sum_received.bits_per_second / 1e9;
      },
      crrPerSec: async () =>
        JSON.parse(await run(CLIENT_NS, 1, [bin, 'crr-client', SERVER_IP, String(PORTS.crr), String(seconds)], (seconds + 15) * 1000)).rate,
      udpKpps: async () => {
        const sink = start(SERVER_NS, 1, [bin, 'udp-sink', String(PORTS.udp), String(seconds)]);
        try {
          await waitFor(sink, 'udp-sink', /listening/);
          const blast = run(CLIENT_NS, 0, [bin, 'udp-blast', SERVER_IP, String(PORTS.udp), String(seconds + 1)], (seconds + 15) * 1000);
          const r = await sink.done;
          await blast;
          if (r.code !== 0) throw new Error(`udp-sink: ${r.stderr.trim()}`);
          return JSON.parse(r.stdout.trim().split('\n').pop()).rate / 1000;
        } finally {
          try {
            process.kill(sink.child.pid, 'SIGKILL');
          } catch {
            // exited
          }
        }
      },
    };
    for (const m of Object.keys(metrics)) samples[m] = Object.fromEntries(variants.map((v) => [v, Object.fromEntries(Ns.map((n) => [n, []]))]));
    const applied = {};
    for (const n of Ns) {
      const a = fw.apply([policyFor(n)]);
      applied[n] = { policyEntries: a.entries, applyMs: +a.milliseconds.toFixed(1) };
      const ipt = iptablesFor(n, serverVeth);
      applied[n].iptablesRules = ipt.rules;
      for (let r = 0; r < rounds; r++) {
        for (const v of variants) {
          if (v === 'firewall') {
            iptablesRestore(EMPTY_IPTABLES);
            sw.attach();
          } else if (v === 'iptables') {
            sw.detach();
            const t0 = performance.now();
            iptablesRestore(ipt.text);
            applied[n].iptablesRestoreMs = +(performance.now() - t0).toFixed(0);
            if (r === 0) {
              const count = iptablesRuleCount();
              if (count !== ipt.rules + 1) throw new Error(`iptables in ${NODE} holds ${count} rules, expected ${ipt.rules + 1}`);
            }
          } else {
            sw.detach();
            iptablesRestore(EMPTY_IPTABLES);
          }
          for (const [m, measure] of Object.entries(metrics)) {
            const wait = await waitIdle();
            waits.push(wait);
            if (wait < 0) notes.push(`N=${n} round ${r + 1} ${v} ${m}: the machine was never idle for 20 s; sampled anyway`);
            const value = await measure();
            samples[m][v][n].push(value);
          }
          log(
            `  N=${n} round ${r + 1}/${rounds} ${v}: ${Object.keys(metrics)
              .map((m) => `${m}=${samples[m][v][n].at(-1).toFixed(m === 'tcpGbps' ? 2 : 1)}`)
              .join(' ')}`,
          );
        }
      }
    }
    // Leave the firewall attached and iptables empty, as up() made it.
    iptablesRestore(EMPTY_IPTABLES);
    sw.attach();
    const status = fw.status();
    return { samples, applied, waits, notes, counters: status.counters };
  } finally {
    for (const s of servers) {
      try {
        process.kill(s.child.pid, 'SIGKILL');
      } catch {
        // exited
      }
    }
    killChildren();
    sw.close();
  }
}

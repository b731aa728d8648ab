// bench/pod-firewall/kubernetes: the pod firewall as a Kubernetes controller, measured
// (bundled and run by kubernetes.mjs). A real kube-apiserver and etcd
// (built once per machine into ~/.cache/tsbpf/k8s), deploy/'s CRD and RBAC, two nodes on
// this machine with the conformance cluster's nine pods, and one `pod-firewall agent`
// process per node with the ServiceAccount's kubeconfig, as in
// examples/pod-firewall/src/kubernetes/cluster-api.test.ts.
//
//  1. latency   a NetworkPolicy created (then deleted) through the API, APPLIES times: the
//               time from the request to the moment every node's datapath flipped to a new map
//               generation (each node's pinned `config` map polled every 0.2 ms in this
//               process), p50/p90/p99/max, for creates and deletes apart.
//  2. scale     SCALE_PODS pods (API objects on a node of no agent: remote pods, so every
//               one is in each node's ipcache) and SCALE_POLICIES policies created through
//               the API; the time until both agents applied them, then each agent's RSS and
//               the CPU it used, and the latency of 20 more creates at that scale.
//
// The cluster is the example's LocalCluster (the one the e2e test and the demo use).
// Knobs: APPLIES (100), SCALE_PODS (1000), SCALE_POLICIES (1000), PARTS (latency,scale).
// Root only. Writes bench/results/pod-firewall-kubernetes.json.
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BpfMap } from '@tsbpf/loader';
import { TypedMap, u32 } from '@tsbpf/maps';
import { CoreV1Api, KubeConfig, NetworkingV1Api, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import type { NodeSpec } from '../../examples/pod-firewall/src/cluster/nodes.js';
import { instanceDirs } from '../../examples/pod-firewall/src/controller/instance.js';
import { conformanceCluster } from '../../examples/pod-firewall/src/conformance/scenarios.js';
import { configValue } from '../../examples/pod-firewall/src/datapath/layout.js';
import { startControlPlane, type ControlPlane } from '../../examples/pod-firewall/src/kubernetes/testing/control-plane.js';
import { LocalCluster, type AgentProcess } from '../../examples/pod-firewall/src/kubernetes/testing/local-cluster.js';
import { parseCluster } from '../../examples/pod-firewall/src/policy/cluster-file.js';
import { podKey } from '../../examples/pod-firewall/src/policy/model.js';

const ROOT = process.env.TSBPF_ROOT!;
const APPLIES = Number(process.env.APPLIES ?? 100);
const SCALE_PODS = Number(process.env.SCALE_PODS ?? 1000);
const SCALE_POLICIES = Number(process.env.SCALE_POLICIES ?? 1000);
const PARTS = (process.env.PARTS ?? 'latency,scale').split(',');
const CL = 'pkb';
const nodes: NodeSpec[] = [
  { name: `${CL}-n1`, podCidrs: ['10.244.1.0/24', '10.244.3.8/30'] },
  { name: `${CL}-n2`, podCidrs: ['10.244.2.0/24', '10.244.3.12/30'] },
];
const cluster = parseCluster(conformanceCluster);
const say = (s: string) => process.stderr.write(`[k8s bench] ${s}\n`);

const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
};
const summary = (xs: number[]) => ({
  n: xs.length,
  p50: +quantile(xs, 0.5).toFixed(1),
  p90: +quantile(xs, 0.9).toFixed(1),
  p99: +quantile(xs, 0.99).toFixed(1),
  max: +Math.max(...xs).toFixed(1),
});

/** Each node's `config` map, read in this process: its raw generation counter moves on every flip. */
let configs: TypedMap<number, { generation: number }>[] = [];
const generations = () => configs.map((c) => c.get(0)?.generation ?? 0);

/** ms from `act` until every node's generation moved (at most 30 s). */
async function timeToEnforce(act: () => Promise<unknown>): Promise<number> {
  const before = generations();
  const t0 = performance.now();
  let done = false;
  const polling = (async () => {
    const moved = new Array(nodes.length).fill(false);
    while (!done) {
      generations().forEach((g, i) => (moved[i] ||= g !== before[i]));
      if (moved.every(Boolean)) return performance.now() - t0;
      if (performance.now() - t0 > 30_000) throw new Error(`a node did not enforce within 30 s (generations ${before} -> ${generations()})`);
      await new Promise((r) => setImmediate(r));
    }
    return NaN;
  })();
  await act();
  const ms = await polling;
  done = true;
  return ms;
}

/** A policy that every node enforces (z has pods on both): deny ingress to z's pods but from z. */
const zPolicy = (name: string) => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { name, namespace: 'z' },
  spec: { podSelector: {}, ingress: [{ from: [{ podSelector: {} }] }] },
});

function procStat(pid: number): { rssMiB: number; cpuSeconds: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]); // utime + stime
  return { rssMiB: +(rssKb / 1024).toFixed(1), cpuSeconds: +(ticks / 100).toFixed(2) };
}

async function inBatches<T>(items: T[], width: number, fn: (x: T) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < items.length; i += width) await Promise.all(items.slice(i, i + width).map(fn));
}

async function main(): Promise<void> {
  let agents: AgentProcess[] = [];
  let cp: ControlPlane | undefined;
  let lc: LocalCluster | undefined;
  const results: Record<string, unknown> = { date: new Date().toISOString() };
  try {
    cp = await startControlPlane();
    lc = await LocalCluster.start(CL, cp, nodes);
    const kc = new KubeConfig();
    kc.loadFromFile(cp.adminKubeconfig);
    const core = kc.makeApiClient(CoreV1Api);
    const net = kc.makeApiClient(NetworkingV1Api);
    for (const ns of cluster.namespaces) lc.createNamespace(ns);
    for (const pod of cluster.pods) lc.createPod(pod);
    agents = nodes.map((n) => lc!.startAgent(n.name));
    await lc.waitForAgents();
    configs = nodes.map((n) => new TypedMap(BpfMap.fromPin(join(instanceDirs({ name: n.name }).pins, 'config')), u32, configValue));
    say(`control plane, 2 nodes, ${cluster.pods.length} pods (${cluster.pods.map(podKey).join(' ')}), 2 agents up`);

    // kubectl as an operator runs it (the issue measures from `kubectl apply`), not blocking the poll.
    const kubectl = (args: string[], input?: string) =>
      new Promise<void>((resolve, reject) => {
        const child = spawn(cp!.binaries.kubectl, ['--kubeconfig', cp!.adminKubeconfig, ...args], { stdio: ['pipe', 'ignore', 'pipe'] });
        let err = '';
        child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
        child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`kubectl ${args.join(' ')}: ${err}`))));
        child.stdin!.end(input ?? '');
      });
    const measureApplies = async (count: number, prefix: string) => {
      const creates: number[] = [];
      const deletes: number[] = [];
      for (let i = 0; i < count; i++) {
        const name = `${prefix}-${i}`;
        creates.push(await timeToEnforce(() => kubectl(['apply', '-f', '-'], JSON.stringify(zPolicy(name)))));
        deletes.push(await timeToEnforce(() => kubectl(['delete', 'networkpolicy', name, '-n', 'z'])));
      }
      return { create: summary(creates), delete: summary(deletes) };
    };

    process.on('exit', () => {
      if (process.exitCode) for (const a of agents) process.stderr.write(a.output.split('\n').slice(-8).join('\n') + '\n');
    });
    if (PARTS.includes('latency')) {
      say(`latency: ${APPLIES} creates and deletes of a policy both nodes enforce`);
      results.latency = { cluster: `${cluster.pods.length} pods on 2 nodes`, ...(await measureApplies(APPLIES, 'lat')) };
      say(JSON.stringify(results.latency));
    }

    if (PARTS.includes('scale')) {
      const before = agents.map((a) => procStat(a.child.pid!));
      say(`scale: ${SCALE_PODS} pods and ${SCALE_POLICIES} policies through the API`);
      await core.createNamespace({ body: { metadata: { name: 'scale', labels: { tier: 'scale' } } } });
      const t0 = performance.now();
      const pods = Array.from({ length: SCALE_PODS }, (_, i) => i);
      await inBatches(pods, 25, async (i) => {
        await core.createNamespacedPod({
          namespace: 'scale',
          body: {
            metadata: { name: `p${i}`, labels: { app: `app${i % 100}`, shard: `s${i % 7}` } },
            spec: { nodeName: 'elsewhere', containers: [{ name: 'c', image: 'none', ports: [{ containerPort: 8080, name: 'http' }] }] },
          },
        });
        const ip = `10.245.${Math.floor(i / 250)}.${(i % 250) + 1}`;
        await core.patchNamespacedPodStatus(
          { namespace: 'scale', name: `p${i}`, body: { status: { podIP: ip, podIPs: [{ ip }] } } },
          setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
        );
      });
      await inBatches(
        Array.from({ length: SCALE_POLICIES }, (_, i) => i),
        25,
        (i) =>
          net.createNamespacedNetworkPolicy({
            namespace: i % 2 === 0 ? 'x' : 'y',
            body: {
              metadata: { name: `scale-${i}` },
              spec: {
                podSelector: { matchLabels: { pod: ['a', 'b', 'c'][i % 3]! } },
                // client-node's models name `from` `_from` (its serializer maps it back; a plain `from` would be dropped).
                ingress: [
                  {
                    _from: [{ namespaceSelector: { matchLabels: { tier: 'scale' } }, podSelector: { matchLabels: { app: `app${i % 100}` } } }],
                    ports: [{ port: 8000 + (i % 50) }],
                  },
                ],
              },
            },
          }),
      );
      const created = performance.now() - t0;
      // Converged: both agents logged a state with every policy of their namespaces' pods.
      const want = [`${SCALE_POLICIES} policies`, `${cluster.pods.length + SCALE_PODS} pods`];
      await lc.waitForAgents((a) => a.output.split('\n').some((l) => want.every((w) => l.includes(w))), 600_000);
      const convergedMs = performance.now() - t0;
      const after = agents.map((a) => procStat(a.child.pid!));
      const applies = await measureApplies(20, 'scale-lat');
      const idle = agents.map((a) => procStat(a.child.pid!));
      results.scale = {
        pods: SCALE_PODS + cluster.pods.length,
        policies: SCALE_POLICIES,
        apiObjectsCreatedMs: Math.round(created),
        bothAgentsConvergedMs: Math.round(convergedMs),
        agents: nodes.map((n, i) => ({
          node: n.name,
          rssMiBBefore: before[i]!.rssMiB,
          rssMiBAtScale: after[i]!.rssMiB,
          rssMiBAfterApplies: idle[i]!.rssMiB,
          cpuSecondsToConverge: +(after[i]!.cpuSeconds - before[i]!.cpuSeconds).toFixed(2),
        })),
        latencyAtScale: applies,
      };
      say(JSON.stringify(results.scale));
    }
  } finally {
    for (const c of configs) c.close();
    await lc?.stop();
    await cp?.stop();
  }
  mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
  writeFileSync(join(ROOT, 'bench/results/pod-firewall-kubernetes.json'), JSON.stringify(results, null, 2) + '\n');
  console.log(JSON.stringify(results, null, 2));
}

await main();

/**
 * The node agent as a process (dist/kubernetes/file-agent.js, fed by a
 * snapshot file) killed with SIGKILL and restarted on two nodes, while a
 * watcher keeps probing flows that every state involved denies: killed idle,
 * killed between writing the idle generation and the flip
 * (POD_FIREWALL_CRASH_AT=written), restarted with no snapshot to read (it
 * must change nothing), killed right after the flip (`flipped`), and killed at random moments while snapshots flip
 * between two states. No denied flow is ever seen open; every restart
 * converges to the newest snapshot; the maps end as the oracle says. One
 * node's agent runs inside that node's namespace (`--own-netns`, as a
 * DaemonSet with hostNetwork), the other's outside it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { AgentClient, agentSocket } from '../cluster/agents.js';
import { createNodes, destroyNodes, nodeOf, startPod, type NodeSpec } from '../cluster/nodes.js';
import { netnsPath, nodeNetns, type PodNetwork } from '../cluster/topology.js';
import { privateDir } from '../controller/instance.js';
import { probePods, servedPorts } from '../controller/probe.js';
import { PodFirewall } from '../firewall.js';
import { parsePolicies } from '../policy/manifests.js';
import { podKey, policyKey, type Cluster, type NetworkPolicy } from '../policy/model.js';
import { isAllowed } from '../policy/oracle.js';
import { IdentityRegistry, snapshotsFor } from '../testing/snapshots.js';
import { describeNeeds, hasCommand, isRoot } from '../../../../test/support/env.js';

const AGENT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist', 'kubernetes', 'file-agent.js');
const CL = `pr${process.pid % 10000}`;
const nodes: NodeSpec[] = [
  { name: `${CL}-n1`, podCidrs: ['10.244.1.0/24'] },
  { name: `${CL}-n2`, podCidrs: ['10.244.2.0/24'] },
];
const [N1, N2] = nodes.map((n) => n.name) as [string, string];
const podRun = `/run/${CL}.pods`;
/** Kills at random moments (POD_FIREWALL_AGENT_KILLS for a longer run). */
const KILLS = Number(process.env.POD_FIREWALL_AGENT_KILLS ?? 6);
const files = `/run/${CL}.snapshots`;
const ports = [
  { port: 80, protocol: 'TCP' as const },
  { port: 81, protocol: 'TCP' as const },
];
const pod = (name: string, ip: string) => ({ namespace: 'x', name, labels: { pod: name }, ip, ports });
const cluster: Cluster = {
  namespaces: [{ name: 'x', labels: { 'kubernetes.io/metadata.name': 'x' } }],
  // a and c on n1, b and d on n2.
  pods: [pod('a', '10.244.1.11'), pod('c', '10.244.1.13'), pod('b', '10.244.2.12'), pod('d', '10.244.2.14')],
};
const manifest = (name: string, spec: string) =>
  `apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: { name: ${name}, namespace: x }\nspec:\n${spec}`;
/** x/b takes only x/a (the policy of every state). */
const bFromA = manifest('b-from-a', '  podSelector: { matchLabels: { pod: b } }\n  ingress: [{ from: [{ podSelector: { matchLabels: { pod: a } } }] }]\n');
/** x/a may reach x/b only (egress, judged on n1). */
const aToB = manifest(
  'a-to-b',
  '  podSelector: { matchLabels: { pod: a } }\n  policyTypes: [Egress]\n  egress: [{ to: [{ podSelector: { matchLabels: { pod: b } } }] }]\n',
);
/** x/d takes port 81 only. */
const d81 = manifest('d-81', '  podSelector: { matchLabels: { pod: d } }\n  ingress: [{ ports: [{ port: 81 }] }]\n');
const S1 = parsePolicies(bFromA);
const S2 = parsePolicies([bFromA, aToB].join('---\n'));
const S3 = parsePolicies([bFromA, d81].join('---\n'));
/** Denied by S1, S2 and S3 alike: never seen open, whatever the agents do. */
const alwaysDenied = [
  ['x/c', 'x/b', 80],
  ['x/c', 'x/b', 81],
  ['x/d', 'x/b', 80],
] as const;

describeNeeds([isRoot(), hasCommand('ip'), hasCommand('nsenter'), hasCommand('clang')], 'the node agent killed and restarted', () => {
  const registry = new IdentityRegistry();
  const nets = new Map<string, PodNetwork>();
  const children = new Map<string, ChildProcess>();
  const wrongAllows: string[] = [];
  let watching = false;
  let watched = 0;

  function write(node: string, policies: readonly NetworkPolicy[] | undefined): void {
    const file = join(files, `${node}.json`);
    if (!policies) return rmSync(file, { force: true });
    writeFileSync(`${file}.new`, JSON.stringify(snapshotsFor(nodes, cluster, policies, registry).get(node)));
    renameSync(`${file}.new`, file);
  }

  /** Starts a node's agent process; resolves once it runs (or rejects if it ends first). */
  function start(node: string, env: NodeJS.ProcessEnv = {}): Promise<ChildProcess> {
    const args = [AGENT, '--name', node, '--node', node, '--snapshots', join(files, `${node}.json`)];
    // n2's agent runs inside its node's namespace, as a DaemonSet with hostNetwork (nsenter execs node: the pid is the agent's).
    const [command, argv] =
      node === N2 ? ['nsenter', [`--net=${netnsPath(nodeNetns(node))}`, process.execPath, ...args, '--own-netns']] : [process.execPath, args];
    const child = spawn(command, argv, {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.set(node, child);
    return new Promise((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (b: Buffer) => {
        out += b.toString();
        if (out.includes('agent running')) resolve(child);
      });
      child.on('exit', (code, signal) => reject(new Error(`agent of ${node} ended (${code ?? signal}) before it ran: ${out}`)));
    });
  }

  function killed(child: ChildProcess): Promise<void> {
    return new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });
  }

  /** The policies the live generation of `node` enforces (status: compiled again and compared with the maps). */
  function enforcedPolicies(node: string): string[] {
    const s = PodFirewall.open({ name: node }).status();
    expect(s.enforced).toBe(true);
    return [...s.policies].sort();
  }

  async function converged(node: string, policies: readonly NetworkPolicy[]): Promise<void> {
    const want = policies.map(policyKey).sort();
    const deadline = Date.now() + 30_000;
    while (JSON.stringify(enforcedPolicies(node)) !== JSON.stringify(want)) {
      if (Date.now() > deadline) throw new Error(`${node} never enforced ${want.join(', ')}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async function watch(): Promise<void> {
    const clients = new Map<string, AgentClient>();
    for (const [from] of alwaysDenied) if (!clients.has(from)) clients.set(from, await AgentClient.open(agentSocket(podRun, nets.get(from)!.netns)));
    try {
      while (watching) {
        await Promise.all(
          alwaysDenied.map(async ([from, to, port]) => {
            const ip = cluster.pods.find((p) => podKey(p) === to)!.ip;
            if (await clients.get(from)!.probe(ip, port, 'TCP', 300)) wrongAllows.push(`${from}->${to}:${port}`);
          }),
        );
        watched++;
      }
    } finally {
      for (const c of clients.values()) c.close();
    }
  }

  beforeAll(async () => {
    cleanUp();
    createNodes(CL, nodes);
    privateDir(join(podRun, 'agents'));
    privateDir(files);
    for (const p of cluster.pods) nets.set(podKey(p), startPod(podRun, nodeOf(nodes, p.ip)!.name, p));
    for (const n of [N1, N2]) write(n, S1);
    await Promise.all([start(N1), start(N2)]);
    await converged(N1, S1);
    await converged(N2, S1);
  }, 180_000);

  function cleanUp(): void {
    for (const n of [N1, N2]) PodFirewall.down({ name: n });
    destroyNodes(CL, nodes);
    rmSync(podRun, { recursive: true, force: true });
    rmSync(files, { recursive: true, force: true });
  }
  afterAll(async () => {
    watching = false;
    for (const c of children.values()) await killed(c);
    cleanUp();
  });

  it('never lets a denied flow through while agents are killed and restarted, and converges each time', async () => {
    watching = true;
    // Four watchers at once: a round takes a denied probe's timeout (300 ms).
    const watcher = Promise.all([watch(), watch(), watch(), watch()]);
    try {
      // Killed idle: n2 keeps enforcing S1.
      await killed(children.get(N2)!);
      expect(enforcedPolicies(N2)).toEqual(['x/b-from-a']);

      // Killed between writing the idle generation and the flip: n2 still enforces S1, n1 moved to S2.
      const crashing = await start(N2, { POD_FIREWALL_CRASH_AT: 'written' });
      const died = new Promise<NodeJS.Signals | null>((r) => crashing.once('exit', (_, signal) => r(signal)));
      for (const n of [N1, N2]) write(n, S2);
      expect(await died).toBe('SIGKILL');
      await converged(N1, S2);
      expect(enforcedPolicies(N2)).toEqual(['x/b-from-a']);

      // Restarted with no snapshot to read: nothing changes until one comes.
      write(N2, undefined);
      await start(N2);
      const before = watched;
      while (watched < before + 3) await new Promise((r) => setTimeout(r, 50));
      expect(enforcedPolicies(N2)).toEqual(['x/b-from-a']);
      write(N2, S2);
      await converged(N2, S2);

      // Killed right after the flip, before the old generation is cleaned: n2 enforces S3; a restart keeps it.
      await killed(children.get(N2)!);
      const flipping = await start(N2, { POD_FIREWALL_CRASH_AT: 'flipped' });
      const diedAfterFlip = new Promise<NodeJS.Signals | null>((r) => flipping.once('exit', (_, signal) => r(signal)));
      for (const n of [N1, N2]) write(n, S3);
      expect(await diedAfterFlip).toBe('SIGKILL');
      expect(enforcedPolicies(N2)).toEqual(['x/b-from-a', 'x/d-81']);
      await start(N2);
      await converged(N1, S3);
      await converged(N2, S3);

      // Killed at random moments while the snapshots flip between S3 and S2.
      for (let i = 0; i < KILLS; i++) {
        const next = i % 2 === 0 ? S3 : S2;
        for (const n of [N1, N2]) write(n, next);
        await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 150)));
        await killed(children.get(N2)!);
        await start(N2);
        await converged(N2, next);
        await converged(N1, next);
      }
    } finally {
      watching = false;
      await watcher;
    }
    expect(wrongAllows).toEqual([]);
    expect(watched).toBeGreaterThan(10);
    console.log(`${KILLS} random kills; the watcher probed ${watched} rounds of ${alwaysDenied.length} denied flows, none open`);

    // The last state (S2), measured: every pair as the oracle says.
    const r = await probePods(
      podRun,
      cluster,
      cluster.pods.map((p) => nets.get(podKey(p))!),
      servedPorts(cluster),
      700,
    );
    expect([...r.failedAgents]).toEqual([]);
    const differ = [...r.results].filter(([k, ok]) => {
      const [pair, proto] = k.split(':') as [string, string];
      const [from, to] = pair.split('->').map((x) => cluster.pods.find((p) => podKey(p) === x)!);
      return ok !== isAllowed(cluster, S2, { from: from!, to: to!, protocol: 'TCP', port: Number(proto.split('/')[1]) });
    });
    expect(differ).toEqual([]);
    expect(r.results.size).toBe(4 * 3 * 2);
  }, 300_000);
});

/**
 * The node agent on two nodes of one machine (cluster/nodes.ts: two node
 * namespaces, an underlay bridge, routes between the pod CIDRs), each node
 * programmed by its own `runAgent` from snapshots fed by hand: identities
 * from the snapshot, endpoints only for local pods, every conformance
 * scenario probed with real connections between pods spread across both
 * nodes against the oracle, pods added (also before their veth exists),
 * relabelled and deleted, and forged source addresses across nodes; its
 * programs are loaded with the local fast path compiled out.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { AgentClient, agentSocket } from '../cluster/agents.js';
import { createNodes, destroyNodes, nodeOf, startPod, stopPod, type NodeSpec } from '../cluster/nodes.js';
import { hostVeths, nodeNetns, type PodNetwork } from '../cluster/topology.js';
import { instanceDirs, privateDir } from '../controller/instance.js';
import { linkPin, progPin } from '../controller/upgrade.js';
import { probePods, servedPorts } from '../controller/probe.js';
import { conformanceCluster, scenarios } from '../conformance/scenarios.js';
import { FirewallError } from '../errors.js';
import { PodFirewall } from '../firewall.js';
import { parseCluster } from '../policy/cluster-file.js';
import { labelSetKey } from '../policy/compile.js';
import { parsePolicies } from '../policy/manifests.js';
import { podKey, policyKey, relabelCluster, type Cluster, type NetworkPolicy, type Pod } from '../policy/model.js';
import { isAllowed } from '../policy/oracle.js';
import { mapsInCode } from '../testing/code-maps.js';
import { HandSource, IdentityRegistry, snapshotsFor } from '../testing/snapshots.js';
import { runAgent, type NodeAgent } from './agent.js';
import { describeNeeds, hasCommand, isRoot } from '../../../../test/support/env.js';

const CL = `pk${process.pid % 10000}`;
const nodes: NodeSpec[] = [
  { name: `${CL}-n1`, podCidrs: ['10.244.1.0/24', '10.244.3.8/30'] },
  { name: `${CL}-n2`, podCidrs: ['10.244.2.0/24', '10.244.3.12/30'] },
];
const podRun = `/run/${CL}.pods`;
const base = parseCluster(conformanceCluster);

describeNeeds([isRoot(), hasCommand('ip'), hasCommand('nsenter'), hasCommand('clang'), hasCommand('python3')], 'the node agent on two nodes', () => {
  const registry = new IdentityRegistry();
  const sources = new Map(nodes.map((n) => [n.name, new HandSource()]));
  const agents = new Map<string, NodeAgent>();
  const logs: string[] = [];
  const nets = new Map<string, PodNetwork>();
  let cluster: Cluster = base;
  let policies: NetworkPolicy[] = [];

  /** Both nodes moved to `c` under `p`; resolves when both agents applied it (and fails if one could not). */
  async function feed(c: Cluster, p: readonly NetworkPolicy[]): Promise<void> {
    cluster = c;
    policies = [...p];
    for (const [node, s] of snapshotsFor(nodes, c, p, registry)) sources.get(node)!.push(s);
    for (const a of agents.values()) expect((await a.settled()).error).toBeUndefined();
  }

  function addPod(pod: Pod): void {
    nets.set(podKey(pod), startPod(podRun, nodeOf(nodes, pod.ip)!.name, pod));
  }

  const expected = (key: string) => {
    const [pair, proto] = key.split(':') as [string, string];
    const [from, to] = pair.split('->').map((k) => cluster.pods.find((p) => podKey(p) === k)!);
    const [protocol, port] = proto.split('/') as ['TCP' | 'UDP', string];
    return isAllowed(cluster, policies, { from: from!, to: to!, protocol, port: Number(port) });
  };

  /** Every pod pair on every port, with real connections; the cells that differ from the oracle (each probed twice before it counts). */
  async function differing(): Promise<string[]> {
    const probe = async () => {
      const r = await probePods(
        podRun,
        cluster,
        cluster.pods.map((p) => nets.get(podKey(p))!),
        servedPorts(cluster),
        700,
      );
      expect([...r.failedAgents]).toEqual([]);
      return r.results;
    };
    const first = await probe();
    expect(first.size).toBe(cluster.pods.length * (cluster.pods.length - 1) * servedPorts(cluster).length);
    const wrong = [...first].filter(([k, ok]) => ok !== expected(k)).map(([k]) => k);
    if (wrong.length === 0) return [];
    const again = await probe();
    return wrong.filter((k) => again.get(k) !== expected(k)).map((k) => `${k}: observed ${again.get(k) ? 'allowed' : 'denied'}`);
  }

  async function reach(from: string, to: string, port = 80): Promise<boolean> {
    if (process.env.PF_DEBUG) console.error(`reach ${from} -> ${to}`);
    using client = await AgentClient.open(agentSocket(podRun, nets.get(from)!.netns));
    return await client.probe(cluster.pods.find((p) => podKey(p) === to)!.ip, port, 'TCP', 700);
  }

  beforeAll(async () => {
    cleanUp();
    createNodes(CL, nodes);
    privateDir(join(podRun, 'agents'));
    for (const p of base.pods) addPod(p);
    for (const n of nodes)
      agents.set(
        n.name,
        await runAgent({
          name: n.name,
          node: n.name,
          source: sources.get(n.name)!,
          log: (l) => void (logs.push(l), process.env.PF_DEBUG && console.error(l)),
          retryMs: 200,
        }),
      );
    await feed(base, []);
  }, 180_000);

  function cleanUp(): void {
    for (const n of nodes) PodFirewall.down({ name: n.name });
    destroyNodes(CL, nodes);
    rmSync(podRun, { recursive: true, force: true });
  }
  afterAll(async () => {
    for (const a of agents.values()) await a.stop();
    cleanUp();
  });

  it('gives the snapshot identities, endpoints to local pods only, and every pod to the ipcache', () => {
    const ids = registry.of(base);
    for (const n of nodes) {
      const fw = PodFirewall.open({ name: n.name });
      const live = fw.readLive();
      const gen = live.generation;
      const local = base.pods.filter((p) => nodeOf(nodes, p.ip) === n);
      expect(local.length).toBeGreaterThan(3);
      expect([...live.endpoints.keys()].sort()).toEqual(local.map(podKey).sort());
      for (const p of local) expect(live.endpoints.get(podKey(p))!.identity[gen]).toBe(ids[labelSetKey(base, p)]);
      for (const p of base.pods) {
        const entry = live.ipcache.get(`${p.ip}/32`)!;
        expect(entry.identity[gen]).toBe(ids[labelSetKey(base, p)]);
        // The veth a local pod's address leads to; none for another node's pod.
        expect(entry.pod).toBe(local.includes(p) ? podKey(p) : undefined);
      }
      expect(fw.status().enforced).toBe(true);
      // It does not fill local_pods: its programs are loaded with the fast path compiled out.
      const code = mapsInCode(progPin(instanceDirs({ name: n.name }), 'from_pod'));
      expect(code).toContain('ct');
      expect(code.has('local_pods')).toBe(false);
    }
    expect(logs.filter((l) => / generation \d, \d endpoints/.test(l))).toHaveLength(2);
  });

  it('refuses a snapshot for another node or without identities, and keeps enforcing', async () => {
    const [n1, n2] = nodes as [NodeSpec, NodeSpec];
    const snaps = snapshotsFor(nodes, cluster, policies, registry);
    sources.get(n1.name)!.push(snaps.get(n2.name)!);
    const wrongNode = await agents.get(n1.name)!.settled();
    expect(wrongNode.error).toBeInstanceOf(FirewallError);
    expect((wrongNode.error as FirewallError).code).toBe('SNAPSHOT_INVALID');
    sources.get(n1.name)!.push({ ...snaps.get(n1.name)!, identities: {} });
    expect(((await agents.get(n1.name)!.settled()).error as FirewallError).code).toBe('SNAPSHOT_INVALID');
    expect(PodFirewall.open({ name: n1.name }).status().enforced).toBe(true);
    await feed(cluster, policies);
    await expect(runAgent({ name: 'pk-bad', node: 'Not A Node', source: new HandSource() })).rejects.toMatchObject({ code: 'SNAPSHOT_INVALID' });
    expect(existsSync('/run/pk-bad')).toBe(false);
  });

  it('coalesces snapshots that arrive while it is busy: only the newest is applied', async () => {
    const [n1] = nodes as [NodeSpec];
    const deny = (ns: string) =>
      parsePolicies(`apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: { name: deny, namespace: ${ns} }\nspec: { podSelector: {} }\n`);
    const before = (await agents.get(n1.name)!.settled()).applies;
    for (const ns of ['x', 'y', 'z']) sources.get(n1.name)!.push(snapshotsFor(nodes, cluster, deny(ns), registry).get(n1.name)!);
    const after = await agents.get(n1.name)!.settled();
    expect(after.applies).toBe(before + 1);
    expect(PodFirewall.open({ name: n1.name }).status().policies).toEqual(['z/deny']);
    await feed(cluster, policies);
  });

  it(`runs ${scenarios.length} conformance scenarios across both nodes: no cell differs from the oracle`, async () => {
    const report: string[] = [];
    for (const scenario of scenarios) {
      let c = base;
      const p = new Map<string, NetworkPolicy>();
      await feed(c, []);
      for (const [i, step] of scenario.steps.entries()) {
        if (step.apply) for (const doc of parsePolicies(step.apply)) p.set(policyKey(doc), doc);
        for (const k of step.delete ?? []) p.delete(k);
        if (step.podLabels || step.namespaceLabels) {
          c = relabelCluster(c, { ...(step.podLabels ? { pods: step.podLabels } : {}), ...(step.namespaceLabels ? { namespaces: step.namespaceLabels } : {}) });
        }
        await feed(c, [...p.values()]);
        for (const d of await differing()) report.push(`${scenario.name} (step ${i + 1}): ${d}`);
      }
    }
    expect(report).toEqual([]);
  }, 900_000);

  it('follows pods added (also before their veth exists), relabelled and deleted, across nodes', async () => {
    const [n1, n2] = nodes as [NodeSpec, NodeSpec];
    const onlyFromA = parsePolicies(`apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: only-from-a, namespace: x }
spec:
  podSelector: { matchLabels: { pod: b } }
  ingress: [{ from: [{ podSelector: { matchLabels: { pod: a } } }] }]
`);
    const ports = base.pods[0]!.ports;
    const d: Pod = { namespace: 'x', name: 'd', labels: { pod: 'd' }, ip: '10.244.2.50', ports };
    const e: Pod = { namespace: 'x', name: 'e', labels: { pod: 'e' }, ip: '10.244.1.60', ports };
    // x/d on n2, x/b on n1: the ingress of x/b is judged on n1, by x/d's identity.
    addPod(d);
    await feed({ ...base, pods: [...base.pods, d] }, onlyFromA);
    expect(await reach('x/d', 'x/b')).toBe(false);
    expect(await reach('x/a', 'x/b')).toBe(true);
    await feed(relabelCluster(cluster, { pods: { 'x/d': { pod: 'a' } } }), onlyFromA);
    expect(await reach('x/d', 'x/b')).toBe(true);
    expect(await differing()).toEqual([]);

    // x/e is in the cluster before its veth exists on n1: pending, then picked up by the retry.
    await feed({ ...cluster, pods: [...cluster.pods, e] }, onlyFromA);
    const before = await agents.get(n1.name)!.settled();
    expect(before.change?.pending).toEqual(['x/e']);
    expect(logs.some((l) => l.includes('no veth yet: x/e'))).toBe(true);
    addPod(e);
    const deadline = Date.now() + 30_000;
    while (PodFirewall.open({ name: n1.name }).readLive().endpoints.get('x/e') === undefined) {
      if (Date.now() > deadline) throw new Error('x/e never became an endpoint');
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(await reach('x/e', 'x/b')).toBe(false);
    expect(await differing()).toEqual([]);

    // x/d deleted from the cluster: its endpoint and link pins go from n2, then the kubelet removes it.
    const dNet = nets.get('x/d')!;
    await feed({ ...cluster, pods: cluster.pods.filter((p) => p.name !== 'd') }, onlyFromA);
    expect(PodFirewall.open({ name: n2.name }).readLive().endpoints.has('x/d')).toBe(false);
    expect(hostVeths(n2.name).get(dNet.hostVeth)?.up).toBe(false); // cut off before the maps forgot it
    expect(existsSync(linkPin(instanceDirs({ name: n2.name }), dNet.hostVeth, 'ingress'))).toBe(false);
    stopPod(podRun, dNet);
    nets.delete('x/d');
    expect(PodFirewall.open({ name: n1.name }).readLive().ipcache.has('10.244.2.50/32')).toBe(false);
    expect(await differing()).toEqual([]);
  }, 300_000);

  it('drops forged source addresses across nodes: at the sender, and a node forging a pod of the receiving node', async () => {
    // y/b (n2) takes UDP only from y/a (n2) and x/a (n1).
    const fromA = parsePolicies(`apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: udp-from-a, namespace: y }
spec:
  podSelector: { matchLabels: { pod: b } }
  ingress: [{ from: [{ podSelector: { matchLabels: { pod: a } }, namespaceSelector: {} }], ports: [{ port: 82, protocol: UDP }] }]
`);
    await feed(cluster, fromA);
    const yb = cluster.pods.find((p) => podKey(p) === 'y/b')!.ip;
    const send = (netns: string, src: string) => python(netns, RAW_UDP, [src, yb, 4000, 82]);
    const listen = startListening(nets.get('y/b')!.netns);
    await listen.ready;
    await send(nets.get('x/a')!.netns, '10.244.1.11'); // x/a as itself, across nodes: arrives
    await send(nets.get('x/c')!.netns, '10.244.1.11'); // x/c with x/a's address: dropped at x/c's veth on n1
    await send(nets.get('x/c')!.netns, '10.244.2.11'); // x/c with y/a's address: dropped at x/c's veth
    await send(nodeNetns(nodes[0]!.name), '10.244.2.11'); // n1's own stack with y/a's address: dropped on n2
    await send(nets.get('y/a')!.netns, '10.244.2.11'); // y/a as itself: arrives
    const got = await listen.done;
    expect(got).toEqual(['10.244.1.11', '10.244.2.11']);
    const counters = PodFirewall.open({ name: nodes[0]!.name }).status().counters;
    expect(counters['drop-spoofed']!.packets).toBeGreaterThanOrEqual(2n);
    expect(PodFirewall.open({ name: nodes[1]!.name }).status().counters['drop-spoofed']!.packets).toBeGreaterThanOrEqual(1n);
  }, 60_000);

  it('stops: settled() is CLOSED, and the datapath keeps enforcing what it did', async () => {
    const [n1] = nodes as [NodeSpec];
    const enforcedBefore = PodFirewall.open({ name: n1.name }).status().policies;
    await agents.get(n1.name)!.stop();
    await expect(agents.get(n1.name)!.settled()).rejects.toMatchObject({ code: 'CLOSED' });
    const after = PodFirewall.open({ name: n1.name }).status();
    expect(after.enforced).toBe(true);
    expect(after.policies).toEqual(enforcedBefore);
    expect(after.policies.length).toBeGreaterThan(0);
  });
});

/** One UDP datagram with any source address (a raw socket, IP_HDRINCL). */
const RAW_UDP = `
import socket, struct, sys
src, dst, sport, dport = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
udp = struct.pack('!HHHH', sport, dport, 8 + 4, 0) + b'pfk!'
hdr = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(udp), 7, 0, 64, 17, 0, socket.inet_aton(src), socket.inet_aton(dst))
socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW).sendto(hdr + udp, (dst, 0))
`;

function python(netns: string, script: string, args: (string | number)[]): Promise<void> {
  execFileSync('nsenter', [`--net=/run/netns/${netns}`, 'python3', '-c', script, ...args.map(String)], { timeout: 20_000 });
  return Promise.resolve();
}

/** Listens on UDP 82 in a pod for 3 s; the source addresses of what arrived, in order. */
function startListening(netns: string): { ready: Promise<void>; done: Promise<string[]> } {
  const script = `
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(('0.0.0.0', 82))
print('ready', flush=True)
end = time.time() + 3
while time.time() < end:
    s.settimeout(max(0.01, end - time.time()))
    try:
        print(s.recvfrom(100)[1][0], flush=True)
    except socket.timeout:
        pass
`;
  const child = spawn('nsenter', [`--net=/run/netns/${netns}`, 'python3', '-c', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  let onReady: () => void = () => {};
  const ready = new Promise<void>((r) => (onReady = r));
  child.stdout.on('data', (b: Buffer) => {
    out += b.toString();
    if (out.includes('ready')) onReady();
  });
  const done = new Promise<string[]>((resolve) => child.on('close', () => resolve(out.split('\n').filter((l) => l && l !== 'ready'))));
  return { ready, done };
}

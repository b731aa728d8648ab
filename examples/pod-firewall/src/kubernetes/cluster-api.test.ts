/**
 * The whole Kubernetes path, as a cluster runs it: a real kube-apiserver and
 * etcd, deploy/'s CRD and least-privilege RBAC, two nodes on this machine,
 * and on each one `pod-firewall agent` as a process with the ServiceAccount's
 * kubeconfig. The test plays kubelet + CNI (pods created through the API
 * with a nodeName get their namespace and veth on that node and their IP
 * patched on status); policies go in with `kubectl apply`; real connections
 * across the nodes are compared with the policy oracle, cell by cell.
 * Agents also restart without a wrong allow, and serve /metrics.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeNeeds, hasCommand, isRoot } from '../../../../test/support/env.js';
import { createNodes, destroyNodes, nodeOf, startPod, stopPod, type NodeSpec } from '../cluster/nodes.js';
import type { PodNetwork } from '../cluster/topology.js';
import { privateDir } from '../controller/instance.js';
import { probePods, servedPorts } from '../controller/probe.js';
import { conformanceCluster, scenarios } from '../conformance/scenarios.js';
import { PodFirewall } from '../firewall.js';
import { parseCluster } from '../policy/cluster-file.js';
import { parsePolicies } from '../policy/manifests.js';
import { podKey, type Cluster, type NetworkPolicy, type Pod } from '../policy/model.js';
import { isAllowed } from '../policy/oracle.js';
import { MAIN } from '../testing/cli-runner.js';
import { controlPlaneAvailable } from './testing/control-plane-build.js';
import { startControlPlane, type ControlPlane } from './testing/control-plane.js';

const CL = `pa${process.pid % 10000}`;
const nodes: NodeSpec[] = [
  { name: `${CL}-n1`, podCidrs: ['10.244.1.0/24', '10.244.3.8/30'] },
  { name: `${CL}-n2`, podCidrs: ['10.244.2.0/24', '10.244.3.12/30'] },
];
const podRun = `/run/${CL}.pods`;
const DEPLOY = new URL('../../deploy/', import.meta.url).pathname;
let cluster: Cluster = parseCluster(conformanceCluster);
/** Conformance scenarios of the team's catalog, one of each kind (the whole catalog runs on one machine in conformance.test.ts), through the API. */
const chosen = [
  'default-deny-ingress-and-egress',
  'default-deny-ingress-every-namespace',
  'ingress-from-namespace-and-pod-selector',
  'ingress-named-port',
  'egress-named-port',
  'ingress-end-port-range-tcp',
  'ingress-ip-block-with-except',
  'egress-ip-block-with-except',
  'stacked-ingress-only-and-egress-only',
  'update-policy-ports',
  'delete-one-of-stacked-policies',
];

interface AgentProcess {
  child: ChildProcess;
  output: string;
}

describeNeeds(
  [isRoot(), controlPlaneAvailable(), hasCommand('ip'), hasCommand('nsenter'), hasCommand('clang'), hasCommand('openssl'), hasCommand('setpriv')],
  'the pod firewall as a Kubernetes controller (real API server, two nodes, agent processes)',
  () => {
    let cp: ControlPlane;
    let kubeconfig: string;
    const nets = new Map<string, PodNetwork>();
    const agents = new Map<string, AgentProcess>();
    let policies: NetworkPolicy[] = [];

    function startAgentProcess(node: string): AgentProcess {
      const child = spawn(
        process.execPath,
        [MAIN, '--name', node, 'agent', '--kubeconfig', kubeconfig, '--node', node, '--instance-netns', '--metrics', '127.0.0.1:0'],
        {
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      const a: AgentProcess = { child, output: '' };
      child.stdout!.on('data', (d: Buffer) => (a.output += d.toString()));
      child.stderr!.on('data', (d: Buffer) => (a.output += d.toString()));
      agents.set(node, a);
      return a;
    }

    /** What a kubelet and the CNI do for a pod the API holds with a nodeName: its network on that node, then its IP on status. */
    function createPod(pod: Pod): void {
      const node = nodeOf(nodes, pod.ip)!.name;
      cp.kubectl(
        ['apply', '-f', '-'],
        JSON.stringify({
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name: pod.name, namespace: pod.namespace, labels: pod.labels },
          spec: {
            nodeName: node,
            containers: [
              { name: 'c', image: 'none', ports: pod.ports.map((p) => ({ containerPort: p.port, protocol: p.protocol, ...(p.name ? { name: p.name } : {}) })) },
            ],
          },
        }),
      );
      nets.set(podKey(pod), startPod(podRun, node, pod));
      cp.kubectl([
        'patch',
        'pod',
        pod.name,
        '-n',
        pod.namespace,
        '--subresource=status',
        '--type=merge',
        '-p',
        JSON.stringify({ status: { podIP: pod.ip, podIPs: [{ ip: pod.ip }] } }),
      ]);
    }

    const expected = (key: string) => {
      const [pair, proto] = key.split(':') as [string, string];
      const [from, to] = pair.split('->').map((k) => cluster.pods.find((p) => podKey(p) === k)!);
      const [protocol, port] = proto.split('/') as ['TCP' | 'UDP', string];
      return isAllowed(cluster, policies, { from: from!, to: to!, protocol, port: Number(port) });
    };

    async function differing(): Promise<string[]> {
      const r = await probePods(
        podRun,
        cluster,
        cluster.pods.map((p) => nets.get(podKey(p))!),
        servedPorts(cluster),
        700,
      );
      expect([...r.failedAgents]).toEqual([]);
      return [...r.results].filter(([k, ok]) => ok !== expected(k)).map(([k, ok]) => `${k}: observed ${ok ? 'allowed' : 'denied'}`);
    }

    /** Probes until the matrix equals the oracle's (the agents converge in their own time), at most `ms`; the last differences. */
    async function converged(ms = 60_000): Promise<string[]> {
      const deadline = Date.now() + ms;
      let wrong = await differing();
      while (wrong.length > 0 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 500));
        wrong = await differing();
      }
      return wrong;
    }

    async function waitFor(what: string, ok: () => boolean, ms = 120_000): Promise<void> {
      const deadline = Date.now() + ms;
      while (!ok()) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; agents said:\n${[...agents.values()].map((a) => a.output).join('\n')}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }

    function cleanUp(): void {
      for (const a of agents.values()) a.child.kill('SIGKILL');
      for (const n of nodes) PodFirewall.down({ name: n.name });
      destroyNodes(CL, nodes);
      rmSync(podRun, { recursive: true, force: true });
    }

    beforeAll(async () => {
      cp = await startControlPlane();
      cleanUp();
      cp.kubectl(['apply', '-f', join(DEPLOY, 'crd.yaml'), '-f', join(DEPLOY, 'rbac.yaml')]);
      cp.kubectl(['wait', '--for=condition=Established', '--timeout=60s', 'crd/podfirewallidentities.podfirewall.tsbpf.dev']);
      kubeconfig = cp.serviceAccountKubeconfig('kube-system', 'pod-firewall');
      createNodes(CL, nodes);
      privateDir(join(podRun, 'agents'));
      // kubelet + CNI, played by hand: the API objects first, then each pod's network on its node, then its IP on status.
      for (const ns of cluster.namespaces) {
        cp.kubectl(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns.name, labels: ns.labels } }));
      }
      for (const pod of cluster.pods) createPod(pod);
      for (const n of nodes) startAgentProcess(n.name);
      await waitFor('both agents running', () => [...agents.values()].every((a) => a.output.includes('agent running')));
    }, 40 * 60_000);

    afterAll(async () => {
      cleanUp();
      for (const net of nets.values()) stopPod(podRun, net);
      await cp?.stop();
    }, 120_000);

    it('enforces nothing before any policy: every cell across both nodes as the oracle says', async () => {
      expect(await converged()).toEqual([]);
    }, 120_000);

    for (const name of chosen) {
      it(`scenario through kubectl apply: ${name}`, async () => {
        const scenario = scenarios.find((s) => s.name === name);
        expect(scenario, `scenario ${name} is in the catalog`).toBeDefined();
        cp.kubectl(['delete', 'networkpolicy', '--all', '--all-namespaces', '--wait=true']);
        policies = [];
        for (const [i, step] of scenario!.steps.entries()) {
          const same = (a: NetworkPolicy, b: NetworkPolicy) => a.metadata.name === b.metadata.name && a.metadata.namespace === b.metadata.namespace;
          if (step.apply) {
            // As JSON: kubectl reads YAML 1.1, where the catalog's unquoted `y` (namespace y) is a boolean.
            const incoming = parsePolicies(step.apply);
            cp.kubectl(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: incoming }));
            policies = [...policies.filter((p) => !incoming.some((q) => same(p, q))), ...incoming];
          }
          for (const key of step.delete ?? []) {
            const [namespace, name] = key.split('/') as [string, string];
            cp.kubectl(['delete', 'networkpolicy', name, '-n', namespace, '--wait=true']);
            policies = policies.filter((p) => !(p.metadata.name === name && p.metadata.namespace === namespace));
          }
          expect(step.podLabels ?? step.namespaceLabels, 'policy steps only').toBeUndefined();
          expect(await converged(), `after step ${i + 1}`).toEqual([]);
        }
        expect(await converged()).toEqual([]);
      }, 180_000);
    }

    it('follows a pod created, relabelled and deleted through the API while a policy holds', async () => {
      cp.kubectl(['delete', 'networkpolicy', '--all', '--all-namespaces', '--wait=true']);
      // x/a (node 1) takes TCP 80 only from pods labelled role=friend, in any namespace.
      policies = parsePolicies(`apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: friends-only, namespace: x }
spec:
  podSelector: { matchLabels: { pod: a } }
  ingress:
    - from: [{ namespaceSelector: {}, podSelector: { matchLabels: { role: friend } } }]
      ports: [{ port: 80, protocol: TCP }]
`);
      cp.kubectl(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: policies }));
      expect(await converged()).toEqual([]);
      // A new pod on node 2, not yet a friend: denied (judged by x/a's node, by the identity the API side gave it).
      const d: Pod = { namespace: 'y', name: 'd', labels: { pod: 'd' }, ip: '10.244.2.14', ports: cluster.pods[0]!.ports };
      cluster = { ...cluster, pods: [...cluster.pods, d] };
      createPod(d);
      expect(await converged()).toEqual([]);
      expect(expected('y/d->x/a:TCP/80')).toBe(false);
      // kubectl label: a new label set, a new identity, and now it is let in.
      cp.kubectl(['label', 'pod', 'd', '-n', 'y', 'role=friend']);
      cluster = { ...cluster, pods: cluster.pods.map((p) => (podKey(p) === 'y/d' ? { ...p, labels: { ...p.labels, role: 'friend' } } : p)) };
      expect(expected('y/d->x/a:TCP/80')).toBe(true);
      expect(await converged()).toEqual([]);
      // Deleted: the kubelet tears it down, the agents forget it.
      cp.kubectl(['delete', 'pod', 'd', '-n', 'y', '--grace-period=0', '--force', '--wait=false']);
      stopPod(podRun, nets.get('y/d')!);
      nets.delete('y/d');
      cluster = { ...cluster, pods: cluster.pods.filter((p) => podKey(p) !== 'y/d') };
      expect(await converged()).toEqual([]);
    }, 240_000);

    it("serves /metrics with this node's endpoints and the flow events by policy", async () => {
      // Node 1: the scenarios' policies isolate x's pods, which are there.
      const a = agents.get(nodes[0]!.name)!;
      const url = /metrics at (\S+)/.exec(a.output)?.[1];
      expect(url).toBeDefined();
      const text = await (await fetch(url!)).text();
      const local = cluster.pods.filter((p) => nodeOf(nodes, p.ip)!.name === nodes[0]!.name).length;
      expect(text).toMatch(new RegExp(`^pod_firewall_endpoints ${local}$`, 'm'));
      expect(text).toMatch(/^pod_firewall_flow_events_total\{[^}]*verdict="denied"[^}]*\} [1-9]/m);
      // Allowed flows carry the policy that allowed them, by name.
      expect(text).toMatch(/^pod_firewall_flow_events_total\{verdict="allowed",reason="allow-policy",direction="\w+",policy="x\/[^"]+"\} [1-9]/m);
      expect(text).toMatch(/^pod_firewall_datapath_packets_total\{reason="deny-policy"\} [1-9]/m);
      expect(text).toMatch(/^pod_firewall_reconcile_duration_seconds_count\{result="ok"\} [1-9]/m);
    }, 60_000);

    it('an agent killed and restarted keeps its node enforcing, and converges on what changed meanwhile', async () => {
      const node = nodes[0]!.name;
      const old = agents.get(node)!;
      old.child.kill('SIGKILL');
      await new Promise((r) => old.child.once('exit', r));
      // While it is down: its node still enforces the last policy (cells judged on node 1 keep their verdict).
      expect(await differing()).toEqual([]);
      // A change made while it is down reaches it when it comes back (level-triggered: it lists again).
      cp.kubectl(['delete', 'networkpolicy', '--all', '--all-namespaces', '--wait=true']);
      policies = [];
      const again = startAgentProcess(node);
      await waitFor('the restarted agent running', () => again.output.includes('agent running'));
      expect(await converged()).toEqual([]);
    }, 240_000);
  },
);

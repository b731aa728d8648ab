/**
 * The whole Kubernetes path, as a cluster runs it: a real kube-apiserver and
 * etcd, deploy/'s CRD and least-privilege RBAC, two nodes on this machine,
 * and on each one `pod-firewall agent` as a process with the ServiceAccount's
 * kubeconfig (testing/local-cluster.ts). The test plays kubelet + CNI; every
 * scenario of the team's conformance catalog goes in through the API
 * (`kubectl apply`, `kubectl delete`, `kubectl label`), and real connections
 * across the nodes are compared with the policy oracle, cell by cell, after
 * each step. Pods come and go and change labels under a policy; agents
 * restart without a wrong allow, and serve /metrics.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeNeeds, hasCommand, isRoot } from '../../../../test/support/env.js';
import type { NodeSpec } from '../cluster/nodes.js';
import { conformanceCluster, scenarios } from '../conformance/scenarios.js';
import { parseCluster } from '../policy/cluster-file.js';
import { parsePolicies } from '../policy/manifests.js';
import { podKey, relabelCluster, type Cluster, type LabelChange, type Labels, type NetworkPolicy, type Pod } from '../policy/model.js';
import { isAllowed } from '../policy/oracle.js';
import { controlPlaneAvailable } from './testing/control-plane-build.js';
import { startControlPlane, type ControlPlane } from './testing/control-plane.js';
import { LocalCluster } from './testing/local-cluster.js';

const CL = `pa${process.pid % 10000}`;
const nodes: NodeSpec[] = [
  { name: `${CL}-n1`, podCidrs: ['10.244.1.0/24', '10.244.3.8/30'] },
  { name: `${CL}-n2`, podCidrs: ['10.244.2.0/24', '10.244.3.12/30'] },
];
const initial = parseCluster(conformanceCluster);

/** `kubectl label` arguments that make `from` into `to` (kubernetes.io/metadata.name is the API server's). */
function labelArgs(from: Labels, to: Labels): string[] {
  const keep = (k: string) => k !== 'kubernetes.io/metadata.name';
  return [
    '--overwrite',
    ...Object.entries(to)
      .filter(([k]) => keep(k))
      .map(([k, v]) => `${k}=${v}`),
    ...Object.keys(from)
      .filter((k) => keep(k) && !(k in to))
      .map((k) => `${k}-`),
  ];
}

describeNeeds(
  [isRoot(), controlPlaneAvailable(), hasCommand('ip'), hasCommand('nsenter'), hasCommand('clang'), hasCommand('openssl'), hasCommand('setpriv')],
  'the pod firewall as a Kubernetes controller (real API server, two nodes, agent processes)',
  () => {
    let cp: ControlPlane;
    let lc: LocalCluster;
    let cluster: Cluster = initial;
    let policies: NetworkPolicy[] = [];

    const expected = (key: string) => {
      const [pair, proto] = key.split(':') as [string, string];
      const [from, to] = pair.split('->').map((k) => cluster.pods.find((p) => podKey(p) === k)!);
      const [protocol, port] = proto.split('/') as ['TCP' | 'UDP', string];
      return isAllowed(cluster, policies, { from: from!, to: to!, protocol, port: Number(port) });
    };

    async function differing(): Promise<string[]> {
      const r = await lc.probe(cluster);
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

    /** Labels as a scenario step says, through `kubectl label`, and in the model the oracle reads. */
    function relabel(change: LabelChange): void {
      const sameLabels = (a: Labels, b: Labels) => JSON.stringify(Object.entries(a).sort()) === JSON.stringify(Object.entries(b).sort());
      for (const [key, labels] of Object.entries(change.pods ?? {})) {
        const [namespace, name] = key.split('/') as [string, string];
        const pod = cluster.pods.find((p) => podKey(p) === key)!;
        if (!sameLabels(pod.labels, labels)) cp.kubectl(['label', 'pod', name, '-n', namespace, ...labelArgs(pod.labels, labels)]);
      }
      for (const [name, labels] of Object.entries(change.namespaces ?? {})) {
        const ns = cluster.namespaces.find((n) => n.name === name)!;
        const wanted = { ...labels, 'kubernetes.io/metadata.name': name };
        if (!sameLabels(ns.labels, wanted)) cp.kubectl(['label', 'namespace', name, ...labelArgs(ns.labels, labels)]);
      }
      cluster = relabelCluster(cluster, change);
    }

    beforeAll(async () => {
      cp = await startControlPlane();
      lc = await LocalCluster.start(CL, cp, nodes);
      for (const ns of cluster.namespaces) lc.createNamespace(ns);
      for (const pod of cluster.pods) lc.createPod(pod);
      for (const n of nodes) lc.startAgent(n.name, ['--metrics', '127.0.0.1:0']);
      await lc.waitForAgents();
    }, 40 * 60_000);

    afterAll(async () => {
      await lc?.stop();
      await cp?.stop();
    }, 120_000);

    it('enforces nothing before any policy: every cell across both nodes as the oracle says', async () => {
      expect(await converged()).toEqual([]);
    }, 120_000);

    for (const scenario of scenarios) {
      it(`conformance through the API: ${scenario.name}`, async () => {
        // Each scenario from a clean slate: no policy, the cluster's own labels.
        cp.kubectl(['delete', 'networkpolicy', '--all', '--all-namespaces', '--wait=true']);
        policies = [];
        relabel({
          pods: Object.fromEntries(initial.pods.map((p) => [podKey(p), p.labels])),
          namespaces: Object.fromEntries(initial.namespaces.map((n) => [n.name, n.labels])),
        });
        const same = (a: NetworkPolicy, b: NetworkPolicy) => a.metadata.name === b.metadata.name && a.metadata.namespace === b.metadata.namespace;
        for (const [i, step] of scenario.steps.entries()) {
          if (step.apply) {
            const incoming = parsePolicies(step.apply);
            lc.applyPolicies(incoming);
            policies = [...policies.filter((p) => !incoming.some((q) => same(p, q))), ...incoming];
          }
          for (const key of step.delete ?? []) {
            const [namespace, name] = key.split('/') as [string, string];
            cp.kubectl(['delete', 'networkpolicy', name, '-n', namespace, '--wait=true']);
            policies = policies.filter((p) => !(p.metadata.name === name && p.metadata.namespace === namespace));
          }
          if (step.podLabels || step.namespaceLabels) relabel({ pods: step.podLabels, namespaces: step.namespaceLabels });
          expect(await converged(), `after step ${i + 1}`).toEqual([]);
        }
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
      lc.applyPolicies(policies);
      expect(await converged()).toEqual([]);
      // A new pod on node 2, not yet a friend: denied (judged on x/a's node, by the identity the API side gave it).
      const d: Pod = { namespace: 'y', name: 'd', labels: { pod: 'd' }, ip: '10.244.2.14', ports: cluster.pods[0]!.ports };
      cluster = { ...cluster, pods: [...cluster.pods, d] };
      lc.createPod(d);
      expect(await converged()).toEqual([]);
      expect(expected('y/d->x/a:TCP/80')).toBe(false);
      // kubectl label: a new label set, a new identity, and now it is let in.
      relabel({ pods: { 'y/d': { pod: 'd', role: 'friend' } } });
      expect(expected('y/d->x/a:TCP/80')).toBe(true);
      expect(await converged()).toEqual([]);
      // Deleted: the kubelet tears it down, the agents forget it.
      lc.deletePod('y/d');
      cluster = { ...cluster, pods: cluster.pods.filter((p) => podKey(p) !== 'y/d') };
      expect(await converged()).toEqual([]);
    }, 240_000);

    it("serves /metrics with this node's endpoints and the flow events by policy", async () => {
      // Node 1: the policies above isolate x's pods, which are there.
      const a = lc.agents.get(nodes[0]!.name)!;
      const url = /metrics at (\S+)/.exec(a.output)?.[1];
      expect(url).toBeDefined();
      const text = await (await fetch(url!)).text();
      const local = cluster.pods.filter((p) => lc.nodeOf(p) === nodes[0]!.name).length;
      expect(text).toMatch(new RegExp(`^pod_firewall_endpoints ${local}$`, 'm'));
      expect(text).toMatch(/^pod_firewall_flow_events_total\{[^}]*verdict="denied"[^}]*\} [1-9]/m);
      // Allowed flows carry the policy that allowed them, by name.
      expect(text).toMatch(/^pod_firewall_flow_events_total\{verdict="allowed",reason="allow-policy",direction="\w+",policy="x\/[^"]+"\} [1-9]/m);
      expect(text).toMatch(/^pod_firewall_datapath_packets_total\{reason="deny-policy"\} [1-9]/m);
      expect(text).toMatch(/^pod_firewall_reconcile_duration_seconds_count\{result="ok"\} [1-9]/m);
    }, 60_000);

    it('an agent killed and restarted keeps its node enforcing, and converges on what changed meanwhile', async () => {
      const node = nodes[0]!.name;
      const old = lc.agents.get(node)!;
      old.child.kill('SIGKILL');
      await new Promise((r) => old.child.once('exit', r));
      // While it is down: its node still enforces the last policy.
      expect(await differing()).toEqual([]);
      // A change made while it is down reaches it when it comes back (level-triggered: it lists again).
      cp.kubectl(['delete', 'networkpolicy', '--all', '--all-namespaces', '--wait=true']);
      policies = [];
      lc.startAgent(node);
      await lc.waitForAgents();
      expect(await converged()).toEqual([]);
    }, 240_000);
  },
);

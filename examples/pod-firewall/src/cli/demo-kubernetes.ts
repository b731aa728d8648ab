/**
 * `pod-firewall demo --kubernetes`: the `npm start` story across two nodes
 * of a Kubernetes cluster on this machine. A real kube-apiserver and etcd
 * (built once per machine: minutes the first time), deploy/'s CRD and RBAC,
 * two nodes with the demo cluster's pods spread over them, one `pod-firewall
 * agent` per node; the matrix before, policies/demo.yaml through the API, the
 * matrix after (cross-node flows judged on both nodes, by identity), the
 * identities the agents agreed on, and everything torn down at the end, also
 * after a failure or Ctrl-C.
 */
import { join } from 'node:path';
import { packageDir } from '../cluster/agents.js';
import type { NodeSpec } from '../cluster/nodes.js';
import { servedPorts } from '../controller/probe.js';
import { CliError } from '../errors.js';
import { formatCombinedMatrix, summarizeProbe } from '../format.js';
import { parseCluster } from '../policy/cluster-file.js';
import { parsePolicies } from '../policy/manifests.js';
import { podKey } from '../policy/model.js';
import { LocalCluster } from '../kubernetes/testing/local-cluster.js';
import { startControlPlane, type ControlPlane } from '../kubernetes/testing/control-plane.js';
import { indent, out, parsed, requireRoot, seconds } from './plumbing.js';

export const K8S_DEMO_NAME = 'pfk-demo';
const NODES: NodeSpec[] = [
  { name: 'pfk-node-1', podCidrs: ['10.244.1.0/24', '10.244.3.8/30'] },
  { name: 'pfk-node-2', podCidrs: ['10.244.2.0/24', '10.244.3.12/30'] },
];

const bold = (text: string) => (process.stdout.isTTY ? `\x1b[1m${text}\x1b[0m` : text);
const heading = (n: number, text: string) => out(`\n${bold(`${n}. ${text}`)}`);

export async function demoKubernetesCommand(): Promise<void> {
  requireRoot();
  const started = performance.now();
  const abort = new AbortController();
  const onSignal = () => {
    abort.abort();
    process.stderr.write('\ninterrupted: cleaning up\n');
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const checkpoint = () => {
    if (abort.signal.aborted) throw new CliError('INTERRUPTED', 'interrupted');
  };
  const dir = packageDir();
  const cluster = parsed(join(dir, 'clusters', 'demo.yaml'), parseCluster);
  const policies = parsed(join(dir, 'policies', 'demo.yaml'), parsePolicies);
  const pods = cluster.pods.map(podKey);
  const ports = servedPorts(cluster);
  let cp: ControlPlane | undefined;
  let lc: LocalCluster | undefined;
  try {
    out('pod-firewall: Kubernetes NetworkPolicy enforced by eBPF, as a per-node agent fed by a real API server');
    heading(1, 'A Kubernetes control plane on 127.0.0.1');
    let t = performance.now();
    cp = await startControlPlane();
    out(
      `  kube-apiserver ${cp.binaries.kubernetesVersion} and etcd ${cp.binaries.etcdVersion} at ${cp.server} (TLS, RBAC), ready in ${seconds(performance.now() - t)}`,
    );
    checkpoint();

    heading(2, 'Two nodes; the pods of clusters/demo.yaml created through the API and placed by their address');
    t = performance.now();
    lc = await LocalCluster.start(K8S_DEMO_NAME, cp, NODES);
    for (const ns of cluster.namespaces) lc.createNamespace(ns);
    for (const pod of cluster.pods) lc.createPod(pod);
    for (const n of NODES)
      out(
        `  ${n.name}: ${cluster.pods
          .filter((p) => lc!.nodeOf(p) === n.name)
          .map(podKey)
          .join(' ')}`,
      );
    out(`  deploy/crd.yaml and deploy/rbac.yaml applied; each pod's namespace and veth on its node, its IP on status (${seconds(performance.now() - t)})`);
    checkpoint();

    heading(3, "`pod-firewall agent` on each node, with the ServiceAccount's kubeconfig");
    t = performance.now();
    for (const n of NODES) lc.startAgent(n.name);
    await lc.waitForAgents();
    out(`  both agents listed the API, agreed on identities and programmed their node (${seconds(performance.now() - t)})`);
    checkpoint();

    const legend = `each cell: ${ports.map((p) => `${p.protocol}/${p.port}`).join(' ')} from the row's pod to the column's ('.' connected, 'X' blocked)`;
    heading(4, 'No NetworkPolicy yet: every pod reaches every other pod, across the nodes too');
    const before = await lc.probe(cluster);
    out(indent(formatCombinedMatrix(pods, before.results, ports)));
    out(`  ${legend}`);
    out(`  ${summarizeProbe(before.results)}`);
    checkpoint();

    heading(5, 'kubectl apply policies/demo.yaml');
    t = performance.now();
    lc.applyPolicies(policies);
    const want = `${policies.length} policies`;
    await lc.waitForAgents((a) => a.output.split('\n').some((l) => l.includes(want)), 60_000);
    for (const p of policies) out(`  networkpolicy ${p.metadata.namespace}/${p.metadata.name} created`);
    out(`  both nodes enforce it ${seconds(performance.now() - t)} after kubectl started`);
    checkpoint();

    heading(6, 'Probe again: egress judged on the sending node, ingress on the receiving one');
    const after = await lc.probe(cluster);
    out(indent(formatCombinedMatrix(pods, after.results, ports)));
    out(`  ${summarizeProbe(after.results)}`);
    checkpoint();

    heading(7, 'The identities both agents agreed on (PodFirewallIdentity objects, one per label set)');
    out(
      indent(
        cp.kubectl(['get', 'podfirewallidentities', '-o', 'custom-columns=ID:.metadata.name,LABELS:.spec.labelSet', '--sort-by=.metadata.name']).trimEnd(),
      ),
    );
  } finally {
    heading(8, 'Tear down');
    await lc?.stop();
    await cp?.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    out('  agents, nodes, pods, pins and the control plane removed');
  }
  out(`\nDone in ${seconds(performance.now() - started)}.`);
}

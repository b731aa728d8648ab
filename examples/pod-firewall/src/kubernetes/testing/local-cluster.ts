/**
 * A Kubernetes cluster on this machine for the tests and the demo: a
 * control plane (control-plane.ts) with deploy/'s CRD and RBAC, several
 * nodes (cluster/nodes.ts), a kubelet + CNI played by hand (a pod created
 * through the API with its nodeName gets its namespace and veth on that
 * node, then its IP patched on status), and `pod-firewall agent` processes,
 * one per node, with the ServiceAccount's kubeconfig, as deployed.
 * `stop()` removes everything it made, agents first.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { packageDir } from '../../cluster/agents.js';
import { createNodes, destroyNodes, nodeOf, startPod, stopPod, type NodeSpec } from '../../cluster/nodes.js';
import type { PodNetwork } from '../../cluster/topology.js';
import { privateDir } from '../../controller/instance.js';
import { probePods, servedPorts, type ProbeReport } from '../../controller/probe.js';
import { FirewallError } from '../../errors.js';
import { PodFirewall } from '../../firewall.js';
import { podKey, type Cluster, type NetworkPolicy, type Namespace, type Pod } from '../../policy/model.js';
import type { ControlPlane } from './control-plane.js';

export interface AgentProcess {
  readonly node: string;
  readonly child: ChildProcess;
  /** Its stdout and stderr so far. */
  output: string;
}

export class LocalCluster implements AsyncDisposable {
  readonly nets = new Map<string, PodNetwork>();
  readonly agents = new Map<string, AgentProcess>();
  private readonly podRun: string;
  private kubeconfig = '';

  private constructor(
    readonly name: string,
    readonly cp: ControlPlane,
    readonly nodes: readonly NodeSpec[],
  ) {
    this.podRun = `/run/${name}.pods`;
  }

  /** The nodes and deploy/'s CRD and RBAC on `cp`; whatever a previous run of `name` left is removed first. */
  static async start(name: string, cp: ControlPlane, nodes: readonly NodeSpec[]): Promise<LocalCluster> {
    const c = new LocalCluster(name, cp, nodes);
    c.removeAll();
    try {
      const deploy = join(packageDir(), 'deploy');
      cp.kubectl(['apply', '-f', join(deploy, 'crd.yaml'), '-f', join(deploy, 'rbac.yaml')]);
      cp.kubectl(['wait', '--for=condition=Established', '--timeout=60s', 'crd/podfirewallidentities.podfirewall.tsbpf.dev']);
      c.kubeconfig = cp.serviceAccountKubeconfig('kube-system', 'pod-firewall');
      createNodes(name, nodes);
      privateDir(join(c.podRun, 'agents'));
    } catch (e) {
      c.removeAll();
      throw e;
    }
    return c;
  }

  createNamespace(ns: Namespace): void {
    this.cp.kubectl(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns.name, labels: ns.labels } }));
  }

  /** The node whose pod CIDRs hold the pod's address. */
  nodeOf(pod: Pick<Pod, 'ip'>): string {
    const node = nodeOf(this.nodes, pod.ip);
    if (!node) throw new FirewallError('NOT_FOUND', `no node's pod CIDR holds ${pod.ip}`);
    return node.name;
  }

  /** The API object (with its nodeName), then what the kubelet and CNI do: its network on that node, then its IP on status. */
  createPod(pod: Pod): void {
    const node = this.nodeOf(pod);
    this.cp.kubectl(
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
    this.nets.set(podKey(pod), startPod(this.podRun, node, pod));
    this.cp.kubectl([
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

  /** Deleted through the API (no kubelet waits for it), then its network torn down. */
  deletePod(key: string): void {
    const [namespace, name] = key.split('/') as [string, string];
    this.cp.kubectl(['delete', 'pod', name, '-n', namespace, '--grace-period=0', '--force', '--wait=false']);
    const net = this.nets.get(key);
    if (net) stopPod(this.podRun, net);
    this.nets.delete(key);
  }

  /** Policies through the API as kubectl sends them (JSON: kubectl reads YAML 1.1, where `y` is a boolean). */
  applyPolicies(policies: readonly NetworkPolicy[]): void {
    this.cp.kubectl(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: policies }));
  }

  /** `pod-firewall agent` on `node`, as its DaemonSet pod would run it (here: in the root namespace, the veths in the node's). */
  startAgent(node: string, extra: readonly string[] = []): AgentProcess {
    const main = join(packageDir(), 'dist', 'main.js');
    const child = spawn(process.execPath, [main, '--name', node, 'agent', '--kubeconfig', this.kubeconfig, '--node', node, '--instance-netns', ...extra], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const a: AgentProcess = { node, child, output: '' };
    child.stdout!.on('data', (d: Buffer) => (a.output += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (a.output += d.toString()));
    this.agents.set(node, a);
    return a;
  }

  /** Waits until every agent says `what` (default: it runs), at most `ms`; AGENT_FAILED with their output otherwise. */
  async waitForAgents(ok: (a: AgentProcess) => boolean = (a) => a.output.includes('agent running'), ms = 120_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (![...this.agents.values()].every(ok)) {
      const dead = [...this.agents.values()].find((a) => a.child.exitCode !== null);
      if (dead || Date.now() > deadline) {
        const said = [...this.agents.values()].map((a) => `${a.node}:\n${a.output}`).join('\n');
        throw new FirewallError('AGENT_FAILED', `${dead ? `the agent of ${dead.node} exited` : 'the agents did not get there in time'}:\n${said}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Real connections between every pair of `cluster`'s pods on every served port. */
  probe(cluster: Cluster, timeoutMs = 700): Promise<ProbeReport> {
    return probePods(
      this.podRun,
      cluster,
      cluster.pods.map((p) => this.nets.get(podKey(p))!),
      servedPorts(cluster),
      timeoutMs,
    );
  }

  private removeAll(): void {
    for (const a of this.agents.values()) a.child.kill('SIGKILL');
    this.agents.clear();
    for (const n of this.nodes) PodFirewall.down({ name: n.name });
    for (const net of this.nets.values()) stopPod(this.podRun, net);
    this.nets.clear();
    destroyNodes(this.name, this.nodes);
    rmSync(this.podRun, { recursive: true, force: true });
  }

  async stop(): Promise<void> {
    const exits = [...this.agents.values()].filter((a) => a.child.exitCode === null).map((a) => new Promise((r) => a.child.once('exit', r)));
    for (const a of this.agents.values()) a.child.kill('SIGKILL');
    await Promise.all(exits);
    this.removeAll();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }
}

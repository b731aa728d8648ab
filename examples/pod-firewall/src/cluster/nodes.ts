/**
 * Several nodes on one machine, as a kubelet and a CNI would make them (for
 * tests and demos; the node agent depends on none of it): each node is a
 * node namespace of its own (topology.ts's, named after the node), joined to
 * the others by an underlay (a bridge in a namespace of ours, one veth pair
 * per node), with its own pod CIDRs and routes to every other node's pod
 * CIDRs over the underlay. A pod is made on one node as topology.ts makes
 * pods (namespace, veth, /32 route) and gets its agent. Nothing is made in
 * the root namespace.
 */
import { agentSocket, startAgent, stopAgent, waitForSockets } from './agents.js';
import { activatePod, createNode, createPod, destroyNetns, destroyTopology, ip, nodeNetns, type PodNetwork } from './topology.js';
import { FirewallError } from '../errors.js';
import { parseIpv4, parsePrefix, prefixWithin } from '../policy/cidr.js';
import type { Pod } from '../policy/model.js';

export interface NodeSpec {
  /** The node's name, also the firewall instance name of its agent (no dots). */
  readonly name: string;
  /** The pod addresses this node owns (other nodes route them to it). */
  readonly podCidrs: readonly string[];
}

/** The underlay's namespace (a bridge), named after the cluster. */
export const underlayNetns = (cluster: string) => `${cluster}.underlay`;
/** A node's address on the underlay: 192.168.250.(index + 1). */
export const underlayAddress = (index: number) => `192.168.250.${index + 1}`;
/** The underlay link in every node namespace. */
export const UNDERLAY_LINK = 'ul0';

/**
 * Makes the nodes and the underlay between them (whatever a previous run of
 * `cluster` left is removed first, and what this one made if it fails).
 */
export function createNodes(cluster: string, nodes: readonly NodeSpec[]): void {
  if (nodes.length === 0 || nodes.length > 200) throw new FirewallError('COMMAND_FAILED', `from 1 to 200 nodes, not ${nodes.length}`);
  for (const n of nodes) for (const c of n.podCidrs) parsePrefix(c);
  destroyNodes(cluster, nodes);
  try {
    const ul = underlayNetns(cluster);
    ip(['netns', 'add', ul]);
    ip(['-n', ul, '-batch', '-'], 'link set lo up\nlink add br0 type bridge\nlink set br0 up\n');
    nodes.forEach((n, i) => {
      createNode(n.name);
      const node = nodeNetns(n.name);
      ip(['-n', ul, 'link', 'add', `n${i}`, 'type', 'veth', 'peer', 'name', UNDERLAY_LINK, 'netns', node]);
      ip(['-n', ul, '-batch', '-'], `link set n${i} master br0\nlink set n${i} up\n`);
      ip(['-n', node, '-batch', '-'], `addr add ${underlayAddress(i)}/24 dev ${UNDERLAY_LINK}\nlink set ${UNDERLAY_LINK} up\n`);
    });
    nodes.forEach((n, i) => {
      const routes = nodes.flatMap((other, j) =>
        j === i ? [] : other.podCidrs.map((c) => `route replace ${c} via ${underlayAddress(j)} dev ${UNDERLAY_LINK}`),
      );
      if (routes.length > 0) ip(['-n', nodeNetns(n.name), '-batch', '-'], routes.join('\n') + '\n');
    });
  } catch (e) {
    destroyNodes(cluster, nodes);
    throw e;
  }
}

/** Removes every namespace of the nodes (pods included, with what runs in them) and the underlay. */
export function destroyNodes(cluster: string, nodes: readonly NodeSpec[]): void {
  for (const n of nodes) destroyTopology(n.name);
  destroyNetns(underlayNetns(cluster));
}

/** The node a pod address belongs to (by the nodes' pod CIDRs), or undefined. */
export function nodeOf(nodes: readonly NodeSpec[], address: string): NodeSpec | undefined {
  const host = { addr: parseIpv4(address), len: 32 };
  return nodes.find((n) => n.podCidrs.some((text) => prefixWithin(host, parsePrefix(text))));
}

/**
 * What a kubelet and the CNI do for a pod scheduled on `node`: its namespace
 * and veth (host side in the node namespace, up, with its /32 route), and
 * its agent (serving its ports, making probes) with a socket under `runDir`.
 */
export function startPod(runDir: string, node: string, pod: Pod): PodNetwork {
  const net = createPod(node, pod);
  try {
    activatePod(node, pod, net);
    startAgent(runDir, net.netns, pod);
    waitForSockets([agentSocket(runDir, net.netns)]);
  } catch (e) {
    stopPod(runDir, net);
    throw e;
  }
  return net;
}

/** A pod's agent, namespace and veth, gone (as when its node's kubelet tears it down). */
export function stopPod(runDir: string, net: PodNetwork): void {
  stopAgent(runDir, net.netns);
  destroyNetns(net.netns);
}

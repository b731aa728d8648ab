import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { FirewallError } from '../errors.js';
import { podKey, type Cluster, type Pod } from '../policy/model.js';

/**
 * The "cluster" on one machine: a network namespace per pod with a veth pair
 * whose host side lives in a "node" namespace of our own (forwarding on, /32
 * routes and permanent neighbours, rp_filter off, IPv6 off so nothing bypasses
 * the IPv4 policy). The machine's root namespace, eth0, routes, sysctls and
 * iptables are never touched.
 */

/** The pods' gateway: an address on the node's loopback, answered by permanent neighbour entries. */
export const GATEWAY = '169.254.1.1';
/** The host side of every pod's veth: the gateway's MAC as each pod knows it. */
export const HOST_MAC = '02:00:00:00:00:01';

export interface PodNetwork {
  readonly pod: string;
  readonly netns: string;
  /** Host-side veth, in the node namespace. */
  readonly hostVeth: string;
  readonly ifindex: number;
}

/*
 * Namespace names join the instance name, the namespace and the pod with
 * dots: Kubernetes names and instance names have none, so the instance `pf`
 * can never take `pf-demo`'s namespaces for its own.
 */
export const netnsPrefix = (name: string) => `${name}.`;
export const nodeNetns = (name: string) => `${name}.node`;
export const podNetns = (name: string, pod: Pick<Pod, 'namespace' | 'name'>) => `${name}.${pod.namespace}.${pod.name}`;
/** Interface names are at most 15 bytes: a short hash of the pod. */
export const hostVeth = (name: string, pod: Pick<Pod, 'namespace' | 'name'>) =>
  `${name.slice(0, 4)}${createHash('sha256').update(podKey(pod)).digest('hex').slice(0, 8)}`;
/** A pod's own MAC (its end of the veth), from its address. */
export const podMac = (ip: string) =>
  `02:00:${ip
    .split('.')
    .map((b) => Number(b).toString(16).padStart(2, '0'))
    .join(':')}`;
export const netnsPath = (netns: string) => `/run/netns/${netns}`;

/** Runs a command; a failure (missing, or a non-zero exit) is COMMAND_FAILED with what it printed. */
function run(argv: string[], input?: string): string {
  try {
    return execFileSync(argv[0]!, argv.slice(1), { encoding: 'utf8', input, stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stderr?: string };
    const why = err.code === 'ENOENT' ? `${argv[0]} is not installed` : String(err.stderr ?? '').trim() || err.message;
    throw new FirewallError('COMMAND_FAILED', `${argv.join(' ')}: ${why}`, { cause: e });
  }
}

/** `ip ARGS` (stdin: `input`); COMMAND_FAILED with what it printed. */
export const ip = (args: string[], input?: string) => run(['ip', ...args], input);

function sysctl(netns: string, settings: string[]): void {
  // Per-namespace sysctls, written in our namespaces only.
  ip(['netns', 'exec', netns, 'sysctl', '-qw', ...settings]);
}

function ifindexOf(netns: string, dev: string): number {
  const [link] = JSON.parse(ip(['-n', netns, '-j', 'link', 'show', 'dev', dev])) as { ifindex: number }[];
  if (!link) throw new FirewallError('COMMAND_FAILED', `ip link show: no ${dev} in ${netns}`);
  return link.ifindex;
}

/** Our namespaces that exist (also those of a run that crashed). */
export function existingNetns(name: string): string[] {
  if (!existsSync('/run/netns')) return [];
  return readdirSync('/run/netns').filter((n) => n.startsWith(netnsPrefix(name)));
}

export function createNode(name: string): void {
  const node = nodeNetns(name);
  ip(['netns', 'add', node]);
  ip(['-n', node, '-batch', '-'], `link set lo up\naddr add ${GATEWAY}/32 dev lo\n`);
  sysctl(node, [
    'net.ipv4.ip_forward=1',
    'net.ipv4.conf.all.rp_filter=0',
    'net.ipv4.conf.default.rp_filter=0',
    'net.ipv6.conf.all.disable_ipv6=1',
    'net.ipv6.conf.default.disable_ipv6=1',
  ]);
}

/**
 * Makes a pod's namespace and veth pair with both ends down: nothing passes
 * until `activatePod`, which runs once the datapath is attached to the veth
 * and the maps know the pod (a pod must never send before its policy holds).
 */
export function createPod(name: string, pod: Pod): PodNetwork {
  const node = nodeNetns(name);
  const netns = podNetns(name, pod);
  const veth = hostVeth(name, pod);
  ip(['netns', 'add', netns]);
  sysctl(netns, ['net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
  ip(['-n', node, 'link', 'add', veth, 'address', HOST_MAC, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', netns, 'address', podMac(pod.ip)]);
  ip(['-n', netns, 'link', 'set', 'lo', 'up']);
  return { pod: podKey(pod), netns, hostVeth: veth, ifindex: ifindexOf(node, veth) };
}

/** Brings a pod's veth up with its address, routes and permanent neighbours (again: every step may have been done before). */
export function activatePod(name: string, pod: Pod, net: PodNetwork): void {
  ip(
    ['-n', nodeNetns(name), '-batch', '-'],
    [
      `link set ${net.hostVeth} up`,
      `route replace ${pod.ip}/32 dev ${net.hostVeth} scope link`,
      `neigh replace ${pod.ip} lladdr ${podMac(pod.ip)} dev ${net.hostVeth} nud permanent`,
    ].join('\n') + '\n',
  );
  ip(
    ['-n', net.netns, '-batch', '-'],
    [
      'link set lo up',
      `addr replace ${pod.ip}/32 dev eth0`,
      'link set eth0 up',
      `route replace ${GATEWAY} dev eth0 scope link`,
      `route replace default via ${GATEWAY} dev eth0 onlink`,
      `neigh replace ${GATEWAY} lladdr ${HOST_MAC} dev eth0 nud permanent`,
    ].join('\n') + '\n',
  );
}

/** Takes a pod's host veth down: from here on nothing reaches or leaves the pod. */
export function deactivatePod(name: string, net: PodNetwork): void {
  ip(['-n', nodeNetns(name), 'link', 'set', net.hostVeth, 'down']);
}

/** The host veths in the node namespace: ifindex and whether each is up. */
export function hostVeths(name: string): Map<string, { ifindex: number; up: boolean }> {
  const links = JSON.parse(ip(['-n', nodeNetns(name), '-j', 'link', 'show'])) as { ifname: string; ifindex: number; flags?: string[] }[];
  return new Map(links.map((l) => [l.ifname, { ifindex: l.ifindex, up: (l.flags ?? []).includes('UP') }]));
}

/** Kills what runs in one of our namespaces, then deletes it (its veth goes with it). */
export function destroyNetns(ns: string): void {
  try {
    const pids = ip(['netns', 'pids', ns]).split('\n').filter(Boolean).map(Number);
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  } catch {
    // the namespace may be half made
  }
  try {
    ip(['netns', 'del', ns]);
  } catch {
    // gone meanwhile
  }
}

/** Kills what still runs in our namespaces, then deletes them (the veths go with them). */
export function destroyTopology(name: string): void {
  for (const ns of existingNetns(name)) destroyNetns(ns);
}

/**
 * A reference oracle for Kubernetes `networking.k8s.io/v1` NetworkPolicy reachability between pods.
 *
 * It is written independently of the eBPF map compiler so that the compiler can be checked against it, and it
 * favours being obviously correct over being fast: every verdict is recomputed from the policies for one flow.
 * The semantics follow the upstream NetworkPolicy API documentation and the sig-network e2e reachability tests.
 * Pure code, no I/O; it imports nothing but the shared model.
 */

import { effectivePolicyTypes } from './model.js';
import type {
  Cluster,
  Flow,
  Labels,
  LabelSelector,
  LabelSelectorRequirement,
  NetworkPolicy,
  NetworkPolicyPeer,
  NetworkPolicyPort,
  Pod,
  PolicyType,
  Protocol,
} from './model.js';

// ---------------------------------------------------------------------------------------------------------------------
// Label selectors

/** Whether `labels` has `key` as an own property (so that e.g. `constructor` is never mistaken for a label). */
const hasLabel = (labels: Labels, key: string): boolean => Object.hasOwn(labels, key);

function requirementMatches(req: LabelSelectorRequirement, labels: Labels): boolean {
  const values = req.values ?? [];
  const present = hasLabel(labels, req.key);
  const value = labels[req.key];
  switch (req.operator) {
    case 'In':
      return present && values.includes(value as string);
    case 'NotIn':
      // NotIn matches an absent key, as apimachinery's Requirement.Matches (`if !ls.Has(r.key) { return true }`).
      return !present || !values.includes(value as string);
    case 'Exists':
      return present;
    case 'DoesNotExist':
      return !present;
    default:
      throw new Error(`unknown label selector operator '${String((req as { operator: unknown }).operator)}'`);
  }
}

/**
 * apimachinery `metav1.LabelSelector` semantics: every `matchLabels` pair AND every `matchExpressions` requirement
 * must hold. An empty selector `{}` has no requirements and therefore matches everything.
 */
export function selectorMatches(selector: LabelSelector, labels: Labels): boolean {
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    if (!hasLabel(labels, key) || labels[key] !== value) return false;
  }
  return (selector.matchExpressions ?? []).every((req) => requirementMatches(req, labels));
}

// ---------------------------------------------------------------------------------------------------------------------
// IPv4 and CIDR helpers (plain arithmetic on numbers in [0, 2^32), no bit tricks)

/** Parses a dotted-quad IPv4 address into a number in [0, 2^32). Throws on anything else. */
export function parseIPv4(text: string): number {
  const parts = text.split('.');
  // Decimal octets without leading zeros, as Go's net.ParseIP (which Kubernetes validation uses) requires.
  const valid = parts.length === 4 && parts.every((p) => /^(0|[1-9][0-9]{0,2})$/.test(p) && Number(p) <= 255);
  if (!valid) throw new Error(`invalid IPv4 address '${text}': expected a dotted quad like 10.0.0.1`);
  return parts.reduce((acc, p) => acc * 256 + Number(p), 0);
}

export interface Cidr {
  /** The address as written (host bits are not cleared; `cidrContains` ignores them). */
  readonly address: number;
  readonly prefixLength: number;
}

/** Parses an IPv4 CIDR 'a.b.c.d/len' (0 <= len <= 32). Throws on anything else, IPv6 included. */
export function parseCidr(text: string): Cidr {
  const slash = text.indexOf('/');
  if (slash < 0) throw new Error(`invalid CIDR '${text}': expected a.b.c.d/len`);
  const lengthText = text.slice(slash + 1);
  if (!/^(0|[1-9][0-9]?)$/.test(lengthText) || Number(lengthText) > 32) {
    throw new Error(`invalid CIDR '${text}': prefix length must be an integer from 0 to 32`);
  }
  let address: number;
  try {
    address = parseIPv4(text.slice(0, slash));
  } catch (e) {
    throw new Error(`invalid CIDR '${text}': ${(e as Error).message}`);
  }
  return { address, prefixLength: Number(lengthText) };
}

/** Whether `ip` (a parsed address) lies in `cidr`: both agree on the first `prefixLength` bits. */
export function cidrContains(cidr: Cidr | string, ip: number | string): boolean {
  const c = typeof cidr === 'string' ? parseCidr(cidr) : cidr;
  const addr = typeof ip === 'string' ? parseIPv4(ip) : ip;
  const hostSize = 2 ** (32 - c.prefixLength);
  return Math.floor(addr / hostSize) === Math.floor(c.address / hostSize);
}

// ---------------------------------------------------------------------------------------------------------------------
// Rules

/** An ingress or egress rule with its peer list under one name (`from` for ingress, `to` for egress). */
interface Rule {
  readonly peers: readonly NetworkPolicyPeer[] | undefined;
  readonly ports: readonly NetworkPolicyPort[] | undefined;
}

function rulesOf(policy: NetworkPolicy, direction: PolicyType): readonly Rule[] {
  // Absent and `[]` are the same: no rule, so nothing is allowed in this direction by this policy.
  if (direction === 'Ingress') return (policy.spec.ingress ?? []).map((r) => ({ peers: r.from, ports: r.ports }));
  return (policy.spec.egress ?? []).map((r) => ({ peers: r.to, ports: r.ports }));
}

function namespaceLabels(cluster: Cluster, name: string): Labels {
  const ns = cluster.namespaces.find((n) => n.name === name);
  if (!ns) throw new Error(`pod references namespace '${name}', which is not in the cluster`);
  return ns.labels;
}

/** Whether one peer element of `policy` matches the pod on the other end of the flow. */
function peerMatches(cluster: Cluster, policy: NetworkPolicy, peer: NetworkPolicyPeer, other: Pod): boolean {
  if (peer.ipBlock) {
    // ipBlock matches by IP, pod IPs included (the upstream e2e tests expect that), regardless of namespace.
    const cidr = parseCidr(peer.ipBlock.cidr);
    const excepts = (peer.ipBlock.except ?? []).map(parseCidr);
    const ip = parseIPv4(other.ip);
    return cidrContains(cidr, ip) && !excepts.some((e) => cidrContains(e, ip));
  }
  // Without a namespaceSelector the peer is restricted to the policy's own namespace; with one (even `{}`), the other
  // pod's namespace labels must match it. The podSelector (absent = any pod) must hold as well: the two are ANDed.
  const namespaceOk =
    peer.namespaceSelector === undefined
      ? other.namespace === policy.metadata.namespace
      : selectorMatches(peer.namespaceSelector, namespaceLabels(cluster, other.namespace));
  const podOk = peer.podSelector === undefined || selectorMatches(peer.podSelector, other.labels);
  return namespaceOk && podOk;
}

/** Whether one `ports` entry matches the flow. Named ports are always resolved on the destination pod, `flow.to`. */
function portMatches(entry: NetworkPolicyPort, flow: Flow): boolean {
  const protocol: Protocol = entry.protocol ?? 'TCP'; // The API server defaults protocol to TCP.
  if (protocol !== flow.protocol) return false;
  if (entry.port === undefined) return true; // Every port of that protocol.
  if (typeof entry.port === 'string') {
    const name = entry.port;
    return flow.to.ports.some((cp) => cp.name === name && cp.protocol === protocol && cp.port === flow.port);
  }
  if (entry.endPort !== undefined) return entry.port <= flow.port && flow.port <= entry.endPort; // Inclusive range.
  return entry.port === flow.port;
}

/** A rule allows a flow iff its peers match (absent/empty: any peer) AND its ports match (absent/empty: any port). */
function ruleAllows(cluster: Cluster, policy: NetworkPolicy, rule: Rule, other: Pod, flow: Flow): boolean {
  const peers = rule.peers ?? [];
  const ports = rule.ports ?? [];
  const peerOk = peers.length === 0 || peers.some((peer) => peerMatches(cluster, policy, peer, other));
  const portOk = ports.length === 0 || ports.some((entry) => portMatches(entry, flow));
  return peerOk && portOk;
}

/**
 * Whether the flow is allowed in one direction: Ingress is judged on `flow.to` (the peer is `flow.from`), Egress on
 * `flow.from` (the peer is `flow.to`).
 */
function allowedInDirection(cluster: Cluster, policies: readonly NetworkPolicy[], flow: Flow, direction: PolicyType): boolean {
  const subject = direction === 'Ingress' ? flow.to : flow.from;
  const other = direction === 'Ingress' ? flow.from : flow.to;
  // A policy applies only to pods of its own namespace, and only in the directions of its (defaulted) policyTypes.
  const selecting = policies.filter(
    (p) => p.metadata.namespace === subject.namespace && selectorMatches(p.spec.podSelector, subject.labels) && effectivePolicyTypes(p).includes(direction),
  );
  if (selecting.length === 0) return true; // Not isolated in this direction.
  // Isolated: policies are additive, so any rule of any selecting policy suffices.
  return selecting.some((p) => rulesOf(p, direction).some((rule) => ruleAllows(cluster, p, rule, other, flow)));
}

const isSamePod = (a: Pod, b: Pod): boolean => a.namespace === b.namespace && a.name === b.name;

/** The verdict for one pod-to-pod connection: egress-allowed for `flow.from` AND ingress-allowed for `flow.to`. */
export function isAllowed(cluster: Cluster, policies: readonly NetworkPolicy[], flow: Flow): boolean {
  if (isSamePod(flow.from, flow.to)) return true; // A pod may always talk to itself.
  return allowedInDirection(cluster, policies, flow, 'Egress') && allowedInDirection(cluster, policies, flow, 'Ingress');
}

export const reachabilityKey = (from: Pod, to: Pod, protocol: Protocol, port: number): string =>
  `${from.namespace}/${from.name}->${to.namespace}/${to.name}:${protocol}/${port}`;

/** Verdicts for every ordered pod pair (self included) and every probed port, keyed by `reachabilityKey`. */
export function reachability(
  cluster: Cluster,
  policies: readonly NetworkPolicy[],
  ports: readonly { port: number; protocol: Protocol }[],
): Map<string, boolean> {
  const result = new Map<string, boolean>();
  for (const from of cluster.pods) {
    for (const to of cluster.pods) {
      for (const { port, protocol } of ports) {
        result.set(reachabilityKey(from, to, protocol, port), isAllowed(cluster, policies, { from, to, port, protocol }));
      }
    }
  }
  return result;
}

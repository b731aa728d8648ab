/**
 * The policy-to-map compiler: a cluster and its NetworkPolicies in, the exact
 * contents of the datapath's `endpoints`, `ipcache` and `policy` maps out.
 * Pure and deterministic; numbering that must stay stable across updates
 * (identities, endpoint and policy ids) comes from an `Allocations` record the
 * caller keeps.
 */
import { formatPrefix, longestMatch, parseIpv4, parsePrefix, prefixWithin, type Prefix } from './cidr.js';
import {
  effectivePolicyTypes,
  podKey,
  policyKey,
  type Cluster,
  type NetworkPolicy,
  type NetworkPolicyPeer,
  type NetworkPolicyPort,
  type Pod,
  type Protocol,
} from './model.js';
import { CompileError } from './errors.js';
import { portBlocks } from './port-blocks.js';
import { matchesSelector } from './selector.js';

export const DIR_EGRESS = 0;
export const DIR_INGRESS = 1;
export type Direction = typeof DIR_EGRESS | typeof DIR_INGRESS;
export const EP_ENFORCE_INGRESS = 1;
export const EP_ENFORCE_EGRESS = 2;
/** The endpoint's ingress (egress) policy has entries in the datapath's port-range trie. */
export const EP_RANGES_INGRESS = 4;
export const EP_RANGES_EGRESS = 8;
/** The endpoint's egress policy has per-pod entries (named ports, which resolve on each destination pod). */
export const EP_NAMED_EGRESS = 16;
/** Which wildcard entries the endpoint's policy has, by direction: the datapath skips lookups of kinds it lacks. */
export const EP_PORT_ANY_INGRESS = 32;
export const EP_PORT_ANY_EGRESS = 64;
export const EP_PROTO_ANY_INGRESS = 128;
export const EP_PROTO_ANY_EGRESS = 256;
export const EP_PEER_ANY_INGRESS = 512;
export const EP_PEER_ANY_EGRESS = 1024;
export const PEER_ANY = 0;
/** A peer that is one pod, by endpoint id (bpf: PEER_POD_FLAG); only named egress ports use it. */
export const PEER_POD_FLAG = 2 ** 25;
/** The datapath maps' sizes (bpf/firewall.bpf.c; bindings.test.ts holds them to it). */
export const POLICY_MAP_CAPACITY = 131072;
export const PORT_RANGE_MAP_CAPACITY = 65536;
/** Cilium's reserved identity for addresses outside the cluster. */
export const IDENTITY_WORLD = 2;
/** Label identities start here, as Cilium's cluster-allocated ones. */
export const FIRST_IDENTITY = 256;
/** CIDR identities are node-local: Cilium's LocalIdentityFlag. */
export const CIDR_IDENTITY_FLAG = 1 << 24;
export const PROTOCOL_NUMBERS: Readonly<Record<Protocol, number>> = { TCP: 6, UDP: 17, SCTP: 132 };

export interface Allocations {
  /** Label set (see `labelSetKey`) → identity. */
  readonly identities: Readonly<Record<string, number>>;
  /** Prefix text → CIDR identity. */
  readonly cidrs: Readonly<Record<string, number>>;
  /** 'ns/pod' → endpoint id. */
  readonly endpoints: Readonly<Record<string, number>>;
  /** 'ns/name' → policy id, reported in flow events. */
  readonly policies: Readonly<Record<string, number>>;
}

export const emptyAllocations = (): Allocations => ({ identities: {}, cidrs: {}, endpoints: {}, policies: {} });

export interface EndpointEntry {
  readonly endpointId: number;
  readonly identity: number;
  readonly flags: number;
  /** The pod's address, dotted quad: the only source address allowed to leave it. */
  readonly ip: string;
}

export interface IpcacheEntry {
  readonly identity: number;
  readonly cidrIdentity: number;
  /** 'ns/pod' for a pod's /32: the datapath finds the pod's endpoint through it. */
  readonly pod?: string;
}

export interface PolicyEntry {
  readonly endpointId: number;
  readonly peer: number;
  readonly port: number;
  /**
   * Leading bits of `port` that must match: 16, exactly `port`; 0, any port (`port` 0); in between,
   * an aligned block of 2^(16 - portBits) ports from `port` on (the datapath's `port_ranges` trie).
   */
  readonly portBits: number;
  /** IP protocol number; 0: any. */
  readonly proto: number;
  readonly dir: Direction;
  readonly policyId: number;
}

/** The three maps' contents, by a text key per entry (for diffs). */
export interface CompiledState {
  /** 'ns/pod' → endpoint (the controller maps pods to veth ifindexes). */
  readonly endpoints: ReadonlyMap<string, EndpointEntry>;
  /** 'a.b.c.d/len' → identities. */
  readonly ipcache: ReadonlyMap<string, IpcacheEntry>;
  /** `policyEntryKey` → entry. */
  readonly policy: ReadonlyMap<string, PolicyEntry>;
  /** 'ns/name' → how many entries the policy asked for (before merging with others): capacity errors name them. */
  readonly entriesByPolicy: ReadonlyMap<string, number>;
}

export const policyEntryKey = (e: Omit<PolicyEntry, 'policyId'>) => `${e.endpointId}/${e.peer}/${e.dir}/${e.proto}/${e.port}/${e.portBits}`;

/** An entry of the `port_ranges` trie (an endPort block), not of the `policy` hash. */
export const isRangeEntry = (e: Pick<PolicyEntry, 'portBits'>) => e.portBits > 0 && e.portBits < 16;

/** What makes two pods the same security identity: their labels and their namespace's. */
export function labelSetKey(cluster: Cluster, pod: Pod): string {
  const ns = cluster.namespaces.find((n) => n.name === pod.namespace);
  const labels = [
    `k8s:io.kubernetes.pod.namespace=${pod.namespace}`,
    ...Object.entries(ns?.labels ?? {}).map(([k, v]) => `ns:${k}=${v}`),
    ...Object.entries(pod.labels).map(([k, v]) => `k8s:${k}=${v}`),
  ];
  return labels.sort().join(',');
}

/** Every prefix the policies mention (ipBlock cidrs and excepts), deduplicated and sorted. */
export function policyPrefixes(policies: readonly NetworkPolicy[]): Prefix[] {
  const seen = new Map<string, Prefix>();
  const add = (text: string) => {
    const p = parsePrefix(text);
    seen.set(formatPrefix(p), p);
  };
  for (const p of policies) {
    for (const rule of [...(p.spec.ingress ?? []), ...(p.spec.egress ?? [])]) {
      const peers = 'from' in rule ? rule.from : 'to' in rule ? rule.to : undefined;
      for (const peer of peers ?? []) {
        if (!peer.ipBlock) continue;
        add(peer.ipBlock.cidr);
        for (const e of peer.ipBlock.except ?? []) add(e);
      }
    }
  }
  return [...seen.values()].sort((a, b) => a.addr - b.addr || a.len - b.len);
}

/** Keeps every existing number, numbers what is new after the highest ever given. */
export function allocate(prev: Allocations, cluster: Cluster, policies: readonly NetworkPolicy[], prefixes: readonly Prefix[]): Allocations {
  const extend = (old: Readonly<Record<string, number>>, keys: Iterable<string>, first: number) => {
    const out: Record<string, number> = { ...old };
    let next = Math.max(first - 1, ...Object.values(old)) + 1;
    for (const k of keys) if (!(k in out)) out[k] = next++;
    return out;
  };
  return {
    identities: extend(
      prev.identities,
      cluster.pods.map((p) => labelSetKey(cluster, p)),
      FIRST_IDENTITY,
    ),
    cidrs: extend(prev.cidrs, prefixes.map(formatPrefix), CIDR_IDENTITY_FLAG + 1),
    endpoints: extend(prev.endpoints, cluster.pods.map(podKey), 1),
    policies: extend(prev.policies, policies.map(policyKey), 1),
  };
}

interface PortSpec {
  readonly proto: number;
  readonly port: number;
  readonly portBits: number;
}

/**
 * The numbered part of a rule's ports: one spec per port, protocol or aligned block of a range
 * (named ports are left to `namedPortSpecs`). No ports at all: everything.
 */
function numberedPortSpecs(ports: readonly NetworkPolicyPort[] | undefined): PortSpec[] {
  if (!ports || ports.length === 0) return [{ proto: 0, port: 0, portBits: 0 }];
  const out: PortSpec[] = [];
  for (const p of ports) {
    const proto = PROTOCOL_NUMBERS[p.protocol ?? 'TCP'];
    if (p.port === undefined) out.push({ proto, port: 0, portBits: 0 });
    else if (typeof p.port === 'string') continue;
    else if (p.endPort === undefined) out.push({ proto, port: p.port, portBits: 16 });
    // Port 0 is no destination port; 1-65535 is every port.
    else if (p.port <= 1 && p.endPort >= 65535) out.push({ proto, port: 0, portBits: 0 });
    else for (const b of portBlocks(p.port, p.endPort)) out.push({ proto, port: b.port, portBits: b.bits });
  }
  return out;
}

/** A rule's named ports as the numbers `destination`'s containers give those names (for their protocols). */
function namedPortSpecs(ports: readonly NetworkPolicyPort[] | undefined, destination: Pod): PortSpec[] {
  const out: PortSpec[] = [];
  for (const p of ports ?? []) {
    if (typeof p.port !== 'string') continue;
    const protocol = p.protocol ?? 'TCP';
    const named = destination.ports.find((c) => c.name === p.port && c.protocol === protocol);
    if (named) out.push({ proto: PROTOCOL_NUMBERS[protocol], port: named.port, portBits: 16 });
  }
  return out;
}

/**
 * Compiles a cluster and its policies against a prefix set (by default the
 * policies' own; the update planner passes a superset while it moves between
 * two states). `local` ('ns/pod'), when given, are the pods of this node:
 * only they get endpoints and policy entries; every pod is in the ipcache.
 * Egress named ports towards other nodes' pods resolve by the peer's identity.
 */
export function compile(
  cluster: Cluster,
  policies: readonly NetworkPolicy[],
  alloc: Allocations,
  prefixes: readonly Prefix[] = policyPrefixes(policies),
  local?: ReadonlySet<string>,
): CompiledState {
  const need = (table: Readonly<Record<string, number>>, key: string, what: string) => {
    const id = table[key];
    if (id === undefined) throw new CompileError('NOT_ALLOCATED', `no ${what} allocated for ${key} (allocate() first)`);
    return id;
  };
  const identityOf = (pod: Pod) => need(alloc.identities, labelSetKey(cluster, pod), 'identity');
  const cidrIdentity = (p: Prefix) => need(alloc.cidrs, formatPrefix(p), 'CIDR identity');
  const nsLabels = new Map(cluster.namespaces.map((n) => [n.name, n.labels]));

  // ipcache: every policy prefix as its own CIDR identity, then pods as /32 with their label
  // identity and the CIDR identity their address would have had (the /32 shadows the prefixes).
  const ipcache = new Map<string, IpcacheEntry>();
  for (const p of prefixes) ipcache.set(formatPrefix(p), { identity: cidrIdentity(p), cidrIdentity: cidrIdentity(p) });
  for (const pod of cluster.pods) {
    const within = longestMatch(prefixes, parseIpv4(pod.ip));
    ipcache.set(`${pod.ip}/32`, { identity: identityOf(pod), cidrIdentity: within ? cidrIdentity(within) : 0, pod: podKey(pod) });
  }

  // The identities a rule's peers stand for, and the pods among them (egress named ports resolve on each).
  const peersOf = (policy: NetworkPolicy, peers: readonly NetworkPolicyPeer[] | undefined): { identities: number[]; pods: Pod[] } => {
    if (!peers || peers.length === 0) return { identities: [PEER_ANY], pods: [...cluster.pods] };
    const identities: number[] = [];
    const pods = new Set<Pod>();
    for (const peer of peers) {
      if (peer.ipBlock) {
        const block = parsePrefix(peer.ipBlock.cidr);
        const except = (peer.ipBlock.except ?? []).map(parsePrefix);
        const inBlock = (p: Prefix) => prefixWithin(p, block) && !except.some((e) => prefixWithin(p, e));
        // An address is in the block iff its most specific prefix is: every boundary is a prefix.
        for (const p of prefixes) if (inBlock(p)) identities.push(cidrIdentity(p));
        for (const pod of cluster.pods) {
          const within = longestMatch(prefixes, parseIpv4(pod.ip));
          if (within && inBlock(within)) pods.add(pod);
        }
        continue;
      }
      for (const pod of cluster.pods) {
        const nsOk = peer.namespaceSelector
          ? matchesSelector(peer.namespaceSelector, nsLabels.get(pod.namespace) ?? {})
          : pod.namespace === policy.metadata.namespace;
        if (nsOk && matchesSelector(peer.podSelector ?? {}, pod.labels)) {
          identities.push(identityOf(pod));
          pods.add(pod);
        }
      }
    }
    return { identities, pods: [...pods] };
  };

  const endpoints = new Map<string, EndpointEntry>();
  const policy = new Map<string, PolicyEntry>();
  const entriesByPolicy = new Map<string, number>();
  const add = (e: PolicyEntry, name: string) => {
    entriesByPolicy.set(name, (entriesByPolicy.get(name) ?? 0) + 1);
    const k = policyEntryKey(e);
    const had = policy.get(k);
    if (!had || had.policyId > e.policyId) policy.set(k, e);
  };
  // The kinds of entries an endpoint has, by direction: the datapath looks up only those.
  const flagFor = (e: PolicyEntry) => {
    if (e.peer >= PEER_POD_FLAG) return EP_NAMED_EGRESS;
    const ingress = e.dir === DIR_INGRESS;
    let f = 0;
    if (isRangeEntry(e)) f |= ingress ? EP_RANGES_INGRESS : EP_RANGES_EGRESS;
    else if (e.proto === 0) f |= ingress ? EP_PROTO_ANY_INGRESS : EP_PROTO_ANY_EGRESS;
    else if (e.port === 0) f |= ingress ? EP_PORT_ANY_INGRESS : EP_PORT_ANY_EGRESS;
    if (e.peer === PEER_ANY) f |= ingress ? EP_PEER_ANY_INGRESS : EP_PEER_ANY_EGRESS;
    return f;
  };
  for (const pod of cluster.pods) {
    if (local && !local.has(podKey(pod))) continue;
    const endpointId = need(alloc.endpoints, podKey(pod), 'endpoint id');
    const selecting = policies.filter((p) => p.metadata.namespace === pod.namespace && matchesSelector(p.spec.podSelector, pod.labels));
    let flags = 0;
    const entry = (name: string, e: Omit<PolicyEntry, 'endpointId'>) => {
      const full = { endpointId, ...e };
      flags |= flagFor(full);
      add(full, name);
    };
    for (const p of selecting) {
      const types = effectivePolicyTypes(p);
      const policyId = need(alloc.policies, policyKey(p), 'policy id');
      const name = policyKey(p);
      if (types.includes('Ingress')) {
        flags |= EP_ENFORCE_INGRESS;
        for (const rule of p.spec.ingress ?? []) {
          // Ingress: the destination is this pod, so named ports resolve here, for every peer.
          const ports = [...numberedPortSpecs(rule.ports), ...namedPortSpecs(rule.ports, pod)];
          for (const peer of peersOf(p, rule.from).identities) {
            for (const s of ports) entry(name, { peer, ...s, dir: DIR_INGRESS, policyId });
          }
        }
      }
      if (types.includes('Egress')) {
        flags |= EP_ENFORCE_EGRESS;
        for (const rule of p.spec.egress ?? []) {
          const peers = peersOf(p, rule.to);
          for (const peer of peers.identities) {
            for (const s of numberedPortSpecs(rule.ports)) entry(name, { peer, ...s, dir: DIR_EGRESS, policyId });
          }
          // Egress named ports: the number each destination pod gives the name, for that pod alone
          // (pods sharing labels, or an ipBlock, may give one name different numbers).
          if (!(rule.ports ?? []).some((x) => typeof x.port === 'string')) continue;
          const targets = new Set(peers.pods);
          for (const target of peers.pods) {
            // Another node's pod has no endpoint here (the datapath cannot name it): its identity stands for it,
            // and so the entry lets in every pod of that identity on that number. Written only where that is
            // exact: every pod of the identity is a peer of the rule and gives the name that same number.
            // Otherwise nothing (a remote pod whose identity-mates disagree is denied there: never a wrong allow).
            const remote = local !== undefined && !local.has(podKey(target));
            const peer = remote ? identityOf(target) : PEER_POD_FLAG + need(alloc.endpoints, podKey(target), 'endpoint id');
            const mates = remote ? cluster.pods.filter((q) => identityOf(q) === peer) : [];
            for (const s of namedPortSpecs(rule.ports, target)) {
              const exact = mates.every((q) => targets.has(q) && namedPortSpecs(rule.ports, q).some((x) => x.proto === s.proto && x.port === s.port));
              if (exact) entry(name, { peer, ...s, dir: DIR_EGRESS, policyId });
            }
          }
        }
      }
    }
    endpoints.set(podKey(pod), { endpointId, identity: identityOf(pod), flags, ip: pod.ip });
  }
  return { endpoints, ipcache, policy, entriesByPolicy };
}

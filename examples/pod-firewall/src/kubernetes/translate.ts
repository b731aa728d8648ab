/**
 * Kubernetes API objects (client-node's V1Namespace, V1Pod, V1NetworkPolicy,
 * or the plain JSON the API server sends) into the firewall's model: pods with
 * their IPv4 address and container ports, namespaces with their labels, and
 * NetworkPolicies through the same schema as the YAML path. Pure. A policy the
 * firewall cannot enforce fails closed: it keeps isolating the pods it
 * selects, with no rules, and is reported.
 */
import { tryParseIpv4 } from '../policy/cidr.js';
import { PolicyError } from '../policy/errors.js';
import { selectorSchema } from '../policy/k8s-rules.js';
import { policyFromObject } from '../policy/manifests.js';
import {
  podKey,
  type Cluster,
  type ContainerPort,
  type LabelSelector,
  type Namespace,
  type NetworkPolicy,
  type Pod,
  type PolicyType,
} from '../policy/model.js';

/** The fields of a V1Namespace the firewall reads (client-node's class or the API's JSON). */
export interface ApiNamespace {
  readonly metadata?: { readonly name?: string; readonly labels?: Readonly<Record<string, string>> };
}

interface ApiContainerPort {
  readonly containerPort?: number;
  readonly protocol?: string;
  readonly name?: string;
}

/** The fields of a V1Pod the firewall reads. */
export interface ApiPod {
  readonly metadata?: { readonly name?: string; readonly namespace?: string; readonly labels?: Readonly<Record<string, string>> };
  readonly spec?: {
    readonly nodeName?: string;
    readonly hostNetwork?: boolean;
    readonly containers?: readonly { readonly ports?: readonly ApiContainerPort[] }[];
    readonly initContainers?: readonly { readonly restartPolicy?: string; readonly ports?: readonly ApiContainerPort[] }[];
  };
  readonly status?: { readonly phase?: string; readonly podIP?: string; readonly podIPs?: readonly { readonly ip?: string }[] };
}

/** A V1NetworkPolicy (its `metadata` and `spec`; `apiVersion`/`kind` may be absent, as in list items). */
export interface ApiNetworkPolicy {
  readonly metadata?: { readonly name?: string; readonly namespace?: string };
  readonly spec?: unknown;
}

/** A policy the firewall could not take as written: enforced as `failClosed` (isolation, no rules). */
export interface PolicyProblem {
  /** 'ns/name' of the policy. */
  readonly policy: string;
  readonly error: PolicyError;
  /** What is enforced instead: the same pods isolated, in the same directions, nothing allowed. */
  readonly failClosed: NetworkPolicy;
}

const PROTOCOLS = new Set(['TCP', 'UDP', 'SCTP']);
const TERMINAL_PHASES = new Set(['Succeeded', 'Failed']);

/** The model's namespace; `kubernetes.io/metadata.name` is set as the API server sets it. */
export function translateNamespace(ns: ApiNamespace): Namespace | undefined {
  const name = ns.metadata?.name;
  if (!name) return undefined;
  return { name, labels: { ...(ns.metadata?.labels ?? {}), 'kubernetes.io/metadata.name': name } };
}

/**
 * The pod's address: the first IPv4 address of `status.podIPs` (`podIPs[0]`
 * on an IPv4 or IPv4-first cluster; the IPv4 one on an IPv6-first dual-stack
 * cluster), else `status.podIP`.
 */
export function podIpv4(pod: ApiPod): string | undefined {
  const ips = [...(pod.status?.podIPs ?? []).map((p) => p.ip), pod.status?.podIP];
  return ips.find((ip): ip is string => typeof ip === 'string' && tryParseIpv4(ip) !== undefined);
}

/**
 * The model's pod, or undefined for a pod that takes no part in traffic: no
 * IPv4 address yet (or ever), finished (`Succeeded`/`Failed`: its address may
 * already belong to another pod), or on the host network (its address is the
 * node's, shared by every such pod: NetworkPolicy does not apply to it).
 * Container ports keep their names and protocols (TCP when absent); a port or
 * name seen twice in the pod counts once.
 */
export function translatePod(pod: ApiPod): Pod | undefined {
  const name = pod.metadata?.name;
  const namespace = pod.metadata?.namespace;
  const ip = podIpv4(pod);
  if (!name || !namespace || ip === undefined || TERMINAL_PHASES.has(pod.status?.phase ?? '') || pod.spec?.hostNetwork === true) return undefined;
  const ports: ContainerPort[] = [];
  // Sidecars (init containers that keep running) serve ports too.
  const sidecars = (pod.spec?.initContainers ?? []).filter((c) => c.restartPolicy === 'Always');
  for (const c of [...(pod.spec?.containers ?? []), ...sidecars]) {
    for (const p of c.ports ?? []) {
      const protocol = p.protocol ?? 'TCP';
      const port = p.containerPort;
      if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535 || !PROTOCOLS.has(protocol)) continue;
      if (ports.some((q) => (q.port === port && q.protocol === protocol) || (p.name && q.name === p.name))) continue;
      ports.push(p.name ? { port, protocol: protocol as ContainerPort['protocol'], name: p.name } : { port, protocol: protocol as ContainerPort['protocol'] });
    }
  }
  return { namespace, name, labels: { ...(pod.metadata?.labels ?? {}) }, ip, ports };
}

/**
 * JSON as the API server sent it. client-node's model classes name some
 * fields differently (`_from` for `from`): their static `attributeTypeMap`
 * says how; Dates become strings and `undefined` fields go.
 */
export function apiJson(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(apiJson);
  if (v instanceof Date) return v.toISOString();
  if (v === null || typeof v !== 'object') return v;
  const attributes = (v.constructor as { attributeTypeMap?: readonly { name: string; baseName: string }[] }).attributeTypeMap;
  const rename = new Map((attributes ?? []).map((a) => [a.name, a.baseName]));
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) if (x !== undefined) out[rename.get(k) ?? k] = apiJson(x);
  return out;
}
const plain = apiJson;

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * What is enforced for a policy that does not validate: the pods it selects
 * (every pod of its namespace when even its podSelector is unreadable) are
 * isolated in its policyTypes (both when unreadable), and nothing is allowed.
 * Isolation only ever takes traffic away, so a policy the firewall does not
 * understand can never open a flow it would not have opened.
 */
export function failClosedPolicy(raw: ApiNetworkPolicy): NetworkPolicy {
  const spec = isRecord(raw.spec) ? raw.spec : {};
  const selector = selectorSchema.safeParse(plain(spec.podSelector));
  const types = spec.policyTypes;
  const readableTypes =
    Array.isArray(types) && types.length > 0 && types.every((t) => t === 'Ingress' || t === 'Egress') ? [...new Set(types as PolicyType[])] : undefined;
  const podSelector: LabelSelector = selector.success ? selector.data : {};
  const policyTypes: PolicyType[] = readableTypes ?? ['Ingress', 'Egress'];
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: raw.metadata?.name ?? '', namespace: raw.metadata?.namespace ?? 'default' },
    spec: { podSelector, policyTypes, ...(policyTypes.includes('Ingress') ? { ingress: [] } : {}), ...(policyTypes.includes('Egress') ? { egress: [] } : {}) },
  };
}

const isIpv6Peer = (peer: unknown) => isRecord(peer) && isRecord(peer.ipBlock) && typeof peer.ipBlock.cidr === 'string' && peer.ipBlock.cidr.includes(':');

/**
 * The spec without IPv6 ipBlock peers, which no IPv4 flow matches (the
 * firewall sees IPv4 only), so leaving them out changes no verdict. A rule
 * left without peers matched nothing and goes (an empty `from` would mean
 * everyone); `policyTypes` is made explicit first, so a policy whose egress
 * rules all go stays an egress policy. Anything else is left for validation.
 */
export function withoutIpv6Peers(spec: unknown): unknown {
  if (!isRecord(spec)) return spec;
  let changed = false;
  const rules = (list: unknown, field: 'from' | 'to') => {
    if (!Array.isArray(list)) return list;
    return list.flatMap((rule: unknown) => {
      if (!isRecord(rule) || !Array.isArray(rule[field]) || !rule[field].some(isIpv6Peer)) return [rule];
      changed = true;
      const peers = (rule[field] as unknown[]).filter((p) => !isIpv6Peer(p));
      return peers.length === 0 ? [] : [{ ...rule, [field]: peers }];
    });
  };
  const ingress = rules(spec.ingress, 'from');
  const egress = rules(spec.egress, 'to');
  if (!changed) return spec;
  const types =
    Array.isArray(spec.policyTypes) && spec.policyTypes.length > 0
      ? spec.policyTypes
      : Array.isArray(spec.egress) && spec.egress.length > 0
        ? ['Ingress', 'Egress']
        : ['Ingress'];
  return { ...spec, policyTypes: types, ...(ingress === undefined ? {} : { ingress }), ...(egress === undefined ? {} : { egress }) };
}

/** The model's policy, validated as a manifest is; a policy that fails validation is enforced fail-closed and reported. */
export function translatePolicy(raw: ApiNetworkPolicy): { policy: NetworkPolicy; problem?: PolicyProblem } {
  const name = raw.metadata?.name ?? '';
  const namespace = raw.metadata?.namespace ?? 'default';
  try {
    return { policy: policyFromObject({ metadata: { name, namespace }, spec: withoutIpv6Peers(plain(raw.spec)) }) };
  } catch (err) {
    if (!(err instanceof PolicyError)) throw err;
    const failClosed = failClosedPolicy(raw);
    return { policy: failClosed, problem: { policy: `${namespace}/${name}`, error: err, failClosed } };
  }
}

/** A pod left out of the cluster although it has an address. */
export interface PodProblem {
  readonly pod: string;
  readonly reason: string;
}

export interface Translated {
  readonly cluster: Cluster;
  readonly policies: readonly NetworkPolicy[];
  /** podKey → `spec.nodeName` ('' when unscheduled), for every pod of `cluster`. */
  readonly nodeOf: ReadonlyMap<string, string>;
  readonly policyProblems: readonly PolicyProblem[];
  readonly podProblems: readonly PodProblem[];
}

/**
 * Policies already translated, by the API object they came from: an
 * informer replaces an object when it changes and never mutates it, so a
 * change costs one translation, not one per policy.
 */
export interface TranslationCache {
  readonly policies: WeakMap<object, { policy: NetworkPolicy; problem?: PolicyProblem }>;
}

export const translationCache = (): TranslationCache => ({ policies: new WeakMap() });

const byKey =
  <T>(key: (t: T) => string) =>
  (a: T, b: T) =>
    key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0;

/**
 * The whole API state as the model, in a stable order (namespaces by name,
 * pods and policies by 'ns/name'). Pods of namespaces the API does not (yet)
 * list are left out, as is the later (by 'ns/name') of two pods claiming one
 * address (reported: a stale object whose deletion is still on its way).
 * With a `cache`, API objects must not be mutated (informers' are not).
 */
export function translateAll(
  input: {
    readonly namespaces: readonly ApiNamespace[];
    readonly pods: readonly ApiPod[];
    readonly policies: readonly ApiNetworkPolicy[];
  },
  cache?: TranslationCache,
): Translated {
  const translatePolicyCached = (raw: ApiNetworkPolicy) => {
    const had = cache?.policies.get(raw);
    if (had) return had;
    const t = translatePolicy(raw);
    cache?.policies.set(raw, t);
    return t;
  };
  const namespaces = input.namespaces.flatMap((n) => translateNamespace(n) ?? []).sort(byKey((n) => n.name));
  const known = new Set(namespaces.map((n) => n.name));
  const nodeOf = new Map<string, string>();
  const byIp = new Map<string, string>();
  const pods: Pod[] = [];
  const podProblems: PodProblem[] = [];
  const candidates = input.pods
    .map((raw) => ({ raw, pod: translatePod(raw) }))
    .filter((c): c is { raw: ApiPod; pod: Pod } => c.pod !== undefined && known.has(c.pod.namespace))
    .sort(byKey((c) => podKey(c.pod)));
  for (const { raw, pod } of candidates) {
    const key = podKey(pod);
    const owner = byIp.get(pod.ip);
    if (owner !== undefined) {
      podProblems.push({ pod: key, reason: `address ${pod.ip} is also pod ${owner}'s` });
      continue;
    }
    byIp.set(pod.ip, key);
    nodeOf.set(key, raw.spec?.nodeName ?? '');
    pods.push(pod);
  }
  const policies: NetworkPolicy[] = [];
  const policyProblems: PolicyProblem[] = [];
  for (const raw of input.policies) {
    const { policy, problem } = translatePolicyCached(raw);
    policies.push(policy);
    if (problem) policyProblems.push(problem);
  }
  policies.sort(byKey((p) => `${p.metadata.namespace}/${p.metadata.name}`));
  return { cluster: { namespaces, pods }, policies, nodeOf, policyProblems, podProblems };
}

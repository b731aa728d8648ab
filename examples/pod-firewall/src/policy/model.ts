/**
 * The plain data the firewall reasons about: a cluster of namespaces and
 * pods, and Kubernetes `networking.k8s.io/v1` NetworkPolicy objects. Shared by
 * the policy oracle, the map compiler and the controller; behaviour only in
 * the small pure helpers at the end (API-server defaulting, label changes).
 */

export type Protocol = 'TCP' | 'UDP' | 'SCTP';
export type Labels = Readonly<Record<string, string>>;

export interface ContainerPort {
  readonly port: number;
  readonly protocol: Protocol;
  /** An IANA_SVC_NAME, referable from policies as a named port. */
  readonly name?: string;
}

export interface Pod {
  readonly namespace: string;
  readonly name: string;
  readonly labels: Labels;
  /** IPv4 address, dotted quad. */
  readonly ip: string;
  readonly ports: readonly ContainerPort[];
}

export interface Namespace {
  readonly name: string;
  /** Includes `kubernetes.io/metadata.name: <name>`, as the API server adds it. */
  readonly labels: Labels;
}

export interface Cluster {
  readonly namespaces: readonly Namespace[];
  readonly pods: readonly Pod[];
}

export interface LabelSelectorRequirement {
  readonly key: string;
  readonly operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
  readonly values?: readonly string[];
}

export interface LabelSelector {
  readonly matchLabels?: Labels;
  readonly matchExpressions?: readonly LabelSelectorRequirement[];
}

export interface IPBlock {
  readonly cidr: string;
  readonly except?: readonly string[];
}

export interface NetworkPolicyPeer {
  readonly podSelector?: LabelSelector;
  readonly namespaceSelector?: LabelSelector;
  readonly ipBlock?: IPBlock;
}

export interface NetworkPolicyPort {
  /** Defaults to TCP. */
  readonly protocol?: Protocol;
  /** A number, or a named port resolved on the destination pod; absent: every port. */
  readonly port?: number | string;
  /** Inclusive end of a range starting at `port` (numeric `port` only). */
  readonly endPort?: number;
}

export interface NetworkPolicyIngressRule {
  readonly from?: readonly NetworkPolicyPeer[];
  readonly ports?: readonly NetworkPolicyPort[];
}

export interface NetworkPolicyEgressRule {
  readonly to?: readonly NetworkPolicyPeer[];
  readonly ports?: readonly NetworkPolicyPort[];
}

export type PolicyType = 'Ingress' | 'Egress';

export interface NetworkPolicy {
  readonly apiVersion: 'networking.k8s.io/v1';
  readonly kind: 'NetworkPolicy';
  readonly metadata: { readonly name: string; readonly namespace: string };
  readonly spec: {
    readonly podSelector: LabelSelector;
    /** As written; absent means the API server's default (see `effectivePolicyTypes`). */
    readonly policyTypes?: readonly PolicyType[];
    readonly ingress?: readonly NetworkPolicyIngressRule[];
    readonly egress?: readonly NetworkPolicyEgressRule[];
  };
}

/** One connection attempt between two pods. */
export interface Flow {
  readonly from: Pod;
  readonly to: Pod;
  readonly port: number;
  readonly protocol: Protocol;
}

/**
 * The API server's defaulting of `policyTypes`: as written when given,
 * otherwise Ingress, plus Egress when the policy has egress rules.
 */
export function effectivePolicyTypes(p: NetworkPolicy): readonly PolicyType[] {
  if (p.spec.policyTypes && p.spec.policyTypes.length > 0) return p.spec.policyTypes;
  return p.spec.egress && p.spec.egress.length > 0 ? ['Ingress', 'Egress'] : ['Ingress'];
}

/**
 * `namespace/name`: how pods and policies are named everywhere (kubectl's
 * form, and the text keys of the compiled maps and the saved state). The one
 * place the key is built; the oracle builds its own, on purpose.
 */
export const namespacedName = (namespace: string, name: string) => `${namespace}/${name}`;
export const podKey = (p: Pick<Pod, 'namespace' | 'name'>) => namespacedName(p.namespace, p.name);
export const policyKey = (p: Pick<NetworkPolicy, 'metadata'>) => namespacedName(p.metadata.namespace, p.metadata.name);

/** `from->to:PROTO/port`, pods by `podKey`: how a probed flow is named in probe results and their printouts. */
export const probeKey = (from: string, to: string, p: { readonly port: number; readonly protocol: string }) => `${from}->${to}:${p.protocol}/${p.port}`;

/** Label changes: pods by 'ns/pod', namespaces by name; each replaces the labels it names. */
export interface LabelChange {
  readonly pods?: Readonly<Record<string, Labels>>;
  readonly namespaces?: Readonly<Record<string, Labels>>;
}

/** The cluster with new labels; a namespace keeps its `kubernetes.io/metadata.name`, as the API server does. */
export function relabelCluster(c: Cluster, change: LabelChange): Cluster {
  return {
    namespaces: c.namespaces.map((n) => {
      const labels = change.namespaces?.[n.name];
      return labels ? { ...n, labels: { ...labels, 'kubernetes.io/metadata.name': n.name } } : n;
    }),
    pods: c.pods.map((p) => {
      const labels = change.pods?.[podKey(p)];
      return labels ? { ...p, labels: { ...labels } } : p;
    }),
  };
}

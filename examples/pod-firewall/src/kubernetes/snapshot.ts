/**
 * What a node's agent is told by the Kubernetes API: the whole cluster as the
 * firewall's plain model (every namespace, every pod that has an IP, on any
 * node), every NetworkPolicy, the cluster-wide identity of every label set,
 * and which pods are this node's endpoints. The API side (informers, the
 * identity allocator) produces it; the node side programs the datapath from
 * it. Level-triggered: each snapshot is complete, never a delta.
 */
import type { Cluster, NetworkPolicy } from '../policy/model.js';

export interface NodeSnapshot {
  /** The node this snapshot is for (`spec.nodeName` of its endpoints). */
  readonly node: string;
  /** Every namespace, and every pod with an IP (`status.podIPs[0]`), of every node. */
  readonly cluster: Cluster;
  readonly policies: readonly NetworkPolicy[];
  /** `labelSetKey(cluster, pod)` → the cluster-wide identity, for every pod of `cluster`. */
  readonly identities: Readonly<Record<string, number>>;
  /** `podKey` ('ns/name') of the pods whose `spec.nodeName` is this node. */
  readonly localPods: readonly string[];
}

/** Where snapshots come from: the API server's informers, or a test's hand. */
export interface SnapshotSource {
  /** Starts watching; `onSnapshot` is called with each new complete state (after the first full list). */
  start(onSnapshot: (s: NodeSnapshot) => void): Promise<void>;
  stop(): Promise<void>;
}

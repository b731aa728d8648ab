/**
 * NodeSnapshots by hand, for the node agent's tests and demos: a cluster-wide
 * identity registry standing in for the API server's (one number per label
 * set, the same for every node, from 5000 so that a node-local number would
 * show), each node's snapshot of one cluster state (its local pods by the
 * nodes' pod CIDRs), and a SnapshotSource a test pushes snapshots into.
 */
import { nodeOf, type NodeSpec } from '../cluster/nodes.js';
import { labelSetKey } from '../policy/compile.js';
import { podKey, type Cluster, type NetworkPolicy } from '../policy/model.js';
import type { NodeSnapshot, SnapshotSource } from '../kubernetes/snapshot.js';

export class IdentityRegistry {
  private readonly ids = new Map<string, number>();
  private next: number;

  constructor(first = 5000) {
    this.next = first;
  }

  /** The identity of every label set `cluster` has now (numbers are never reused). */
  of(cluster: Cluster): Record<string, number> {
    const out: Record<string, number> = {};
    for (const p of cluster.pods) {
      const key = labelSetKey(cluster, p);
      if (!this.ids.has(key)) this.ids.set(key, this.next++);
      out[key] = this.ids.get(key)!;
    }
    return out;
  }
}

/** Each node's snapshot of one state: the same cluster, policies and identities, its own local pods. */
export function snapshotsFor(
  nodes: readonly NodeSpec[],
  cluster: Cluster,
  policies: readonly NetworkPolicy[],
  registry: IdentityRegistry,
): Map<string, NodeSnapshot> {
  const identities = registry.of(cluster);
  return new Map(
    nodes.map((n) => [
      n.name,
      { node: n.name, cluster, policies, identities, localPods: cluster.pods.filter((p) => nodeOf(nodes, p.ip)?.name === n.name).map(podKey) },
    ]),
  );
}

/** A source a test feeds: the newest pushed snapshot is delivered at start, then each push. */
export class HandSource implements SnapshotSource {
  private deliver: ((s: NodeSnapshot) => void) | undefined;
  private last: NodeSnapshot | undefined;

  push(s: NodeSnapshot): void {
    this.last = s;
    this.deliver?.(s);
  }

  start(onSnapshot: (s: NodeSnapshot) => void): Promise<void> {
    this.deliver = onSnapshot;
    if (this.last) onSnapshot(this.last);
    return Promise.resolve();
  }

  stop(): Promise<void> {
    this.deliver = undefined;
    return Promise.resolve();
  }
}

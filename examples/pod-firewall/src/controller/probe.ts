/**
 * Reachability measured with real connections: every pod's agent connects
 * to every other pod on each port (TCP: connected; UDP: got its echo back).
 * Results are keyed by model.ts's `probeKey`.
 */
import { AgentClient, agentSocket } from '../cluster/agents.js';
import type { PodNetwork } from '../cluster/topology.js';
import { podKey, probeKey, type Cluster, type Protocol } from '../policy/model.js';

export interface ProbePort {
  readonly port: number;
  readonly protocol: Protocol;
}

/**
 * Probes from every pod to every other on each port: true where it
 * connected. A pod to itself is not probed (never filtered), nor is SCTP
 * (this kernel has none). `pods` are the pods' networks in `cluster.pods` order.
 */
export async function probePods(
  runDir: string,
  cluster: Cluster,
  pods: readonly PodNetwork[],
  ports: readonly ProbePort[],
  timeoutMs: number,
): Promise<Map<string, boolean>> {
  const out = new Map<string, boolean>();
  const opened = await Promise.allSettled(pods.map((p) => AgentClient.open(agentSocket(runDir, p.netns))));
  const clients = opened.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  try {
    const failed = opened.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
    const jobs: Promise<void>[] = [];
    cluster.pods.forEach((from, i) => {
      for (const to of cluster.pods) {
        if (podKey(to) === podKey(from)) continue;
        for (const p of ports) {
          if (p.protocol === 'SCTP') continue;
          jobs.push(clients[i]!.probe(to.ip, p.port, p.protocol, timeoutMs).then((ok) => void out.set(probeKey(podKey(from), podKey(to), p), ok)));
        }
      }
    });
    await Promise.all(jobs);
  } finally {
    for (const c of clients) c.close();
  }
  return out;
}

/** Every port some pod serves, once, by port then protocol. */
export function servedPorts(cluster: Cluster): ProbePort[] {
  const seen = new Map<string, ProbePort>();
  for (const p of cluster.pods) for (const c of p.ports) seen.set(`${c.protocol}/${c.port}`, { port: c.port, protocol: c.protocol });
  return [...seen.values()].sort((a, b) => a.port - b.port || a.protocol.localeCompare(b.protocol));
}

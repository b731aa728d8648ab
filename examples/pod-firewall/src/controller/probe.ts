/**
 * Reachability measured with real connections: every pod's agent connects
 * to every other pod on each port (TCP: connected; UDP: got its echo back).
 * Results are keyed by model.ts's `probeKey`. An agent that cannot be
 * reached or stops answering is reported for its pod, and the flows from
 * and to that pod are left out (unknown, not "blocked").
 */
import { AgentClient, agentSocket } from '../cluster/agents.js';
import type { PodNetwork } from '../cluster/topology.js';
import { podKey, probeKey, type Cluster, type Protocol } from '../policy/model.js';

export interface ProbePort {
  readonly port: number;
  readonly protocol: Protocol;
}

export interface ProbeReport {
  /** Measured flows: true where it connected. */
  readonly results: Map<string, boolean>;
  /** 'ns/pod' → why its agent did not serve the probe; that pod's flows are not in `results`. */
  readonly failedAgents: Map<string, string>;
}

/**
 * Probes from every pod to every other on each port. A pod to itself is not
 * probed (never filtered), nor is SCTP (this kernel has none). `pods` are the
 * pods' networks in `cluster.pods` order. Ends within about `timeoutMs` plus
 * a few seconds whatever the agents do.
 */
export async function probePods(
  runDir: string,
  cluster: Cluster,
  pods: readonly PodNetwork[],
  ports: readonly ProbePort[],
  timeoutMs: number,
): Promise<ProbeReport> {
  const results = new Map<string, boolean>();
  const failedAgents = new Map<string, string>();
  const opened = await Promise.allSettled(pods.map((p) => AgentClient.open(agentSocket(runDir, p.netns))));
  const clients = opened.map((r) => (r.status === 'fulfilled' ? r.value : undefined));
  opened.forEach((r, i) => {
    if (r.status === 'rejected') failedAgents.set(podKey(cluster.pods[i]!), (r.reason as Error).message);
  });
  try {
    const jobs: Promise<void>[] = [];
    cluster.pods.forEach((from, i) => {
      const client = clients[i];
      if (!client) return;
      for (const to of cluster.pods) {
        if (podKey(to) === podKey(from)) continue;
        for (const p of ports) {
          if (p.protocol === 'SCTP') continue;
          const key = probeKey(podKey(from), podKey(to), p);
          jobs.push(
            client.probe(to.ip, p.port, p.protocol, timeoutMs).then(
              (ok) => void results.set(key, ok),
              (e: Error) => void failedAgents.set(podKey(from), e.message),
            ),
          );
        }
      }
    });
    await Promise.all(jobs);
  } finally {
    for (const c of clients) c?.close();
  }
  // A pod whose agent is gone serves no ports either: flows to it say nothing about the firewall.
  for (const key of [...results.keys()]) {
    const [from, to] = key.split(':')[0]!.split('->') as [string, string];
    if (failedAgents.has(from) || failedAgents.has(to)) results.delete(key);
  }
  return { results, failedAgents };
}

/** Every port some pod serves, once, by port then protocol. */
export function servedPorts(cluster: Cluster): ProbePort[] {
  const seen = new Map<string, ProbePort>();
  for (const p of cluster.pods) for (const c of p.ports) seen.set(`${c.protocol}/${c.port}`, { port: c.port, protocol: c.protocol });
  return [...seen.values()].sort((a, b) => a.port - b.port || a.protocol.localeCompare(b.protocol));
}

/**
 * `pod-firewall agent`: the per-node agent of a Kubernetes cluster, as the
 * DaemonSet of deploy/ runs it. The API server's informers (api-source.ts)
 * feed runAgent, which programs this node's datapath; the agent also reads
 * the datapath's flow events for every `observe` on the node (it is their
 * hub while it runs) and counts them, with the datapath's counters and its
 * own reconciles, at `/metrics` when asked to serve it. SIGTERM or SIGINT
 * stops it; the datapath stays pinned and enforcing.
 */
import { PinnedMaps } from '../controller/map-records.js';
import { FlowStream } from '../controller/flow-hub.js';
import { instanceDirs } from '../controller/instance.js';
import { CliError } from '../errors.js';
import { runAgent, type NodeAgent } from '../kubernetes/agent.js';
import { apiSnapshotSource } from '../kubernetes/api-source.js';
import { AgentMetrics, type MetricsServer } from '../kubernetes/metrics.js';
import { out, requireRoot } from './plumbing.js';

export interface AgentCommandOptions {
  /** Default: the in-cluster ServiceAccount (KUBERNETES_SERVICE_HOST and its token). */
  readonly kubeconfig?: string;
  readonly node: string;
  /** HOST:PORT to serve /metrics on (none when absent). */
  readonly metrics?: string;
  /** The pods' veths are in the node namespace of this instance (the one-machine harness), not this process's own. */
  readonly instanceNetns?: boolean;
}

/** `HOST:PORT` (`[::1]:9964` for IPv6) → its parts; ARGUMENT_INVALID otherwise. */
export function listenAddress(text: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(text);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new CliError('ARGUMENT_INVALID', `--metrics ${JSON.stringify(text)}: not HOST:PORT (e.g. 0.0.0.0:9964)`);
  return { host: m[1] ?? m[2]!, port };
}

export async function agentCommand(name: string, opts: AgentCommandOptions): Promise<void> {
  requireRoot();
  const listen = opts.metrics === undefined ? undefined : listenAddress(opts.metrics);
  const dirs = instanceDirs({ name });
  let policyNames = new Map<number, string>();
  const metrics = new AgentMetrics(() => {
    using maps = new PinnedMaps(dirs.pins, []);
    return maps.countersByReason();
  });
  const source = apiSnapshotSource({ kubeconfig: opts.kubeconfig, node: opts.node });
  let agent: NodeAgent | undefined;
  let flows: FlowStream | undefined;
  let server: MetricsServer | undefined;
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      flows?.close();
      await server?.close();
      // Before the first snapshot there is no agent yet: stopping the source ends its wait.
      await (agent ? agent.stop() : source.stop());
    })());
  const onSignal = () => void stop().then(() => process.exit(0));
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  out(`node ${opts.node}: agent of instance ${name} starting (pid ${process.pid}); waiting for the API server's first complete state`);
  agent = await runAgent({
    name,
    node: opts.node,
    source,
    ownNetns: !opts.instanceNetns,
    onApply: (a) => {
      metrics.reconciled(a.seconds, a.error === undefined);
      if (a.change)
        metrics.state({ endpoints: a.change.endpoints.length, identities: new Set(Object.values(a.snapshot.identities)).size, policies: a.change.policies });
      policyNames = new Map(Object.entries(a.policyIds).map(([k, v]) => [v, k]));
    },
  });
  if (stopping) return;
  flows = FlowStream.open(dirs);
  void flows.consume((e) => metrics.flow(e, policyNames.get(e.policyId))).catch((e: Error) => out(`node ${opts.node}: flow events: ${e.message}`));
  if (listen) {
    server = await metrics.serve(listen.host, listen.port);
    out(`node ${opts.node}: metrics at ${server.url}`);
  }
  out(`node ${opts.node}: agent running`);
}

/**
 * The agent's Prometheus metrics (text format at `/metrics`, prom-client):
 * flow verdicts by reason, direction and policy (from flow events), the
 * datapath's own per-reason packet and byte counters (read from its map at
 * each scrape, so they count what the kernel counted, also while no agent
 * ran), the node's endpoints, identities and policies, how long each
 * reconcile took and how it ended, and the process's RSS and CPU.
 */
import { createServer, type Server } from 'node:http';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { REASONS, type FlowEvent } from '../datapath/layout.js';
import { FirewallError } from '../errors.js';

export type ReasonCounters = Readonly<Record<string, { readonly packets: bigint; readonly bytes: bigint }>>;

const DIRECTIONS = ['egress', 'ingress'];
const VERDICTS: Record<number, string> = { 1: 'allowed', 2: 'denied' };

export interface MetricsServer {
  /** http://HOST:PORT/metrics */
  readonly url: string;
  close(): Promise<void>;
}

export class AgentMetrics {
  readonly registry = new Registry();
  private readonly flows: Counter<'verdict' | 'reason' | 'direction' | 'policy'>;
  private readonly endpointsGauge: Gauge;
  private readonly identitiesGauge: Gauge;
  private readonly policiesGauge: Gauge;
  private readonly reconcileSeconds: Histogram<'result'>;

  /** `counters` reads the datapath's per-reason counters at each scrape (absent: not exported). */
  constructor(counters?: () => ReasonCounters) {
    const registers = [this.registry];
    this.flows = new Counter({
      name: 'pod_firewall_flow_events_total',
      help: 'Flow events of the datapath by verdict, reason, direction and the policy that allowed (empty: none)',
      labelNames: ['verdict', 'reason', 'direction', 'policy'],
      registers,
    });
    this.endpointsGauge = new Gauge({ name: 'pod_firewall_endpoints', help: 'Pods of this node the datapath enforces policy on', registers });
    this.identitiesGauge = new Gauge({ name: 'pod_firewall_identities', help: 'Cluster-wide identities known to this node', registers });
    this.policiesGauge = new Gauge({ name: 'pod_firewall_policies', help: 'NetworkPolicies in force', registers });
    this.reconcileSeconds = new Histogram({
      name: 'pod_firewall_reconcile_duration_seconds',
      help: 'Time from a change seen to the datapath updated, by result (ok, error)',
      labelNames: ['result'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    if (counters) {
      const read = (field: 'packets' | 'bytes') =>
        function (this: Counter<'reason'>) {
          this.reset();
          for (const [reason, c] of Object.entries(counters())) this.inc({ reason }, Number(c[field]));
        };
      new Counter({
        name: 'pod_firewall_datapath_packets_total',
        help: 'Packets the datapath counted, by reason',
        labelNames: ['reason'],
        registers,
        collect: read('packets'),
      });
      new Counter({
        name: 'pod_firewall_datapath_bytes_total',
        help: 'Bytes the datapath counted, by reason',
        labelNames: ['reason'],
        registers,
        collect: read('bytes'),
      });
    }
    collectDefaultMetrics({ register: this.registry });
  }

  /** Counts one flow event; `policy` is the 'ns/name' its policy id stands for. */
  flow(e: FlowEvent, policy: string | undefined): void {
    this.flows.inc({
      verdict: VERDICTS[e.verdict] ?? String(e.verdict),
      reason: REASONS[e.reason] ?? String(e.reason),
      direction: DIRECTIONS[e.dir] ?? String(e.dir),
      policy: policy ?? '',
    });
  }

  state(s: { endpoints: number; identities: number; policies: number }): void {
    this.endpointsGauge.set(s.endpoints);
    this.identitiesGauge.set(s.identities);
    this.policiesGauge.set(s.policies);
  }

  reconciled(seconds: number, ok: boolean): void {
    this.reconcileSeconds.observe({ result: ok ? 'ok' : 'error' }, seconds);
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  /** Serves `/metrics` on `host:port` (port 0: any free one). */
  serve(host: string, port: number): Promise<MetricsServer> {
    const server: Server = createServer((req, res) => {
      if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
        res.writeHead(404).end('not found: GET /metrics\n');
        return;
      }
      this.text().then(
        (body) => res.writeHead(200, { 'content-type': this.registry.contentType }).end(body),
        (e: Error) => res.writeHead(500).end(`${e.message}\n`),
      );
    });
    return new Promise((resolve, reject) => {
      server.once('error', (e) => reject(new FirewallError('COMMAND_FAILED', `metrics: listening on ${host}:${port}: ${e.message}`, { cause: e })));
      server.listen(port, host, () => {
        const bound = server.address() as { port: number };
        const shown = host.includes(':') ? `[${host}]` : host;
        resolve({
          url: `http://${shown}:${bound.port}/metrics`,
          close: () => new Promise<void>((done) => server.close(() => done())),
        });
      });
    });
  }
}

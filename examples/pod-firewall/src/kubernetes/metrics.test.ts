/**
 * The agent's /metrics: flow events counted by verdict, reason, direction and
 * policy; the datapath's counters read afresh at each scrape (not added up
 * twice); gauges; served over HTTP in Prometheus' text format.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { REASONS, type FlowEvent } from '../datapath/layout.js';
import { AgentMetrics, type MetricsServer, type ReasonCounters } from './metrics.js';

const event = (over: Partial<FlowEvent>): FlowEvent => ({
  timestampNs: 1n,
  saddr: '10.0.0.1',
  daddr: '10.0.0.2',
  sport: 40000,
  dport: 80,
  proto: 6,
  dir: 1,
  verdict: 2,
  reason: REASONS.indexOf('deny-policy'),
  ifindex: 3,
  endpointId: 1,
  endpointIdentity: 256,
  peerIdentity: 257,
  policyId: 0,
  ...over,
});

/** The value of one sample line `name{labels} value` in a scrape, undefined when absent. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-z_]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = Object.fromEntries([...(m[2] ?? '').matchAll(/([a-z_]+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => got[k] === v) && Object.keys(got).length === Object.keys(labels).length) return Number(m[3]);
  }
  return undefined;
}

describe('agent metrics', () => {
  let server: MetricsServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('counts flow events by verdict, reason, direction and policy', async () => {
    const m = new AgentMetrics();
    m.flow(event({}), undefined);
    m.flow(event({}), undefined);
    m.flow(event({ verdict: 1, reason: REASONS.indexOf('allow-policy'), dir: 0, policyId: 4 }), 'x/web');
    const text = await m.text();
    expect(sample(text, 'pod_firewall_flow_events_total', { verdict: 'denied', reason: 'deny-policy', direction: 'ingress', policy: '' })).toBe(2);
    expect(sample(text, 'pod_firewall_flow_events_total', { verdict: 'allowed', reason: 'allow-policy', direction: 'egress', policy: 'x/web' })).toBe(1);
  });

  it("exports the datapath's counters as they are at each scrape", async () => {
    let counters: ReasonCounters = { 'deny-policy': { packets: 5n, bytes: 300n }, 'allow-ct': { packets: 7n, bytes: 900n } };
    const m = new AgentMetrics(() => counters);
    let text = await m.text();
    expect(sample(text, 'pod_firewall_datapath_packets_total', { reason: 'deny-policy' })).toBe(5);
    expect(sample(text, 'pod_firewall_datapath_bytes_total', { reason: 'allow-ct' })).toBe(900);
    counters = { 'deny-policy': { packets: 6n, bytes: 360n }, 'allow-ct': { packets: 7n, bytes: 900n } };
    text = await m.text();
    expect(sample(text, 'pod_firewall_datapath_packets_total', { reason: 'deny-policy' })).toBe(6);
    expect(sample(text, 'pod_firewall_datapath_packets_total', { reason: 'allow-ct' })).toBe(7);
  });

  it('serves gauges, reconcile latency and process figures at GET /metrics, and 404 elsewhere', async () => {
    const m = new AgentMetrics();
    m.state({ endpoints: 3, identities: 12, policies: 4 });
    m.reconciled(0.02, true);
    m.reconciled(0.3, false);
    server = await m.serve('127.0.0.1', 0);
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    const res = await fetch(server.url);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await res.text();
    expect(sample(text, 'pod_firewall_endpoints')).toBe(3);
    expect(sample(text, 'pod_firewall_identities')).toBe(12);
    expect(sample(text, 'pod_firewall_policies')).toBe(4);
    expect(sample(text, 'pod_firewall_reconcile_duration_seconds_count', { result: 'ok' })).toBe(1);
    expect(sample(text, 'pod_firewall_reconcile_duration_seconds_bucket', { result: 'error', le: '0.25' })).toBe(0);
    expect(sample(text, 'pod_firewall_reconcile_duration_seconds_bucket', { result: 'error', le: '0.5' })).toBe(1);
    expect(sample(text, 'process_resident_memory_bytes')).toBeGreaterThan(0);
    expect((await fetch(server.url.replace('/metrics', '/'))).status).toBe(404);
  });

  it('says which address it could not listen on', async () => {
    const m = new AgentMetrics();
    server = await m.serve('127.0.0.1', 0);
    const port = Number(new URL(server.url).port);
    await expect(new AgentMetrics().serve('127.0.0.1', port)).rejects.toMatchObject({
      code: 'COMMAND_FAILED',
      message: expect.stringContaining(`127.0.0.1:${port}`),
    });
  });
});

import { afterAll, beforeAll, expect, it } from 'vitest';
import { existsSync, readdirSync } from 'node:fs';
import { PodFirewall } from './firewall.js';
import type { Cluster, NetworkPolicy } from './policy/model.js';
import { describeNeeds, hasCommand, isRoot } from '../../../test/support/env.js';

const NAME = `pft${process.pid % 10000}`;
const cluster: Cluster = {
  namespaces: ['x', 'y'].map((n) => ({ name: n, labels: { ns: n, 'kubernetes.io/metadata.name': n } })),
  pods: [
    { namespace: 'x', name: 'a', labels: { pod: 'a' }, ip: '10.250.1.11', ports: [{ port: 80, protocol: 'TCP', name: 'http' }, { port: 81, protocol: 'UDP' }] },
    { namespace: 'x', name: 'b', labels: { pod: 'b' }, ip: '10.250.1.12', ports: [{ port: 80, protocol: 'TCP', name: 'http' }, { port: 81, protocol: 'UDP' }] },
    { namespace: 'y', name: 'a', labels: { pod: 'a' }, ip: '10.250.2.11', ports: [{ port: 80, protocol: 'TCP', name: 'http' }, { port: 81, protocol: 'UDP' }] },
  ],
};
const policy = (name: string, namespace: string, spec: NetworkPolicy['spec']): NetworkPolicy => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { name, namespace },
  spec,
});
const denied = (m: Map<string, boolean>) => [...m].filter(([, ok]) => !ok).map(([k]) => k).sort();

describeNeeds([isRoot(), hasCommand('ip'), hasCommand('nsenter'), hasCommand('clang')], 'pod firewall on real namespaces', () => {
  let fw: PodFirewall;
  beforeAll(async () => {
    fw = await PodFirewall.up(cluster, { name: NAME });
  }, 120_000);
  afterAll(() => {
    fw?.close();
    PodFirewall.down({ name: NAME });
    expect(readdirSync('/run/netns').filter((n) => n.startsWith(`${NAME}-`))).toEqual([]);
    expect(existsSync(`/sys/fs/bpf/${NAME}`)).toBe(false);
  });

  it('allows everything without policy, then enforces a default deny and an allow rule, replies included', async () => {
    expect(denied(await fw.probe())).toEqual([]);
    fw.apply([policy('deny', 'x', { podSelector: {} })]);
    expect(denied(await fw.probe())).toEqual([
      'x/a->x/b:TCP/80', 'x/a->x/b:UDP/81', 'x/b->x/a:TCP/80', 'x/b->x/a:UDP/81', 'y/a->x/a:TCP/80', 'y/a->x/a:UDP/81', 'y/a->x/b:TCP/80', 'y/a->x/b:UDP/81',
    ]);
    // Only ingress of x is enforced; x's own egress (and the replies back in) still work.
    fw.apply([policy('web', 'x', { podSelector: { matchLabels: { pod: 'a' } }, ingress: [{ from: [{ namespaceSelector: {} }], ports: [{ port: 'http' }] }] })]);
    expect(denied(await fw.probe())).toEqual(['x/a->x/b:TCP/80', 'x/a->x/b:UDP/81', 'x/b->x/a:UDP/81', 'y/a->x/a:UDP/81', 'y/a->x/b:TCP/80', 'y/a->x/b:UDP/81']);
    expect(fw.delete(['x/deny', 'x/web'])).toBe(2);
    expect(denied(await fw.probe())).toEqual([]);
  }, 60_000);

  it('a new process adopts the pinned state; the counters saw the traffic', async () => {
    fw.apply([policy('deny', 'y', { podSelector: {}, policyTypes: ['Egress'] })]);
    fw.close();
    fw = PodFirewall.open({ name: NAME });
    expect(fw.policies.map((p) => p.metadata.name)).toEqual(['deny']);
    expect(denied(await fw.probe())).toEqual(['y/a->x/a:TCP/80', 'y/a->x/a:UDP/81', 'y/a->x/b:TCP/80', 'y/a->x/b:UDP/81']);
    const s = fw.status();
    expect(s.counters['deny-policy']!.packets).toBeGreaterThan(0n);
    expect(s.counters['allow-ct']!.packets).toBeGreaterThan(0n);
    expect(s.endpoints.find((e) => e.pod === 'y/a')).toMatchObject({ egress: true, ingress: false });
  }, 60_000);
});

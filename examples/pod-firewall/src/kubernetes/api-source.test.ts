import { execFile } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { bundleChild } from '../../../../test/support/bundle-child.js';
import { describeNeeds, hasCommand, repoRoot } from '../../../../test/support/env.js';
import { labelSetKey } from '../policy/compile.js';
import { parsePolicies } from '../policy/manifests.js';
import type { Pod } from '../policy/model.js';
import { apiSnapshotSource, type SourceProblem } from './api-source.js';
import { IDENTITY_GROUP, IDENTITY_PLURAL, IDENTITY_VERSION, candidates, identityManifest, identityRecord, type IdentityObject } from './identities.js';
import type { NodeSnapshot, SnapshotSource } from './snapshot.js';
import { controlPlaneAvailable } from './testing/control-plane-build.js';
import { startControlPlane, type ControlPlane } from './testing/control-plane.js';

const run = Math.random().toString(36).slice(2, 8);
const nsA = `src-a-${run}`;
const nsB = `src-b-${run}`;

const podYaml = (ns: string, name: string, node: string, labels: Record<string, string>) => `apiVersion: v1
kind: Pod
metadata: { name: ${name}, namespace: ${ns}, labels: ${JSON.stringify(labels)} }
spec:
  nodeName: ${node}
  containers: [{ name: c, image: example.invalid/none, ports: [{ containerPort: 80, name: http }] }]
`;

const policyYaml = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: web-from-b, namespace: ${nsA} }
spec:
  podSelector: { matchLabels: { app: web } }
  policyTypes: [Ingress]
  ingress:
    - from: [{ namespaceSelector: { matchLabels: { team: b } } }]
      ports: [{ protocol: TCP, port: http }]
`;

/** Every snapshot of every source of this file, for the invariants checked at the end. */
const recorded: NodeSnapshot[] = [];

/** Collects a source's snapshots; `until` waits (bounded) for one that satisfies a condition. */
class Recorder {
  readonly all: NodeSnapshot[] = [];
  private waiters: { check: (s: NodeSnapshot) => boolean; resolve: (s: NodeSnapshot) => void }[] = [];
  readonly problems: SourceProblem[] = [];
  add = (s: NodeSnapshot) => {
    this.all.push(s);
    recorded.push(s);
    this.waiters = this.waiters.filter((w) => !(w.check(s) && (w.resolve(s), true)));
  };
  get last() {
    return this.all.at(-1)!;
  }
  until(what: string, check: (s: NodeSnapshot) => boolean, ms = 30_000): Promise<NodeSnapshot> {
    if (this.all.length && check(this.last)) return Promise.resolve(this.last);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no snapshot where ${what}; last: ${JSON.stringify(this.last)}`)), ms);
      this.waiters.push({ check, resolve: (s) => (clearTimeout(timer), resolve(s)) });
    });
  }
}

const keys = (s: NodeSnapshot) => s.cluster.pods.map((p) => `${p.namespace}/${p.name}`);
const pod = (s: NodeSnapshot, key: string) => s.cluster.pods.find((p) => `${p.namespace}/${p.name}` === key);
const idOf = (s: NodeSnapshot, key: string) => s.identities[labelSetKey(s.cluster, pod(s, key) as Pod)];

describeNeeds([controlPlaneAvailable(), hasCommand('openssl'), hasCommand('setpriv')], 'the API snapshot source on a real API server', () => {
  let cp: ControlPlane;
  let custom: CustomObjectsApi;
  const sources: SnapshotSource[] = [];
  const identityObjects = async () =>
    ((await custom.listClusterCustomObject({ group: IDENTITY_GROUP, version: IDENTITY_VERSION, plural: IDENTITY_PLURAL })) as { items: IdentityObject[] })
      .items;
  const setIp = (ns: string, name: string, ip: string) =>
    cp.kubectl(['-n', ns, 'patch', 'pod', name, '--subresource=status', '--type=merge', '-p', JSON.stringify({ status: { podIP: ip, podIPs: [{ ip }] } })]);
  const startSource = async (node: string, identityGraceMs = 3_600_000) => {
    const rec = new Recorder();
    const src = apiSnapshotSource({ kubeconfig: cp.adminKubeconfig, node, coalesceMs: 20, identityGraceMs, onProblem: (p) => rec.problems.push(p) });
    sources.push(src);
    await src.start(rec.add);
    return { src, rec };
  };

  beforeAll(async () => {
    cp = await startControlPlane();
    cp.kubectl(['apply', '-f', join(repoRoot, 'examples/pod-firewall/deploy/crd.yaml')]);
    cp.kubectl(['wait', '--for=condition=Established', '--timeout=60s', `crd/${IDENTITY_PLURAL}.${IDENTITY_GROUP}`]);
    const kc = new KubeConfig();
    kc.loadFromFile(cp.adminKubeconfig);
    custom = kc.makeApiClient(CustomObjectsApi);
    cp.kubectl(['create', 'namespace', nsA]);
    cp.kubectl(['create', 'namespace', nsB]);
    cp.kubectl(['label', 'namespace', nsA, 'team=a']);
    cp.kubectl(['label', 'namespace', nsB, 'team=b']);
    cp.kubectl(['apply', '-f', '-'], podYaml(nsA, 'web', 'node-a', { app: 'web' }));
    cp.kubectl(['apply', '-f', '-'], podYaml(nsA, 'web2', 'node-b', { app: 'web' }));
    cp.kubectl(['apply', '-f', '-'], podYaml(nsB, 'client', 'node-b', { app: 'client' }));
    cp.kubectl(['apply', '-f', '-'], podYaml(nsA, 'late', 'node-a', { app: 'late' }));
    setIp(nsA, 'web', '10.244.1.11');
    setIp(nsA, 'web2', '10.244.2.11');
    setIp(nsB, 'client', '10.244.2.12');
    cp.kubectl(['apply', '-f', '-'], policyYaml);
  }, 40 * 60_000);
  afterAll(async () => {
    for (const s of sources) await s.stop();
    await cp?.stop();
  });

  it('the first snapshot is complete: every pod with an IP, its identity, the policies, this node’s pods', async () => {
    const { rec } = await startSource('node-a');
    // start() resolves after the first snapshot, taken once every informer listed.
    expect(rec.all.length).toBeGreaterThan(0);
    const s = rec.all[0]!;
    expect(s.node).toBe('node-a');
    expect(keys(s)).toEqual([`${nsA}/web`, `${nsA}/web2`, `${nsB}/client`]);
    expect(s.localPods).toEqual([`${nsA}/web`]);
    expect(pod(s, `${nsA}/web`)).toEqual({
      namespace: nsA,
      name: 'web',
      labels: { app: 'web' },
      ip: '10.244.1.11',
      ports: [{ port: 80, protocol: 'TCP', name: 'http' }],
    });
    // Watch failures are retried (a CRD just established may answer 429 for a moment); nothing else may go wrong.
    expect(rec.problems.filter((p) => p.kind !== 'watch').map((p) => (p.kind === 'policy' ? p.error.message : p.kind))).toEqual([]);
    expect(s.policies).toEqual(parsePolicies(policyYaml));
    // Same labels, same namespace: one identity; every identity is an object on the API server holding its set.
    expect(idOf(s, `${nsA}/web`)).toBe(idOf(s, `${nsA}/web2`));
    expect(idOf(s, `${nsA}/web`)).not.toBe(idOf(s, `${nsB}/client`));
    const stored = new Map((await identityObjects()).map((o) => identityRecord(o)!).map((r) => [r.labelSet, r.id]));
    for (const [set, id] of Object.entries(s.identities)) expect(stored.get(set), set).toBe(id);
  }, 120_000);

  it('follows the API: a pod that gets its IP, a relabel, a deletion, an identity deleted under it', async () => {
    const { rec } = await startSource('node-a');
    setIp(nsA, 'late', '10.244.1.12');
    const withLate = await rec.until('late has its IP', (s) => s.localPods.includes(`${nsA}/late`));
    expect(idOf(withLate, `${nsA}/late`)).toBeGreaterThan(0);

    const before = idOf(rec.last, `${nsB}/client`);
    cp.kubectl(['-n', nsB, 'label', 'pod', 'client', 'app=client2', '--overwrite']);
    const relabeled = await rec.until('client is relabeled', (s) => pod(s, `${nsB}/client`)?.labels.app === 'client2');
    expect(idOf(relabeled, `${nsB}/client`)).not.toBe(before);

    cp.kubectl(['-n', nsA, 'delete', 'pod', 'web2', '--grace-period=0', '--force']);
    await rec.until('web2 is gone', (s) => !keys(s).includes(`${nsA}/web2`));

    const web = idOf(rec.last, `${nsA}/web`)!;
    cp.kubectl(['delete', `${IDENTITY_PLURAL}.${IDENTITY_GROUP}`, String(web)]);
    // The source allocates it again (its first free candidate: the same number) and keeps the pod.
    await expect.poll(async () => (await identityObjects()).some((o) => identityRecord(o)?.id === web), { timeout: 30_000 }).toBe(true);
    const after = await rec.until('web has an identity', (s) => idOf(s, `${nsA}/web`) !== undefined);
    expect(idOf(after, `${nsA}/web`)).toBe(web);
  }, 120_000);

  it('a policy the firewall cannot take fails closed and is reported; IPv6 peers are left out', async () => {
    const { rec } = await startSource('node-b');
    // The API server still accepts leading zeros in an IPv4 CIDR (legacy parsing); the firewall's schema does not.
    const legacy = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: legacy-cidr, namespace: ${nsB} }
spec:
  podSelector: { matchLabels: { app: client2 } }
  policyTypes: [Egress]
  egress: [{ to: [{ ipBlock: { cidr: 010.0.0.0/8 } }] }]
`;
    const dual = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: dual-stack, namespace: ${nsB} }
spec:
  podSelector: {}
  ingress: [{ from: [{ ipBlock: { cidr: "fd00::/8" } }, { ipBlock: { cidr: 10.0.0.0/8 } }] }]
`;
    cp.kubectl(['apply', '-f', '-'], legacy);
    cp.kubectl(['apply', '-f', '-'], dual);
    const s = await rec.until('both policies are in', (x) => x.policies.filter((p) => p.metadata.namespace === nsB).length === 2);
    const byName = new Map(s.policies.map((p) => [p.metadata.name, p.spec]));
    expect(byName.get('legacy-cidr')).toEqual({ podSelector: { matchLabels: { app: 'client2' } }, policyTypes: ['Egress'], egress: [] });
    expect(byName.get('dual-stack')).toEqual({ podSelector: {}, policyTypes: ['Ingress'], ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/8' } }] }] });
    const reported = rec.problems.flatMap((p) => (p.kind === 'policy' ? [p] : []));
    expect(reported.map((p) => p.policy)).toEqual([`${nsB}/legacy-cidr`]);
    expect(reported[0]?.error.message).toContain('spec.egress[0].to[0].ipBlock.cidr');
    cp.kubectl(['-n', nsB, 'delete', 'networkpolicy', 'legacy-cidr', 'dual-stack']);
    await rec.until('both policies are gone', (x) => x.policies.every((p) => p.metadata.namespace !== nsB));
  }, 120_000);

  it('two nodes agree on every identity; each has its own endpoints', async () => {
    const [a, b] = await Promise.all([startSource('node-a'), startSource('node-b')]);
    const sa = await a.rec.until('settled', (s) => keys(s).includes(`${nsA}/late`));
    const sb = await b.rec.until('settled', (s) => keys(s).includes(`${nsA}/late`));
    expect(sa.identities).toEqual(sb.identities);
    expect(sb.localPods).toEqual([`${nsB}/client`]);
  }, 120_000);

  it('collects identities no pod uses once the grace period is over', async () => {
    cp.kubectl(['apply', '-f', '-'], podYaml(nsB, 'brief', 'node-b', { app: 'brief' }));
    setIp(nsB, 'brief', '10.244.2.13');
    const { rec } = await startSource('node-b', 1000);
    const s = await rec.until('brief is there', (x) => keys(x).includes(`${nsB}/brief`));
    const brief = idOf(s, `${nsB}/brief`)!;
    cp.kubectl(['-n', nsB, 'delete', 'pod', 'brief', '--grace-period=0', '--force']);
    await rec.until('brief is gone', (x) => !keys(x).includes(`${nsB}/brief`));
    await expect.poll(async () => (await identityObjects()).some((o) => identityRecord(o)?.id === brief), { timeout: 30_000, interval: 250 }).toBe(false);
    // Identities in use stay.
    const ids = new Set((await identityObjects()).map((o) => identityRecord(o)?.id));
    for (const id of Object.values(rec.last.identities)) expect(ids.has(id)).toBe(true);
  }, 120_000);

  it('two objects for one set (the probe race): every source uses the smaller, the larger is collected', async () => {
    cp.kubectl(['apply', '-f', '-'], podYaml(nsB, 'dup', 'node-b', { app: 'dup' }));
    setIp(nsB, 'dup', '10.244.2.14');
    const dup: Pod = { namespace: nsB, name: 'dup', labels: { app: 'dup' }, ip: '10.244.2.14', ports: [] };
    const set = labelSetKey({ namespaces: [{ name: nsB, labels: { team: 'b', 'kubernetes.io/metadata.name': nsB } }], pods: [dup] }, dup);
    const [small, large] = [candidates(set)[2]!, candidates(set)[1]!].sort((x, y) => x - y);
    for (const id of [large, small])
      await custom.createClusterCustomObject({
        group: IDENTITY_GROUP,
        version: IDENTITY_VERSION,
        plural: IDENTITY_PLURAL,
        body: identityManifest(id!, set, 'test'),
      });
    const [a, b] = await Promise.all([startSource('node-a', 1000), startSource('node-b', 1000)]);
    for (const { rec } of [a, b]) {
      const s = await rec.until('dup is there', (x) => keys(x).includes(`${nsB}/dup`));
      expect(s.identities[set]).toBe(small);
    }
    await expect
      .poll(async () => (await identityObjects()).filter((o) => identityRecord(o)?.labelSet === set).map((o) => identityRecord(o)!.id), {
        timeout: 30_000,
        interval: 250,
      })
      .toEqual([small]);
    cp.kubectl(['-n', nsB, 'delete', 'pod', 'dup', '--grace-period=0', '--force']);
  }, 120_000);

  it('a cut connection: nothing is emitted while the API is unreachable, then the source converges on what changed', async () => {
    // A TCP proxy in front of the API server, to cut every connection of the source and refuse new ones for a while.
    const port = Number(new URL(cp.server).port);
    const sockets = new Set<Socket>();
    let server: Server | undefined;
    const open = (at: number) =>
      new Promise<number>((resolve) => {
        server = createServer((c) => {
          const u = connect(port, '127.0.0.1');
          for (const [a, b] of [
            [c, u],
            [u, c],
          ] as const) {
            sockets.add(a);
            a.on('error', () => {});
            a.on('close', () => (b.destroy(), sockets.delete(a)));
          }
          c.pipe(u).pipe(c);
        });
        server.listen(at, '127.0.0.1', () => resolve((server!.address() as AddressInfo).port));
      });
    const cut = () => new Promise<void>((resolve) => (server!.close(() => resolve()), sockets.forEach((s) => s.destroy())));
    const proxyPort = await open(0);
    const kubeconfig = join(dirname(cp.adminKubeconfig), `proxied-${run}.kubeconfig`);
    writeFileSync(kubeconfig, readFileSync(cp.adminKubeconfig, 'utf8').replaceAll(cp.server, `https://127.0.0.1:${proxyPort}`));
    const rec = new Recorder();
    const src = apiSnapshotSource({ kubeconfig, node: 'node-c', coalesceMs: 20, identityGraceMs: 3_600_000, onProblem: (p) => rec.problems.push(p) });
    try {
      await src.start(rec.add);
      const before = rec.all.length;
      await cut();
      await expect.poll(() => rec.problems.some((p) => p.kind === 'watch'), { timeout: 30_000 }).toBe(true);
      cp.kubectl(['apply', '-f', '-'], podYaml(nsB, 'offline', 'node-c', { app: 'offline' }));
      setIp(nsB, 'offline', '10.244.3.11');
      cp.kubectl(['-n', nsA, 'label', 'pod', 'web', 'tier=front']);
      cp.kubectl(['-n', nsA, 'delete', 'networkpolicy', 'web-from-b']);
      expect(rec.all.length).toBe(before);
      await open(proxyPort);
      const s = await rec.until(
        'the changes made while cut off are in',
        (x) => x.localPods.includes(`${nsB}/offline`) && pod(x, `${nsA}/web`)?.labels.tier === 'front' && x.policies.length === 0,
        60_000,
      );
      expect(idOf(s, `${nsB}/offline`)).toBeGreaterThan(0);
    } finally {
      await src.stop();
      await cut();
    }
  }, 120_000);

  it('every snapshot any source emitted: each pod with an identity, one number per set, endpoints among the pods', () => {
    expect(recorded.length).toBeGreaterThan(20);
    const wrong: string[] = [];
    for (const s of recorded) {
      const sets = new Set(s.cluster.pods.map((p) => labelSetKey(s.cluster, p)));
      for (const set of sets) if (!(s.identities[set]! >= 256)) wrong.push(`${s.node}: no identity for ${set}`);
      if (new Set(Object.values(s.identities)).size !== Object.keys(s.identities).length) wrong.push(`${s.node}: a number shared by two sets`);
      if (Object.keys(s.identities).some((set) => !sets.has(set))) wrong.push(`${s.node}: an identity for a set no pod has`);
      const keys = new Set(s.cluster.pods.map((p) => `${p.namespace}/${p.name}`));
      if (!s.localPods.every((k) => keys.has(k))) wrong.push(`${s.node}: an endpoint that is not a pod`);
    }
    expect(wrong).toEqual([]);
  });

  it('stop() ends every watch and timer: a process that stops its source exits by itself; three agents starting at once agree', async () => {
    const out = await bundleChild('examples/pod-firewall/src/kubernetes/testing/k8s-child.ts', 'k8s-source-child');
    const agent = (node: string) =>
      new Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }>((resolve) => {
        execFile(process.execPath, [out, 'source', cp.adminKubeconfig, node], { encoding: 'utf8', timeout: 60_000 }, (err, stdout, stderr) =>
          resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, signal: err?.signal ?? null, stdout, stderr }),
        );
      });
    try {
      // Label sets no agent has seen: the three allocate them at the same moment, through the source's own path.
      const ns = `fresh-${run}`;
      cp.kubectl(['create', 'namespace', ns]);
      for (let i = 0; i < 8; i++) {
        cp.kubectl(['apply', '-f', '-'], podYaml(ns, `p${i}`, `node-${i % 3}`, { app: `fresh-${i % 4}`, shard: String(i) }));
        setIp(ns, `p${i}`, `10.244.7.${i + 11}`);
      }
      const runs = await Promise.all(['node-0', 'node-1', 'node-2'].map(agent));
      for (const r of runs) {
        expect(r.signal, r.stderr).toBeNull();
        expect(r.code, r.stderr).toBe(0);
      }
      const firsts = runs.map((r) => JSON.parse(r.stdout) as NodeSnapshot);
      expect(firsts[0]!.cluster.pods.filter((p) => p.namespace === ns)).toHaveLength(8);
      expect(firsts[1]!.identities).toEqual(firsts[0]!.identities);
      expect(firsts[2]!.identities).toEqual(firsts[0]!.identities);
      expect(firsts.map((f) => f.localPods.filter((k) => k.startsWith(`${ns}/`)))).toEqual([
        [`${ns}/p0`, `${ns}/p3`, `${ns}/p6`],
        [`${ns}/p1`, `${ns}/p4`, `${ns}/p7`],
        [`${ns}/p2`, `${ns}/p5`],
      ]);
    } finally {
      rmSync(out, { force: true });
    }
  }, 120_000);
});

describe('apiSnapshotSource without a usable kubeconfig', () => {
  it('throws KUBECONFIG_INVALID at once', () => {
    expect(() => apiSnapshotSource({ kubeconfig: '/nonexistent/kubeconfig', node: 'n' })).toThrow(expect.objectContaining({ code: 'KUBECONFIG_INVALID' }));
  });
});

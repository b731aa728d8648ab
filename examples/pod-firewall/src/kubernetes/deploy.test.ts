import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ApiException, CoreV1Api, CustomObjectsApi, KubeConfig, NetworkingV1Api } from '@kubernetes/client-node';
import { describeNeeds, hasCommand, repoRoot } from '../../../../test/support/env.js';
import { labelSetKey } from '../policy/compile.js';
import { apiSnapshotSource, type SourceProblem } from './api-source.js';
import type { NodeSnapshot } from './snapshot.js';
import { IDENTITY_GROUP, IDENTITY_PLURAL, IDENTITY_VERSION, IdentityAllocator, type IdentityObject } from './identities.js';
import { controlPlaneAvailable } from './testing/control-plane-build.js';
import { startControlPlane, type ControlPlane } from './testing/control-plane.js';

const deploy = join(repoRoot, 'examples/pod-firewall/deploy');

async function listIdentities(cp: ControlPlane): Promise<IdentityObject[]> {
  const kc = new KubeConfig();
  kc.loadFromFile(cp.adminKubeconfig);
  const list = await kc.makeApiClient(CustomObjectsApi).listClusterCustomObject({ group: IDENTITY_GROUP, version: IDENTITY_VERSION, plural: IDENTITY_PLURAL });
  return (list as { items: IdentityObject[] }).items;
}

/** The HTTP status of a call: 200 when it worked. */
async function status(call: () => Promise<unknown>): Promise<number> {
  try {
    await call();
    return 200;
  } catch (err) {
    if (err instanceof ApiException) return err.code;
    throw err;
  }
}

describeNeeds([controlPlaneAvailable(), hasCommand('openssl'), hasCommand('setpriv')], 'deploy/ on a real API server', () => {
  let cp: ControlPlane;
  let agent: KubeConfig;

  beforeAll(async () => {
    cp = await startControlPlane();
  }, 40 * 60_000);
  afterAll(async () => {
    await cp?.stop();
  });

  it('every manifest passes server-side dry-run validation', () => {
    const out = cp.kubectl(['apply', '--dry-run=server', '-f', deploy]);
    for (const what of [
      'customresourcedefinition.apiextensions.k8s.io/podfirewallidentities.podfirewall.tsbpf.dev',
      'serviceaccount/pod-firewall',
      'clusterrole.rbac.authorization.k8s.io/pod-firewall-agent',
      'clusterrolebinding.rbac.authorization.k8s.io/pod-firewall-agent',
      'daemonset.apps/pod-firewall',
    ]) {
      expect(out).toContain(`${what} created (server dry run)`);
    }
  });

  it('an agent started before the CRD exists retries its watch and converges once the CRD is applied', async () => {
    cp.kubectl(['create', 'namespace', 'early']);
    cp.kubectl(
      ['-n', 'early', 'apply', '-f', '-'],
      'apiVersion: v1\nkind: Pod\nmetadata: { name: p, labels: { app: p } }\nspec: { nodeName: node-1, containers: [{ name: c, image: example.invalid/none }] }\n',
    );
    cp.kubectl([
      '-n',
      'early',
      'patch',
      'pod',
      'p',
      '--subresource=status',
      '--type=merge',
      '-p',
      '{"status":{"podIP":"10.244.9.11","podIPs":[{"ip":"10.244.9.11"}]}}',
    ]);
    const problems: string[] = [];
    const source = apiSnapshotSource({
      kubeconfig: cp.adminKubeconfig,
      node: 'node-1',
      onProblem: (p) => problems.push(p.kind === 'watch' ? p.resource : p.kind),
    });
    let first: Parameters<Parameters<typeof source.start>[0]>[0] | undefined;
    const started = source.start((s) => (first ??= s));
    try {
      await expect.poll(() => problems.includes(IDENTITY_PLURAL), { timeout: 30_000 }).toBe(true);
      // Without identities no snapshot may go out: a pod would have none.
      expect(first).toBeUndefined();
      cp.kubectl(['apply', '-f', join(deploy, 'crd.yaml')]);
      await started;
    } finally {
      await source.stop();
    }
    expect(first?.localPods).toEqual(['early/p']);
    expect(Object.keys(first?.identities ?? {})).toHaveLength(1);
  }, 120_000);

  it('the ServiceAccount can do what the agent does, and nothing else', async () => {
    cp.kubectl(['apply', '-f', join(deploy, 'crd.yaml'), '-f', join(deploy, 'rbac.yaml')]);
    cp.kubectl(['wait', '--for=condition=Established', '--timeout=60s', `crd/${IDENTITY_PLURAL}.${IDENTITY_GROUP}`]);
    cp.kubectl(['create', 'namespace', 'apps']);
    cp.kubectl(['-n', 'apps', 'create', 'secret', 'generic', 'db', '--from-literal=password=x']);
    agent = new KubeConfig();
    agent.loadFromFile(cp.serviceAccountKubeconfig('kube-system', 'pod-firewall'));
    const core = agent.makeApiClient(CoreV1Api);
    const net = agent.makeApiClient(NetworkingV1Api);
    expect(await status(() => core.listPodForAllNamespaces())).toBe(200);
    expect(await status(() => core.listNamespace())).toBe(200);
    expect(await status(() => net.listNetworkPolicyForAllNamespaces())).toBe(200);
    // Identities: allocate (create), claim (patch), delete.
    const allocator = new IdentityAllocator(agent, 'node-1');
    const r = await allocator.allocate('k8s:app=rbac,k8s:io.kubernetes.pod.namespace=apps');
    expect(await allocator.claim(r)).toBeDefined();
    expect(await allocator.deleteIfUnchanged((await allocator.claim(r))!)).toBe(true);
    // And nothing else.
    expect(await status(() => core.listSecretForAllNamespaces())).toBe(403);
    expect(await status(() => core.readNamespacedSecret({ namespace: 'apps', name: 'db' }))).toBe(403);
    const pod = { metadata: { name: 'x' }, spec: { containers: [{ name: 'c', image: 'example.invalid/none' }] } };
    expect(await status(() => core.createNamespacedPod({ namespace: 'apps', body: pod }))).toBe(403);
    expect(await status(() => core.deleteCollectionNamespacedPod({ namespace: 'apps' }))).toBe(403);
    const policy = { metadata: { name: 'x' }, spec: { podSelector: {} } };
    expect(await status(() => net.createNamespacedNetworkPolicy({ namespace: 'apps', body: policy }))).toBe(403);
    expect(await status(() => core.listNode())).toBe(403);
    expect(await status(() => core.listConfigMapForAllNamespaces())).toBe(403);
  }, 120_000);

  it('an agent running as the ServiceAccount gets its snapshots (list, watch, allocate)', async () => {
    cp.kubectl(
      ['-n', 'apps', 'apply', '-f', '-'],
      'apiVersion: v1\nkind: Pod\nmetadata: { name: web, labels: { app: web } }\nspec: { nodeName: node-1, containers: [{ name: c, image: example.invalid/none }] }\n',
    );
    cp.kubectl([
      '-n',
      'apps',
      'patch',
      'pod',
      'web',
      '--subresource=status',
      '--type=merge',
      '-p',
      '{"status":{"podIP":"10.244.1.11","podIPs":[{"ip":"10.244.1.11"}]}}',
    ]);
    const source = apiSnapshotSource({ kubeconfig: cp.serviceAccountKubeconfig('kube-system', 'pod-firewall'), node: 'node-1', onProblem: () => {} });
    let first: Parameters<Parameters<typeof source.start>[0]>[0] | undefined;
    try {
      await source.start((s) => (first ??= s));
    } finally {
      await source.stop();
    }
    expect(first?.localPods).toEqual(['apps/web', 'early/p']);
    expect(Object.keys(first?.identities ?? {})).toHaveLength(2);
  }, 120_000);

  it('while claims are refused, pods keep the number of the last snapshot; new label sets wait, reported', async () => {
    // The agent's role without the identity writes: what an API server refusing them looks like.
    const role = (verbs: string) => `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: { name: pod-firewall-agent }
rules:
  - { apiGroups: [""], resources: [pods, namespaces], verbs: [get, list, watch] }
  - { apiGroups: [networking.k8s.io], resources: [networkpolicies], verbs: [get, list, watch] }
  - { apiGroups: [podfirewall.tsbpf.dev], resources: [podfirewallidentities], verbs: [${verbs}] }
`;
    const problems: SourceProblem[] = [];
    const snapshots: NodeSnapshot[] = [];
    const source = apiSnapshotSource({
      kubeconfig: cp.serviceAccountKubeconfig('kube-system', 'pod-firewall'),
      node: 'node-1',
      onProblem: (p) => problems.push(p),
    });
    const latest = () => snapshots.at(-1)!;
    const idOfPod = (key: string) => {
      const p = latest().cluster.pods.find((x) => `${x.namespace}/${x.name}` === key);
      return p && latest().identities[labelSetKey(latest().cluster, p)];
    };
    try {
      await source.start((s) => snapshots.push(s));
      const web = idOfPod('apps/web')!;
      expect(web).toBeGreaterThan(0);
      cp.kubectl(['apply', '-f', '-'], role('get, list, watch'));
      cp.kubectl(['delete', `${IDENTITY_PLURAL}.${IDENTITY_GROUP}`, String(web)]);
      cp.kubectl(
        ['-n', 'apps', 'apply', '-f', '-'],
        'apiVersion: v1\nkind: Pod\nmetadata: { name: new, labels: { app: new } }\nspec: { nodeName: node-1, containers: [{ name: c, image: example.invalid/none }] }\n',
      );
      cp.kubectl([
        '-n',
        'apps',
        'patch',
        'pod',
        'new',
        '--subresource=status',
        '--type=merge',
        '-p',
        '{"status":{"podIP":"10.244.1.12","podIPs":[{"ip":"10.244.1.12"}]}}',
      ]);
      await expect.poll(() => problems.some((p) => p.kind === 'identity' && p.kept === web), { timeout: 30_000 }).toBe(true);
      await expect
        .poll(() => problems.some((p) => p.kind === 'identity' && p.kept === undefined && p.labelSet.includes('k8s:app=new')), { timeout: 30_000 })
        .toBe(true);
      expect(idOfPod('apps/web')).toBe(web);
      expect(idOfPod('apps/new')).toBeUndefined();
      // Writes allowed again: both get claimed identities (web its old number, its first free candidate).
      cp.kubectl(['apply', '-f', join(deploy, 'rbac.yaml')]);
      await expect.poll(() => idOfPod('apps/new'), { timeout: 60_000 }).toBeGreaterThan(0);
      expect(idOfPod('apps/web')).toBe(web);
      const stored = new Set((await listIdentities(cp)).map((o) => o.metadata?.name));
      expect(stored.has(String(web))).toBe(true);
      expect(stored.has(String(idOfPod('apps/new')))).toBe(true);
    } finally {
      await source.stop();
    }
  }, 120_000);
});

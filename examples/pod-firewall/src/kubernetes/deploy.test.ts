import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ApiException, CoreV1Api, KubeConfig, NetworkingV1Api } from '@kubernetes/client-node';
import { describeNeeds, hasCommand, repoRoot } from '../../../../test/support/env.js';
import { apiSnapshotSource } from './api-source.js';
import { IDENTITY_GROUP, IDENTITY_PLURAL, IdentityAllocator } from './identities.js';
import { controlPlaneAvailable } from './testing/control-plane-build.js';
import { startControlPlane, type ControlPlane } from './testing/control-plane.js';

const deploy = join(repoRoot, 'examples/pod-firewall/deploy');

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
  });

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
  });

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
  });
});

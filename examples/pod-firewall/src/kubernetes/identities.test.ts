import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CustomObjectsApi, KubeConfig, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { bundleChild } from '../../../../test/support/bundle-child.js';
import { describeNeeds, hasCommand, repoRoot } from '../../../../test/support/env.js';
import { CIDR_IDENTITY_FLAG, FIRST_IDENTITY } from '../policy/compile.js';
import {
  IDENTITY_GROUP,
  IDENTITY_PLURAL,
  IDENTITY_VERSION,
  IdentityAllocator,
  IdentityCollector,
  candidates,
  identityManifest,
  identityRecord,
  resolveIdentities,
  type IdentityObject,
} from './identities.js';
import { controlPlaneAvailable } from './testing/control-plane-build.js';
import { startControlPlane, type ControlPlane } from './testing/control-plane.js';

const obj = (name: string, labelSet: string, uid = `uid-${name}`, resourceVersion = '1', deleting = false): IdentityObject => ({
  metadata: { name, uid, resourceVersion, ...(deleting ? { deletionTimestamp: '2026-01-01T00:00:00Z' } : {}) },
  spec: { labelSet },
});

describe('identity numbers (pure)', () => {
  it('candidates are deterministic, distinct, and between FIRST_IDENTITY and CIDR_IDENTITY_FLAG', () => {
    const a = candidates('k8s:app=web,k8s:io.kubernetes.pod.namespace=a');
    expect(a).toEqual(candidates('k8s:app=web,k8s:io.kubernetes.pod.namespace=a'));
    expect(new Set(a).size).toBe(a.length);
    for (const id of a) expect(id >= FIRST_IDENTITY && id < CIDR_IDENTITY_FLAG).toBe(true);
    expect(candidates('k8s:app=db,k8s:io.kubernetes.pod.namespace=a')[0]).not.toBe(a[0]);
  });

  it('a set resolves to its smallest live object; malformed and deleting objects do not count', () => {
    const resolved = resolveIdentities([obj('900', 's'), obj('700', 's'), obj('500', 's', 'u5', '1', true), obj('12', 't'), obj('x1', 't'), obj('800', 'u')]);
    expect([...resolved].map(([set, r]) => [set, r.id])).toEqual([
      ['s', 700],
      ['u', 800],
    ]);
    expect(identityRecord(obj(String(CIDR_IDENTITY_FLAG), 's'))).toBeUndefined();
  });

  it('the collector deletes only what stayed unused at one resourceVersion for the grace period', () => {
    const c = new IdentityCollector(1000);
    const used = obj('300', 'used');
    const idle = obj('400', 'idle', 'u4', '1');
    const usedRecord = identityRecord(used)!;
    expect(c.due([used, idle], [usedRecord], 0)).toEqual([]);
    expect(c.due([used, idle], [usedRecord], 999)).toEqual([]);
    // A claim (a new resourceVersion) starts the wait again.
    expect(c.due([used, obj('400', 'idle', 'u4', '2')], [usedRecord], 1000)).toEqual([]);
    expect(c.due([used, obj('400', 'idle', 'u4', '2')], [usedRecord], 1999)).toEqual([]);
    expect(c.due([used, obj('400', 'idle', 'u4', '2')], [usedRecord], 2000).map((r) => [r.id, r.resourceVersion])).toEqual([[400, '2']]);
    // Used again: forgotten.
    const again = identityRecord(obj('400', 'idle', 'u4', '2'))!;
    expect(c.due([used, obj('400', 'idle', 'u4', '2')], [usedRecord, again], 5000)).toEqual([]);
    expect(c.due([used, obj('400', 'idle', 'u4', '2')], [usedRecord], 5500)).toEqual([]);
  });
});

/** The allocating child, bundled from the sources next to the repository's node_modules. */
const bundleK8sChild = () => bundleChild('examples/pod-firewall/src/kubernetes/testing/k8s-child.ts', 'k8s-child');

interface Child {
  go(): void;
  result: Promise<Record<string, number>>;
}

function allocatingChild(script: string, kubeconfig: string, node: string, sets: string[]): Child {
  const p = spawn(process.execPath, [script, 'allocate', kubeconfig, node, JSON.stringify(sets)], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  p.stdout.on('data', (d: Buffer) => (out += d.toString()));
  p.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const result = new Promise<Record<string, number>>((resolve, reject) => {
    p.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as Record<string, number>) : reject(new Error(`child ${node} exited ${code}: ${err}`))));
  });
  return { go: () => p.stdin.end('go\n'), result };
}

describeNeeds([controlPlaneAvailable(), hasCommand('openssl'), hasCommand('setpriv')], 'identities on a real API server', () => {
  let cp: ControlPlane;
  let child = '';
  let kc: KubeConfig;
  let custom: CustomObjectsApi;
  const base = { group: IDENTITY_GROUP, version: IDENTITY_VERSION, plural: IDENTITY_PLURAL };
  const list = async () => ((await custom.listClusterCustomObject(base)) as { items: IdentityObject[] }).items;

  beforeAll(async () => {
    [cp, child] = await Promise.all([startControlPlane(), bundleK8sChild()]);
    cp.kubectl(['apply', '-f', join(repoRoot, 'examples/pod-firewall/deploy/crd.yaml')]);
    cp.kubectl(['wait', '--for=condition=Established', '--timeout=60s', `crd/${IDENTITY_PLURAL}.${IDENTITY_GROUP}`]);
    kc = new KubeConfig();
    kc.loadFromFile(cp.adminKubeconfig);
    custom = kc.makeApiClient(CustomObjectsApi);
  }, 40 * 60_000);
  afterAll(async () => {
    await cp?.stop();
    if (child) rmSync(child, { force: true });
  });

  it('four processes allocating at once: the same set gets the same number, different sets different numbers', async () => {
    const shared = Array.from({ length: 12 }, (_, i) => `k8s:app=shared-${i},k8s:io.kubernetes.pod.namespace=race`);
    // A squatter: the first candidate of shared[0] already holds another set, so every process must move on to the second.
    await custom.createClusterCustomObject({ ...base, body: identityManifest(candidates(shared[0]!)[0]!, 'k8s:app=squatter', 'test') });
    const children = [0, 1, 2, 3].map((n) =>
      allocatingChild(child, cp.adminKubeconfig, `node-${n}`, [...shared, `k8s:app=own-${n},k8s:io.kubernetes.pod.namespace=race`]),
    );
    children.forEach((c) => c.go());
    const results = await Promise.all(children.map((c) => c.result));
    for (const set of shared) expect(new Set(results.map((r) => r[set])).size, set).toBe(1);
    expect(results[0]![shared[0]!]).toBe(candidates(shared[0]!)[1]);
    const bySet = new Map<string, number>();
    for (const r of results) for (const [set, id] of Object.entries(r)) bySet.set(set, id);
    expect(bySet.size).toBe(shared.length + 4);
    expect(new Set(bySet.values()).size).toBe(bySet.size);
    // The API server holds exactly one object per set, named by the number every process got.
    const stored = (await list()).map(identityRecord).filter((r) => r && r.labelSet !== 'k8s:app=squatter');
    expect(new Map(stored.map((r) => [r!.labelSet, r!.id]))).toEqual(bySet);
    expect(stored.length).toBe(bySet.size);
  }, 120_000);

  it('the CRD refuses numbers out of range and changes of a set', async () => {
    const refusal = async (body: unknown) => {
      try {
        await custom.createClusterCustomObject({ ...base, body });
        return 'created';
      } catch (err) {
        return String((err as { body?: unknown }).body);
      }
    };
    expect(await refusal(identityManifest(255, 'k8s:app=low', 'test'))).toContain('the name is the identity');
    expect(await refusal({ ...identityManifest(300, 'k8s:app=x', 'test'), metadata: { name: 'not-a-number' } })).toContain('the name is the identity');
    expect(await refusal(identityManifest(CIDR_IDENTITY_FLAG, 'k8s:app=high', 'test'))).toContain('the name is the identity');
    expect(await refusal(identityManifest(301, 'k8s:app=fixed', 'test'))).toBe('created');
    const change = custom.patchClusterCustomObject(
      { ...base, name: '301', body: [{ op: 'replace', path: '/spec/labelSet', value: 'k8s:app=other' }] },
      setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
    );
    await expect(change.catch((err: { body?: unknown }) => Promise.reject(new Error(String(err.body))))).rejects.toThrow('spec is immutable');
    expect(identityRecord((await list()).find((o) => o.metadata?.name === '301')!)?.labelSet).toBe('k8s:app=fixed');
  });

  it('garbage collection: an identity unused for the grace period is deleted, one claimed meanwhile is not', async () => {
    const alloc = new IdentityAllocator(kc, 'gc-node');
    const collector = new IdentityCollector(1000);
    const idle = await alloc.allocate('k8s:app=idle,k8s:io.kubernetes.pod.namespace=gc');
    const busy = await alloc.allocate('k8s:app=busy,k8s:io.kubernetes.pod.namespace=gc');
    const mine = (objects: IdentityObject[]) => objects.filter((o) => [idle.uid, busy.uid].includes(o.metadata?.uid ?? ''));
    expect(collector.due(mine(await list()), [], 0)).toEqual([]);
    const seen = mine(await list());
    // Another agent starts using `busy` after this collector last looked: its claim changes the resourceVersion.
    const claimed = await alloc.claim(busy);
    expect(claimed?.id).toBe(busy.id);
    const due = collector.due(seen, [], 1000);
    expect(due.map((r) => r.id).sort()).toEqual([idle.id, busy.id].sort());
    const deleted = await Promise.all(due.map((r) => alloc.deleteIfUnchanged(r)));
    expect(Object.fromEntries(due.map((r, i) => [r.id, deleted[i]]))).toEqual({ [idle.id]: true, [busy.id]: false });
    const left = new Set((await list()).map((o) => o.metadata?.uid));
    expect(left.has(idle.uid)).toBe(false);
    expect(left.has(busy.uid)).toBe(true);
    // A claim on a deleted identity fails, so its user allocates again (and gets the same number: its first free candidate).
    expect(await alloc.claim(idle)).toBeUndefined();
    const again = await alloc.allocate(idle.labelSet);
    expect(again.id).toBe(idle.id);
    expect(again.uid).not.toBe(idle.uid);
    // A claim on the old object fails against its successor of the same name (the patch tests the uid).
    expect(await alloc.claim(idle)).toBeUndefined();
    expect(await alloc.claim(again)).toBeDefined();
  });
});

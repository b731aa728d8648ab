/**
 * The compiler for one node of several (`compile(..., local)`): endpoints
 * and policy entries for the node's own pods only, every pod in the ipcache,
 * and egress named ports towards another node's pod by that pod's identity
 * where that is exact (never a wrong allow).
 */
import { expect, it } from 'vitest';
import { allocate, compile, DIR_EGRESS, emptyAllocations, labelSetKey, PEER_POD_FLAG, policyPrefixes } from './compile.js';
import type { Cluster, NetworkPolicy } from './model.js';

const web = [{ port: 8080, protocol: 'TCP' as const, name: 'http' }];
const cluster: Cluster = {
  namespaces: [{ name: 'x', labels: { 'kubernetes.io/metadata.name': 'x' } }],
  pods: [
    { namespace: 'x', name: 'client', labels: { app: 'client' }, ip: '10.0.1.1', ports: [] },
    { namespace: 'x', name: 'near', labels: { app: 'web' }, ip: '10.0.1.2', ports: [{ port: 80, protocol: 'TCP', name: 'http' }] },
    { namespace: 'x', name: 'far', labels: { app: 'web' }, ip: '10.0.2.2', ports: web },
  ],
};
const toHttp: NetworkPolicy = {
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { name: 'to-http', namespace: 'x' },
  spec: { podSelector: { matchLabels: { app: 'client' } }, policyTypes: ['Egress'], egress: [{ ports: [{ port: 'http' }] }] },
};

it('gives endpoints to local pods only, the ipcache every pod, named egress ports to remote pods by identity', () => {
  const alloc = allocate(emptyAllocations(), cluster, [toHttp], policyPrefixes([toHttp]));
  const all = compile(cluster, [toHttp], alloc);
  const node = compile(cluster, [toHttp], alloc, undefined, new Set(['x/client', 'x/near']));
  expect([...all.endpoints.keys()].sort()).toEqual(['x/client', 'x/far', 'x/near']);
  expect([...node.endpoints.keys()].sort()).toEqual(['x/client', 'x/near']);
  expect([...node.ipcache.keys()].sort()).toEqual([...all.ipcache.keys()].sort());

  const egress = [...node.policy.values()].filter((e) => e.dir === DIR_EGRESS);
  // The local pod by itself (its number, 80). The remote one shares its identity with `near`, which gives
  // `http` another number: an identity entry for 8080 would let the client into `near` on 8080 too (a
  // wrong allow), so there is none: `far` is denied from this node (never more than the policy says).
  expect(egress.map((e) => [e.peer, e.port])).toEqual([[PEER_POD_FLAG + alloc.endpoints['x/near']!, 80]]);
  // Without `local` both are pods of this node, each by itself.
  expect([...all.policy.values()].filter((e) => e.dir === DIR_EGRESS).every((e) => e.peer >= PEER_POD_FLAG)).toBe(true);
});

it('names a remote pod by its identity where every pod of that identity gives the name the same number', () => {
  const agreeing: Cluster = {
    ...cluster,
    pods: [...cluster.pods.filter((p) => p.name !== 'near'), { namespace: 'x', name: 'far2', labels: { app: 'web' }, ip: '10.0.2.3', ports: web }],
  };
  const alloc = allocate(emptyAllocations(), agreeing, [toHttp], policyPrefixes([toHttp]));
  const node = compile(agreeing, [toHttp], alloc, undefined, new Set(['x/client']));
  const webIdentity = alloc.identities[labelSetKey(agreeing, agreeing.pods[1]!)]!;
  const egress = [...node.policy.values()].filter((e) => e.dir === DIR_EGRESS);
  expect(egress.map((e) => [e.peer, e.port])).toEqual([[webIdentity, 8080]]);
});

import { describe, expect, it } from 'vitest';
import { V1NetworkPolicy, V1NetworkPolicyIngressRule, V1NetworkPolicySpec, V1Pod } from '@kubernetes/client-node';
import { parsePolicies } from '../policy/manifests.js';
import { isAllowed } from '../policy/oracle.js';
import type { Cluster, NetworkPolicy, Pod } from '../policy/model.js';
import { podIpv4, translateAll, translatePod, translatePolicy, translationCache } from './translate.js';

const apiPod = (name: string, extra: Record<string, unknown> = {}) => ({
  metadata: { name, namespace: 'a', labels: { app: name }, uid: 'u', resourceVersion: '7', creationTimestamp: new Date(0) },
  spec: {
    nodeName: 'node-1',
    containers: [
      {
        name: 'c',
        ports: [
          { containerPort: 80, name: 'http' },
          { containerPort: 53, protocol: 'UDP' },
        ],
      },
    ],
  },
  status: { phase: 'Running', podIP: '10.0.0.5', podIPs: [{ ip: '10.0.0.5' }] },
  ...extra,
});

describe('pods', () => {
  it('takes the IPv4 address from status.podIPs, with named ports and protocols', () => {
    expect(translatePod(apiPod('p'))).toEqual({
      namespace: 'a',
      name: 'p',
      labels: { app: 'p' },
      ip: '10.0.0.5',
      ports: [
        { port: 80, protocol: 'TCP', name: 'http' },
        { port: 53, protocol: 'UDP' },
      ],
    });
    expect(podIpv4({ status: { podIP: 'fd00::5', podIPs: [{ ip: 'fd00::5' }, { ip: '10.0.0.9' }] } })).toBe('10.0.0.9');
  });

  it('leaves out pods without an IPv4 address, on the host network, and finished pods', () => {
    expect(translatePod(apiPod('p', { status: { phase: 'Pending' } }))).toBeUndefined();
    expect(translatePod(apiPod('p', { status: { phase: 'Running', podIP: 'fd00::1', podIPs: [{ ip: 'fd00::1' }] } }))).toBeUndefined();
    const base = apiPod('p');
    expect(translatePod({ ...base, spec: { ...base.spec, hostNetwork: true } })).toBeUndefined();
    for (const phase of ['Succeeded', 'Failed']) {
      expect(translatePod(apiPod('p', { status: { phase, podIP: '10.0.0.5', podIPs: [{ ip: '10.0.0.5' }] } }))).toBeUndefined();
    }
  });

  it('counts the ports of sidecars (init containers that keep running), not of other init containers', () => {
    const base = apiPod('p');
    const initContainers = [
      { name: 'proxy', restartPolicy: 'Always', ports: [{ containerPort: 15001, name: 'proxy' }] },
      { name: 'setup', ports: [{ containerPort: 9999 }] },
    ];
    expect(translatePod({ ...base, spec: { ...base.spec, initContainers } })?.ports.map((p) => p.port)).toEqual([80, 53, 15001]);
  });

  it('reads client-node typed objects as well as plain JSON', () => {
    const typed = Object.assign(new V1Pod(), apiPod('p'));
    expect(translatePod(typed)?.ip).toBe('10.0.0.5');
  });

  it('builds the cluster: pods of listed namespaces only, one pod per address, nodes remembered', () => {
    const t = translateAll({
      namespaces: [{ metadata: { name: 'a', labels: { team: 'x' } } }],
      pods: [
        apiPod('q'),
        apiPod('p'),
        { ...apiPod('r'), metadata: { name: 'r', namespace: 'unlisted' } },
        { ...apiPod('s'), status: { phase: 'Running', podIP: '10.0.0.6', podIPs: [{ ip: '10.0.0.6' }] } },
      ],
      policies: [],
    });
    expect(t.cluster.namespaces).toEqual([{ name: 'a', labels: { team: 'x', 'kubernetes.io/metadata.name': 'a' } }]);
    expect(t.cluster.pods.map((p) => p.name)).toEqual(['p', 's']);
    expect(t.podProblems).toEqual([{ pod: 'a/q', reason: "address 10.0.0.5 is also pod a/p's" }]);
    expect(t.nodeOf.get('a/p')).toBe('node-1');
  });
});

/** What client-node's deserializer makes of a policy: its model classes, `from` renamed `_from`. */
const ObjectSerializerLike = {
  policy(api: { metadata: object; spec: NetworkPolicy['spec'] }): V1NetworkPolicy {
    const rule = (r: object & { from?: unknown }) => {
      const { from, ...rest } = r;
      return Object.assign(new V1NetworkPolicyIngressRule(), rest, { _from: from });
    };
    return Object.assign(new V1NetworkPolicy(), {
      metadata: api.metadata,
      spec: Object.assign(new V1NetworkPolicySpec(), { ...api.spec, ingress: api.spec.ingress?.map(rule), egress: undefined }),
    });
  },
};

const yaml = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: web, namespace: a }
spec:
  podSelector: { matchLabels: { app: web } }
  policyTypes: [Ingress]
  ingress:
    - from: [{ podSelector: { matchLabels: { app: client } } }]
      ports: [{ protocol: TCP, port: 80 }]
`;

describe('policies', () => {
  it('an API object (a list item without apiVersion and kind, with server metadata) equals the parsed manifest', () => {
    const [expected] = parsePolicies(yaml);
    const api = {
      metadata: { name: 'web', namespace: 'a', uid: 'x', generation: 1, resourceVersion: '9', finalizers: ['f'], ownerReferences: [] },
      spec: expected!.spec,
    };
    expect(translatePolicy(api)).toEqual({ policy: expected });
    // client-node's classes (what its list calls return) call `from` `_from`.
    const typed = ObjectSerializerLike.policy(api);
    expect(JSON.stringify(typed)).toContain('"_from"');
    expect(translatePolicy(typed)).toEqual({ policy: expected });
  });

  it('a policy the firewall cannot take fails closed: it isolates what it selects and allows nothing', () => {
    const [valid] = parsePolicies(yaml);
    // endPort with a named port is refused by the schema (the API server refuses it too; a newer field would be refused the same way).
    const bad = {
      metadata: { name: 'web', namespace: 'a' },
      spec: { ...valid!.spec, ingress: [{ from: [{ podSelector: {} }], ports: [{ port: 'http', endPort: 90 }] }] },
    };
    const { policy, problem } = translatePolicy(bad);
    expect(problem?.error.code).toBe('POLICY_INVALID');
    expect(problem?.error.message).toContain('spec.ingress[0].ports[0].endPort');
    expect(policy).toEqual({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'web', namespace: 'a' },
      spec: { podSelector: { matchLabels: { app: 'web' } }, policyTypes: ['Ingress'], ingress: [] },
    });
    const pod = (name: string, ip: string): Pod => ({ namespace: 'a', name, labels: { app: name }, ip, ports: [{ port: 80, protocol: 'TCP' }] });
    const web = pod('web', '10.0.0.1');
    const client = pod('client', '10.0.0.2');
    const cluster: Cluster = { namespaces: [{ name: 'a', labels: { 'kubernetes.io/metadata.name': 'a' } }], pods: [web, client] };
    const flow = { from: client, to: web, port: 80, protocol: 'TCP' as const };
    expect(isAllowed(cluster, [valid!], flow)).toBe(true);
    expect(isAllowed(cluster, [policy], flow)).toBe(false);
    expect(isAllowed(cluster, [policy], { ...flow, from: web, to: client })).toBe(true);
  });

  it('an unreadable selector or policyTypes isolates the whole namespace in both directions', () => {
    const { policy, problem } = translatePolicy({
      metadata: { name: 'x', namespace: 'a' },
      spec: { podSelector: { matchFields: {} }, policyTypes: ['Sideways'] },
    });
    expect(problem).toBeDefined();
    expect(policy.spec).toEqual({ podSelector: {}, policyTypes: ['Ingress', 'Egress'], ingress: [], egress: [] });
    const t = translateAll({ namespaces: [], pods: [], policies: [{ metadata: { name: 'x', namespace: 'a' }, spec: 7 }] });
    expect(t.policyProblems.map((p) => p.policy)).toEqual(['a/x']);
    expect(t.policies[0]?.spec.podSelector).toEqual({});
  });

  it('IPv6 ipBlock peers match no IPv4 flow: they are left out, and a rule left without peers goes (never "from everyone")', () => {
    const spec = {
      podSelector: {},
      ingress: [
        { from: [{ ipBlock: { cidr: 'fd00::/8' } }, { ipBlock: { cidr: '10.0.0.0/8' } }] },
        { from: [{ ipBlock: { cidr: '::/0' } }], ports: [{ port: 22 }] },
      ],
      egress: [{ to: [{ ipBlock: { cidr: '2001:db8::/32' } }] }],
    };
    const { policy, problem } = translatePolicy({ metadata: { name: 'v6', namespace: 'a' }, spec });
    expect(problem).toBeUndefined();
    expect(policy.spec).toEqual({
      podSelector: {},
      policyTypes: ['Ingress', 'Egress'],
      ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/8' } }] }],
      egress: [],
    });
  });

  it('with a cache, an unchanged API object is translated once; a replaced one again', () => {
    const cache = translationCache();
    const [valid] = parsePolicies(yaml);
    const raw = { metadata: { name: 'web', namespace: 'a' }, spec: valid!.spec };
    const input = { namespaces: [], pods: [], policies: [raw] };
    const first = translateAll(input, cache).policies[0];
    expect(translateAll(input, cache).policies[0]).toBe(first);
    const replaced = { ...raw, spec: { ...valid!.spec, policyTypes: ['Ingress', 'Egress'] as const } };
    expect(translateAll({ ...input, policies: [replaced] }, cache).policies[0]?.spec.policyTypes).toEqual(['Ingress', 'Egress']);
  });
});

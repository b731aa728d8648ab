/** parsePolicies on manifests it must accept, and serializePolicies back. */
import { describe, expect, it } from 'vitest';
import { scenarios } from '../conformance/scenarios.js';
import { parsePolicies, serializePolicies } from './manifests.js';
import { policyKey, type NetworkPolicy } from './model.js';

const header = (name: string, namespace?: string) =>
  `apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: ${name}\n${namespace ? `  namespace: ${namespace}\n` : ''}`;

/** A policy named `p` in namespace x with the given `spec:` block. */
const withSpec = (spec: string) => `${header('p', 'x')}spec:\n${spec}`;

describe('parsePolicies: good manifests', () => {
  it('parses a default deny, defaulting the namespace and leaving policyTypes absent', () => {
    const [p, ...rest] = parsePolicies(`${header('default-deny')}spec:\n  podSelector: {}\n`);
    expect(rest).toEqual([]);
    expect(p).toEqual({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'default-deny', namespace: 'default' },
      spec: { podSelector: {} },
    });
  });

  it('parses a multi-document file, skipping empty documents', () => {
    const yaml = [
      `${header('deny-ingress', 'x')}spec:\n  podSelector: {}\n  policyTypes: [Ingress]\n`,
      '# just a comment\n',
      `${header('deny-egress', 'x')}spec:\n  podSelector: {}\n  policyTypes: [Egress]\n`,
      '',
    ].join('---\n');
    const policies = parsePolicies(yaml);
    expect(policies.map((p) => [p.metadata.name, p.spec.policyTypes])).toEqual([
      ['deny-ingress', ['Ingress']],
      ['deny-egress', ['Egress']],
    ]);
  });

  it('returns nothing for an empty file', () => {
    expect(parsePolicies('')).toEqual([]);
    expect(parsePolicies('---\n')).toEqual([]);
  });

  it('keeps namespaceSelector AND podSelector in one peer, and separate peers as OR', () => {
    const [p] = parsePolicies(
      withSpec(`  podSelector:
    matchLabels: { pod: a }
  ingress:
    - from:
        - namespaceSelector: { matchLabels: { ns: y } }
          podSelector: { matchLabels: { pod: b } }
        - podSelector:
            matchExpressions:
              - { key: pod, operator: In, values: [b, c] }
              - { key: role, operator: DoesNotExist }
`),
    );
    expect(p?.spec.ingress).toEqual([
      {
        from: [
          { namespaceSelector: { matchLabels: { ns: 'y' } }, podSelector: { matchLabels: { pod: 'b' } } },
          {
            podSelector: {
              matchExpressions: [
                { key: 'pod', operator: 'In', values: ['b', 'c'] },
                { key: 'role', operator: 'DoesNotExist' },
              ],
            },
          },
        ],
      },
    ]);
  });

  it('fills in the TCP default on ports, and accepts named ports and endPort', () => {
    const [p] = parsePolicies(
      withSpec(`  podSelector: {}
  ingress:
    - ports:
        - port: 80
        - { port: serve-81-udp, protocol: UDP }
        - { port: 32000, endPort: 32768 }
        - protocol: SCTP
`),
    );
    expect(p?.spec.ingress?.[0]?.ports).toEqual([
      { protocol: 'TCP', port: 80 },
      { protocol: 'UDP', port: 'serve-81-udp' },
      { protocol: 'TCP', port: 32000, endPort: 32768 },
      { protocol: 'SCTP' },
    ]);
  });

  it('accepts an ipBlock with except (host bits in cidr allowed, as Kubernetes does)', () => {
    const [p] = parsePolicies(
      withSpec(`  podSelector: {}
  policyTypes: [Egress]
  egress:
    - to:
        - ipBlock:
            cidr: 10.244.2.77/24
            except: [10.244.2.12/32, 10.244.2.128/25]
`),
    );
    expect(p?.spec.egress?.[0]?.to?.[0]).toEqual({ ipBlock: { cidr: '10.244.2.77/24', except: ['10.244.2.12/32', '10.244.2.128/25'] } });
  });

  it('accepts allow-all ingress, kubernetes.io/metadata.name selectors and ignores labels, annotations, status', () => {
    const [p] = parsePolicies(`apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: allow.all
  namespace: y
  labels: { team: blue }
  annotations: { note: "anything: goes" }
  resourceVersion: "42"
spec:
  podSelector:
    matchLabels: { kubernetes.io/metadata.name: "y", app.kubernetes.io/name: web }
  ingress: [{}]
status: {}
`);
    expect(p).toEqual({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'allow.all', namespace: 'y' },
      spec: {
        podSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'y', 'app.kubernetes.io/name': 'web' } },
        ingress: [{}],
      },
    });
  });

  it('treats YAML nulls as absent fields (`from:` with nothing after it)', () => {
    const [p] = parsePolicies(withSpec('  podSelector: {}\n  ingress:\n    - from:\n      ports:\n        - port: 80\n'));
    expect(p?.spec.ingress).toEqual([{ ports: [{ protocol: 'TCP', port: 80 }] }]);
  });

  it('accepts a kind: List of policies, as kubectl get -o yaml prints', () => {
    const yaml = `apiVersion: v1
kind: List
metadata: { resourceVersion: "" }
items:
  - ${header('one', 'x').trimEnd().replace(/\n/g, '\n    ')}
    spec: { podSelector: {} }
  - ${header('two', 'x').trimEnd().replace(/\n/g, '\n    ')}
    spec: { podSelector: {}, policyTypes: [Egress] }
`;
    expect(parsePolicies(yaml).map((p) => p.metadata.name)).toEqual(['one', 'two']);
  });

  it('round-trips through serializePolicies', () => {
    const policies = scenarios.flatMap((s) => s.steps.flatMap((step) => (step.apply ? parsePolicies(step.apply) : [])));
    // Names repeat across scenarios, so round-trip each policy on its own.
    for (const p of policies) expect(parsePolicies(serializePolicies([p]))).toEqual([p]);
    const distinct: NetworkPolicy[] = [...new Map(policies.map((p) => [policyKey(p), p])).values()];
    expect(parsePolicies(serializePolicies(distinct))).toEqual(distinct);
    expect(serializePolicies([])).toBe('');
  });
});

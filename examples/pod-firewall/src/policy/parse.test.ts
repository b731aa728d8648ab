import { describe, expect, it } from 'vitest';
import { conformanceCluster, scenarios } from '../conformance/scenarios.js';
import type { NetworkPolicy } from './model.js';
import { PolicyError, parseCluster, parsePolicies, serializePolicies } from './parse.js';

const header = (name: string, namespace?: string) =>
  `apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: ${name}\n${namespace ? `  namespace: ${namespace}\n` : ''}`;

/** A policy named `p` in namespace x with the given `spec:` block. */
const withSpec = (spec: string) => `${header('p', 'x')}spec:\n${spec}`;

function policyError(yaml: string): PolicyError {
  try {
    parsePolicies(yaml);
  } catch (e) {
    if (e instanceof PolicyError) return e;
    throw e;
  }
  throw new Error('expected a PolicyError');
}

function clusterError(yaml: string): PolicyError {
  try {
    parseCluster(yaml);
  } catch (e) {
    if (e instanceof PolicyError) return e;
    throw e;
  }
  throw new Error('expected a PolicyError');
}

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
    const distinct: NetworkPolicy[] = [...new Map(policies.map((p) => [`${p.metadata.namespace}/${p.metadata.name}`, p])).values()];
    expect(parsePolicies(serializePolicies(distinct))).toEqual(distinct);
    expect(serializePolicies([])).toBe('');
  });
});

describe('parsePolicies: bad manifests name the field', () => {
  const cases: { what: string; yaml: string; path: string; message: RegExp; document?: number }[] = [
    {
      what: 'wrong apiVersion',
      yaml: 'apiVersion: networking.k8s.io/v1beta1\nkind: NetworkPolicy\nmetadata: { name: p }\nspec: { podSelector: {} }\n',
      path: 'apiVersion',
      message: /must be "networking.k8s.io\/v1"/,
    },
    {
      what: 'wrong kind',
      yaml: 'apiVersion: networking.k8s.io/v1\nkind: Service\nmetadata: { name: p }\nspec: { podSelector: {} }\n',
      path: 'kind',
      message: /must be "NetworkPolicy"/,
    },
    {
      what: 'missing name',
      yaml: 'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: { namespace: x }\nspec: { podSelector: {} }\n',
      path: 'metadata.name',
      message: /required/,
    },
    {
      what: 'name not a DNS subdomain',
      yaml: `${header('Deny_All')}spec: { podSelector: {} }\n`,
      path: 'metadata.name',
      message: /lowercase alphanumerics/,
    },
    {
      what: 'missing podSelector',
      yaml: withSpec('  policyTypes: [Ingress]\n'),
      path: 'spec.podSelector',
      message: /required/,
    },
    {
      what: 'bad operator',
      yaml: withSpec('  podSelector:\n    matchExpressions: [{ key: pod, operator: Equals, values: [a] }]\n'),
      path: 'spec.podSelector.matchExpressions[0].operator',
      message: /one of "In", "NotIn", "Exists", "DoesNotExist"/,
    },
    {
      what: 'In without values',
      yaml: withSpec('  podSelector:\n    matchExpressions: [{ key: pod, operator: In }]\n'),
      path: 'spec.podSelector.matchExpressions[0].values',
      message: /non-empty for operator In/,
    },
    {
      what: 'Exists with values',
      yaml: withSpec('  podSelector:\n    matchExpressions: [{ key: pod, operator: Exists, values: [a] }]\n'),
      path: 'spec.podSelector.matchExpressions[0].values',
      message: /must be empty for operator Exists/,
    },
    {
      what: 'unquoted number as a label value',
      yaml: withSpec('  podSelector:\n    matchLabels: { version: 2 }\n'),
      path: 'spec.podSelector.matchLabels.version',
      message: /must be a string.*quote it/,
    },
    {
      what: 'label value too long',
      yaml: withSpec(`  podSelector:\n    matchLabels: { app: ${'a'.repeat(64)} }\n`),
      path: 'spec.podSelector.matchLabels.app',
      message: /at most 63/,
    },
    {
      what: 'unknown policyType',
      yaml: withSpec('  podSelector: {}\n  policyTypes: [Ingress, Egres]\n'),
      path: 'spec.policyTypes[1]',
      message: /one of "Ingress", "Egress"/,
    },
    {
      what: 'duplicate policyType',
      yaml: withSpec('  podSelector: {}\n  policyTypes: [Ingress, Ingress]\n'),
      path: 'spec.policyTypes[1]',
      message: /duplicate/,
    },
    {
      what: 'endPort without port',
      yaml: withSpec('  podSelector: {}\n  ingress:\n    - ports: [{ endPort: 81 }]\n'),
      path: 'spec.ingress[0].ports[0].endPort',
      message: /requires port/,
    },
    {
      what: 'endPort with a named port',
      yaml: withSpec('  podSelector: {}\n  ingress:\n    - ports: [{ port: http, endPort: 81 }]\n'),
      path: 'spec.ingress[0].ports[0].endPort',
      message: /named port/,
    },
    {
      what: 'endPort < port',
      yaml: withSpec('  podSelector: {}\n  ingress:\n    - ports:\n        - port: 80\n        - { port: 81, endPort: 80 }\n'),
      path: 'spec.ingress[0].ports[1].endPort',
      message: /must be >= port/,
    },
    {
      what: 'endPort above 65535',
      yaml: withSpec('  podSelector: {}\n  ingress:\n    - ports: [{ port: 80, endPort: 65536 }]\n'),
      path: 'spec.ingress[0].ports[0].endPort',
      message: /<= 65535/,
    },
    {
      what: 'port 0',
      yaml: withSpec('  podSelector: {}\n  ingress:\n    - ports: [{ port: 0 }]\n'),
      path: 'spec.ingress[0].ports[0].port',
      message: /between 1 and 65535/,
    },
    {
      what: 'port 70000',
      yaml: withSpec('  podSelector: {}\n  egress:\n    - ports: [{ port: 70000 }]\n'),
      path: 'spec.egress[0].ports[0].port',
      message: /between 1 and 65535/,
    },
    {
      what: 'fractional port',
      yaml: withSpec('  podSelector: {}\n  egress:\n    - ports: [{ port: 80.5 }]\n'),
      path: 'spec.egress[0].ports[0].port',
      message: /port number or a port name/,
    },
    {
      what: 'bad named port (uppercase)',
      yaml: withSpec('  podSelector: {}\n  ingress:\n    - ports: [{ port: HTTP }]\n'),
      path: 'spec.ingress[0].ports[0].port',
      message: /not a valid port name/,
    },
    {
      what: 'bad named port (double dash)',
      yaml: withSpec('  podSelector: {}\n  ingress:\n    - ports: [{ port: serve--80 }]\n'),
      path: 'spec.ingress[0].ports[0].port',
      message: /'--'/,
    },
    {
      what: 'bad named port (quoted number)',
      yaml: withSpec('  podSelector: {}\n  ingress:\n    - ports: [{ port: "80" }]\n'),
      path: 'spec.ingress[0].ports[0].port',
      message: /without quotes/,
    },
    {
      what: 'bad named port (too long)',
      yaml: withSpec('  podSelector: {}\n  ingress:\n    - ports: [{ port: abcdefghijklmnop }]\n'),
      path: 'spec.ingress[0].ports[0].port',
      message: /1-15 characters/,
    },
    {
      what: 'lowercase protocol',
      yaml: withSpec('  podSelector: {}\n  ingress:\n    - ports: [{ port: 80, protocol: tcp }]\n'),
      path: 'spec.ingress[0].ports[0].protocol',
      message: /one of "TCP", "UDP", "SCTP"/,
    },
    {
      what: 'ipBlock with podSelector',
      yaml: withSpec(
        '  podSelector: {}\n  ingress:\n    - from:\n        - ipBlock: { cidr: 10.0.0.0/8 }\n          podSelector: {}\n',
      ),
      path: 'spec.ingress[0].from[0].ipBlock',
      message: /cannot be combined/,
    },
    {
      what: 'empty peer',
      yaml: withSpec('  podSelector: {}\n  ingress:\n    - from: [{}]\n'),
      path: 'spec.ingress[0].from[0]',
      message: /at least one of podSelector, namespaceSelector, ipBlock/,
    },
    {
      what: 'except outside cidr',
      yaml: withSpec(
        '  podSelector: {}\n  egress:\n    - to:\n        - ipBlock: { cidr: 10.244.2.0/24, except: [10.244.2.12/32, 10.244.3.0/28] }\n',
      ),
      path: 'spec.egress[0].to[0].ipBlock.except[1]',
      message: /not inside cidr/,
    },
    {
      what: 'except equal to cidr',
      yaml: withSpec('  podSelector: {}\n  egress:\n    - to:\n        - ipBlock: { cidr: 10.244.2.0/24, except: [10.244.2.0/24] }\n'),
      path: 'spec.egress[0].to[0].ipBlock.except[0]',
      message: /strictly more specific/,
    },
    {
      what: 'bad CIDR (octet)',
      yaml: withSpec('  podSelector: {}\n  ingress:\n    - from:\n        - ipBlock: { cidr: 10.300.0.0/16 }\n'),
      path: 'spec.ingress[0].from[0].ipBlock.cidr',
      message: /not an IPv4 CIDR/,
    },
    {
      what: 'bad CIDR (no length)',
      yaml: withSpec('  podSelector: {}\n  ingress:\n    - from:\n        - ipBlock: { cidr: 10.0.0.0 }\n'),
      path: 'spec.ingress[0].from[0].ipBlock.cidr',
      message: /not an IPv4 CIDR/,
    },
    {
      what: 'bad CIDR (length 33)',
      yaml: withSpec('  podSelector: {}\n  ingress:\n    - from:\n        - ipBlock: { cidr: 10.0.0.0/33 }\n'),
      path: 'spec.ingress[0].from[0].ipBlock.cidr',
      message: /not an IPv4 CIDR/,
    },
    {
      what: 'unknown field spec.ingres',
      yaml: withSpec('  podSelector: {}\n  ingres:\n    - {}\n'),
      path: 'spec.ingres',
      message: /unknown field \(did you mean "ingress"\?\)/,
    },
    {
      what: 'misspelt podSelector (reported as unknown, not as missing)',
      yaml: withSpec('  podselector: {}\n'),
      path: 'spec.podselector',
      message: /unknown field \(did you mean "podSelector"\?\)/,
    },
    {
      what: 'unknown field inside a peer',
      yaml: withSpec('  podSelector: {}\n  ingress:\n    - from:\n        - namespace: { matchLabels: { ns: y } }\n'),
      path: 'spec.ingress[0].from[0].namespace',
      message: /unknown field/,
    },
    {
      what: 'misspelt metadata.namespace (would otherwise silently become default)',
      yaml: 'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: { name: p, namesapce: x }\nspec: { podSelector: {} }\n',
      path: 'metadata.namesapce',
      message: /unknown field \(did you mean "namespace"\?\)/,
    },
    {
      what: 'a non-mapping document',
      yaml: '- just\n- a list\n',
      path: '',
      message: /must be a mapping/,
    },
    {
      what: 'duplicate namespace/name',
      yaml: `${header('p', 'x')}spec: { podSelector: {} }\n---\n${header('p', 'x')}spec: { podSelector: {} }\n`,
      path: 'metadata.name',
      message: /duplicate NetworkPolicy x\/p/,
      document: 1,
    },
  ];

  for (const c of cases) {
    it(c.what, () => {
      const err = policyError(c.yaml);
      expect(err.code).toBe('POLICY_INVALID');
      expect(err.path).toBe(c.path);
      expect(err.document).toBe(c.document ?? 0);
      expect(err.message).toMatch(c.message);
      if (c.path) expect(err.message).toContain(`: ${c.path}: `);
    });
  }

  it('formats the message with policy name, document index, field and line', () => {
    const yaml = [
      `${header('ok-1', 'x')}spec: { podSelector: {} }\n`,
      `${header('ok-2', 'x')}spec: { podSelector: {} }\n`,
      withSpec('  podSelector: {}\n  ingress:\n    - ports:\n        - port: 80\n        - { port: 81, endPort: 79 }\n').replace(
        'name: p',
        'name: deny',
      ),
    ].join('---\n');
    const err = policyError(yaml);
    expect(err.message).toMatch(/^NetworkPolicy "deny" \(document 2\): spec\.ingress\[0\]\.ports\[1\]\.endPort: must be >= port/);
    expect(err.document).toBe(2);
    expect(err.line).toBe(yaml.split('\n').findIndex((l) => l.includes('endPort: 79')) + 1);
  });

  it('reports the item inside a List', () => {
    const err = policyError(`apiVersion: v1
kind: List
items:
  - apiVersion: networking.k8s.io/v1
    kind: NetworkPolicy
    metadata: { name: fine }
    spec: { podSelector: {} }
  - apiVersion: networking.k8s.io/v1
    kind: NetworkPolicy
    metadata: { name: broken }
    spec: { podSelector: {}, policyTypes: [Sideways] }
`);
    expect(err.path).toBe('items[1].spec.policyTypes[0]');
    expect(err.message).toContain('NetworkPolicy "broken" (document 0)');
    expect(err.line).toBe(11);
  });

  it('reports YAML syntax errors with their line', () => {
    const yaml = `${header('p', 'x')}spec: { podSelector: {} }\n---\n${header('q', 'x')}spec:\n  podSelector: {\n  ingress: [\n`;
    const err = policyError(yaml);
    expect(err.code).toBe('YAML_INVALID');
    expect(err.document).toBe(1);
    expect(err.line).toBeGreaterThan(8);
    expect(err.message).toMatch(/^YAML syntax error \(document 1\) at line \d+, column \d+: /);
  });

  it('reports duplicate keys as YAML errors', () => {
    const err = policyError(withSpec('  podSelector: {}\n  podSelector: {}\n'));
    expect(err.code).toBe('YAML_INVALID');
    expect(err.line).toBe(8); // the second podSelector
  });
});

describe('parseCluster', () => {
  it('allocates pod IPs per namespace /24 in a /16 and adds kubernetes.io/metadata.name', () => {
    const cluster = parseCluster(conformanceCluster);
    expect(cluster.namespaces).toEqual(
      ['x', 'y', 'z'].map((ns) => ({ name: ns, labels: { ns, 'kubernetes.io/metadata.name': ns } })),
    );
    expect(cluster.pods.map((p) => `${p.namespace}/${p.name}=${p.ip}`)).toEqual([
      'x/a=10.244.1.11',
      'x/b=10.244.1.12',
      'x/c=10.244.1.13',
      'y/a=10.244.2.11',
      'y/b=10.244.2.12',
      'y/c=10.244.2.13',
      'z/a=10.244.3.11',
      'z/b=10.244.3.12',
      'z/c=10.244.3.13',
    ]);
    const pod = cluster.pods[0];
    expect(pod?.labels).toEqual({ pod: 'a' });
    expect(pod?.ports).toEqual([
      { port: 80, protocol: 'TCP', name: 'serve-80-tcp' },
      { port: 80, protocol: 'UDP', name: 'serve-80-udp' },
      { port: 81, protocol: 'TCP', name: 'serve-81-tcp' },
      { port: 81, protocol: 'UDP', name: 'serve-81-udp' },
    ]);
  });

  it('keeps given IPs, skips them when allocating, and defaults podCidr and port protocol', () => {
    const cluster = parseCluster(`namespaces:
  - name: x
    pods:
      - { name: a }
      - { name: b, ip: 10.244.1.11, ports: [{ port: 8080 }] }
      - { name: c }
`);
    expect(cluster.pods.map((p) => p.ip)).toEqual(['10.244.1.12', '10.244.1.11', '10.244.1.13']);
    expect(cluster.pods[1]?.ports).toEqual([{ port: 8080, protocol: 'TCP' }]);
    expect(cluster.namespaces[0]?.labels).toEqual({ 'kubernetes.io/metadata.name': 'x' });
  });

  it('allocates sequentially from network + 11 for other podCidr sizes', () => {
    const cluster = parseCluster(`podCidr: 192.168.10.0/24
namespaces:
  - name: x
    pods: [{ name: a }, { name: b, ip: 192.168.10.12 }]
  - name: y
    pods: [{ name: a }]
`);
    expect(cluster.pods.map((p) => p.ip)).toEqual(['192.168.10.11', '192.168.10.12', '192.168.10.13']);
  });

  it('fails when a small podCidr runs out of addresses', () => {
    const err = clusterError('podCidr: 10.0.0.0/29\nnamespaces:\n  - name: x\n    pods: [{ name: a }]\n');
    expect(err.code).toBe('CLUSTER_INVALID');
    expect(err.path).toBe('namespaces[0].pods[0]');
  });

  const cases: { what: string; yaml: string; path: string; message: RegExp }[] = [
    {
      what: 'duplicate pod',
      yaml: 'namespaces:\n  - name: x\n    pods: [{ name: a }, { name: b }, { name: a }]\n',
      path: 'namespaces[0].pods[2].name',
      message: /duplicate pod name "a" in namespace "x"/,
    },
    {
      what: 'duplicate namespace',
      yaml: 'namespaces:\n  - name: x\n  - name: y\n  - name: x\n',
      path: 'namespaces[2].name',
      message: /duplicate namespace "x"/,
    },
    {
      what: 'IP outside podCidr',
      yaml: 'podCidr: 10.244.0.0/16\nnamespaces:\n  - name: x\n    pods: [{ name: a, ip: 10.245.0.11 }]\n',
      path: 'namespaces[0].pods[0].ip',
      message: /outside podCidr 10.244.0.0\/16/,
    },
    {
      what: 'duplicate IP',
      yaml: 'namespaces:\n  - name: x\n    pods: [{ name: a, ip: 10.244.1.5 }]\n  - name: y\n    pods: [{ name: a, ip: 10.244.1.5 }]\n',
      path: 'namespaces[1].pods[0].ip',
      message: /already used by pod x\/a/,
    },
    {
      what: 'bad IP',
      yaml: 'namespaces:\n  - name: x\n    pods: [{ name: a, ip: 10.244.1 }]\n',
      path: 'namespaces[0].pods[0].ip',
      message: /not an IPv4 address/,
    },
    {
      what: 'bad namespace name',
      yaml: 'namespaces:\n  - name: X\n',
      path: 'namespaces[0].name',
      message: /lowercase alphanumerics/,
    },
    {
      what: 'pod name with a dot (a DNS label, not a subdomain)',
      yaml: 'namespaces:\n  - name: x\n    pods: [{ name: a.b }]\n',
      path: 'namespaces[0].pods[0].name',
      message: /lowercase alphanumerics/,
    },
    {
      what: 'bad container port name',
      yaml: 'namespaces:\n  - name: x\n    pods: [{ name: a, ports: [{ port: 80, name: Serve }] }]\n',
      path: 'namespaces[0].pods[0].ports[0].name',
      message: /not a valid port name/,
    },
    {
      what: 'duplicate container port name',
      yaml: 'namespaces:\n  - name: x\n    pods: [{ name: a, ports: [{ port: 80, name: web }, { port: 81, name: web }] }]\n',
      path: 'namespaces[0].pods[0].ports[1].name',
      message: /duplicate port name/,
    },
    {
      what: 'bad podCidr',
      yaml: 'podCidr: 10.244.0.0\nnamespaces: []\n',
      path: 'podCidr',
      message: /not an IPv4 CIDR/,
    },
    {
      what: 'unknown field',
      yaml: 'namespaces:\n  - name: x\n    pod: []\n',
      path: 'namespaces[0].pod',
      message: /unknown field \(did you mean "pods"\?\)/,
    },
    {
      what: 'conflicting kubernetes.io/metadata.name',
      yaml: 'namespaces:\n  - name: x\n    labels: { kubernetes.io/metadata.name: y }\n',
      path: 'namespaces[0].labels["kubernetes.io/metadata.name"]',
      message: /must equal the namespace name/,
    },
    {
      what: 'missing namespaces',
      yaml: 'podCidr: 10.244.0.0/16\n',
      path: 'namespaces',
      message: /required/,
    },
  ];

  for (const c of cases) {
    it(c.what, () => {
      const err = clusterError(c.yaml);
      expect(err.code).toBe('CLUSTER_INVALID');
      expect(err.path).toBe(c.path);
      expect(err.message).toMatch(c.message);
      expect(err.message).toContain(`Cluster: ${c.path}: `);
    });
  }

  it('reports the line of the offending field', () => {
    expect(clusterError('namespaces:\n  - name: x\n    pods:\n      - name: a\n      - name: a\n').line).toBe(5);
  });

  it('rejects empty and multi-document files, and YAML errors', () => {
    expect(clusterError('').code).toBe('CLUSTER_INVALID');
    expect(clusterError('namespaces: []\n---\nnamespaces: []\n').message).toMatch(/single YAML document/);
    const err = clusterError('namespaces:\n  - name: x\n   pods: []\n');
    expect(err.code).toBe('YAML_INVALID');
    expect(err.message).toMatch(/line 3/);
  });
});

describe('conformance catalog', () => {
  it('has at least 30 uniquely named scenarios, each with steps and tags', () => {
    expect(scenarios.length).toBeGreaterThanOrEqual(30);
    expect(new Set(scenarios.map((s) => s.name)).size).toBe(scenarios.length);
    for (const s of scenarios) {
      expect(s.name).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/);
      expect(s.steps.length, s.name).toBeGreaterThan(0);
      expect(s.tags.length, s.name).toBeGreaterThan(0);
    }
  });

  const cluster = parseCluster(conformanceCluster);
  const podKeys = new Set(cluster.pods.map((p) => `${p.namespace}/${p.name}`));
  const namespaces = new Set(cluster.namespaces.map((n) => n.name));

  for (const s of scenarios) {
    it(`${s.name}: every step parses and refers to existing objects`, () => {
      const live = new Set<string>();
      for (const step of s.steps) {
        for (const key of step.delete ?? []) {
          expect(live.has(key), `${s.name} deletes ${key}, which was never applied`).toBe(true);
          live.delete(key);
        }
        for (const p of step.apply ? parsePolicies(step.apply) : []) {
          expect(namespaces.has(p.metadata.namespace)).toBe(true);
          live.add(`${p.metadata.namespace}/${p.metadata.name}`);
        }
        for (const key of Object.keys(step.podLabels ?? {})) expect(podKeys.has(key), key).toBe(true);
        for (const ns of Object.keys(step.namespaceLabels ?? {})) expect(namespaces.has(ns), ns).toBe(true);
        const changes = [step.apply, step.delete, step.podLabels, step.namespaceLabels].filter((x) => x !== undefined);
        expect(changes.length, `${s.name} has an empty step`).toBeGreaterThan(0);
      }
    });
  }
});

/** parsePolicies on manifests it must refuse: the error names the field, the document and the line. */
import { TsbpfError } from '@tsbpf/object';
import { describe, expect, it } from 'vitest';
import { PolicyError } from './errors.js';
import { parsePolicies } from './manifests.js';

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
      yaml: withSpec('  podSelector: {}\n  ingress:\n    - from:\n        - ipBlock: { cidr: 10.0.0.0/8 }\n          podSelector: {}\n'),
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
      yaml: withSpec('  podSelector: {}\n  egress:\n    - to:\n        - ipBlock: { cidr: 10.244.2.0/24, except: [10.244.2.12/32, 10.244.3.0/28] }\n'),
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

  it('is a TsbpfError, so every tsbpf consumer (the CLI among them) reports it as a typed failure', () => {
    const err = policyError(withSpec('  podSelector: []\n'));
    expect(TsbpfError.is(err)).toBe(true);
    expect([err.name, err.code, err.detail]).toEqual(['PolicyError', 'POLICY_INVALID', err.message]);
  });

  it('formats the message with policy name, document index, field and line', () => {
    const yaml = [
      `${header('ok-1', 'x')}spec: { podSelector: {} }\n`,
      `${header('ok-2', 'x')}spec: { podSelector: {} }\n`,
      withSpec('  podSelector: {}\n  ingress:\n    - ports:\n        - port: 80\n        - { port: 81, endPort: 79 }\n').replace('name: p', 'name: deny'),
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

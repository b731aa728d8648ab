/** parseCluster: IP allocation, defaults, and errors naming the field. */
import { describe, expect, it } from 'vitest';
import { conformanceCluster } from '../conformance/scenarios.js';
import { parseCluster } from './cluster-file.js';
import { PolicyError } from './errors.js';

function clusterError(yaml: string): PolicyError {
  try {
    parseCluster(yaml);
  } catch (e) {
    if (e instanceof PolicyError) return e;
    throw e;
  }
  throw new Error('expected a PolicyError');
}

describe('parseCluster', () => {
  it('allocates pod IPs per namespace /24 in a /16 and adds kubernetes.io/metadata.name', () => {
    const cluster = parseCluster(conformanceCluster);
    expect(cluster.namespaces).toEqual(['x', 'y', 'z'].map((ns) => ({ name: ns, labels: { ns, 'kubernetes.io/metadata.name': ns } })));
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

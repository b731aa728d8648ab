/**
 * The vocabulary conformance scenarios are written in: what a scenario is
 * (steps of policies to apply, policies to delete, labels to change), the
 * upstream cluster they run on (namespaces x, y, z, each with pods a, b, c
 * serving 80 and 81 on TCP and UDP), and short builders of NetworkPolicy
 * YAML.
 */

export interface ScenarioStep {
  /** Multi-document NetworkPolicy YAML to apply (create or replace by namespace/name). */
  apply?: string;
  /** Policies to delete, as 'namespace/name'. */
  delete?: string[];
  /** Replace a pod's labels: 'ns/pod' -> labels. */
  podLabels?: Record<string, Record<string, string>>;
  /** Replace a namespace's labels (kubernetes.io/metadata.name is kept): 'ns' -> labels. */
  namespaceLabels?: Record<string, Record<string, string>>;
}

export interface Scenario {
  name: string;
  tags: string[];
  steps: ScenarioStep[];
}

const ports = `
        ports:
          - { port: 80, protocol: TCP, name: serve-80-tcp }
          - { port: 80, protocol: UDP, name: serve-80-udp }
          - { port: 81, protocol: TCP, name: serve-81-tcp }
          - { port: 81, protocol: UDP, name: serve-81-udp }`;

const pods = ['a', 'b', 'c'].map((p) => `\n      - name: ${p}\n        labels: { pod: ${p} }${ports}`).join('');

/** IPs are allocated: x/a=10.244.1.11, x/b=10.244.1.12, ..., y/b=10.244.2.12, ..., z/c=10.244.3.13. */
export const conformanceCluster: string = `podCidr: 10.244.0.0/16
namespaces:
${['x', 'y', 'z'].map((ns) => `  - name: ${ns}\n    labels: { ns: ${ns} }\n    pods:${pods}`).join('\n')}
`;

/** Strips the common indentation of a template literal so specs can be written in place. */
export function dedent(text: string): string {
  const lines = text.replace(/^\n/, '').replace(/\s+$/, '').split('\n');
  const indent = Math.min(...lines.filter((l) => l.trim() !== '').map((l) => l.length - l.trimStart().length));
  return lines.map((l) => l.slice(indent)).join('\n');
}

/** One NetworkPolicy document; `spec` is the body of `spec:`, written at any indentation. */
export function policy(namespace: string, name: string, spec: string): string {
  const body = dedent(spec)
    .split('\n')
    .map((l) => (l === '' ? l : `  ${l}`))
    .join('\n');
  return `apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: ${name}\n  namespace: ${namespace}\nspec:\n${body}\n`;
}

export const docs = (...policies: string[]) => policies.join('---\n');

export const denyIngress = (ns: string) => policy(ns, 'deny-ingress', 'podSelector: {}\npolicyTypes: [Ingress]');
export const denyEgress = (ns: string) => policy(ns, 'deny-egress', 'podSelector: {}\npolicyTypes: [Egress]');

/** Policies on x/a only, the usual upstream "server" pod. */
export const onXA = (name: string, spec: string) => policy('x', name, `podSelector:\n  matchLabels: { pod: a }\n${dedent(spec)}`);

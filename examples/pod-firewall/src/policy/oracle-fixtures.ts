/**
 * The oracle tests' fixture: the upstream e2e cluster (x, y, z × a, b, c),
 * policies and selectors written in one line each, and truth tables drawn
 * the way the upstream e2e suite prints them (`grid`), to compare with
 * hand-written ones (`table`).
 */
import { podKey } from './model.js';
import type { Cluster, ContainerPort, NetworkPolicy, Pod, Protocol } from './model.js';
import { isAllowed } from './oracle.js';

// The upstream e2e cluster: namespaces x, y, z, each with pods a, b, c serving 80 and 81 over TCP and UDP.
export const NAMESPACES = ['x', 'y', 'z'] as const;
const POD_NAMES = ['a', 'b', 'c'] as const;
const SERVE_PORTS: readonly ContainerPort[] = [
  { port: 80, protocol: 'TCP', name: 'serve-80-tcp' },
  { port: 81, protocol: 'TCP', name: 'serve-81-tcp' },
  { port: 80, protocol: 'UDP', name: 'serve-80-udp' },
  { port: 81, protocol: 'UDP', name: 'serve-81-udp' },
];

export const cluster: Cluster = {
  namespaces: NAMESPACES.map((ns) => ({ name: ns, labels: { ns, 'kubernetes.io/metadata.name': ns } })),
  pods: NAMESPACES.flatMap((namespace, i) =>
    POD_NAMES.map((name, j) => ({
      namespace,
      name,
      labels: { pod: name },
      ip: `10.244.${i + 1}.${j + 11}`,
      ports: SERVE_PORTS,
    })),
  ),
};

export function pod(key: string, c: Cluster = cluster): Pod {
  const found = c.pods.find((p) => podKey(p) === key);
  if (!found) throw new Error(`no pod ${key}`);
  return found;
}

export function policy(namespace: string, name: string, spec: NetworkPolicy['spec']): NetworkPolicy {
  return { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name, namespace }, spec };
}

export const allowed = (policies: readonly NetworkPolicy[], from: string, to: string, port = 80, protocol: Protocol = 'TCP') =>
  isAllowed(cluster, policies, { from: pod(from), to: pod(to), port, protocol });

/**
 * Renders the verdicts for one probe as a table, like the upstream e2e reachability output: one row per source pod,
 * one column per destination pod (grouped as x/abc y/abc z/abc), '.' allowed and 'X' denied.
 */
export function grid(policies: readonly NetworkPolicy[], port = 80, protocol: Protocol = 'TCP', c: Cluster = cluster): string {
  return c.pods
    .map((from) => {
      const groups = NAMESPACES.map((ns) =>
        c.pods
          .filter((to) => to.namespace === ns)
          .map((to) => (isAllowed(c, policies, { from, to, port, protocol }) ? '.' : 'X'))
          .join(''),
      );
      return `${podKey(from)} ${groups.join(' ')}`;
    })
    .join('\n');
}

/** A hand-written expected table, indentation stripped. */
export const table = (text: string) =>
  text
    .trim()
    .split('\n')
    .map((line) => line.trim())
    .join('\n');

export const ALL_ALLOWED = table(`
  x/a ... ... ...
  x/b ... ... ...
  x/c ... ... ...
  y/a ... ... ...
  y/b ... ... ...
  y/c ... ... ...
  z/a ... ... ...
  z/b ... ... ...
  z/c ... ... ...
`);

export const denyIngress = (ns: string) => policy(ns, 'deny-ingress', { podSelector: {} });
export const denyEgress = (ns: string) => policy(ns, 'deny-egress', { podSelector: {}, policyTypes: ['Egress'] });
export const denyBoth = (ns: string) => policy(ns, 'deny-all', { podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
/** Selectors by one label, as used in peers: `{ matchLabels: { ns } }` and `{ matchLabels: { pod } }`. */
export const nsSel = (ns: string) => ({ matchLabels: { ns } });
export const podSel = (pod: string) => ({ matchLabels: { pod } });
/** Ingress to x/a from the given peers only. */
export const ingressToXA = (spec: Omit<NetworkPolicy['spec'], 'podSelector'>) => policy('x', 'to-x-a', { podSelector: { matchLabels: { pod: 'a' } }, ...spec });

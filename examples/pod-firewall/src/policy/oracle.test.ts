import { describe, expect, it } from 'vitest';
import { podKey } from './model.js';
import type { Cluster, ContainerPort, NetworkPolicy, Pod, Protocol } from './model.js';
import { cidrContains, isAllowed, parseCidr, parseIPv4, reachability, selectorMatches } from './oracle.js';

// The upstream e2e cluster: namespaces x, y, z, each with pods a, b, c serving 80 and 81 over TCP and UDP.
const NAMESPACES = ['x', 'y', 'z'] as const;
const POD_NAMES = ['a', 'b', 'c'] as const;
const SERVE_PORTS: readonly ContainerPort[] = [
  { port: 80, protocol: 'TCP', name: 'serve-80-tcp' },
  { port: 81, protocol: 'TCP', name: 'serve-81-tcp' },
  { port: 80, protocol: 'UDP', name: 'serve-80-udp' },
  { port: 81, protocol: 'UDP', name: 'serve-81-udp' },
];

const cluster: Cluster = {
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

function pod(key: string, c: Cluster = cluster): Pod {
  const found = c.pods.find((p) => podKey(p) === key);
  if (!found) throw new Error(`no pod ${key}`);
  return found;
}

function policy(namespace: string, name: string, spec: NetworkPolicy['spec']): NetworkPolicy {
  return { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name, namespace }, spec };
}

const allowed = (policies: readonly NetworkPolicy[], from: string, to: string, port = 80, protocol: Protocol = 'TCP') =>
  isAllowed(cluster, policies, { from: pod(from), to: pod(to), port, protocol });

/**
 * Renders the verdicts for one probe as a table, like the upstream e2e reachability output: one row per source pod,
 * one column per destination pod (grouped as x/abc y/abc z/abc), '.' allowed and 'X' denied.
 */
function grid(policies: readonly NetworkPolicy[], port = 80, protocol: Protocol = 'TCP', c: Cluster = cluster): string {
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
const table = (text: string) =>
  text
    .trim()
    .split('\n')
    .map((line) => line.trim())
    .join('\n');

const ALL_ALLOWED = table(`
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

const denyIngress = (ns: string) => policy(ns, 'deny-ingress', { podSelector: {} });
const denyEgress = (ns: string) => policy(ns, 'deny-egress', { podSelector: {}, policyTypes: ['Egress'] });
const denyBoth = (ns: string) => policy(ns, 'deny-all', { podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
/** Selectors by one label, as used in peers: `{ matchLabels: { ns } }` and `{ matchLabels: { pod } }`. */
const nsSel = (ns: string) => ({ matchLabels: { ns } });
const podSel = (pod: string) => ({ matchLabels: { pod } });
/** Ingress to x/a from the given peers only. */
const ingressToXA = (spec: Omit<NetworkPolicy['spec'], 'podSelector'>) =>
  policy('x', 'to-x-a', { podSelector: { matchLabels: { pod: 'a' } }, ...spec });

describe('selectorMatches', () => {
  const labels = { pod: 'a', tier: 'web' };

  it('matches everything with an empty selector and ANDs matchLabels with matchExpressions', () => {
    expect(selectorMatches({}, {})).toBe(true);
    expect(selectorMatches({}, labels)).toBe(true);
    expect(selectorMatches({ matchLabels: { pod: 'a', tier: 'web' } }, labels)).toBe(true);
    expect(selectorMatches({ matchLabels: { pod: 'a', tier: 'db' } }, labels)).toBe(false);
    expect(selectorMatches({ matchLabels: { team: 'blue' } }, labels)).toBe(false);
    const both = { matchLabels: { pod: 'a' }, matchExpressions: [{ key: 'tier', operator: 'In' as const, values: ['db'] }] };
    expect(selectorMatches(both, labels)).toBe(false);
    expect(selectorMatches(both, { pod: 'a', tier: 'db' })).toBe(true);
    // Prototype properties are not labels.
    expect(selectorMatches({ matchExpressions: [{ key: 'constructor', operator: 'Exists' }] }, labels)).toBe(false);
  });

  it('In needs the key present with a listed value; NotIn matches a different value or an absent key', () => {
    const inAB = { matchExpressions: [{ key: 'pod', operator: 'In' as const, values: ['a', 'b'] }] };
    expect(selectorMatches(inAB, { pod: 'a' })).toBe(true);
    expect(selectorMatches(inAB, { pod: 'c' })).toBe(false);
    expect(selectorMatches(inAB, {})).toBe(false);
    const notInAB = { matchExpressions: [{ key: 'pod', operator: 'NotIn' as const, values: ['a', 'b'] }] };
    expect(selectorMatches(notInAB, { pod: 'a' })).toBe(false);
    expect(selectorMatches(notInAB, { pod: 'c' })).toBe(true);
    expect(selectorMatches(notInAB, {})).toBe(true);
    expect(selectorMatches(notInAB, { other: 'a' })).toBe(true);
  });

  it('Exists and DoesNotExist look only at the key', () => {
    const exists = { matchExpressions: [{ key: 'tier', operator: 'Exists' as const }] };
    const doesNotExist = { matchExpressions: [{ key: 'tier', operator: 'DoesNotExist' as const }] };
    expect(selectorMatches(exists, { tier: '' })).toBe(true);
    expect(selectorMatches(exists, { pod: 'a' })).toBe(false);
    expect(selectorMatches(doesNotExist, { tier: '' })).toBe(false);
    expect(selectorMatches(doesNotExist, { pod: 'a' })).toBe(true);
  });
});

describe('CIDR helpers', () => {
  it('parses IPv4 addresses and CIDRs and tests containment', () => {
    expect(parseIPv4('10.244.1.11')).toBe(10 * 2 ** 24 + 244 * 2 ** 16 + 1 * 2 ** 8 + 11);
    expect(parseIPv4('255.255.255.255')).toBe(2 ** 32 - 1);
    expect(cidrContains('10.244.0.0/16', '10.244.3.13')).toBe(true);
    expect(cidrContains('10.244.0.0/16', '10.245.0.1')).toBe(false);
    expect(cidrContains('10.244.1.11/32', '10.244.1.11')).toBe(true);
    expect(cidrContains('10.244.1.11/32', '10.244.1.12')).toBe(false);
    expect(cidrContains('0.0.0.0/0', '255.255.255.255')).toBe(true);
    expect(cidrContains('10.244.1.99/24', '10.244.1.11')).toBe(true); // Host bits are ignored.
    expect(cidrContains('128.0.0.0/1', '127.255.255.255')).toBe(false);
    expect(cidrContains('128.0.0.0/1', '128.0.0.0')).toBe(true);
  });

  it('throws clear errors on invalid input', () => {
    for (const bad of ['10.0.0', '10.0.0.256', '10.0.0.01', '10.0.0.-1', 'a.b.c.d', '', '10.0.0.1.2']) {
      expect(() => parseIPv4(bad)).toThrow(/invalid IPv4 address/);
    }
    for (const bad of ['10.0.0.0', '10.0.0.0/33', '10.0.0.0/', '10.0.0.0/08', '10.0.0/8', 'fd00::/8', '10.0.0.0/8/8']) {
      expect(() => parseCidr(bad)).toThrow(/invalid CIDR/);
    }
  });
});

describe('isAllowed', () => {
  it('allows everything without policies', () => {
    expect(grid([])).toBe(ALL_ALLOWED);
    expect(grid([], 81, 'UDP')).toBe(ALL_ALLOWED);
  });

  it('default-deny ingress in x denies all ingress to x pods, except a pod to itself', () => {
    expect(grid([denyIngress('x')])).toBe(
      table(`
        x/a .XX ... ...
        x/b X.X ... ...
        x/c XX. ... ...
        y/a XXX ... ...
        y/b XXX ... ...
        y/c XXX ... ...
        z/a XXX ... ...
        z/b XXX ... ...
        z/c XXX ... ...
      `),
    );
  });

  it('default-deny egress in x denies all egress from x pods, except a pod to itself', () => {
    expect(grid([denyEgress('x')])).toBe(
      table(`
        x/a .XX XXX XXX
        x/b X.X XXX XXX
        x/c XX. XXX XXX
        y/a ... ... ...
        y/b ... ... ...
        y/c ... ... ...
        z/a ... ... ...
        z/b ... ... ...
        z/c ... ... ...
      `),
    );
  });

  it('deny-all in both directions in every namespace still lets each pod reach itself, on every port', () => {
    const policies = NAMESPACES.map(denyBoth);
    const expected = table(`
      x/a .XX XXX XXX
      x/b X.X XXX XXX
      x/c XX. XXX XXX
      y/a XXX .XX XXX
      y/b XXX X.X XXX
      y/c XXX XX. XXX
      z/a XXX XXX .XX
      z/b XXX XXX X.X
      z/c XXX XXX XX.
    `);
    expect(grid(policies)).toBe(expected);
    expect(grid(policies, 9999, 'SCTP')).toBe(expected);
  });

  it('a policy selects only pods of its own namespace', () => {
    // Deny-all ingress in y does not isolate x/a or z/a, even though its podSelector {} would match their labels.
    expect(grid([denyIngress('y')])).toBe(
      table(`
        x/a ... XXX ...
        x/b ... XXX ...
        x/c ... XXX ...
        y/a ... .XX ...
        y/b ... X.X ...
        y/c ... XX. ...
        z/a ... XXX ...
        z/b ... XXX ...
        z/c ... XXX ...
      `),
    );
  });

  it('namespaceSelector and podSelector in ONE peer are ANDed', () => {
    const p = ingressToXA({ ingress: [{ from: [{ namespaceSelector: nsSel('y'), podSelector: podSel('b') }] }] });
    expect(grid([p])).toBe(
      table(`
        x/a ... ... ...
        x/b X.. ... ...
        x/c X.. ... ...
        y/a X.. ... ...
        y/b ... ... ...
        y/c X.. ... ...
        z/a X.. ... ...
        z/b X.. ... ...
        z/c X.. ... ...
      `),
    );
  });

  it('namespaceSelector and podSelector in TWO peers are ORed; a podSelector-only peer means the policy namespace', () => {
    const p = ingressToXA({ ingress: [{ from: [{ namespaceSelector: nsSel('y') }, { podSelector: podSel('b') }] }] });
    expect(grid([p])).toBe(
      table(`
        x/a ... ... ...
        x/b ... ... ...
        x/c X.. ... ...
        y/a ... ... ...
        y/b ... ... ...
        y/c ... ... ...
        z/a X.. ... ...
        z/b X.. ... ...
        z/c X.. ... ...
      `),
    );
  });

  it('an empty namespaceSelector {} means every namespace, unlike an absent one', () => {
    const p = ingressToXA({ ingress: [{ from: [{ namespaceSelector: {}, podSelector: podSel('b') }] }] });
    expect(grid([p])).toBe(
      table(`
        x/a ... ... ...
        x/b ... ... ...
        x/c X.. ... ...
        y/a X.. ... ...
        y/b ... ... ...
        y/c X.. ... ...
        z/a X.. ... ...
        z/b ... ... ...
        z/c X.. ... ...
      `),
    );
  });

  it('matchExpressions in peers: NotIn and DoesNotExist match an absent key, In and Exists do not', () => {
    // Namespace NotIn [y] keeps x and z; the metadata.name label works like any other.
    const nameNotInY = { key: 'kubernetes.io/metadata.name', operator: 'NotIn' as const, values: ['y'] };
    const notInY = ingressToXA({ ingress: [{ from: [{ namespaceSelector: { matchExpressions: [nameNotInY] } }] }] });
    expect(grid([notInY])).toBe(
      table(`
        x/a ... ... ...
        x/b ... ... ...
        x/c ... ... ...
        y/a X.. ... ...
        y/b X.. ... ...
        y/c X.. ... ...
        z/a ... ... ...
        z/b ... ... ...
        z/c ... ... ...
      `),
    );
    // No pod has a 'team' label: NotIn and DoesNotExist select every pod of x, In and Exists select none.
    const fromX = (operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist') =>
      ingressToXA({
        ingress: [{ from: [{ podSelector: { matchExpressions: [{ key: 'team', operator, values: ['blue'] }] } }] }],
      });
    for (const op of ['NotIn', 'DoesNotExist'] as const) {
      expect(allowed([fromX(op)], 'x/b', 'x/a'), op).toBe(true);
      expect(allowed([fromX(op)], 'y/b', 'x/a'), op).toBe(false);
    }
    for (const op of ['In', 'Exists'] as const) expect(allowed([fromX(op)], 'x/b', 'x/a'), op).toBe(false);
    // Exists/In on a key that is present.
    const podInC = { key: 'pod', operator: 'In' as const, values: ['c'] };
    const podIn = ingressToXA({ ingress: [{ from: [{ podSelector: { matchExpressions: [podInC] } }] }] });
    expect([allowed([podIn], 'x/b', 'x/a'), allowed([podIn], 'x/c', 'x/a')]).toEqual([false, true]);
  });

  it('policyTypes defaults to Ingress+Egress when egress rules are present: ingress becomes deny-all', () => {
    // x/a may only send to x/b, and (no ingress rules) receives from nobody.
    const p = policy('x', 'egress-only-rules', { podSelector: podSel('a'), egress: [{ to: [{ podSelector: podSel('b') }] }] });
    expect(grid([p])).toBe(
      table(`
        x/a ..X XXX XXX
        x/b X.. ... ...
        x/c X.. ... ...
        y/a X.. ... ...
        y/b X.. ... ...
        y/c X.. ... ...
        z/a X.. ... ...
        z/b X.. ... ...
        z/c X.. ... ...
      `),
    );
  });

  it('policyTypes defaults to Ingress only when there are only ingress rules: egress is not isolated', () => {
    const p = ingressToXA({ ingress: [{ from: [{ podSelector: podSel('b') }] }] });
    expect(grid([p])).toBe(
      table(`
        x/a ... ... ...
        x/b ... ... ...
        x/c X.. ... ...
        y/a X.. ... ...
        y/b X.. ... ...
        y/c X.. ... ...
        z/a X.. ... ...
        z/b X.. ... ...
        z/c X.. ... ...
      `),
    );
  });

  it('explicit policyTypes win: ingress rules of an Egress-only policy are ignored', () => {
    const p = ingressToXA({ policyTypes: ['Egress'], ingress: [{ from: [{ podSelector: podSel('b') }] }], egress: [{}] });
    expect(grid([p])).toBe(ALL_ALLOWED);
  });

  it('ingress: [] denies all, ingress: [{}] allows all', () => {
    const empty = ingressToXA({ policyTypes: ['Ingress'], ingress: [] });
    const allowAll = ingressToXA({ policyTypes: ['Ingress'], ingress: [{}] });
    expect([allowed([empty], 'x/b', 'x/a'), allowed([empty], 'z/c', 'x/a', 81, 'UDP')]).toEqual([false, false]);
    expect([allowed([allowAll], 'x/b', 'x/a'), allowed([allowAll], 'z/c', 'x/a', 81, 'UDP')]).toEqual([true, true]);
    expect(grid([allowAll])).toBe(ALL_ALLOWED);
    // egress: [{}] likewise allows everything out.
    expect(grid([policy('x', 'allow-egress', { podSelector: {}, policyTypes: ['Egress'], egress: [{}] })])).toBe(ALL_ALLOWED);
  });

  it('a port entry without protocol means TCP: a UDP probe is denied', () => {
    const p = ingressToXA({ ingress: [{ ports: [{ port: 80 }] }] });
    expect(allowed([p], 'y/b', 'x/a', 80, 'TCP')).toBe(true);
    expect(allowed([p], 'y/b', 'x/a', 81, 'TCP')).toBe(false);
    expect(allowed([p], 'y/b', 'x/a', 80, 'UDP')).toBe(false);
    expect(allowed([p], 'y/b', 'x/a', 80, 'SCTP')).toBe(false);
    // A protocol without a port means every port of that protocol.
    const anyUdp = ingressToXA({ ingress: [{ ports: [{ protocol: 'UDP' }] }] });
    expect([allowed([anyUdp], 'y/b', 'x/a', 80, 'UDP'), allowed([anyUdp], 'y/b', 'x/a', 12345, 'UDP')]).toEqual([true, true]);
    expect(allowed([anyUdp], 'y/b', 'x/a', 80, 'TCP')).toBe(false);
  });

  it('peers AND ports: both must match within one rule', () => {
    const p = ingressToXA({ ingress: [{ from: [{ podSelector: podSel('b') }], ports: [{ port: 81 }] }] });
    expect(allowed([p], 'x/b', 'x/a', 81)).toBe(true);
    expect(allowed([p], 'x/b', 'x/a', 80)).toBe(false);
    expect(allowed([p], 'x/c', 'x/a', 81)).toBe(false);
  });

  it('endPort is an inclusive numeric range', () => {
    const p = ingressToXA({ ingress: [{ ports: [{ port: 80, endPort: 81 }] }] });
    expect([79, 80, 81, 82].map((port) => allowed([p], 'z/c', 'x/a', port))).toEqual([false, true, true, false]);
    expect(allowed([p], 'z/c', 'x/a', 80, 'UDP')).toBe(false);
  });

  it('named ports in ingress resolve on the destination pod, with the entry protocol', () => {
    const udp81 = ingressToXA({ ingress: [{ ports: [{ port: 'serve-81-udp', protocol: 'UDP' }] }] });
    expect(allowed([udp81], 'y/b', 'x/a', 81, 'UDP')).toBe(true);
    expect(allowed([udp81], 'y/b', 'x/a', 80, 'UDP')).toBe(false);
    expect(allowed([udp81], 'y/b', 'x/a', 81, 'TCP')).toBe(false);
    // Without a protocol the entry means TCP, and x/a has no TCP port named serve-81-udp: nothing matches.
    const tcpDefault = ingressToXA({ ingress: [{ ports: [{ port: 'serve-81-udp' }] }] });
    const protocols = ['TCP', 'UDP'] as const;
    const probes = [80, 81].flatMap((port) => protocols.map((pr) => allowed([tcpDefault], 'y/b', 'x/a', port, pr)));
    expect(probes).toEqual([false, false, false, false]);
    const tcp80 = ingressToXA({ ingress: [{ ports: [{ port: 'serve-80-tcp' }] }] });
    expect([allowed([tcp80], 'y/b', 'x/a', 80, 'TCP'), allowed([tcp80], 'y/b', 'x/a', 81, 'TCP')]).toEqual([true, false]);
  });

  it('named ports in egress resolve on the destination pod, not the source', () => {
    // x/a names 80 'web'; z/c names 8080 'web'; y/a has no 'web' port.
    const withPorts = (key: string, ports: readonly ContainerPort[]) => (p: Pod) => (podKey(p) === key ? { ...p, ports } : p);
    const c: Cluster = {
      ...cluster,
      pods: cluster.pods
        .map(withPorts('x/a', [{ port: 80, protocol: 'TCP', name: 'web' }]))
        .map(withPorts('z/c', [{ port: 8080, protocol: 'TCP', name: 'web' }])),
    };
    const egress = [{ ports: [{ port: 'web' }] }];
    const p = policy('x', 'egress-web', { podSelector: podSel('a'), policyTypes: ['Egress'], egress });
    const check = (to: string, port: number) => isAllowed(c, [p], { from: pod('x/a', c), to: pod(to, c), port, protocol: 'TCP' });
    expect(check('z/c', 8080)).toBe(true);
    expect(check('z/c', 80)).toBe(false);
    expect(check('y/a', 80)).toBe(false);
    expect(check('y/a', 8080)).toBe(false);
  });

  it('ipBlock with except matches pod IPs, ignoring namespaces', () => {
    // 10.244.0.0/16 covers every pod; except 10.244.2.0/24 removes namespace y; 10.244.3.12/32 is z/b.
    const ipBlock = { cidr: '10.244.0.0/16', except: ['10.244.2.0/24', '10.244.3.12/32'] };
    const p = ingressToXA({ ingress: [{ from: [{ ipBlock }] }] });
    expect(grid([p])).toBe(
      table(`
        x/a ... ... ...
        x/b ... ... ...
        x/c ... ... ...
        y/a X.. ... ...
        y/b X.. ... ...
        y/c X.. ... ...
        z/a ... ... ...
        z/b X.. ... ...
        z/c ... ... ...
      `),
    );
  });

  it('ipBlock in egress matches the destination pod IP', () => {
    const egress = [{ to: [{ ipBlock: { cidr: '10.244.2.12/32' } }] }];
    const p = policy('z', 'egress-to-y-b', { podSelector: {}, policyTypes: ['Egress'], egress });
    expect(grid([p])).toBe(
      table(`
        x/a ... ... ...
        x/b ... ... ...
        x/c ... ... ...
        y/a ... ... ...
        y/b ... ... ...
        y/c ... ... ...
        z/a XXX X.X .XX
        z/b XXX X.X X.X
        z/c XXX X.X XX.
      `),
    );
  });

  it('stacked policies are additive: a deny-all does not override another policy allowing', () => {
    const fromYB = ingressToXA({ ingress: [{ from: [{ namespaceSelector: nsSel('y'), podSelector: podSel('b') }] }] });
    const fromZ = policy('x', 'from-z', { podSelector: {}, ingress: [{ from: [{ namespaceSelector: nsSel('z') }] }] });
    expect(grid([denyIngress('x'), fromYB, fromZ])).toBe(
      table(`
        x/a .XX ... ...
        x/b X.X ... ...
        x/c XX. ... ...
        y/a XXX ... ...
        y/b .XX ... ...
        y/c XXX ... ...
        z/a ... ... ...
        z/b ... ... ...
        z/c ... ... ...
      `),
    );
  });

  it('a flow needs both egress from the source and ingress to the destination', () => {
    // x may send only to y; y accepts only from z.
    const egress = [{ to: [{ namespaceSelector: nsSel('y') }] }];
    const xToY = policy('x', 'to-y', { podSelector: {}, policyTypes: ['Egress'], egress });
    const yFromZ = policy('y', 'from-z', { podSelector: {}, ingress: [{ from: [{ namespaceSelector: nsSel('z') }] }] });
    expect(allowed([xToY], 'x/a', 'y/a')).toBe(true);
    expect(allowed([xToY, yFromZ], 'x/a', 'y/a')).toBe(false); // Egress allowed, ingress denied.
    expect(allowed([xToY, yFromZ], 'z/a', 'y/a')).toBe(true);
    expect(allowed([xToY, yFromZ], 'x/a', 'z/a')).toBe(false); // Ingress not isolated, egress denied.
    expect(grid([xToY, yFromZ])).toBe(
      table(`
        x/a .XX XXX XXX
        x/b X.X XXX XXX
        x/c XX. XXX XXX
        y/a ... .XX ...
        y/b ... X.X ...
        y/c ... XX. ...
        z/a ... ... ...
        z/b ... ... ...
        z/c ... ... ...
      `),
    );
  });
});

describe('reachability', () => {
  it('has one entry per ordered pod pair (self included) and probe, keyed from->to:protocol/port', () => {
    const probes = [
      { port: 80, protocol: 'TCP' as const },
      { port: 81, protocol: 'UDP' as const },
    ];
    const p = ingressToXA({ ingress: [{ ports: [{ port: 80 }] }] });
    const r = reachability(cluster, [denyEgress('z'), p], probes);
    expect(r.size).toBe(9 * 9 * 2);
    expect(r.get('y/b->x/a:TCP/80')).toBe(true);
    expect(r.get('y/b->x/a:UDP/81')).toBe(false);
    expect(r.get('y/b->x/b:UDP/81')).toBe(true);
    expect(r.get('z/a->z/a:UDP/81')).toBe(true);
    expect(r.get('z/a->z/b:TCP/80')).toBe(false);
    expect(r.get('x/a->z/a:TCP/80')).toBe(true);
    expect([...r.values()].filter((v) => !v).length).toBe(
      // z denies egress to the 8 other pods on both probes; x/a denies UDP/81 from the 5 other pods outside z.
      3 * 8 * 2 + 5,
    );
  });
});

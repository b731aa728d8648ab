/** isAllowed, what a rule matches: ports (protocol, ranges, named), ipBlocks, stacked policies, both directions. */
import { describe, expect, it } from 'vitest';
import { ALL_ALLOWED, allowed, cluster, denyEgress, denyIngress, grid, ingressToXA, nsSel, pod, podSel, policy, table } from './oracle-fixtures.js';
import { podKey, type Cluster, type ContainerPort, type Pod } from './model.js';
import { isAllowed } from './oracle.js';

describe('isAllowed: ports, ipBlocks, stacking', () => {
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

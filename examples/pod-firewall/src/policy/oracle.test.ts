/** The oracle's building blocks: label selectors, IPv4 and CIDR helpers, and the reachability table's shape. */
import { describe, expect, it } from 'vitest';
import { cluster, denyEgress, ingressToXA } from './oracle-fixtures.js';
import { cidrContains, parseCidr, parseIPv4, reachability, selectorMatches } from './oracle.js';

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

import { describe, expect, it } from 'vitest';
import { probeKey } from './policy/model.js';
import type { FlowEvent } from './datapath/layout.js';
import {
  clockTime,
  deniedFlows,
  flowEventJson,
  formatCombinedMatrix,
  formatCounters,
  formatFlowEvent,
  formatMatrix,
  formatDatapath,
  formatStatus,
  monotonicClock,
  pickEvents,
  summarizeProbe,
  table,
  toJson,
  type EventLookup,
  type Status,
} from './format.js';

const pods = ['x/a', 'x/b', 'y/a'];
const tcp80 = { port: 80, protocol: 'TCP' };
const udp81 = { port: 81, protocol: 'UDP' };

/** Every pair allowed on both ports, except what `denied` lists. */
function results(denied: string[]): Map<string, boolean> {
  const m = new Map<string, boolean>();
  for (const from of pods) for (const to of pods) if (from !== to) for (const p of [tcp80, udp81]) m.set(probeKey(from, to, p), true);
  for (const k of denied) m.set(k, false);
  return m;
}

describe('table', () => {
  it('pads columns to their widest cell and trims line ends', () => {
    expect(
      table([
        ['A', 'BB', 'C'],
        ['long', 'x', ''],
      ]),
    ).toBe('A     BB  C\nlong  x');
  });
});

describe('formatMatrix', () => {
  it('prints one truth table per port: destinations across, sources down', () => {
    const r = results(['y/a->x/a:TCP/80', 'x/b->x/a:TCP/80', 'y/a->x/b:UDP/81']);
    expect(formatMatrix(pods, r, [tcp80, udp81])).toBe(
      [
        'TCP/80  x/a  x/b  y/a',
        'x/a     -    .    .',
        'x/b     X    -    .',
        'y/a     X    .    -',
        '',
        'UDP/81  x/a  x/b  y/a',
        'x/a     -    .    .',
        'x/b     .    -    .',
        'y/a     .    X    -',
      ].join('\n'),
    );
  });

  it('marks pairs that were not probed with ?', () => {
    const r = new Map([[probeKey('x/a', 'x/b', tcp80), true]]);
    expect(formatMatrix(['x/a', 'x/b'], r, [tcp80])).toBe('TCP/80  x/a  x/b\nx/a     -    .\nx/b     ?    -');
  });

  it('puts every port in one cell in the combined form, in the order given', () => {
    const r = results(['x/b->x/a:UDP/81']);
    expect(formatCombinedMatrix(pods, r, [tcp80, udp81])).toBe(
      ['TO ->  x/a  x/b  y/a', 'x/a    --   ..   ..', 'x/b    .X   --   ..', 'y/a    ..   ..   --'].join('\n'),
    );
  });

  it('lists and counts the blocked flows', () => {
    const r = results(['y/a->x/a:TCP/80', 'x/b->x/a:TCP/80']);
    expect(deniedFlows(r)).toEqual(['x/b->x/a:TCP/80', 'y/a->x/a:TCP/80']);
    expect(summarizeProbe(r)).toBe('2 of 12 flows blocked');
  });
});

describe('flow events', () => {
  const at = new Date(2024, 4, 17, 9, 5, 3, 42); // local time, as printed
  const lookup: EventLookup = {
    pod: (ip) => ({ '10.244.1.11': 'x/a', '10.244.2.12': 'y/b' })[ip],
    policy: (id) => (id === 3 ? 'x/allow-web' : undefined),
    time: () => at,
  };
  const event = (over: Partial<FlowEvent>): FlowEvent => ({
    timestampNs: 1_000n,
    saddr: '10.244.2.12',
    daddr: '10.244.1.11',
    sport: 43210,
    dport: 80,
    proto: 6,
    dir: 1,
    verdict: 2,
    reason: 4,
    ifindex: 7,
    endpointId: 1,
    endpointIdentity: 10,
    peerIdentity: 11,
    policyId: 0,
    ...over,
  });

  it('prints a denial with pods, addresses, protocol, verdict, direction and reason', () => {
    expect(formatFlowEvent(event({}), lookup)).toBe('09:05:03.042  y/b 10.244.2.12:43210 -> x/a 10.244.1.11:80 TCP  DENIED   ingress  deny-policy');
  });

  it('names the policy that allowed a flow; direction 0 is egress', () => {
    const line = formatFlowEvent(event({ verdict: 1, reason: 2, policyId: 3, dir: 0, proto: 17 }), lookup);
    expect(line).toBe('09:05:03.042  y/b 10.244.2.12:43210 -> x/a 10.244.1.11:80 UDP  ALLOWED  egress   policy x/allow-web');
  });

  it('falls back to addresses, policy ids and numbers it cannot name', () => {
    const line = formatFlowEvent(event({ saddr: '192.0.2.1', verdict: 1, policyId: 9, proto: 1 }), lookup);
    expect(line).toBe('09:05:03.042  192.0.2.1 -> x/a 10.244.1.11 ICMP  ALLOWED  ingress  policy #9');
    expect(formatFlowEvent(event({ proto: 47, verdict: 7, reason: 99 }), lookup)).toContain('-> x/a 10.244.1.11 proto-47  verdict-7  ingress  reason-99');
  });

  it('gives JSON with names resolved and no bigints', () => {
    const json = flowEventJson(event({ verdict: 1, reason: 2, policyId: 3 }), lookup);
    expect(json).toEqual({
      time: at.toISOString(),
      source: { pod: 'y/b', ip: '10.244.2.12', port: 43210 },
      destination: { pod: 'x/a', ip: '10.244.1.11', port: 80 },
      protocol: 'TCP',
      verdict: 'ALLOWED',
      direction: 'ingress',
      reason: 'allow-policy',
      policy: 'x/allow-web',
      endpointId: 1,
      endpointIdentity: 10,
      peerIdentity: 11,
    });
    expect(JSON.parse(JSON.stringify(json))).toEqual(json);
    expect(flowEventJson(event({ saddr: '192.0.2.1' }), lookup).source).toEqual({ ip: '192.0.2.1', port: 43210 });
  });

  it('turns monotonic nanoseconds into wall-clock time', () => {
    const clock = monotonicClock(5_000_000_000n, Date.UTC(2024, 0, 1, 12, 0, 0));
    expect(clock(4_250_000_000n).toISOString()).toBe('2024-01-01T11:59:59.250Z');
    expect(clockTime(new Date(2024, 0, 1, 7, 8, 9, 5))).toBe('07:08:09.005');
  });

  it('picks a few events of every kind, in stream order', () => {
    const stream = ['d1', 'd2', 'd3', 'd4', 'a1', 'd5', 'e1', 'd6', 'a2'];
    expect(pickEvents(stream, (e) => e[0]!, 4)).toEqual(['d1', 'd2', 'a1', 'e1']);
    expect(pickEvents(stream, (e) => e[0]!, 6)).toEqual(['d1', 'd2', 'd3', 'a1', 'e1', 'a2']);
    expect(pickEvents(stream, () => 'same', 20)).toEqual(stream);
    expect(pickEvents([], () => 'k', 8)).toEqual([]);
  });
});

describe('status', () => {
  const status: Status = {
    name: 'pf',
    generation: 1,
    endpoints: [
      { pod: 'x/a', ip: '10.244.1.11', identity: 2, ingress: true, egress: false, labels: { pod: 'a' } },
      { pod: 'y/b', ip: '10.244.2.12', identity: 1, ingress: false, egress: true, labels: { pod: 'b' } },
    ],
    identities: [
      { id: 2, labels: 'k8s:pod=a' },
      { id: 1, labels: 'k8s:pod=b' },
    ],
    policies: ['x/deny'],
    policyEntries: 4,
    enforced: true,
    mismatches: [],
    interrupted: undefined,
    datapath: {
      object: 'bpf/firewall.bpf.c',
      programs: { from_pod: { id: 41, tag: '0123456789abcdef' }, to_pod: { id: 42, tag: 'fedcba9876543210' } },
      onEveryPod: true,
      elsewhere: [],
      links: [],
    },
    counters: {
      'allow-ct': { packets: 12n, bytes: 900n },
      'deny-policy': { packets: 3n, bytes: 180n },
      unmanaged: { packets: 0n, bytes: 0n },
    },
  };

  it('prints endpoints, identities, policies and the counters that moved', () => {
    expect(formatStatus(status)).toBe(
      [
        'pf: 2 endpoints, 1 policy (4 map entries), generation 1',
        '',
        "datapath bpf/firewall.bpf.c: from_pod id 41 tag 0123456789abcdef, to_pod id 42 tag fedcba9876543210; on every pod's veth",
        '',
        'ENDPOINT  IP           IDENTITY  INGRESS   EGRESS',
        'x/a       10.244.1.11  2         enforced  -',
        'y/b       10.244.2.12  1         -         enforced',
        '',
        'IDENTITY  LABELS',
        '1         k8s:pod=b',
        '2         k8s:pod=a',
        '',
        'POLICY',
        'x/deny',
        '',
        'REASON       PACKETS  BYTES',
        'allow-ct     12       900',
        'deny-policy  3        180',
      ].join('\n'),
    );
  });

  it('names the pods whose veths do not run the pinned datapath', () => {
    const off = { ...status.datapath, onEveryPod: false, elsewhere: ['x/a (ingress 7, egress 42)'] };
    expect(formatDatapath(off)).toMatch(/; NOT on every pod's veth: x\/a \(ingress 7, egress 42\)$/);
  });

  it('says so when there is no policy and no traffic', () => {
    const idle = { ...status, policies: [], counters: { 'allow-ct': { packets: 0n, bytes: 0n } } };
    expect(formatStatus(idle)).toContain('no policies (everything is allowed)');
    expect(formatCounters(idle.counters)).toBe('no packets counted yet');
  });

  it('writes bigints as JSON numbers, strings past 2^53', () => {
    expect(toJson({ a: 5n, b: 2n ** 60n, c: [1] })).toBe('{"a":5,"b":"1152921504606846976","c":[1]}');
  });
});

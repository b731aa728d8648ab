import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  allocate,
  compile,
  emptyAllocations,
  policyPrefixes,
  DIR_EGRESS,
  DIR_INGRESS,
  EP_ENFORCE_EGRESS,
  EP_ENFORCE_INGRESS,
  EP_NAMED_EGRESS,
  EP_PEER_ANY_INGRESS,
  EP_RANGES_INGRESS,
  PEER_ANY,
  PEER_POD_FLAG,
} from './compile.js';
import { CompileError, PolicyError } from './errors.js';
import type { Cluster, LabelSelector, NetworkPolicy, NetworkPolicyPeer, NetworkPolicyPort, Pod, Protocol } from './model.js';
import { isAllowed } from './oracle.js';
import { applyOps, initialLive, noOps, planUpdate, type MapOps } from './plan.js';
import { datapathAllows, datapathDecider } from './simulate.js';

/**
 * The e2e layout: namespaces x, y, z; pods a, b, c; TCP/UDP 80/81 with named ports. Pods listed in
 * `swapped` give the names the other numbers (serve-80-* names port 81, and the reverse).
 */
function cluster(
  nsLabels: Record<string, Record<string, string>> = {},
  podLabels: Record<string, Record<string, string>> = {},
  swapped: readonly string[] = [],
): Cluster {
  const names = ['x', 'y', 'z'];
  return {
    namespaces: names.map((n) => ({ name: n, labels: { 'kubernetes.io/metadata.name': n, ...(nsLabels[n] ?? { ns: n }) } })),
    pods: names.flatMap((n, i) =>
      ['a', 'b', 'c'].map((p, j): Pod => ({
        namespace: n,
        name: p,
        labels: podLabels[`${n}/${p}`] ?? { pod: p },
        ip: `10.244.${i + 1}.${j + 11}`,
        ports: [80, 81].flatMap((port) =>
          (['TCP', 'UDP'] as const).map((protocol) => ({
            port,
            protocol,
            name: `serve-${swapped.includes(`${n}/${p}`) ? 161 - port : port}-${protocol.toLowerCase()}`,
          })),
        ),
      })),
    ),
  };
}

const probesAt = (ports: readonly number[]): { port: number; protocol: Protocol }[] =>
  ports.flatMap((port) => (['TCP', 'UDP'] as const).map((protocol) => ({ port, protocol })));
const probes = probesAt([80, 81]);
/** Range edges: the first and last ports, block boundaries, the probed pair. */
const rangeProbes = probesAt([1, 2, 79, 80, 81, 82, 1023, 1024, 32767, 32768, 65534, 65535]);

function policy(name: string, namespace: string, spec: NetworkPolicy['spec']): NetworkPolicy {
  return { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name, namespace }, spec };
}

function compiled(c: Cluster, policies: NetworkPolicy[]) {
  const alloc = allocate(emptyAllocations(), c, policies, policyPrefixes(policies));
  return { alloc, state: compile(c, policies, alloc) };
}

/** Every pod pair × probe where the compiled maps and the oracle disagree. */
function differences(c: Cluster, policies: NetworkPolicy[], probed = probes): string[] {
  const decide = datapathDecider(initialLive(compiled(c, policies).state));
  const out: string[] = [];
  for (const from of c.pods) {
    for (const to of c.pods) {
      for (const p of probed) {
        const flow = { from, to, ...p };
        const want = isAllowed(c, policies, flow);
        if (decide(flow) !== want) out.push(`${from.namespace}/${from.name} -> ${to.namespace}/${to.name} ${p.protocol}/${p.port}: oracle ${want}`);
      }
    }
  }
  return out;
}

describe('the policy-to-map compiler', () => {
  it('isolates selected pods and writes one entry per peer identity, port and protocol', () => {
    const c = cluster();
    const p = policy('web', 'x', {
      podSelector: { matchLabels: { pod: 'a' } },
      ingress: [{ from: [{ podSelector: { matchLabels: { pod: 'b' } } }], ports: [{ protocol: 'TCP', port: 80 }] }],
    });
    const { alloc, state } = compiled(c, [p]);
    const xa = state.endpoints.get('x/a')!;
    expect(xa.flags).toBe(EP_ENFORCE_INGRESS);
    expect(state.endpoints.get('x/b')!.flags).toBe(0);
    const xbIdentity = state.endpoints.get('x/b')!.identity;
    expect([...state.policy.values()]).toEqual([
      { endpointId: xa.endpointId, peer: xbIdentity, port: 80, portBits: 16, proto: 6, dir: DIR_INGRESS, policyId: alloc.policies['x/web'] },
    ]);
    // Pods share an identity only when their labels and namespace labels are the same.
    expect(new Set([...state.endpoints.values()].map((e) => e.identity)).size).toBe(9);
  });

  it('puts every ipBlock boundary in the ipcache and gives pods the CIDR identity of their most specific prefix', () => {
    const c = cluster();
    const p = policy('cidr', 'x', {
      podSelector: {},
      policyTypes: ['Egress'],
      egress: [{ to: [{ ipBlock: { cidr: '10.244.2.0/24', except: ['10.244.2.12/32'] } }] }],
    });
    const { alloc, state } = compiled(c, [p]);
    expect(state.ipcache.get('10.244.2.0/24')).toEqual({ identity: alloc.cidrs['10.244.2.0/24'], cidrIdentity: alloc.cidrs['10.244.2.0/24'] });
    expect(state.ipcache.get('10.244.2.11/32')!.pod).toBe('y/a');
    expect(state.ipcache.get('10.244.2.11/32')!.cidrIdentity).toBe(alloc.cidrs['10.244.2.0/24']);
    expect(state.ipcache.get('10.244.2.12/32')!.cidrIdentity).toBe(alloc.cidrs['10.244.2.12/32']);
    expect(state.ipcache.get('10.244.1.11/32')!.cidrIdentity).toBe(0);
    const peers = [...state.policy.values()].filter((e) => e.dir === DIR_EGRESS).map((e) => e.peer);
    expect(new Set(peers)).toEqual(new Set([alloc.cidrs['10.244.2.0/24']]));
  });

  it('compiles endPort ranges as aligned blocks, resolves named ports on the destination pod, and keeps ids stable', () => {
    const c = cluster();
    const p = policy('ports', 'y', {
      podSelector: { matchLabels: { pod: 'c' } },
      policyTypes: ['Ingress', 'Egress'],
      ingress: [{ ports: [{ protocol: 'UDP', port: 80, endPort: 81 }, { port: 'serve-81-tcp' }, { protocol: 'UDP', port: 81, endPort: 65535 }] }],
      egress: [{ ports: [{ port: 'serve-80-udp', protocol: 'UDP' }] }],
    });
    const { alloc, state } = compiled(c, [p]);
    const ingress = [...state.policy.values()].filter((e) => e.dir === DIR_INGRESS).map((e) => `${e.peer}:${e.proto}/${e.port}/${e.portBits}`);
    // 80-81 is one block of two; 81-65535 is 14 blocks (81, 82-83, 84-87, ..., 32768-65535), not 65,455 entries.
    expect(ingress).toHaveLength(1 + 1 + 14);
    expect(ingress).toContain(`${PEER_ANY}:17/80/15`);
    expect(ingress).toContain(`${PEER_ANY}:6/81/16`);
    expect(ingress).toContain(`${PEER_ANY}:17/32768/1`);
    expect(state.endpoints.get('y/c')!.flags).toBe(EP_ENFORCE_INGRESS | EP_ENFORCE_EGRESS | EP_RANGES_INGRESS | EP_PEER_ANY_INGRESS | EP_NAMED_EGRESS);
    // Egress named ports resolve per destination pod: one entry per pod, keyed by the pod itself.
    const egress = [...state.policy.values()].filter((e) => e.dir === DIR_EGRESS);
    expect(egress).toHaveLength(9);
    expect(new Set(egress.map((e) => e.peer))).toEqual(new Set(Object.values(alloc.endpoints).map((id) => PEER_POD_FLAG + id)));
    expect(state.entriesByPolicy.get('y/ports')).toBe(16 * 1 + 9);
    const again = allocate(alloc, cluster({}, { 'x/a': { pod: 'a', tier: 'new' } }), [p], policyPrefixes([p]));
    for (const [k, v] of Object.entries(alloc.identities)) expect(again.identities[k]).toBe(v);
    expect(Object.keys(again.identities)).toHaveLength(Object.keys(alloc.identities).length + 1);
  });

  it('compiles SCTP rules (this kernel has no SCTP to probe them with): proto 132, numbered and named', () => {
    const base = cluster();
    const c: Cluster = { ...base, pods: base.pods.map((p) => ({ ...p, ports: [...p.ports, { port: 9000, protocol: 'SCTP' as const, name: 'diameter' }] })) };
    const p = policy('sctp', 'x', {
      podSelector: { matchLabels: { pod: 'a' } },
      ingress: [
        {
          ports: [
            { protocol: 'SCTP', port: 80 },
            { protocol: 'SCTP', port: 'diameter' },
          ],
        },
      ],
    });
    const { state } = compiled(c, [p]);
    expect([...state.policy.values()].map((e) => `${e.proto}/${e.port}`).sort()).toEqual(['132/80', '132/9000']);
    const xa = c.pods[0]!;
    const live = initialLive(state);
    for (const [port, want] of [
      [9000, true],
      [80, true],
      [81, false],
    ] as const) {
      expect(datapathAllows(live, { from: c.pods[4]!, to: xa, protocol: 'SCTP', port })).toBe(want);
      expect(isAllowed(c, [p], { from: c.pods[4]!, to: xa, protocol: 'SCTP', port })).toBe(want);
    }
    expect(datapathAllows(live, { from: c.pods[4]!, to: xa, protocol: 'TCP', port: 80 })).toBe(false);
  });

  it('refuses, with typed errors, allocations that do not cover the model and addresses that are not IPv4', () => {
    const c = cluster();
    const deny = [policy('deny', 'x', { podSelector: {} })];
    const withoutPolicies = allocate(emptyAllocations(), c, [], []);
    expect(() => compile(c, deny, withoutPolicies)).toThrow(expect.objectContaining({ name: 'CompileError', code: 'NOT_ALLOCATED' }));
    expect(() => compile(c, deny, withoutPolicies)).toThrow(/no policy id allocated for x\/deny/);
    expect(() => compile(c, deny, withoutPolicies)).toThrow(CompileError);
    const block = [policy('block', 'x', { podSelector: {}, ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/33' } }] }] })];
    expect(() => policyPrefixes(block)).toThrow(expect.objectContaining({ name: 'PolicyError', code: 'ADDRESS_INVALID' }));
    expect(() => policyPrefixes(block)).toThrow(PolicyError);
  });

  it('agrees with the oracle on the hand-written corner cases', () => {
    const c = cluster();
    const cases: NetworkPolicy[][] = [
      [policy('deny', 'x', { podSelector: {} })],
      [policy('deny', 'x', { podSelector: {}, policyTypes: ['Ingress', 'Egress'] })],
      [policy('all', 'x', { podSelector: {}, ingress: [{}] })],
      [
        policy('and', 'x', {
          podSelector: {},
          ingress: [{ from: [{ namespaceSelector: { matchLabels: { ns: 'y' } }, podSelector: { matchLabels: { pod: 'b' } } }] }],
        }),
      ],
      [
        policy('or', 'x', {
          podSelector: {},
          ingress: [{ from: [{ namespaceSelector: { matchLabels: { ns: 'y' } } }, { podSelector: { matchLabels: { pod: 'b' } } }] }],
        }),
      ],
      [
        policy('notin', 'x', {
          podSelector: {},
          ingress: [{ from: [{ namespaceSelector: { matchExpressions: [{ key: 'missing', operator: 'NotIn', values: ['v'] }] } }] }],
        }),
      ],
      [policy('cidr', 'x', { podSelector: {}, ingress: [{ from: [{ ipBlock: { cidr: '10.244.0.0/16', except: ['10.244.2.0/24', '10.244.1.12/32'] } }] }] })],
      [
        policy('named-egress', 'x', {
          podSelector: { matchLabels: { pod: 'a' } },
          egress: [{ to: [{ namespaceSelector: {} }], ports: [{ port: 'serve-81-udp', protocol: 'UDP' }] }],
        }),
      ],
      [
        policy('deny-all', 'y', { podSelector: {}, policyTypes: ['Ingress', 'Egress'] }),
        policy('allow-some', 'y', { podSelector: { matchLabels: { pod: 'a' } }, ingress: [{ from: [{ namespaceSelector: {} }], ports: [{ port: 81 }] }] }),
      ],
    ];
    for (const policies of cases) expect(differences(c, policies), policies.map((p) => p.metadata.name).join('+')).toEqual([]);
  });
});

// --- properties ---------------------------------------------------------------------------------------------------

const selector = fc.constantFrom<LabelSelector>(
  {},
  { matchLabels: { pod: 'a' } },
  { matchLabels: { pod: 'b' } },
  { matchExpressions: [{ key: 'pod', operator: 'In', values: ['a', 'c'] }] },
  { matchExpressions: [{ key: 'pod', operator: 'NotIn', values: ['b'] }] },
  { matchExpressions: [{ key: 'tier', operator: 'DoesNotExist' }] },
  { matchExpressions: [{ key: 'tier', operator: 'Exists' }] },
);
const nsSelector = fc.constantFrom<LabelSelector>(
  {},
  { matchLabels: { ns: 'y' } },
  { matchLabels: { 'kubernetes.io/metadata.name': 'z' } },
  { matchExpressions: [{ key: 'ns', operator: 'In', values: ['x', 'z'] }] },
  { matchExpressions: [{ key: 'team', operator: 'NotIn', values: ['red'] }] },
);
const ipBlock = fc.constantFrom(
  { cidr: '10.244.0.0/16' },
  { cidr: '10.244.2.0/24', except: ['10.244.2.12/32'] },
  { cidr: '10.244.1.8/29', except: ['10.244.1.12/30'] },
  { cidr: '0.0.0.0/0', except: ['10.244.3.0/24'] },
);
const peer: fc.Arbitrary<NetworkPolicyPeer> = fc.oneof(
  fc.record({ podSelector: selector }),
  fc.record({ namespaceSelector: nsSelector }),
  fc.record({ namespaceSelector: nsSelector, podSelector: selector }),
  fc.record({ ipBlock }),
);
const port = fc.constantFrom<NetworkPolicyPort>(
  { protocol: 'TCP', port: 80 },
  { protocol: 'UDP', port: 81 },
  { port: 81 },
  { protocol: 'UDP' },
  { protocol: 'TCP', port: 80, endPort: 81 },
  { protocol: 'TCP', port: 'serve-81-tcp' },
  { protocol: 'UDP', port: 'serve-80-udp' },
  { protocol: 'TCP', port: 'serve-80-udp' },
  { protocol: 'TCP', port: 1, endPort: 65535 },
  { protocol: 'UDP', port: 2, endPort: 65534 },
  { port: 79, endPort: 1024 },
  { protocol: 'UDP', port: 81, endPort: 32768 },
  { protocol: 'TCP', port: 1024, endPort: 65535 },
);
const rule = fc.record({
  peers: fc.option(fc.array(peer, { maxLength: 2 }), { nil: undefined }),
  ports: fc.option(fc.array(port, { maxLength: 2 }), { nil: undefined }),
});
const arbPolicy = (name: string) =>
  fc
    .record({
      namespace: fc.constantFrom('x', 'y', 'z'),
      podSelector: selector,
      policyTypes: fc.constantFrom(undefined, ['Ingress'] as const, ['Egress'] as const, ['Ingress', 'Egress'] as const),
      ingress: fc.option(fc.array(rule, { maxLength: 2 }), { nil: undefined }),
      egress: fc.option(fc.array(rule, { maxLength: 2 }), { nil: undefined }),
    })
    .map((r): NetworkPolicy =>
      policy(name, r.namespace, {
        podSelector: r.podSelector,
        ...(r.policyTypes ? { policyTypes: r.policyTypes } : {}),
        ...(r.ingress ? { ingress: r.ingress.map((x) => ({ ...(x.peers ? { from: x.peers } : {}), ...(x.ports ? { ports: x.ports } : {}) })) } : {}),
        ...(r.egress ? { egress: r.egress.map((x) => ({ ...(x.peers ? { to: x.peers } : {}), ...(x.ports ? { ports: x.ports } : {}) })) } : {}),
      }),
    );
const arbPolicies = fc.array(fc.nat(), { maxLength: 3 }).chain((ids) => fc.tuple(...ids.map((_, i) => arbPolicy(`p${i}`))));
// Named ports per pod: a pod may share its labels (its identity) with a pod of its namespace and
// give the port names the other numbers.
const arbCluster = fc
  .record({
    tier: fc.constantFrom(undefined, 'x/a', 'y/b', 'z/c'),
    team: fc.constantFrom(undefined, 'x', 'y'),
    twin: fc.constantFrom(undefined, 'x/b', 'y/c', 'z/a'),
    swapped: fc.subarray(['x/a', 'x/b', 'y/a', 'y/c', 'z/b']),
  })
  .map(({ tier, team, twin, swapped }) =>
    cluster(
      team ? { [team]: { ns: team, team: 'red' } } : {},
      { ...(twin ? { [twin]: { pod: twin === 'z/a' ? 'b' : 'a' } } : {}), ...(tier ? { [tier]: { pod: tier.slice(2), tier: 'db' } } : {}) },
      swapped,
    ),
  );

describe('properties of the compiled maps', () => {
  it('the datapath decides every pod pair and port exactly as the oracle (random policies and labels)', () => {
    fc.assert(
      fc.property(arbCluster, arbPolicies, (c, policies) => {
        expect(differences(c, policies, rangeProbes)).toEqual([]);
      }),
      { numRuns: 150 },
    );
  });

  it('many overlapping endPort ranges decide every port at their edges as the oracle does', () => {
    const range = fc
      .record({
        a: fc.integer({ min: 1, max: 65535 }),
        b: fc.integer({ min: 1, max: 65535 }),
        protocol: fc.constantFrom<Protocol | undefined>('TCP', 'UDP', undefined),
      })
      .map(({ a, b, protocol }): NetworkPolicyPort => ({ ...(protocol ? { protocol } : {}), port: Math.min(a, b), endPort: Math.max(a, b) }));
    const ranged = fc.record({
      namespace: fc.constantFrom('x', 'y', 'z'),
      podSelector: selector,
      egress: fc.boolean(),
      peers: fc.option(fc.array(peer, { maxLength: 2 }), { nil: undefined }),
      ports: fc.array(range, { minLength: 1, maxLength: 6 }),
    });
    fc.assert(
      fc.property(fc.array(ranged, { minLength: 1, maxLength: 3 }), fc.array(fc.integer({ min: 1, max: 65535 }), { maxLength: 4 }), (specs, extra) => {
        const policies = specs.map((r, i) =>
          policy(`r${i}`, r.namespace, {
            podSelector: r.podSelector,
            ...(r.egress
              ? { policyTypes: ['Egress'], egress: [{ ...(r.peers ? { to: r.peers } : {}), ports: r.ports }] }
              : { ingress: [{ ...(r.peers ? { from: r.peers } : {}), ports: r.ports }] }),
          }),
        );
        const edges = specs.flatMap((r) => r.ports.flatMap((x) => [x.port as number, x.endPort!].flatMap((e) => [e - 1, e, e + 1])));
        const ports = [...new Set([...edges, ...extra, 1, 65535])].filter((x) => x >= 1 && x <= 65535);
        const c = cluster();
        expect(differences(c, policies, probesAt(ports))).toEqual([]);
        // O(log range): never more than 30 blocks per range, peer and endpoint.
        const { state } = compiled(c, policies);
        const perRule = specs.reduce((n, r) => n + r.ports.length, 0);
        expect(state.policy.size).toBeLessThanOrEqual(perRule * 30 * 9 * 30);
      }),
      { numRuns: 60 },
    );
  });

  it('named ports resolve per destination pod: twins by label and ipBlocks do not lend each other numbers', () => {
    // x/b has x/a's labels (one identity) and gives serve-80-tcp the number 81.
    const c = cluster({}, { 'x/b': { pod: 'a' } }, ['x/b']);
    const byLabel = policy('named', 'y', {
      podSelector: {},
      policyTypes: ['Egress'],
      egress: [{ to: [{ namespaceSelector: {}, podSelector: { matchLabels: { pod: 'a' } } }], ports: [{ port: 'serve-80-tcp' }] }],
    });
    const byBlock = policy('named', 'y', {
      podSelector: {},
      policyTypes: ['Egress'],
      egress: [{ to: [{ ipBlock: { cidr: '10.244.1.0/24' } }], ports: [{ port: 'serve-80-tcp' }] }],
    });
    for (const p of [byLabel, byBlock]) {
      const live = initialLive(compiled(c, [p]).state);
      const [xa, xb] = c.pods;
      const ya = c.pods[3]!;
      expect(datapathAllows(live, { from: ya, to: xa!, protocol: 'TCP', port: 80 })).toBe(true);
      expect(datapathAllows(live, { from: ya, to: xa!, protocol: 'TCP', port: 81 })).toBe(false);
      expect(datapathAllows(live, { from: ya, to: xb!, protocol: 'TCP', port: 81 })).toBe(true);
      expect(datapathAllows(live, { from: ya, to: xb!, protocol: 'TCP', port: 80 })).toBe(false);
      expect(differences(c, [p])).toEqual([]);
    }
  });

  it('an update decides every flow by the old state until the flip and by the new one after it, entry by entry', () => {
    fc.assert(
      fc.property(arbCluster, arbPolicies, arbCluster, arbPolicies, fc.constantFrom<0 | 1>(0, 1), (c0, p0, c1, p1, gen) => {
        let alloc = allocate(emptyAllocations(), c0, p0, policyPrefixes(p0));
        alloc = allocate(alloc, c1, p1, policyPrefixes(p1));
        const live = initialLive(compile(c0, p0, alloc), gen);
        const plan = planUpdate(live, compile(c1, p1, alloc));
        // The datapath against one world's verdicts, for every pod pair and probe.
        const mismatch = (c: Cluster, policies: NetworkPolicy[]) => {
          const decide = datapathDecider(live); // the state does not change while one check runs
          for (const a of c.pods) {
            for (const b of c.pods) {
              for (const pr of probes) {
                const flow = { from: a, to: b, ...pr };
                if (decide(flow) !== isAllowed(c, policies, flow)) return `${a.namespace}/${a.name}->${b.namespace}/${b.name} ${pr.protocol}/${pr.port}`;
              }
            }
          }
          return undefined;
        };
        // One entry at a time, as the kernel applies a batch.
        const oneByOne = (ops: MapOps, world: [Cluster, NetworkPolicy[]], what: string) => {
          const single = (o: Partial<MapOps>) => {
            applyOps(live, { ...noOps, ...o });
            expect(mismatch(...world), what).toBeUndefined();
          };
          ops.endpointsSet.forEach((e) => single({ endpointsSet: [e] }));
          ops.ipcacheSet.forEach((e) => single({ ipcacheSet: [e] }));
          ops.policyDelete.forEach((e) => single({ policyDelete: [e] }));
          ops.policySet.forEach((e) => single({ policySet: [e] }));
          ops.ipcacheDelete.forEach((k) => single({ ipcacheDelete: [k] }));
          ops.endpointsDelete.forEach((k) => single({ endpointsDelete: [k] }));
        };
        oneByOne(plan.write, [c0, p0], 'write');
        live.generation = plan.flip;
        expect(mismatch(c1, p1), 'flip').toBeUndefined();
        oneByOne(plan.cleanup, [c1, p1], 'cleanup');
        // Nothing of the old generation is left.
        expect([...live.policy.values()].every((e) => e.generation === plan.flip)).toBe(true);
        expect(live.ipcache.size).toBe(compile(c1, p1, alloc).ipcache.size);
      }),
      { numRuns: 40 },
    );
  }, 300_000);
});

/**
 * The held-out catalog is well formed and means what it says, without the
 * kernel: scenarios parse and name existing objects, marks are current, the
 * cluster has the traps it promises, every scenario expects something other
 * than "all open", the cells' expectations follow the threat model, and the
 * suite stays blind to the code it checks.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseCluster } from '../../policy/cluster-file.js';
import { parsePolicies } from '../../policy/manifests.js';
import { podKey, policyKey, relabelCluster, type Cluster, type NetworkPolicy } from '../../policy/model.js';
import { cellsOf } from './cells.js';
import { RAW_SOURCE_PORTS } from './prober.js';
import { heldoutCluster, heldoutScenarios, staleMarks, type HeldoutScenario } from './scenarios.js';
import { PROBED_PORTS } from './vocabulary.js';

const cluster = parseCluster(heldoutCluster);
const pod = (key: string) => cluster.pods.find((p) => podKey(p) === key)!;

/** The cluster and policies after each step of a scenario. */
function* states(s: HeldoutScenario): Generator<{ cluster: Cluster; policies: NetworkPolicy[] }> {
  let c = cluster;
  const live = new Map<string, NetworkPolicy>();
  for (const step of s.steps) {
    for (const p of step.apply ? parsePolicies(step.apply) : []) live.set(policyKey(p), p);
    for (const k of step.delete ?? []) live.delete(k);
    c = relabelCluster(c, { ...(step.podLabels ? { pods: step.podLabels } : {}), ...(step.namespaceLabels ? { namespaces: step.namespaceLabels } : {}) });
    yield { cluster: c, policies: [...live.values()] };
  }
}

describe('held-out catalog', () => {
  it('has at least 40 uniquely named scenarios with tags and steps, and no stale marks', () => {
    expect(heldoutScenarios.length).toBeGreaterThanOrEqual(40);
    expect(new Set(heldoutScenarios.map((s) => s.name)).size).toBe(heldoutScenarios.length);
    for (const s of heldoutScenarios) {
      expect(s.name).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/);
      expect(s.steps.length, s.name).toBeGreaterThan(0);
      expect(s.tags.length, s.name).toBeGreaterThan(0);
      if (s.known) expect(s.known, s.name).toMatch(/^issue 15: \S/);
      else expect(s.knownIn, `${s.name}: knownIn without known`).toBeUndefined();
    }
    expect(staleMarks()).toEqual([]);
  });

  for (const s of heldoutScenarios) {
    it(`${s.name}: every step parses, names existing objects and changes something`, () => {
      const live = new Set<string>();
      for (const step of s.steps) {
        for (const key of step.delete ?? []) {
          expect(live.delete(key), `${s.name} deletes ${key}, which is not applied`).toBe(true);
        }
        for (const p of step.apply ? parsePolicies(step.apply) : []) {
          expect(cluster.namespaces.some((n) => n.name === p.metadata.namespace)).toBe(true);
          live.add(policyKey(p));
        }
        for (const key of Object.keys(step.podLabels ?? {})) expect(pod(key), key).toBeDefined();
        for (const ns of Object.keys(step.namespaceLabels ?? {}))
          expect(
            cluster.namespaces.some((n) => n.name === ns),
            ns,
          ).toBe(true);
        expect(
          [step.apply, step.delete, step.podLabels, step.namespaceLabels].some((x) => x !== undefined),
          `${s.name} has an empty step`,
        ).toBe(true);
      }
    });
  }

  it('every scenario but the baselines expects some cell blocked that is open without policies', () => {
    for (const s of heldoutScenarios) {
      const closed = [...states(s)].some((st) => cellsOf(st.cluster, st.policies, s.probes).some((c) => c.kind !== 'forged' && !c.expected));
      expect(closed, s.name).toBe(!s.tags.includes('baseline'));
    }
  });
});

describe('held-out cluster', () => {
  it('every pod serves every probed port on TCP and UDP, none in the raw packets’ source ports', () => {
    for (const p of cluster.pods) {
      for (const port of PROBED_PORTS) {
        for (const protocol of ['TCP', 'UDP'])
          expect(
            p.ports.some((c) => c.port === port && c.protocol === protocol),
            `${podKey(p)} ${protocol}/${port}`,
          ).toBe(true);
      }
      for (const c of p.ports) expect(c.port < RAW_SOURCE_PORTS.first || c.port >= RAW_SOURCE_PORTS.first + RAW_SOURCE_PORTS.count).toBe(true);
    }
  });

  it('has two pods with identical labels whose "http" differs, on either side of a /25 boundary', () => {
    const [w1, w2] = [pod('shop/web-1'), pod('shop/web-2')];
    expect(w1.labels).toEqual(w2.labels);
    const http = (p: typeof w1) => p.ports.find((c) => c.name === 'http')?.port;
    expect([http(w1), http(w2)]).toEqual([80, 8080]);
    expect([w1.ip, w2.ip]).toEqual(['10.244.1.127', '10.244.1.128']);
  });
});

describe('held-out cells', () => {
  const plan = {
    fragments: { ports: [80, 81], sizes: [1472, 8000] },
    forged: { ports: [{ port: 80, protocol: 'TCP' as const }] },
    sctp: { ports: [80] },
    ipOptions: {
      ports: [
        { port: 80, protocol: 'TCP' as const, decoy: 81 },
        { port: 81, protocol: 'TCP' as const, decoy: 80 },
      ],
    },
  };
  const web80 = parsePolicies(
    'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: { name: p, namespace: shop }\nspec:\n  podSelector: { matchLabels: { app: web } }\n  ingress:\n    - ports: [{ port: 80, protocol: UDP }, { port: 80 }]\n',
  );

  it('have unique keys and cover every ordered pair on every kind asked for', () => {
    const cells = cellsOf(cluster, web80, plan);
    expect(new Set(cells.map((c) => c.key)).size).toBe(cells.length);
    const pairs = 6 * 5;
    const count = (kind: string) => cells.filter((c) => c.kind === kind).length;
    expect(count('plain')).toBe(pairs * PROBED_PORTS.length * 2);
    expect(count('fragment')).toBe(pairs * 2 * 2);
    expect(count('raw')).toBe(pairs);
    // Each pair: the four other pods and the two foreign addresses as claimed sources.
    expect(count('forged')).toBe(pairs * (4 + 2));
    expect(count('sctp')).toBe(pairs);
    expect(count('options')).toBe(pairs * 2);
  });

  it('expect forged packets blocked whatever the policy, and fragments exactly as small datagrams to the same port', () => {
    const cells = cellsOf(cluster, web80, plan);
    for (const c of cells.filter((x) => x.kind === 'forged')) {
      expect(c.expected).toBe(false);
      expect([c.from.ip, c.to.ip]).not.toContain(c.source!.ip);
    }
    const plain = new Map(cells.filter((c) => c.kind === 'plain').map((c) => [c.key, c.expected]));
    for (const c of cells.filter((x) => x.kind === 'fragment')) expect(c.expected).toBe(plain.get(c.key.replace(/ \d+ B$/, '')));
    // The policy at work: web-1 takes UDP and TCP 80 and nothing else; the raw control follows it.
    const get = (key: string) => cells.find((c) => c.key === key)!.expected;
    expect([get('dev/client->shop/web-1:UDP/80 8000 B'), get('dev/client->shop/web-1:UDP/81 8000 B')]).toEqual([true, false]);
    expect([get('dev/client->shop/web-1:TCP/80 raw'), get('dev/client->shop/db:TCP/80 raw')]).toEqual([true, true]);
    expect(get('dev/client->shop/web-1:SCTP/80')).toBe(false);
    // IP-options cells are judged on their true port, never on the decoy.
    const options = (port: number, decoy: number) => get(`dev/client->shop/web-1:TCP/${port} with an IP option holding ${decoy}`);
    expect([options(80, 81), options(81, 80)]).toEqual([true, false]);
  });
});

describe('held-out suite independence', () => {
  it('imports nothing of the compiler, the planner, the simulation or the datapath', () => {
    const here = dirname(fileURLToPath(import.meta.url));
    const files = readdirSync(here, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));
    expect(files.length).toBeGreaterThan(8);
    const forbidden = /policy\/(compile|plan|simulate)\.js|datapath\/|map-records|\.bpf\./;
    for (const f of files) {
      const imports = [...readFileSync(join(here, f), 'utf8').matchAll(/from '([^']+)'/g)].map((m) => m[1]!);
      expect(
        imports.filter((i) => forbidden.test(i)),
        f,
      ).toEqual([]);
    }
  });
});

import { afterAll, beforeAll, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AgentClient, agentSocket } from './cluster/agents.js';
import { podNetns } from './cluster/topology.js';
import { PodFirewall } from './firewall.js';
import { parseCluster } from './policy/cluster-file.js';
import { parsePolicies } from './policy/manifests.js';
import { podKey } from './policy/model.js';
import { isAllowed } from './policy/oracle.js';
import { cli, cliSync, MAIN, must, probeJson, statusJson } from './testing/cli-runner.js';
import { describeNeeds, hasCommand, isRoot } from '../../../test/support/env.js';

/**
 * Commands on one instance from many processes at once, and commands killed
 * half-way: they serialise (the result is that of some serial order, no
 * update lost, no revoked access back), and whatever a kill -9 leaves,
 * `status` reports exactly what the datapath enforces, checked with real
 * packets against the oracle.
 */

const NAME = `pfx${process.pid % 10000}`;
const CLUSTER = `podCidr: 10.252.0.0/16
namespaces:
  - name: x
    labels: { ns: x }
    pods:
      - { name: a, labels: { pod: a }, ports: [{ port: 80, protocol: TCP }] }
      - { name: b, labels: { pod: b }, ports: [{ port: 80, protocol: TCP }] }
  - name: y
    labels: { ns: y }
    pods:
      - { name: a, labels: { pod: a }, ports: [{ port: 80, protocol: TCP }] }
`;
const cluster = parseCluster(CLUSTER);
const doc = (name: string, spec: string) => `apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: { name: ${name}, namespace: x }\nspec:\n${spec}`;
/** x/b takes TCP 80 from x/a only... */
const ISOLATE_B = doc(
  'isolate-b',
  '  podSelector: { matchLabels: { pod: b } }\n  ingress: [{ from: [{ podSelector: { matchLabels: { pod: a } } }], ports: [{ port: 80 }] }]\n',
);
/** ...and from namespace y while this one exists: the access the race revokes. */
const GRANT_Y = doc(
  'grant-y',
  '  podSelector: { matchLabels: { pod: b } }\n  ingress: [{ from: [{ namespaceSelector: { matchLabels: { ns: y } } }], ports: [{ port: 80 }] }]\n',
);
/** Racing policies: about x/a only, with many ports so that each update has some weight. */
const ports = (first: number, n: number) => Array.from({ length: n }, (_, i) => `{ port: ${first + i} }`).join(', ');
const racer = (name: string, i: number) =>
  doc(
    name,
    `  podSelector: { matchLabels: { pod: a } }\n  ingress: [{ from: [{ namespaceSelector: { matchLabels: { ns: ${i % 2 ? 'y' : 'x'} } } }], ports: [${ports(80, 1 + (i % 16) * 150)}] }]\n`,
  );

describeNeeds([isRoot(), hasCommand('ip'), hasCommand('nsenter'), hasCommand('clang')], 'pod-firewall transactions: concurrent and killed commands', () => {
  let dir: string;
  const file = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };
  /** Every probed flow against the oracle for these policies. */
  const expectMatchesOracle = (policyYaml: string[]) => {
    const policies = policyYaml.flatMap((y) => parsePolicies(y));
    const probe = probeJson(NAME);
    const wrong = Object.entries(probe.results).filter(([key, ok]) => {
      const [pair] = key.split(':') as [string];
      const [from, to] = pair.split('->').map((k) => cluster.pods.find((p) => podKey(p) === k)!);
      return ok !== isAllowed(cluster, policies, { from: from!, to: to!, port: 80, protocol: 'TCP' });
    });
    expect(wrong).toEqual([]);
    expect(Object.keys(probe.results).length).toBe(6);
  };

  beforeAll(() => {
    if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: npm run build first`);
    dir = mkdtempSync(join(tmpdir(), 'pod-firewall-tx-'));
    must(cliSync(NAME, ['up', file('cluster.yaml', CLUSTER)]), 'up');
  }, 120_000);
  afterAll(() => {
    const r = cliSync(NAME, ['down']);
    PodFirewall.down({ name: NAME });
    if (dir) rmSync(dir, { recursive: true, force: true });
    expect(r.code).toBe(0);
    expect(readdirSync('/run/netns').filter((n) => n.startsWith(`${NAME}.`))).toEqual([]);
    expect(existsSync(`/sys/fs/bpf/${NAME}`)).toBe(false);
  });

  it('concurrent applies and deletes from several processes serialise: nothing lost, nothing revoked comes back', async () => {
    must(cliSync(NAME, ['apply', file('base.yaml', [ISOLATE_B, GRANT_Y].join('---\n'))]), 'apply base');
    const yAgent = await AgentClient.open(agentSocket(`/run/${NAME}`, podNetns(NAME, { namespace: 'y', name: 'a' })));
    const xb = cluster.pods.find((p) => podKey(p) === 'x/b')!.ip;
    expect(await yAgent.probe(xb, 80, 'TCP', 1000)).toBe(true);

    // Four racers, each a sequence of real CLI processes: apply p0, apply p1, delete p0, apply p2, delete p1, apply p3.
    const RACERS = Number(process.env.POD_FIREWALL_RACERS ?? 4);
    const racerFiles = Array.from({ length: RACERS }, (_, r) => Array.from({ length: 4 }, (_, j) => file(`r${r}-${j}.yaml`, racer(`r${r}-p${j}`, r * 4 + j))));
    const steps = (r: number): string[][] => [
      ['apply', racerFiles[r]![0]!],
      ['apply', racerFiles[r]![1]!],
      ['delete', `x/r${r}-p0`],
      ['apply', racerFiles[r]![2]!],
      ['delete', `x/r${r}-p1`],
      ['apply', racerFiles[r]![3]!],
    ];
    const failures: string[] = [];
    const racers = Array.from({ length: RACERS }, async (_, r) => {
      for (const args of steps(r)) {
        const out = await cli(NAME, args);
        if (out.code !== 0) failures.push(`${args.join(' ')}: ${out.stderr}`);
      }
    });
    // The revocation runs in the middle of the race; once it has returned, y/a must never reach x/b again.
    let revokedAt = Number.POSITIVE_INFINITY;
    const revoker = (async () => {
      await new Promise((r) => setTimeout(r, 800));
      const out = await cli(NAME, ['delete', 'x/grant-y']);
      if (out.code !== 0) failures.push(`delete x/grant-y: ${out.stderr}`);
      revokedAt = performance.now();
    })();
    let racing = true;
    const seenOpenAfterRevoke: number[] = [];
    let watched = 0;
    const watcher = (async () => {
      while (racing) {
        const started = performance.now();
        const ok = await yAgent.probe(xb, 80, 'TCP', 300);
        if (started > revokedAt) {
          watched++;
          if (ok) seenOpenAfterRevoke.push(started - revokedAt);
        }
      }
    })();
    await Promise.all([...racers, revoker]);
    racing = false;
    await watcher;
    yAgent.close();

    expect(failures).toEqual([]);
    expect(watched).toBeGreaterThan(0);
    expect(seenOpenAfterRevoke).toEqual([]);
    // Each racer's own sequence decides its policies, whatever the interleaving.
    const expected = ['x/isolate-b', ...Array.from({ length: RACERS }, (_, r) => [`x/r${r}-p2`, `x/r${r}-p3`]).flat()].sort();
    const status = statusJson(NAME);
    expect([...status.policies].sort()).toEqual(expected);
    expect(status.enforced).toBe(true);
    expectMatchesOracle([ISOLATE_B, ...Array.from({ length: RACERS }, (_, r) => [racer(`r${r}-p2`, r * 4 + 2), racer(`r${r}-p3`, r * 4 + 3)]).flat()]);
    must(cliSync(NAME, ['delete', ...expected]), 'delete all');
  }, 300_000);

  // Two states: A isolates x's ingress; B also lets namespace y reach x/a (with many ports, so the update has weight).
  const DENY_X = doc('deny-x', '  podSelector: {}\n');
  const ALLOW_Y = doc(
    'allow-y',
    `  podSelector: { matchLabels: { pod: a } }\n  ingress: [{ from: [{ namespaceSelector: { matchLabels: { ns: y } } }], ports: [${ports(80, 2000)}] }]\n`,
  );
  const stateOf = (policies: string[]) => (policies.includes('x/allow-y') ? 'B' : 'A');
  /** After whatever a kill left: status names a state, the maps enforce exactly it, and real packets agree. */
  const checkAfterKill = (what: string): 'A' | 'B' => {
    const status = statusJson(NAME);
    expect(status.enforced, `${what}: ${status.mismatches.join('; ')}`).toBe(true);
    expect([...status.policies].sort(), what).toEqual(stateOf(status.policies) === 'B' ? ['x/allow-y', 'x/deny-x'] : ['x/deny-x']);
    expectMatchesOracle(stateOf(status.policies) === 'B' ? [DENY_X, ALLOW_Y] : [DENY_X]);
    return stateOf(status.policies);
  };

  it('a command killed at each step of an update leaves the old state or the new one, never a third', () => {
    const a = file('a.yaml', DENY_X);
    const b = file('b.yaml', ALLOW_Y);
    must(cliSync(NAME, ['apply', a]), 'apply A');
    let state: 'A' | 'B' = 'A';
    for (const point of ['saved', 'written', 'flipped', 'cleaned']) {
      const toB = state === 'A';
      const r = cliSync(NAME, toB ? ['apply', b] : ['delete', 'x/allow-y'], { POD_FIREWALL_CRASH_AT: point });
      expect(r.signal, `killed at ${point}`).toBe('SIGKILL');
      const now = checkAfterKill(`killed at ${point}`);
      // Before the flip the old state is in force; from the flip on, the new one.
      expect(now, point).toBe(point === 'saved' || point === 'written' ? state : toB ? 'B' : 'A');
      state = now;
    }
    // And the next command works from there.
    must(cliSync(NAME, ['apply', b]), 'apply B after the kills');
    expect(checkAfterKill('apply after the kills')).toBe('B');
  }, 300_000);

  it('kill -9 at random moments of apply and delete: status and the datapath always agree', async () => {
    const b = file('b.yaml', ALLOW_Y);
    const t0 = performance.now();
    must(cliSync(NAME, ['delete', 'x/allow-y']), 'delete');
    const duration = performance.now() - t0;
    let state = checkAfterKill('start');
    const runs = Number(process.env.POD_FIREWALL_KILL_RUNS ?? 8);
    const seen = { A: 0, B: 0 };
    for (let i = 0; i < runs; i++) {
      const r = await cli(NAME, state === 'A' ? ['apply', b] : ['delete', 'x/allow-y'], { killAfterMs: Math.random() * duration * 1.2 });
      expect(r.code === 0 || r.signal === 'SIGKILL', r.stderr).toBe(true);
      state = checkAfterKill(`random kill ${i}`);
      seen[state]++;
    }
    expect(seen.A + seen.B).toBe(runs);
  }, 600_000);
});

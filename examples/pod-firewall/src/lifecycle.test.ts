import { afterAll, beforeAll, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AgentClient, agentSocket } from './cluster/agents.js';
import { podNetns } from './cluster/topology.js';
import { PodFirewall } from './firewall.js';
import { parsePolicies } from './policy/manifests.js';
import { podKey, type Cluster } from './policy/model.js';
import { isAllowed } from './policy/oracle.js';
import { cli, cliSync, MAIN, must, probeJson, statusJson } from './testing/cli-runner.js';
import { describeNeeds, hasCommand, isRoot } from '../../../test/support/env.js';

/**
 * The cluster's lifecycle through the CLI, on real namespaces: labels, pods
 * added and deleted, `up` again with a changed file, a dead agent, commands
 * killed half-way through a pod change, and the modes of what the firewall
 * writes. Every step is probed with real connections and held to the oracle.
 */

const NAME = `pfl${process.pid % 10000}`;
const pod = (name: string, labels: string, ip?: string) =>
  `      - { name: ${name}, labels: { ${labels} }, ${ip ? `ip: ${ip}, ` : ''}ports: [{ port: 80, protocol: TCP, name: http }] }\n`;
const clusterFile = (xPods: string, yPods: string, yLabels = 'ns: y') =>
  `podCidr: 10.253.0.0/16\nnamespaces:\n  - name: x\n    labels: { ns: x }\n    pods:\n${xPods}  - name: y\n    labels: { ${yLabels} }\n    pods:\n${yPods}`;
const CLUSTER = clusterFile(pod('a', 'pod: a') + pod('b', 'pod: b'), pod('a', 'pod: a'));
const doc = (name: string, spec: string) => `apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: { name: ${name}, namespace: x }\nspec:\n${spec}`;
const POLICIES = [
  doc('deny', '  podSelector: {}\n'),
  doc(
    'web-to-a',
    '  podSelector: { matchLabels: { pod: a } }\n  ingress: [{ from: [{ namespaceSelector: {}, podSelector: { matchLabels: { role: web } } }], ports: [{ port: http }] }]\n',
  ),
];
const policies = POLICIES.flatMap((p) => parsePolicies(p));

describeNeeds([isRoot(), hasCommand('ip'), hasCommand('nsenter'), hasCommand('clang')], 'pod-firewall lifecycle commands on real namespaces', () => {
  let dir: string;
  const file = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };
  const ok = (...args: string[]) => must(cliSync(NAME, args), args.join(' '));
  /** The running cluster as the firewall has it. */
  const current = (): Cluster => PodFirewall.open({ name: NAME }).cluster;
  /** Probes every flow and compares it with the oracle on the running cluster and `policies`. */
  const expectOracle = () => {
    const cluster = current();
    const probe = probeJson(NAME);
    expect(probe.failedAgents).toEqual({});
    const wrong = Object.entries(probe.results).filter(([key, got]) => {
      const [from, to] = key
        .split(':')[0]!
        .split('->')
        .map((k) => cluster.pods.find((p) => podKey(p) === k)!);
      return got !== isAllowed(cluster, policies, { from: from!, to: to!, port: 80, protocol: 'TCP' });
    });
    expect(wrong).toEqual([]);
    const n = cluster.pods.length;
    expect(Object.keys(probe.results).length).toBe(n * (n - 1));
    return probe;
  };
  const ourNetns = () =>
    readdirSync('/run/netns')
      .filter((n) => n.startsWith(`${NAME}.`))
      .sort();

  beforeAll(() => {
    if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: npm run build first`);
    dir = mkdtempSync(join(tmpdir(), 'pod-firewall-life-'));
    ok('up', file('cluster.yaml', CLUSTER));
    ok('apply', file('policies.yaml', POLICIES.join('---\n')));
  }, 120_000);
  afterAll(() => {
    const r = cliSync(NAME, ['down']);
    PodFirewall.down({ name: NAME });
    if (dir) rmSync(dir, { recursive: true, force: true });
    expect(r.code).toBe(0);
    expect(ourNetns()).toEqual([]);
    expect(existsSync(`/sys/fs/bpf/${NAME}`)).toBe(false);
    expect(existsSync(`/run/${NAME}`)).toBe(false);
  });

  it('keeps what it writes to root: run and pin directories 0700, state, lock and datapath object 0600', () => {
    const mode = (p: string) => statSync(p).mode & 0o777;
    expect(mode(`/run/${NAME}`)).toBe(0o700);
    expect(mode(`/run/${NAME}/agents`)).toBe(0o700);
    expect(mode(`/run/${NAME}/state.json`)).toBe(0o600);
    expect(mode(`/run/${NAME}/lock`)).toBe(0o600);
    expect(mode(`/run/${NAME}/datapath.o`)).toBe(0o600);
    expect(mode(`/sys/fs/bpf/${NAME}`)).toBe(0o700);
    for (const f of readdirSync(`/run/${NAME}/agents`).filter((f) => f.endsWith('.pid'))) expect(mode(`/run/${NAME}/agents/${f}`)).toBe(0o600);
  });

  it('label: pods and namespaces, as kubectl label; identities and policies follow', () => {
    expect(expectOracle().results['y/a->x/a:TCP/80']).toBe(false);
    expect(ok('label', 'pod', 'y/a', 'role=web')).toContain('pod y/a labeled: pod=a,role=web');
    expect(expectOracle().results['y/a->x/a:TCP/80']).toBe(true);
    // Changing a set key needs --overwrite, as with kubectl.
    const refused = cliSync(NAME, ['label', 'pod', 'y/a', 'role=db']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('already has role=web (--overwrite to change)');
    ok('label', 'pod', 'y/a', 'role=db', '--overwrite');
    expect(expectOracle().results['y/a->x/a:TCP/80']).toBe(false);
    ok('label', 'pod', 'y/a', 'role-');
    ok('label', 'namespace', 'y', 'team=blue');
    expect(current().namespaces.find((n) => n.name === 'y')!.labels).toEqual({ ns: 'y', team: 'blue', 'kubernetes.io/metadata.name': 'y' });
    expect(cliSync(NAME, ['label', 'pod', 'x/nope', 'a=b']).stderr).toContain('no pod x/nope');
    expect(cliSync(NAME, ['label', 'pod', 'y/a', 'bad key=1']).code).toBe(1);
    expect(statusJson(NAME).enforced).toBe(true);
  }, 120_000);

  it('pod add: the new pod is under the policies in force from its first packet; pod delete removes it all', () => {
    const out = ok('pod', 'add', 'x/c', '--labels', 'pod=c,role=web', '--port', '80/TCP:http');
    expect(out).toMatch(/pod x\/c added at 10\.253\.1\.13/);
    expect(ourNetns()).toContain(`${NAME}.x.c`);
    const probe = expectOracle();
    expect(probe.results['x/c->x/a:TCP/80']).toBe(true); // role=web
    expect(probe.results['y/a->x/c:TCP/80']).toBe(false); // x's default deny covers the new pod
    // A new namespace comes with its pod.
    ok('pod', 'add', 'z/a', '--labels', 'role=web', '--port', '80', '--namespace-labels', 'ns=z');
    expect(expectOracle().results['z/a->x/a:TCP/80']).toBe(true);
    expect(cliSync(NAME, ['pod', 'add', 'x/c']).stderr).toContain('already exists');
    ok('pod', 'delete', 'x/c');
    ok('pod', 'delete', 'z/a');
    expect(ourNetns()).not.toContain(`${NAME}.x.c`);
    expect(readdirSync(`/sys/fs/bpf/${NAME}/links`).length).toBe(2 * 3);
    expect(Object.keys(expectOracle().results).length).toBe(6);
    expect(cliSync(NAME, ['pod', 'delete', 'x/c']).stderr).toContain('no pod x/c');
  }, 120_000);

  it('up on a running cluster adds, removes and relabels pods, keeps every policy, and never opens a denied flow', async () => {
    // y/a -> x/b stays denied throughout (x's default deny); a watcher checks it while up runs.
    const ya = await AgentClient.open(agentSocket(`/run/${NAME}`, podNetns(NAME, { namespace: 'y', name: 'a' })));
    const xb = current().pods.find((p) => podKey(p) === 'x/b')!.ip;
    let running = true;
    let watched = 0;
    const opened: number[] = [];
    const watcher = (async () => {
      while (running) {
        watched++;
        if (await ya.probe(xb, 80, 'TCP', 200)) opened.push(watched);
      }
    })();
    const next = clusterFile(pod('a', 'pod: a') + pod('b', 'pod: b, role: web') + pod('d', 'pod: d'), pod('a', 'pod: a') + pod('b', 'role: web'));
    const r = await cli(NAME, ['up', file('cluster2.yaml', next)]);
    running = false;
    await watcher;
    ya.close();
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('pods added: x/d, y/b');
    expect(r.stdout).toContain('pods relabelled: x/b');
    expect(r.stdout).toContain('2 policies kept');
    expect(watched).toBeGreaterThan(0);
    expect(opened).toEqual([]);
    expect(statusJson(NAME).policies).toEqual(['x/deny', 'x/web-to-a']);
    const probe = expectOracle();
    expect(probe.results['y/b->x/a:TCP/80']).toBe(true);
    expect(probe.results['x/d->x/a:TCP/80']).toBe(false);
    // The pods that were there kept their addresses.
    expect(current().pods.find((p) => podKey(p) === 'x/b')!.ip).toBe('10.253.1.12');
    // Removing pods (and the same file again changes nothing).
    ok('up', file('cluster.yaml', CLUSTER));
    expect(ok('up', file('cluster.yaml', CLUSTER))).toContain('already as the file says');
    expect(ourNetns()).toEqual([`${NAME}.node`, `${NAME}.x.a`, `${NAME}.x.b`, `${NAME}.y.a`]);
    expectOracle();
  }, 180_000);

  it('a dead agent is reported for its pod, the rest is measured, probe ends; up restarts it', () => {
    const pidFile = `/run/${NAME}/agents/${NAME}.y.a.pid`;
    process.kill(Number(readFileSync(pidFile, 'utf8')), 'SIGKILL');
    // It ends (before it hung for good): cliSync's own 120 s limit would kill it, and then the checks below fail.
    const r = cliSync(NAME, ['probe', '--json']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('y/a:');
    expect(r.stderr).not.toContain('internal error');
    const probe = JSON.parse(r.stdout) as { results: Record<string, boolean>; failedAgents: Record<string, string> };
    expect(Object.keys(probe.failedAgents)).toEqual(['y/a']);
    expect(Object.keys(probe.results).sort()).toEqual(['x/a->x/b:TCP/80', 'x/b->x/a:TCP/80']);
    expect(ok('up', file('cluster.yaml', CLUSTER))).toContain('restarted agents that were not running: y/a');
    expectOracle();
  }, 120_000);

  it('a pod change killed half-way is repaired by the next command', () => {
    // Killed with the new pod made but in no state: status does not list it; the next change removes it.
    const add = cliSync(NAME, ['pod', 'add', 'x/e', '--port', '80'], { POD_FIREWALL_CRASH_AT: 'pod-made' });
    expect(add.signal).toBe('SIGKILL');
    expect(statusJson(NAME).endpoints.map((e) => e.pod)).not.toContain('x/e');
    expect(statusJson(NAME).interrupted).toBeDefined();
    ok('label', 'namespace', 'x', 'ns=x', 'touched=yes');
    expect(ourNetns()).not.toContain(`${NAME}.x.e`);
    expect(statusJson(NAME).interrupted).toBeUndefined();
    // Killed with a leaving pod cut off but still in the maps: it is still in force, and comes back.
    const del = cliSync(NAME, ['pod', 'delete', 'x/b'], { POD_FIREWALL_CRASH_AT: 'pod-unlinked' });
    expect(del.signal).toBe('SIGKILL');
    expect(statusJson(NAME).endpoints.map((e) => e.pod)).toContain('x/b');
    ok('apply', file('policies.yaml', POLICIES.join('---\n')));
    expect(statusJson(NAME)).toMatchObject({ enforced: true });
    expectOracle();
    // Killed right after the flip of a pod delete: the pod is gone from the state; its remains go with the next command.
    const del2 = cliSync(NAME, ['pod', 'delete', 'x/b'], { POD_FIREWALL_CRASH_AT: 'flipped' });
    expect(del2.signal).toBe('SIGKILL');
    expect(statusJson(NAME).endpoints.map((e) => e.pod)).not.toContain('x/b');
    ok('up', file('cluster.yaml', CLUSTER));
    expect(ourNetns()).toEqual([`${NAME}.node`, `${NAME}.x.a`, `${NAME}.x.b`, `${NAME}.y.a`]);
    expectOracle();
  }, 180_000);
});

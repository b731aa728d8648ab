import { afterAll, beforeAll, expect, it } from 'vitest';
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readdirSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { PodFirewall } from './firewall.js';
import type { Cluster, NetworkPolicy } from './policy/model.js';
import { describeNeeds, hasCommand, isRoot } from '../../../test/support/env.js';
import { NOTHING_LEFT, leftovers, tearDown } from './testing/leftovers.js';

const NAME = `pft${process.pid % 10000}`;
const cluster: Cluster = {
  namespaces: ['x', 'y'].map((n) => ({ name: n, labels: { ns: n, 'kubernetes.io/metadata.name': n } })),
  pods: [
    {
      namespace: 'x',
      name: 'a',
      labels: { pod: 'a' },
      ip: '10.250.1.11',
      ports: [
        { port: 80, protocol: 'TCP', name: 'http' },
        { port: 81, protocol: 'UDP' },
      ],
    },
    {
      namespace: 'x',
      name: 'b',
      labels: { pod: 'b' },
      ip: '10.250.1.12',
      ports: [
        { port: 80, protocol: 'TCP', name: 'http' },
        { port: 81, protocol: 'UDP' },
      ],
    },
    {
      namespace: 'y',
      name: 'a',
      labels: { pod: 'a' },
      ip: '10.250.2.11',
      ports: [
        { port: 80, protocol: 'TCP', name: 'http' },
        { port: 81, protocol: 'UDP' },
      ],
    },
  ],
};
const policy = (name: string, namespace: string, spec: NetworkPolicy['spec']): NetworkPolicy => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { name, namespace },
  spec,
});
const denied = (m: Map<string, boolean>) =>
  [...m]
    .filter(([, ok]) => !ok)
    .map(([k]) => k)
    .sort();

describeNeeds([isRoot(), hasCommand('ip'), hasCommand('nsenter'), hasCommand('clang')], 'pod firewall on real namespaces', () => {
  let fw: PodFirewall;
  beforeAll(async () => {
    fw = await PodFirewall.up(cluster, { name: NAME });
  }, 120_000);
  afterAll(() => expect(tearDown(fw, NAME)).toEqual(NOTHING_LEFT));

  it('allows everything without policy, then enforces a default deny and an allow rule, replies included', async () => {
    expect(denied(await fw.probe())).toEqual([]);
    fw.apply([policy('deny', 'x', { podSelector: {} })]);
    expect(denied(await fw.probe())).toEqual([
      'x/a->x/b:TCP/80',
      'x/a->x/b:UDP/81',
      'x/b->x/a:TCP/80',
      'x/b->x/a:UDP/81',
      'y/a->x/a:TCP/80',
      'y/a->x/a:UDP/81',
      'y/a->x/b:TCP/80',
      'y/a->x/b:UDP/81',
    ]);
    // Only ingress of x is enforced; x's own egress (and the replies back in) still work.
    fw.apply([policy('web', 'x', { podSelector: { matchLabels: { pod: 'a' } }, ingress: [{ from: [{ namespaceSelector: {} }], ports: [{ port: 'http' }] }] })]);
    expect(denied(await fw.probe())).toEqual([
      'x/a->x/b:TCP/80',
      'x/a->x/b:UDP/81',
      'x/b->x/a:UDP/81',
      'y/a->x/a:UDP/81',
      'y/a->x/b:TCP/80',
      'y/a->x/b:UDP/81',
    ]);
    expect(fw.delete(['x/deny', 'x/web'])).toBe(2);
    expect(denied(await fw.probe())).toEqual([]);
  }, 60_000);

  it('reports flow events at the endpoint whose policy decided: allowed with the policy, and drops', async () => {
    fw.apply([
      policy('only-a', 'x', {
        podSelector: { matchLabels: { pod: 'b' } },
        ingress: [{ from: [{ podSelector: { matchLabels: { pod: 'a' } } }], ports: [{ port: 80 }] }],
      }),
    ]);
    const stop = new AbortController();
    const ring = fw.observe(stop.signal);
    ring.drain(); // what earlier tests left unread
    const seen: { from: string; to: string; port: number; verdict: number; dir: number; policy: string | undefined; endpoint: number }[] = [];
    const reading = (async () => {
      for await (const e of ring) {
        seen.push({
          from: fw.podByIp(e.saddr)!,
          to: fw.podByIp(e.daddr)!,
          port: e.dport,
          verdict: e.verdict,
          dir: e.dir,
          policy: fw.policyName(e.policyId),
          endpoint: e.endpointId,
        });
      }
    })();
    await fw.probe([{ port: 80, protocol: 'TCP' }]);
    await new Promise((r) => setTimeout(r, 300));
    stop.abort();
    await reading;
    ring.close();
    const xb = fw.readLive().endpoints.get('x/b')!.endpointId;
    // x/a -> x/b: allowed by x/only-a, reported at x/b's ingress.
    expect(seen).toContainEqual({ from: 'x/a', to: 'x/b', port: 80, verdict: 1, dir: 1, policy: 'x/only-a', endpoint: xb });
    // y/a -> x/b: dropped at x/b's ingress.
    expect(seen).toContainEqual({ from: 'y/a', to: 'x/b', port: 80, verdict: 2, dir: 1, policy: undefined, endpoint: xb });
    // Nothing about flows no policy isolates.
    expect(seen.filter((e) => e.to !== 'x/b')).toEqual([]);
    fw.delete(['x/only-a']);
  }, 60_000);

  it('an update keeps established connections the new policy allows, and enforces it on new ones', async () => {
    const ns = (pod: string) => `--net=/run/netns/${NAME}.${pod.replace('/', '.')}`;
    const server = spawn('nsenter', [ns('x/b'), process.execPath, '-e', "require('net').createServer((s) => s.pipe(s)).listen(7000)"], { stdio: 'ignore' });
    await new Promise((r) => setTimeout(r, 300)); // the server listening
    const client = spawn(
      'nsenter',
      [
        ns('x/a'),
        process.execPath,
        '-e',
        `
        const s = require('net').connect(7000, '10.250.1.12');
        s.on('error', (e) => { console.log('error ' + e.code); process.exit(1); });
        s.on('data', (d) => process.stdout.write(d));
        require('readline').createInterface({ input: process.stdin }).on('line', (l) => s.write(l + String.fromCharCode(10)));`,
      ],
      { stdio: ['pipe', 'pipe', 'inherit'] },
    );
    try {
      const lines = createInterface({ input: client.stdout! });
      const echo = async (text: string) => {
        const got = new Promise<string>((resolve) => lines.once('line', resolve));
        client.stdin!.write(`${text}\n`);
        return Promise.race([got, new Promise<string>((r) => setTimeout(() => r('(no answer)'), 2000))]);
      };
      await new Promise((r) => setTimeout(r, 300)); // the client connected
      expect(await echo('before')).toBe('before');
      // x/b becomes isolated: only x/a may open connections to it, on TCP 7000.
      fw.apply([
        policy('only-7000', 'x', {
          podSelector: { matchLabels: { pod: 'b' } },
          ingress: [{ from: [{ podSelector: { matchLabels: { pod: 'a' } } }], ports: [{ port: 7000 }] }],
        }),
      ]);
      expect(await echo('after')).toBe('after');
      // Another update, still allowing it: the connection carries on through the flip and cleanup.
      fw.apply([policy('also-81', 'x', { podSelector: { matchLabels: { pod: 'b' } }, ingress: [{ ports: [{ port: 81, protocol: 'UDP' }] }] })]);
      expect(await echo('again')).toBe('again');
      const m = await fw.probe([{ port: 7000, protocol: 'TCP' }]);
      expect(m.get('x/a->x/b:TCP/7000')).toBe(true);
      expect(m.get('y/a->x/b:TCP/7000')).toBe(false);
    } finally {
      client.kill('SIGKILL');
      server.kill('SIGKILL');
      fw.delete(['x/only-7000', 'x/also-81']);
    }
  }, 60_000);

  it('down also cleans up after a run that died half-way (a stray namespace with a process in it, a stray pin)', () => {
    const crashed = `${NAME}x`;
    execFileSync('ip', ['netns', 'add', `${crashed}.node`]);
    const orphan = spawn('nsenter', [`--net=/run/netns/${crashed}.node`, 'sleep', '600'], { stdio: 'ignore', detached: true });
    mkdirSync(`/sys/fs/bpf/${crashed}/links`, { recursive: true });
    try {
      PodFirewall.down({ name: crashed });
      expect(leftovers(crashed)).toEqual(NOTHING_LEFT);
      // Not our instance's: untouched.
      expect(readdirSync('/run/netns').filter((n) => n.startsWith(`${NAME}.`)).length).toBeGreaterThan(0);
    } finally {
      try {
        process.kill(orphan.pid!, 'SIGKILL');
      } catch {
        // down killed it
      }
      PodFirewall.down({ name: crashed });
    }
  });

  it('a new process adopts the pinned state; the counters saw the traffic', async () => {
    fw.apply([policy('deny', 'y', { podSelector: {}, policyTypes: ['Egress'] })]);
    fw.close();
    fw = PodFirewall.open({ name: NAME });
    expect(fw.policies.map((p) => p.metadata.name)).toEqual(['deny']);
    expect(denied(await fw.probe())).toEqual(['y/a->x/a:TCP/80', 'y/a->x/a:UDP/81', 'y/a->x/b:TCP/80', 'y/a->x/b:UDP/81']);
    const s = fw.status();
    expect(s.counters['deny-policy']!.packets).toBeGreaterThan(0n);
    expect(s.counters['allow-ct']!.packets).toBeGreaterThan(0n);
    expect(s.endpoints.find((e) => e.pod === 'y/a')).toMatchObject({ egress: true, ingress: false });
  }, 60_000);
});

/**
 * Flow events reach every reader: several `pod-firewall observe` processes
 * and this one all see the same events of a probe (before the hub, two
 * readers of the ring buffer each got part of the stream), and when the
 * process that reads the ring is killed, another takes over and nobody
 * stops seeing events.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeNeeds, hasCommand, isRoot } from '../../../../test/support/env.js';
import { PodFirewall } from '../firewall.js';
import type { Cluster, NetworkPolicy } from '../policy/model.js';
import { MAIN } from '../testing/cli-runner.js';

const NAME = `pfh${process.pid % 10000}`;
const cluster: Cluster = {
  namespaces: [{ name: 'x', labels: { 'kubernetes.io/metadata.name': 'x' } }],
  pods: ['a', 'b', 'c'].map((p, i) => ({
    namespace: 'x',
    name: p,
    labels: { pod: p },
    ip: `10.251.1.${11 + i}`,
    ports: [{ port: 80, protocol: 'TCP' as const }],
  })),
};
const onlyFromA: NetworkPolicy = {
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { name: 'only-a', namespace: 'x' },
  spec: { podSelector: { matchLabels: { pod: 'b' } }, ingress: [{ from: [{ podSelector: { matchLabels: { pod: 'a' } } }] }] },
};

interface Observer {
  readonly child: ChildProcess;
  readonly lines: string[];
  hub: boolean;
  stderr: string;
}

/** `pod-firewall observe --json`, resolved once it says it is observing (and whether it reads the ring). */
function observe(): Promise<Observer> {
  const child = spawn(process.execPath, [MAIN, '--name', NAME, 'observe', '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const o: Observer = { child, lines: [], hub: false, stderr: '' };
  let out = '';
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
    const parts = out.split('\n');
    out = parts.pop()!;
    o.lines.push(...parts.filter(Boolean));
  });
  return new Promise((resolve, reject) => {
    let err = '';
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      o.stderr = err;
      if (err.includes('observing flow events')) {
        o.hub = err.includes("reads the datapath's ring buffer");
        resolve(o);
      }
    });
    child.on('exit', (code) => reject(new Error(`observe exited ${code}: ${err}`)));
  });
}

const flowsOf = (lines: readonly string[]) =>
  new Set(
    lines
      .map((l) => JSON.parse(l) as { source: { pod?: string }; destination: { pod?: string }; verdict: string })
      .map((e) => `${e.source.pod}->${e.destination.pod} ${e.verdict}`),
  );

async function until(what: string | (() => string), ok: () => boolean, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${typeof what === 'string' ? what : what()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describeNeeds([isRoot(), hasCommand('ip'), hasCommand('clang')], 'flow events for every reader', () => {
  let fw: PodFirewall;
  const children: ChildProcess[] = [];
  beforeAll(async () => {
    fw = await PodFirewall.up(cluster, { name: NAME });
    fw.apply([onlyFromA]);
  }, 120_000);
  afterAll(() => {
    for (const c of children) c.kill('SIGKILL');
    fw?.close();
    PodFirewall.down({ name: NAME });
  });

  it('gives every observer every event, and survives the death of the one reading the ring', async () => {
    const first = await observe();
    const second = await observe();
    children.push(first.child, second.child);
    expect([first.hub, second.hub]).toEqual([true, false]);
    using mine = fw.observe();
    await mine.ready();
    expect(mine.isHub).toBe(false);

    await fw.probe([{ port: 80, protocol: 'TCP' }]);
    // x/a -> x/b is allowed by the policy, x/c -> x/b dropped: both are reported at x/b.
    const expected = ['x/a->x/b ALLOWED', 'x/c->x/b DENIED'];
    const seen: string[] = [];
    const reading = mine.consume((e) => seen.push(`${fw.podByIp(e.saddr)}->${fw.podByIp(e.daddr)} ${e.verdict === 1 ? 'ALLOWED' : 'DENIED'}`));
    await until(
      'every observer to see the probe',
      () => [first.lines, second.lines].every((l) => expected.every((x) => flowsOf(l).has(x))) && expected.every((x) => seen.includes(x)),
    );
    // The same events, not a share each.
    expect(first.lines.length).toBe(second.lines.length);

    // The reader of the ring dies without a word; the others go on (one of them reads it now).
    first.child.kill('SIGKILL');
    await new Promise((r) => first.child.once('exit', r));
    // Events before a reader (re)joins are not its own: wait until both are with the new hub.
    await until('the survivors to rejoin', () => mine.joins === 2 && second.stderr.includes('still observing'));
    const before = { second: second.lines.length, mine: seen.length };
    await fw.probe([{ port: 80, protocol: 'TCP' }]);
    await until(
      () =>
        `the survivors to see the second probe (this process ${mine.isHub ? 'reads the ring' : 'is relayed'}; saw ${JSON.stringify(seen.slice(before.mine))}; the other saw ${JSON.stringify([...flowsOf(second.lines.slice(before.second))])}, exit ${second.child.exitCode}, said ${second.stderr})`,
      () => {
        const secondNew = flowsOf(second.lines.slice(before.second));
        return expected.every((x) => secondNew.has(x)) && expected.every((x) => seen.slice(before.mine).includes(x));
      },
    );
    mine.close();
    await reading;
  }, 120_000);
});

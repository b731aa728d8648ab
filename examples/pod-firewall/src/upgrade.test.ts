import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { compile as compileC } from '@tsbpf/compiler';
import { BpfMap, Link, loadCollection, Program } from '@tsbpf/loader';
import { parseCollectionSpec } from '@tsbpf/object';
import { packageDir } from './cluster/agents.js';
import { podNetns } from './cluster/topology.js';
import { PodFirewall } from './firewall.js';
import { parsePolicies } from './policy/manifests.js';
import { podKey } from './policy/model.js';
import { cliSync, MAIN, must } from './testing/cli-runner.js';
import { describeNeeds, hasCommand, isRoot } from '../../../test/support/env.js';

/**
 * `pod-firewall upgrade` on real namespaces: the datapath replaced on every
 * veth while a ping flood runs through an allowed flow and a denied flow is
 * probed (no allowed packet lost, no denied one through, both builds judged
 * part of the flood); an object that differs takes effect on every veth; an
 * incompatible object and a link someone else changed are refused, and
 * nothing changes.
 */

const NAME = `pfu${process.pid % 10000}`;
const PINS = `/sys/fs/bpf/${NAME}`;
const pod = (name: string) => `      - { name: ${name}, labels: { pod: ${name} }, ports: [{ port: 80, protocol: TCP }] }\n`;
const CLUSTER = `podCidr: 10.249.0.0/16\nnamespaces:\n  - name: x\n    labels: { ns: x }\n    pods:\n${pod('a') + pod('b') + pod('c')}`;
// b takes anything (ICMP too: no ports) from a, nothing from c.
const POLICY = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: only-a, namespace: x }
spec:
  podSelector: { matchLabels: { pod: b } }
  ingress: [{ from: [{ podSelector: { matchLabels: { pod: a } } }] }]
`;
/** An object whose programs pass everything and whose `policy` map is smaller than the pinned one. */
const INCOMPATIBLE = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} policy SEC(".maps");
SEC("tcx/ingress") int from_pod(struct __sk_buff *skb) { return -1; }
SEC("tcx/egress") int to_pod(struct __sk_buff *skb) { return -1; }
char LICENSE[] SEC("license") = "GPL";
`;

interface PingResult {
  sent: number;
  received: number;
}

/** ping from a pod's namespace; `done` resolves with what its summary says, `stop` ends it (SIGINT: it still prints one). */
function ping(from: string, to: string, args: string[]) {
  // ip netns exec execs ping: the child is ping itself.
  const child = spawn('ip', ['netns', 'exec', podNetns(NAME, { namespace: 'x', name: from }), 'ping', '-q', '-W', '1', ...args, to], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  let alive = true;
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const done = new Promise<PingResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', () => {
      alive = false;
      const m = /(\d+) packets transmitted, (\d+) received/.exec(output);
      if (!m) reject(new Error(`ping ${from} -> ${to}: no summary in ${output}`));
      else resolve({ sent: Number(m[1]), received: Number(m[2]) });
    });
  });
  return { done, running: () => alive, stop: () => alive && child.kill('SIGINT') };
}

const readObject = (path: string) => new Uint8Array(readFileSync(path));

describeNeeds([isRoot(), hasCommand('ip'), hasCommand('nsenter'), hasCommand('clang'), hasCommand('ping')], 'pod-firewall upgrade on real namespaces', () => {
  let dir: string;
  let variant: string;
  let incompatible: string;
  let ip: (name: string) => string;
  const ok = (...args: string[]) => must(cliSync(NAME, args), args.join(' '));
  const fw = () => PodFirewall.open({ name: NAME });
  const status = () => fw().status();
  /** The datapath as status has it, with the program ids on every pod's veth (tcx ingress, egress) from the kernel. */
  const attached = () => {
    const { programs, object, onEveryPod, elsewhere, links } = status().datapath;
    expect(links).toHaveLength(3);
    return { datapath: { programs, object, onEveryPod, elsewhere }, links };
  };
  const marked = (podName: string): bigint => markedAt(status().datapath.links.find((l) => l.pod === `x/${podName}`)!.ifindex);
  /** What the marked build's from_pod counted on the veth `ifindex`. */
  const markedAt = (ifindex: number): bigint => {
    if (!existsSync(join(PINS, 'marked'))) return 0n;
    using m = BpfMap.fromPin(join(PINS, 'marked'));
    const key = new Uint8Array(new Uint32Array([ifindex]).buffer);
    const v = m.lookup(key);
    return v ? new DataView(v.buffer, v.byteOffset).getBigUint64(0, true) : 0n;
  };

  beforeAll(async () => {
    if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: npm run build first`);
    dir = mkdtempSync(join(tmpdir(), 'pod-firewall-upgrade-'));
    variant = join(dir, 'marked.bpf.o');
    await compileC({ source: join(packageDir(), 'bpf', 'firewall.bpf.c'), defines: ['PF_DATAPATH_MARK'], output: variant });
    writeFileSync(join(dir, 'incompatible.bpf.c'), INCOMPATIBLE);
    incompatible = join(dir, 'incompatible.bpf.o');
    await compileC({ source: join(dir, 'incompatible.bpf.c'), output: incompatible });
    writeFileSync(join(dir, 'cluster.yaml'), CLUSTER);
    writeFileSync(join(dir, 'policy.yaml'), POLICY);
    ok('up', join(dir, 'cluster.yaml'));
    ok('apply', join(dir, 'policy.yaml'));
    const cluster = fw().cluster;
    ip = (name: string) => cluster.pods.find((p) => podKey(p) === `x/${name}`)!.ip;
  }, 180_000);

  afterAll(() => {
    const r = cliSync(NAME, ['down']);
    PodFirewall.down({ name: NAME });
    if (dir) rmSync(dir, { recursive: true, force: true });
    expect(r.code).toBe(0);
    expect(existsSync(PINS)).toBe(false);
  });

  it('records the datapath up loaded, and every veth runs it', () => {
    const { datapath, links } = attached();
    expect(datapath.object).toBe('bpf/firewall.bpf.c');
    expect(datapath.onEveryPod).toBe(true);
    for (const l of links) expect(l).toMatchObject({ ingress: [datapath.programs.from_pod.id], egress: [datapath.programs.to_pod.id] });
  });

  it('swaps every pod under a ping flood: no allowed packet lost, no denied packet through, both builds judged part of it', async () => {
    expect((await ping('a', ip('b'), ['-c', '3', '-i', '0.2']).done).received).toBe(3); // allowed, neighbours warm
    const deniedBefore = status().counters['deny-policy']!.packets;
    const SENT = 200_000;
    const flood = ping('a', ip('b'), ['-f', '-c', String(SENT)]);
    const denied = ping('c', ip('b'), ['-i', '0.01', '-c', '100000']);
    const f = fw();
    const before = f.status().datapath.programs;
    const markedBefore = marked('a');
    let upgrades = 0;
    let duringFlood = 0;
    const ids = new Set<number>([before.from_pod.id]);
    // While the default build runs, the marked one's count must not move: once upgrade returns, the old program judges nothing.
    const ifindexA = status().datapath.links.find((l) => l.pod === 'x/a')!.ifindex;
    const count = () => markedAt(ifindexA);
    let quietPeriods = 0;
    try {
      // Alternately the marked build and the default one, as long as the flood runs.
      while (flood.running() && upgrades < 40) {
        const toMarked = upgrades % 2 === 0;
        const r = await f.upgrade(toMarked ? { object: readObject(variant), source: variant } : {});
        expect(r.links).toBe(6);
        ids.add(r.after.programs.from_pod.id);
        upgrades++;
        if (!toMarked) {
          const settled = count();
          await new Promise((resolve) => setTimeout(resolve, 20)); // let the flood run on the default build
          expect(count()).toBe(settled);
          quietPeriods++;
        }
        if (flood.running()) duringFlood++;
      }
    } finally {
      await flood.done.catch(() => undefined);
      denied.stop();
      await denied.done.catch(() => undefined);
    }
    const allowed = await flood.done;
    // The denied probe ran all along (stopped above, once the flood ended).
    const blocked = await denied.done;
    const markedA = marked('a') - markedBefore;
    const deniedAfter = status().counters['deny-policy']!.packets;
    console.log(
      `upgrade under a ping flood: ${allowed.sent} sent, ${allowed.received} received, ${upgrades} upgrades (${duringFlood} finished during the flood), ` +
        `${markedA} judged by the marked build, none while the default one ran (${quietPeriods} periods); denied flow: ${blocked.sent} sent, ${blocked.received} through, deny-policy +${deniedAfter - deniedBefore}`,
    );
    expect(allowed).toEqual({ sent: SENT, received: SENT });
    expect(duringFlood).toBeGreaterThanOrEqual(2);
    expect(quietPeriods).toBe(Math.floor(upgrades / 2));
    expect(ids.size).toBe(upgrades + 1); // every upgrade loaded new programs
    expect(markedA > 0n && markedA < BigInt(SENT)).toBe(true); // old and new builds both judged packets of the flood
    expect(blocked.sent).toBeGreaterThan(0);
    expect(blocked.received).toBe(0);
    expect(deniedAfter - deniedBefore).toBeGreaterThanOrEqual(BigInt(blocked.sent));
  }, 300_000);

  it('upgrade --object: a build that differs runs on every veth afterwards', async () => {
    const was = attached().datapath;
    const out = ok('upgrade', '--object', variant);
    expect(out).toMatch(/datapath upgraded on 3 pods \(6 tcx links, no gap\)/);
    const { datapath, links } = attached();
    expect(datapath.object).toBe(variant);
    expect(datapath.programs.from_pod.id).not.toBe(was.programs.from_pod.id);
    expect(datapath.programs.to_pod.id).not.toBe(was.programs.to_pod.id);
    expect(datapath.onEveryPod).toBe(true);
    for (const l of links) expect(l).toMatchObject({ ingress: [datapath.programs.from_pod.id], egress: [datapath.programs.to_pod.id] });
    // It is the marked build: its from_pod counts what leaves a.
    const seen = marked('a');
    expect((await ping('a', ip('b'), ['-c', '5', '-i', '0.05']).done).received).toBe(5);
    expect(marked('a') - seen).toBe(5n);
    expect(ok('status')).toContain(`datapath ${variant}: from_pod id ${datapath.programs.from_pod.id}`);
    // And back to the default build (compiled now), another tag.
    ok('upgrade');
    const back = attached().datapath;
    expect(back.object).toBe('bpf/firewall.bpf.c');
    expect(back.programs.from_pod.tag).not.toBe(datapath.programs.from_pod.tag);
  }, 120_000);

  it('refuses an object whose maps differ, before anything changes', async () => {
    const was = attached();
    const r = cliSync(NAME, ['upgrade', '--object', incompatible]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('its maps differ from the pinned ones');
    expect(r.stderr).toMatch(/policy \(.*max entries 16, running \d+/);
    expect(r.stderr).toContain('ct (missing)');
    expect(attached()).toEqual(was);
    // Its programs pass everything: had they run, c would reach b.
    expect((await ping('c', ip('b'), ['-c', '3', '-i', '0.1']).done).received).toBe(0);
    expect((await ping('a', ip('b'), ['-c', '3', '-i', '0.1']).done).received).toBe(3);
    await expect(fw().upgrade({ object: readObject(incompatible), source: 'x' })).rejects.toMatchObject({ code: 'DATAPATH_INCOMPATIBLE' });
    await expect(fw().upgrade({ object: new Uint8Array(10), source: 'junk' })).rejects.toMatchObject({ code: 'DATAPATH_INVALID' });
    expect(cliSync(NAME, ['upgrade', '--object', join(dir, 'missing.o')]).stderr).toContain('missing.o');
  }, 60_000);

  it('a link that does not run the old program fails the upgrade half-way: the links moved are moved back', async () => {
    const was = attached();
    const last = status().datapath.links.at(-1)!;
    // Someone else's program on the last pod's egress link (the upgrade moves that link last).
    const { object } = await compileC({ source: join(packageDir(), 'bpf', 'firewall.bpf.c') });
    using other = loadCollection(parseCollectionSpec(object), { pinRoot: PINS });
    const linkPath = join(PINS, 'links', `${last.veth}-egress`);
    {
      using link = Link.fromPin(linkPath);
      link.update(other.programs.to_pod!);
    }
    try {
      const err = await fw()
        .upgrade()
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(err).toMatchObject({ code: 'UPGRADE_FAILED' });
      expect((err as Error).message).toMatch(/the 5 links moved before it were moved back; the old datapath runs/);
      const now = attached();
      expect(now.datapath.programs).toEqual(was.datapath.programs);
      expect(now.datapath.onEveryPod).toBe(false);
      expect(now.datapath.elsewhere).toEqual([`${last.pod} (ingress ${was.datapath.programs.from_pod.id}, egress ${other.programs.to_pod!.id()})`]);
      expect(now.links.slice(0, -1)).toEqual(was.links.slice(0, -1));
      expect(ok('status')).toContain("NOT on every pod's veth");
    } finally {
      using link = Link.fromPin(linkPath);
      using pinned = Program.fromPin(join(PINS, 'progs', 'to_pod'));
      link.update(pinned);
    }
    expect(attached()).toEqual(was);
    expect((await ping('c', ip('b'), ['-c', '3', '-i', '0.1']).done).received).toBe(0);
  }, 120_000);

  it('an upgrade killed half-way: status names the pod that runs the new program, the next upgrade finishes', async () => {
    const was = attached();
    const r = cliSync(NAME, ['upgrade', '--object', variant], { POD_FIREWALL_CRASH_AT: 'upgrade-half' });
    expect(r.signal).toBe('SIGKILL');
    const half = attached();
    expect(half.datapath.programs).toEqual(was.datapath.programs); // the pins were not replaced
    expect(half.datapath.onEveryPod).toBe(false);
    expect(half.datapath.elsewhere).toHaveLength(1);
    expect(half.links[0]!.ingress).toHaveLength(1);
    expect(half.links[0]!.ingress).not.toEqual(was.links[0]!.ingress);
    expect(half.links.slice(1)).toEqual(was.links.slice(1));
    expect((await ping('c', ip('b'), ['-c', '3', '-i', '0.1']).done).received).toBe(0);
    expect((await ping('a', ip('b'), ['-c', '3', '-i', '0.1']).done).received).toBe(3);
    expect(ok('upgrade')).toMatch(/datapath upgraded on 3 pods/);
    const { datapath, links } = attached();
    expect(datapath.onEveryPod).toBe(true);
    expect(datapath.programs.from_pod.id).not.toBe(was.datapath.programs.from_pod.id);
    for (const l of links) expect(l).toMatchObject({ ingress: [datapath.programs.from_pod.id], egress: [datapath.programs.to_pod.id] });
    expect(readdirSync(join(PINS, 'progs')).sort()).toEqual(['from_pod', 'to_pod']);
  }, 120_000);

  it('a pod added after an upgrade gets the programs it pinned', () => {
    const { datapath } = attached();
    ok('pod', 'add', 'x/d', '--labels', 'pod=d', '--port', '80/TCP');
    try {
      const now = status().datapath;
      expect(now.links).toHaveLength(4);
      expect(now.onEveryPod).toBe(true);
      expect(now.links.find((l) => l.pod === 'x/d')).toMatchObject({ ingress: [datapath.programs.from_pod.id], egress: [datapath.programs.to_pod.id] });
    } finally {
      ok('pod', 'delete', 'x/d');
    }
  }, 120_000);
});

/**
 * The local fast path against the node's routing, with real packets between
 * namespaces this test makes, in both modes of one instance (switched with
 * `reconcile`'s fastPath): where it delivers (past the node: the receiver's
 * host veth sends nothing; TTL down by one as routing does), what it leaves to
 * the node (a TTL of 1, IP options), and that it never delivers what the
 * slow path denies: every probe cell equal in both modes, and a flow whose
 * receiving side conntrack has expired judged anew by to_pod (denied after
 * its policy was revoked) though the sender's side is still established.
 * Off, the programs are loaded with the `fast_path` constant 0: from_pod's
 * instructions as the verifier left them no longer name `local_pods`, and a
 * filled `local_pods` is ignored. A build without the constant (as before
 * it) is upgraded to and from in both modes, its map alone switching it.
 */
import { execFile, spawn } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compile as compileC } from '@tsbpf/compiler';
import { BpfMap } from '@tsbpf/loader';
import { TypedMap } from '@tsbpf/maps';
import { ctKey, localPodValue, podAddressKey } from './layout.js';
import { UDP_ECHO_SCRIPT } from './udp-echo-script.js';
import { mapsInCode as programMaps } from '../testing/code-maps.js';
import { mapCodecs } from './bindings.js';
import { PodFirewall } from '../firewall.js';
import { packageDir } from '../cluster/agents.js';
import { hostVeth, ip as ipCommand } from '../cluster/topology.js';
import type { Cluster, NetworkPolicy } from '../policy/model.js';
import { describeNeeds, hasCommand, isRoot } from '../../../../test/support/env.js';
import { NOTHING_LEFT, tearDown } from '../testing/leftovers.js';

const run = promisify(execFile);
const NAME = `pff${process.pid % 10000}`;
const ip = { a: '10.249.5.11', b: '10.249.5.12', c: '10.249.5.13' };
const ports = [
  { port: 80, protocol: 'TCP' as const, name: 'web' },
  { port: 81, protocol: 'TCP' as const },
  { port: 8080, protocol: 'TCP' as const },
  { port: 81, protocol: 'UDP' as const },
  { port: 85, protocol: 'UDP' as const },
];
const cluster: Cluster = {
  namespaces: [{ name: 'x', labels: { 'kubernetes.io/metadata.name': 'x' } }],
  pods: (['a', 'b', 'c'] as const).map((n) => ({ namespace: 'x', name: n, labels: { pod: n }, ip: ip[n], ports })),
};
const policy = (name: string, spec: NetworkPolicy['spec']): NetworkPolicy => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { name, namespace: 'x' },
  spec,
});
/** x/b's ingress: from x/a on UDP 81 (`open`), or from nobody. */
const bIngress = (open: boolean) =>
  policy('b-in', {
    podSelector: { matchLabels: { pod: 'b' } },
    policyTypes: ['Ingress'],
    ingress: open ? [{ from: [{ podSelector: { matchLabels: { pod: 'a' } } }], ports: [{ protocol: 'UDP', port: 81 }] }] : [],
  });
/** Ingress by a named port and a range, egress by port: cells of every kind, allowed and denied. */
const mixed = [
  policy('b-in', {
    podSelector: { matchLabels: { pod: 'b' } },
    ingress: [
      { from: [{ podSelector: { matchLabels: { pod: 'a' } } }], ports: [{ protocol: 'TCP', port: 'web' }] },
      { from: [{ podSelector: { matchLabels: { pod: 'c' } } }], ports: [{ protocol: 'UDP', port: 80, endPort: 84 }] },
    ],
  }),
  policy('c-out', {
    podSelector: { matchLabels: { pod: 'c' } },
    policyTypes: ['Egress'],
    egress: [
      {
        to: [{ podSelector: { matchLabels: { pod: 'b' } } }],
        ports: [
          { protocol: 'TCP', port: 8080 },
          { protocol: 'UDP', port: 81 },
        ],
      },
    ],
  }),
];

/** Prints 'ready', then for `seconds` each datagram on the port as "<ttl> <size>". */
const RECEIVE = `
import socket, struct, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IP, 12, 1)  # IP_RECVTTL
s.bind(('0.0.0.0', int(sys.argv[1])))
print('ready', flush=True)
end = time.time() + float(sys.argv[2])
while time.time() < end:
    s.settimeout(max(0.01, end - time.time()))
    try:
        data, anc, _, _ = s.recvmsg(65535, 64)
    except socket.timeout:
        continue
    ttl = [struct.unpack('i', d[:4])[0] for (l, t, d) in anc if l == socket.IPPROTO_IP and t == 2]
    print(ttl[0] if ttl else -1, len(data), flush=True)
`;
/** Sends `count` datagrams to dst:port with IP TTL `ttl`, and an IP option (record route) when `opts` is 1. */
const SEND = `
import socket, sys
dst, port, count, ttl, opts = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, ttl)
if opts:
    s.setsockopt(socket.IPPROTO_IP, socket.IP_OPTIONS, bytes([7, 11, 4]) + bytes(8) + bytes([1]))
for _ in range(count):
    s.sendto(b'd' * 48, (dst, port))
`;
/** One datagram from x/a's fixed source port to x/b:81, up to 3 tries: the echo's size, or -1. */
const ECHO = UDP_ECHO_SCRIPT;

const netns = (pod: string) => `--net=/run/netns/${NAME}.x.${pod}`;

/** Packets x/<pod>'s host veth has sent into the pod (the node's routing delivers through it). */
function hostVethTx(pod: string): number {
  const [link] = JSON.parse(ipCommand(['-n', `${NAME}.node`, '-s', '-j', 'link', 'show', 'dev', hostVeth(NAME, { namespace: 'x', name: pod })])) as {
    stats64: { tx: { packets: number } };
  }[];
  return link!.stats64.tx.packets;
}

/** `count` datagrams from x/a to x/b:5005 (no agent's port; sent while no policy holds): the TTLs x/b received them with, and what x/b's host veth sent meanwhile. */
async function datagrams(count: number, ttl: number, opts: 0 | 1): Promise<{ ttls: number[]; vethTx: number }> {
  const receiver = spawn('nsenter', [netns('b'), 'python3', '-c', RECEIVE, '5005', '2'], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  receiver.stdout.setEncoding('utf8');
  const done = new Promise<void>((resolve, reject) => {
    receiver.once('error', reject);
    receiver.once('exit', () => resolve());
  });
  await new Promise<void>((resolve, reject) => {
    receiver.stdout.on('data', (d: string) => {
      out += d;
      if (out.includes('ready')) resolve();
    });
    void done.then(() => reject(new Error(`the receiver ended before it was ready: ${out}`)));
  });
  const tx = hostVethTx('b');
  await run('nsenter', [netns('a'), 'python3', '-c', SEND, ip.b, '5005', String(count), String(ttl), String(opts)], { timeout: 20_000 });
  await done;
  const ttls = out
    .split('\n')
    .slice(1)
    .filter(Boolean)
    .map((l) => Number(l.split(' ')[0]));
  return { ttls, vethTx: hostVethTx('b') - tx };
}

/** The maps the instance's pinned from_pod names in its code. */
const mapsInCode = (pins: string) => programMaps(join(pins, 'progs', 'from_pod'));

describeNeeds([isRoot(), hasCommand('ip'), hasCommand('nsenter'), hasCommand('clang'), hasCommand('python3')], 'the local fast path', () => {
  let fw: PodFirewall;
  const probes = new Map<string, Map<string, boolean>>();
  beforeAll(async () => {
    fw = await PodFirewall.up(cluster, { name: NAME, fastPath: true });
  }, 120_000);
  afterAll(() => expect(tearDown(fw, NAME)).toEqual(NOTHING_LEFT));

  /** No policy: every policy of the instance deleted. */
  const clear = () => fw.delete(fw.policies.map((p) => `${p.metadata.namespace}/${p.metadata.name}`));
  const localPods = () => {
    using m = new TypedMap(BpfMap.fromPin(join('/sys/fs/bpf', NAME, 'local_pods')), podAddressKey, localPodValue);
    return new Map([...m.entries()].map(([k, v]) => [k, v.ifindex]));
  };
  /** local_pods as the fast path on fills it, written by hand (the last state seen on), and emptied. */
  let filled: [string, ReturnType<typeof localPodValue.decode>][] = [];
  const fill = () => {
    using m = new TypedMap(BpfMap.fromPin(join('/sys/fs/bpf', NAME, 'local_pods')), podAddressKey, localPodValue);
    expect(filled.length).toBe(3);
    m.setMany(filled);
  };
  const emptyLocalPods = () => {
    using m = new TypedMap(BpfMap.fromPin(join('/sys/fs/bpf', NAME, 'local_pods')), podAddressKey, localPodValue);
    m.deleteMany([...m.keys()]);
  };
  const echo = async (sport: number) =>
    (await run('nsenter', [netns('a'), 'python3', '-c', ECHO, ip.b, '81', '32', String(sport)], { timeout: 20_000 })).stdout.trim();
  /** Restamps the conntrack entries of x/b's receiving side (dir 1) of the test's flow `offsetNs` from now. */
  function restampIngress(sport: number, offsetNs: bigint): number {
    using ct = new TypedMap(BpfMap.fromPin(join('/sys/fs/bpf', NAME, 'ct')), ctKey, mapCodecs.ct.value);
    const ours = [...ct.entries()].filter(([k]) => k.proto === 17 && k.sport === sport && k.dport === 81 && k.dir === 1);
    const now = process.hrtime.bigint();
    for (const [k, v] of ours) ct.set(k, { ...v, lastSeenNs: now + offsetNs });
    return ours.length;
  }

  for (const mode of ['on', 'off'] as const) {
    describe(`fast path ${mode}`, () => {
      beforeAll(async () => {
        fw.close();
        const r = await PodFirewall.reconcile(cluster, { name: NAME, fastPath: mode === 'on' });
        fw = r.fw;
        clear();
      }, 60_000);

      it(
        mode === 'on' ? "from_pod's instructions look local_pods up" : "from_pod's instructions no longer name local_pods (the verifier removed the branch)",
        () => {
          const maps = mapsInCode(join('/sys/fs/bpf', NAME));
          expect(maps).toContain('ct'); // the scan finds the maps it uses
          expect(maps).toContain('endpoints');
          expect(maps.has('local_pods')).toBe(mode === 'on');
        },
      );

      it(mode === 'on' ? 'names every pod in local_pods' : 'empties local_pods', () => {
        const ifindexOf = (pod: string) =>
          (
            JSON.parse(ipCommand(['-n', `${NAME}.node`, '-j', 'link', 'show', 'dev', hostVeth(NAME, { namespace: 'x', name: pod })])) as { ifindex: number }[]
          )[0]!.ifindex;
        const expected = mode === 'on' ? fw.cluster.pods.map((p) => [p.ip, ifindexOf(p.name)]) : [];
        expect(localPods()).toEqual(new Map(expected as [string, number][]));
        if (mode === 'on') {
          using m = new TypedMap(BpfMap.fromPin(join('/sys/fs/bpf', NAME, 'local_pods')), podAddressKey, localPodValue);
          filled = [...m.entries()];
        }
      });

      it(
        mode === 'on'
          ? 'delivers past the node (its host veth sends nothing) with the TTL down by one'
          : 'delivers through the node (its host veth sends each) with the TTL down by one',
        async () => {
          const { ttls, vethTx } = await datagrams(20, 64, 0);
          expect(ttls).toEqual(Array(20).fill(63));
          if (mode === 'on') expect(vethTx).toBe(0);
          else expect(vethTx).toBeGreaterThanOrEqual(20);
        },
        30_000,
      );

      if (mode === 'off') {
        it('ignores a filled local_pods: every packet still goes through the node', async () => {
          fill();
          try {
            expect(localPods().size).toBe(3);
            const { ttls, vethTx } = await datagrams(20, 64, 0);
            expect(ttls).toEqual(Array(20).fill(63));
            expect(vethTx).toBeGreaterThanOrEqual(20);
          } finally {
            emptyLocalPods();
          }
        }, 30_000);
      }

      it('leaves a TTL of 1 to the node (which does not deliver it) and IP options to the node (which does)', async () => {
        expect((await datagrams(5, 1, 0)).ttls).toEqual([]);
        const withOptions = await datagrams(5, 64, 1);
        expect(withOptions.ttls).toEqual(Array(5).fill(63));
        expect(withOptions.vethTx).toBeGreaterThanOrEqual(5);
      }, 30_000);

      it('probes every cell under named ports, ranges and egress policies (compared across modes below)', async () => {
        fw.apply(mixed);
        const cells = await fw.probe();
        probes.set(mode, cells);
        expect([...cells.values()]).toContain(true);
        expect([...cells.values()]).toContain(false);
        clear();
      }, 60_000);

      it('judges anew what the receiving side no longer holds established: a revoked flow stops as on the slow path', async () => {
        const sport = mode === 'on' ? 40211 : 40212;
        fw.apply([bIngress(true)]);
        expect(await echo(sport)).toBe('32');
        fw.apply([bIngress(false)]);
        // Established on both sides: the policy change does not cut it (as on the slow path).
        expect(await echo(sport)).toBe('32');
        // The receiver's side idle past its lifetime, the sender's still fresh: to_pod judges it, and denies.
        expect(restampIngress(sport, -61_000_000_000n)).toBe(1);
        const denied = fw.status().counters['deny-policy']?.packets ?? 0n;
        expect(await echo(sport)).toBe('-1');
        expect((fw.status().counters['deny-policy']?.packets ?? 0n) - denied).toBeGreaterThan(0n);
        clear();
      }, 60_000);
    });
  }

  it('upgrades to a build without the switch and back, in both modes: its local_pods alone switches it', async () => {
    const { object: old } = await compileC({ source: join(packageDir(), 'bpf', 'firewall.bpf.c'), defines: ['PF_NO_FAST_PATH_SWITCH'] });
    const pins = join('/sys/fs/bpf', NAME);
    const switchTo = async (on: boolean) => {
      fw.close();
      fw = (await PodFirewall.reconcile(cluster, { name: NAME, fastPath: on })).fw;
    };
    const past = async () => (await datagrams(10, 64, 0)).vethTx;
    await switchTo(false);
    await fw.upgrade({ object: old, source: 'old.bpf.o' });
    expect(mapsInCode(pins).has('local_pods')).toBe(true); // looked up though off: the map is empty
    expect(await past()).toBeGreaterThanOrEqual(10);
    await switchTo(true); // nothing to load again: the map is filled
    expect(fw.status().datapath.object).toBe('old.bpf.o');
    expect(await past()).toBe(0);
    await fw.upgrade(); // the default build, loaded with the switch on
    expect(mapsInCode(pins).has('local_pods')).toBe(true);
    expect(await past()).toBe(0);
    await fw.upgrade({ object: old, source: 'old.bpf.o' });
    expect(await past()).toBe(0);
    await switchTo(false);
    expect(await past()).toBeGreaterThanOrEqual(10);
    await fw.upgrade(); // the default build, loaded with the switch off
    expect(mapsInCode(pins).has('local_pods')).toBe(false);
    expect(await past()).toBeGreaterThanOrEqual(10);
    await switchTo(true); // loaded again with the switch on
    expect(mapsInCode(pins).has('local_pods')).toBe(true);
    expect(await past()).toBe(0);
  }, 120_000);

  it('gives every probe cell the same answer with the fast path on and off', () => {
    const on = probes.get('on')!;
    const off = probes.get('off')!;
    expect(on.size).toBeGreaterThan(0);
    expect(Object.fromEntries(on)).toEqual(Object.fromEntries(off));
  });
});

/**
 * The datapath's defences against what a pod can send, with real packets
 * between namespaces this test makes: forged source addresses (raw sockets,
 * from another pod and from the node), IPv4 fragments (UDP datagrams of 1,472
 * to 8,000 bytes through MTU-1500 veths, and a lone non-first fragment),
 * endPort ranges up to 65535 and a policy too large for the maps. Packets
 * are written by small Python scripts run inside the pods' namespaces
 * (Debian's python3; `nsenter --net`, as the agents are).
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { BpfMap } from '@tsbpf/loader';
import { TypedMap } from '@tsbpf/maps';
import { ctKey, REASONS } from './layout.js';
import { mapCodecs } from './bindings.js';
import { PodFirewall } from '../firewall.js';
import type { Cluster, NetworkPolicy, NetworkPolicyPort } from '../policy/model.js';
import { describeNeeds, hasCommand, isRoot } from '../../../../test/support/env.js';
import { NOTHING_LEFT, tearDown } from '../testing/leftovers.js';
import { UDP_ECHO_SCRIPT } from './udp-echo-script.js';

const run = promisify(execFile);
const NAME = `pfd${process.pid % 10000}`;
const ip = { a: '10.249.1.11', b: '10.249.1.12', c: '10.249.1.13', d: '10.249.2.11' };
const served = [
  { port: 80, protocol: 'TCP' as const, name: 'web' },
  { port: 81, protocol: 'TCP' as const },
  { port: 8080, protocol: 'TCP' as const },
  { port: 65535, protocol: 'TCP' as const },
  { port: 80, protocol: 'UDP' as const },
  { port: 81, protocol: 'UDP' as const },
];
const cluster: Cluster = {
  namespaces: ['x', 'y'].map((n) => ({ name: n, labels: { ns: n, 'kubernetes.io/metadata.name': n } })),
  pods: [
    { namespace: 'x', name: 'a', labels: { pod: 'a' }, ip: ip.a, ports: served },
    { namespace: 'x', name: 'b', labels: { pod: 'b' }, ip: ip.b, ports: served },
    { namespace: 'x', name: 'c', labels: { pod: 'c' }, ip: ip.c, ports: served },
    // x/b's twin by labels (one identity), which calls port 8080 'web'.
    {
      namespace: 'y',
      name: 'd',
      labels: { pod: 'b' },
      ip: ip.d,
      ports: served
        .map((p) => (p.protocol === 'TCP' && p.port === 80 ? { port: 8080, protocol: 'TCP' as const, name: 'web' } : p))
        .filter((p) => p.port !== 8080 || p.name),
    },
  ],
};
const policy = (name: string, namespace: string, spec: NetworkPolicy['spec']): NetworkPolicy => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { name, namespace },
  spec,
});
/** x/b's ingress: only from x/a, on `ports`. */
const onlyFromA = (ports: NetworkPolicyPort[]) =>
  policy('only-a', 'x', { podSelector: { matchLabels: { pod: 'b' } }, ingress: [{ from: [{ podSelector: { matchLabels: { pod: 'a' } } }], ports }] });
/** x/a's egress: only to x/b, on `ports`. */
const onlyToB = (ports: NetworkPolicyPort[]) =>
  policy('to-b', 'x', {
    podSelector: { matchLabels: { pod: 'a' } },
    policyTypes: ['Egress'],
    egress: [{ to: [{ podSelector: { matchLabels: { pod: 'b' } } }], ports }],
  });

const netns = (where: string) => `/run/netns/${NAME}.${where.replace('/', '.')}`;
/** Runs a Python script in a namespace ('x/a', or 'node'); its stdout. */
async function python(where: string, script: string, args: (string | number)[] = []): Promise<string> {
  const { stdout } = await run('nsenter', [`--net=${netns(where)}`, 'python3', '-c', script, ...args.map(String)], { timeout: 20_000 });
  return stdout;
}

/** UDP datagrams written by hand: any source address (IP_HDRINCL), any fragment offset. */
const RAW_UDP = `
import socket, struct, sys
src, dst, sport, dport, size, ident, offset, more = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:])
payload = b'f' * size
udp = struct.pack('!HHHH', sport, dport, 8 + size, 0) + payload if offset == 0 else payload
frag = (0x2000 if more else 0) | (offset // 8)
hdr = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(udp), ident, frag, 64, 17, 0, socket.inet_aton(src), socket.inet_aton(dst))
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
s.sendto(hdr + udp, (dst, 0))
`;

/** Listens on a UDP port for `seconds`, then prints each datagram's source address and size. */
const LISTEN = `
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(('0.0.0.0', int(sys.argv[1])))
print('ready', flush=True)
end = time.time() + float(sys.argv[2])
while time.time() < end:
    s.settimeout(max(0.01, end - time.time()))
    try:
        data, peer = s.recvfrom(65535)
        print(peer[0], len(data), flush=True)
    except socket.timeout:
        pass
`;

/** One UDP datagram of `size` bytes to dst:port, up to 3 tries: the size of the echo, or -1. */
const ECHO = UDP_ECHO_SCRIPT;

describeNeeds(
  [isRoot(), hasCommand('ip'), hasCommand('nsenter'), hasCommand('clang'), hasCommand('python3')],
  'the datapath against forged and fragmented packets',
  () => {
    let fw: PodFirewall;
    beforeAll(async () => {
      fw = await PodFirewall.up(cluster, { name: NAME });
    }, 120_000);
    afterAll(() => expect(tearDown(fw, NAME)).toEqual(NOTHING_LEFT));

    // Each test starts without policies, also after one that failed half-way.
    afterEach(() => {
      if (fw) fw.delete(fw.policies.map((p) => `${p.metadata.namespace}/${p.metadata.name}`));
    });

    const counter = (reason: string) => fw.status().counters[reason]?.packets ?? 0n;

    /** What x/b's UDP port 9000 receives while `send` runs. */
    async function receivedAtB(send: () => Promise<void>): Promise<string[]> {
      const { spawn } = await import('node:child_process');
      const listener = spawn('nsenter', [`--net=${netns('x/b')}`, 'python3', '-c', LISTEN, '9000', '1.5'], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      listener.stdout.on('data', (d: Buffer) => (out += d.toString()));
      const exited = new Promise((r) => listener.on('exit', r));
      while (!out.includes('ready')) await new Promise((r) => setTimeout(r, 20));
      await send();
      await exited;
      return out.split('\n').filter((l) => l && l !== 'ready');
    }

    it("drops packets leaving a pod with another pod's source address, counts and reports them", async () => {
      fw.apply([onlyFromA([{ protocol: 'UDP', port: 9000 }])]);
      const stop = new AbortController();
      const ring = fw.observe(stop.signal);
      ring.drain();
      const spoofedBefore = counter('drop-spoofed');
      const got = await receivedAtB(async () => {
        // x/a itself, with its own address: the policy allows it (so this test can see a datagram arrive).
        await python('x/a', RAW_UDP, [ip.a, ip.b, 5000, 9000, 10, 1, 0, 0]);
        // x/c with x/a's address, as a raw socket allows any pod by default.
        await python('x/c', RAW_UDP, [ip.a, ip.b, 5001, 9000, 11, 2, 0, 0]);
        // The node's own stack with x/a's address: it enters x/b, but not from x/a's veth.
        await python('node', RAW_UDP, [ip.a, ip.b, 5002, 9000, 12, 3, 0, 0]);
      });
      const events = ring.drain().filter((e) => e.reason === REASONS.indexOf('drop-spoofed'));
      stop.abort();
      ring.close();
      expect(got).toEqual([`${ip.a} 10`]);
      expect(counter('drop-spoofed') - spoofedBefore).toBe(2n);
      // Reported at the endpoint that sent it (x/c, leaving) and at x/b (entering from the node).
      const live = fw.readLive();
      expect(events.map((e) => ({ s: e.saddr, d: e.daddr, dport: e.dport, verdict: e.verdict, dir: e.dir, ep: e.endpointId }))).toEqual([
        { s: ip.a, d: ip.b, dport: 9000, verdict: 2, dir: 0, ep: live.endpoints.get('x/c')!.endpointId },
        { s: ip.a, d: ip.b, dport: 9000, verdict: 2, dir: 1, ep: live.endpoints.get('x/b')!.endpointId },
      ]);
    }, 60_000);

    const sizes = [1472, 1473, 3000, 8000];
    for (const [what, allowOnly] of [
      ['ingress', onlyFromA],
      ['egress', onlyToB],
    ] as const) {
      it(`passes fragmented UDP to a port the ${what} policy allows, drops it to one it does not (${sizes.join(', ')} bytes)`, async () => {
        fw.apply([allowOnly([{ protocol: 'UDP', port: 81 }])]);
        for (const size of sizes) {
          expect(await python('x/a', ECHO, [ip.b, 81, size]), `${size} bytes to UDP/81`).toBe(`${size}\n`);
          expect(await python('x/a', ECHO, [ip.b, 80, size]), `${size} bytes to UDP/80`).toBe('-1\n');
        }
      }, 60_000);
    }

    it('leaves no conntrack entry without ports, and drops a non-first fragment whose first it never saw', async () => {
      fw.apply([onlyFromA([])]); // every port: the case that used to leave port-less entries
      expect(await python('x/a', ECHO, [ip.b, 81, 8000])).toBe('8000\n');
      using ct = new TypedMap(BpfMap.fromPin(join('/sys/fs/bpf', NAME, 'ct')), ctKey, mapCodecs.ct.value);
      const udp = [...ct.keys()].filter((k) => k.proto === 17);
      expect(udp.length).toBeGreaterThan(0);
      expect(udp.filter((k) => k.sport === 0 || k.dport === 0)).toEqual([]);
      const before = counter('drop-fragment');
      await python('x/a', RAW_UDP, [ip.a, ip.b, 0, 0, 64, 4242, 1480, 0]);
      expect(counter('drop-fragment') - before).toBe(1n);
    }, 60_000);

    it('enforces endPort ranges up to 65535 as ranges, and refuses a policy too large for the maps, changing nothing', async () => {
      const probed = served.filter((p) => p.protocol === 'TCP').map(({ port, protocol }) => ({ port, protocol }));
      const fromA = async () =>
        [...(await fw.probe(probed))]
          .filter(([k]) => k.startsWith('x/a->x/b:'))
          .map(([k, ok]) => `${k.slice('x/a->x/b:'.length)} ${ok}`)
          .sort();
      const applied = fw.apply([onlyFromA([{ port: 81, endPort: 65535 }])]);
      console.log(`endPort 81-65535: ${applied.entries} policy entries, applied in ${applied.milliseconds.toFixed(1)} ms`);
      expect(applied.entries).toBeLessThan(30);
      expect(await fromA()).toEqual(['TCP/65535 true', 'TCP/80 false', 'TCP/8080 true', 'TCP/81 true']);
      fw.apply([onlyFromA([{ port: 1, endPort: 65534 }])]);
      expect(await fromA()).toEqual(['TCP/65535 false', 'TCP/80 true', 'TCP/8080 true', 'TCP/81 true']);

      // 50,000 single ports for every peer of 4 pods: over the policy map's 131,072 entries.
      const huge = policy('huge', 'x', { podSelector: {}, ingress: [{ ports: Array.from({ length: 50_000 }, (_, i) => ({ port: 2 * i + 1 })) }] });
      expect(() => fw.apply([huge])).toThrow(expect.objectContaining({ name: 'CompileError', code: 'CAPACITY_EXCEEDED' }));
      expect(() => fw.apply([huge])).toThrow(/holds 131,072 .*the largest: x\/huge \(150,000 entries\)/);
      expect(fw.policies.map((p) => p.metadata.name)).toEqual(['only-a']);
      expect(await fromA()).toEqual(['TCP/65535 false', 'TCP/80 true', 'TCP/8080 true', 'TCP/81 true']);
      fw.apply([onlyFromA([{ port: 8080 }])]);
      expect(await fromA()).toEqual(['TCP/65535 false', 'TCP/80 false', 'TCP/8080 true', 'TCP/81 false']);
    }, 120_000);

    it('resolves a named egress port on each destination pod, also for pods sharing labels', async () => {
      // x/b and y/d share labels; 'web' is 80 on x/b and 8080 on y/d.
      fw.apply([
        policy('web', 'x', {
          podSelector: { matchLabels: { pod: 'a' } },
          policyTypes: ['Egress'],
          egress: [{ to: [{ namespaceSelector: {}, podSelector: { matchLabels: { pod: 'b' } } }], ports: [{ port: 'web' }] }],
        }),
      ]);
      const tcp = [80, 8080].map((port) => ({ port, protocol: 'TCP' as const }));
      const seen = [...(await fw.probe(tcp))]
        .filter(([k]) => k.startsWith('x/a->'))
        .map(([k, ok]) => `${k} ${ok}`)
        .sort();
      expect(seen).toEqual([
        'x/a->x/b:TCP/80 true',
        'x/a->x/b:TCP/8080 false',
        'x/a->x/c:TCP/80 false',
        'x/a->x/c:TCP/8080 false',
        'x/a->y/d:TCP/80 false',
        'x/a->y/d:TCP/8080 true',
      ]);
    }, 60_000);
  },
);

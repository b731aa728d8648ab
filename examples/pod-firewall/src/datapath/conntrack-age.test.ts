/**
 * Conntrack ages on real packets between namespaces this test makes: the
 * datapath stamps entries with the coarse monotonic clock, an entry idle past
 * its lifetime is a new flow again (judged by today's policy), and an entry
 * stamped a little ahead of the coarse clock (by the precise clock, as a
 * datapath before this one did) is still established, not "expired" by an
 * unsigned underflow.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { BpfMap } from '@tsbpf/loader';
import { TypedMap } from '@tsbpf/maps';
import { ctKey } from './layout.js';
import { UDP_ECHO_SCRIPT } from './udp-echo-script.js';
import { mapCodecs } from './bindings.js';
import { PodFirewall } from '../firewall.js';
import type { Cluster, NetworkPolicy } from '../policy/model.js';
import { describeNeeds, hasCommand, isRoot } from '../../../../test/support/env.js';
import { NOTHING_LEFT, tearDown } from '../testing/leftovers.js';

const run = promisify(execFile);
const NAME = `pfa${process.pid % 10000}`;
const ip = { a: '10.249.3.11', b: '10.249.3.12' };
const SPORT = 40111;
const cluster: Cluster = {
  namespaces: [{ name: 'x', labels: { 'kubernetes.io/metadata.name': 'x' } }],
  pods: ['a', 'b'].map((n) => ({ namespace: 'x', name: n, labels: { pod: n }, ip: ip[n as 'a' | 'b'], ports: [{ port: 81, protocol: 'UDP' as const }] })),
};
/** x/b's ingress: from x/a on UDP 81 (`open`), or from nobody. */
const bIngress = (open: boolean): NetworkPolicy => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { name: 'b-in', namespace: 'x' },
  spec: {
    podSelector: { matchLabels: { pod: 'b' } },
    policyTypes: ['Ingress'],
    ingress: open ? [{ from: [{ podSelector: { matchLabels: { pod: 'a' } } }], ports: [{ protocol: 'UDP', port: 81 }] }] : [],
  },
});

/** One datagram from x/a's fixed source port to x/b:81, up to 3 tries: the echo's size, or -1. */
const ECHO = UDP_ECHO_SCRIPT;

describeNeeds([isRoot(), hasCommand('ip'), hasCommand('nsenter'), hasCommand('clang'), hasCommand('python3')], 'conntrack ages', () => {
  let fw: PodFirewall;
  beforeAll(async () => {
    fw = await PodFirewall.up(cluster, { name: NAME });
  }, 120_000);
  afterAll(() => expect(tearDown(fw, NAME)).toEqual(NOTHING_LEFT));

  const echo = async () =>
    (await run('nsenter', [`--net=/run/netns/${NAME}.x.a`, 'python3', '-c', ECHO, ip.b, '81', '32', String(SPORT)], { timeout: 20_000 })).stdout.trim();

  /** Restamps every conntrack entry of the test's flow (both sides) `offsetNs` from now; how many it restamped. */
  function restamp(offsetNs: bigint): number {
    using ct = new TypedMap(BpfMap.fromPin(join('/sys/fs/bpf', NAME, 'ct')), ctKey, mapCodecs.ct.value);
    const ours = [...ct.entries()].filter(([k]) => k.proto === 17 && k.sport === SPORT && k.dport === 81);
    const now = process.hrtime.bigint(); // CLOCK_MONOTONIC, the clock both of the kernel's stamps follow
    for (const [k, v] of ours) ct.set(k, { ...v, lastSeenNs: now + offsetNs });
    return ours.length;
  }

  it('keeps an established flow across a policy change until it idles past its lifetime, then judges it anew', async () => {
    fw.apply([bIngress(true)]);
    expect(await echo()).toBe('32');
    fw.apply([bIngress(false)]);
    // Established (both sides' entries), so the policy that now denies it does not cut it.
    expect(await echo()).toBe('32');
    // Stamped ahead of the coarse clock, as the precise clock's stamps are by up to a tick (10 s
    // here, so the stamp is still ahead when the datagram arrives after python's start): established.
    expect(restamp(10_000_000_000n)).toBe(2);
    expect(await echo()).toBe('32');
    // Idle for 61 s (a UDP entry lives 60 s): a new flow, which the policy of now denies.
    expect(restamp(-61_000_000_000n)).toBe(2);
    const denied = fw.status().counters['deny-policy']?.packets ?? 0n;
    expect(await echo()).toBe('-1');
    expect((fw.status().counters['deny-policy']?.packets ?? 0n) - denied).toBeGreaterThan(0n);
  }, 60_000);
});

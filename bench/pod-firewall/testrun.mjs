// Part 1 of bench/pod-firewall: the datapath's in-kernel cost per packet, by
// BPF_PROG_TEST_RUN (kernel-measured ns), with N policy entries.
//
// The object is loaded without pins, one collection per N, and `to_pod` (the
// pod's Ingress hook) runs a crafted 54-byte Ethernet/IPv4/TCP packet. With no
// ctx, the kernel gives the test skb the loopback device of the caller's
// namespace (ifindex 1; it only looks a device up for ctx.ifindex > 1), so the
// endpoint is registered under ifindex 1. Cases (`to_pod` unless named):
//   ct-hit     an established flow: the first conntrack lookup hits
//   deny       a new flow from a peer with a label and a CIDR identity, no entry
//              allows it: the exact-port lookups for both identities miss (the
//              endpoint's flags say its policy has no wildcard entries), then
//              the deny event: the ring buffer is not drained, so after ~4.7k
//              events this is the cheap "event lost" path, at every N alike
//   deny-every-kind  the same with flags saying the policy has every kind of
//              wildcard entry: all 9 policy lookups miss
//   unmanaged  the endpoint lookup misses (the endpoint is removed for it)
//   from-pod ct-hit  `from_pod`, an established flow leaving the pod: ct-hit plus
//              the anti-spoofing check (source address = the endpoint's)
//   spoofed    `from_pod`, a source address the pod does not own: dropped
//              before conntrack (its event mostly lost, as for deny)
//   frag-first the first fragment of an established UDP flow: records its ports
//              in `frags`, then ct-hit
//   frag-next  a later fragment of it: takes the ports from `frags`, then ct-hit
// The per-CPU counters are checked afterwards: each case took the path it names.
import { join } from 'node:path';

const REASON = { unmanaged: 0, allowCt: 1, allowPolicy: 2, denyPolicy: 4, eventLost: 7, dropSpoofed: 8 };

const ip4 = (s) => s.split('.').map(Number);

/** Ethernet + IPv4 + TCP (ACK), 54 bytes. Checksums are not looked at. */
function tcpPacket(src, dst, sport, dport) {
  const b = new Uint8Array(54);
  const v = new DataView(b.buffer);
  b.set([0x02, 0, 10, 252, 0, 2], 0); // dst MAC
  b.set([0x02, 0, 0, 0, 0, 1], 6); // src MAC
  v.setUint16(12, 0x0800);
  b[14] = 0x45;
  v.setUint16(16, 40); // total length
  b[22] = 64; // ttl
  b[23] = 6; // TCP
  b.set(ip4(src), 26);
  b.set(ip4(dst), 30);
  v.setUint16(34, sport);
  v.setUint16(36, dport);
  v.setUint32(38, 1); // seq
  v.setUint32(42, 1); // ack
  b[46] = 5 << 4; // data offset
  b[47] = 0x10; // ACK
  v.setUint16(48, 65535); // window
  return b;
}

/** Ethernet + IPv4 + 16 bytes of IP payload, UDP: the first fragment (UDP header + 8 bytes) or a later one at offset 16. */
function udpFragment(src, dst, sport, dport, first) {
  const b = new Uint8Array(50);
  const v = new DataView(b.buffer);
  b.set([0x02, 0, 10, 252, 0, 2], 0);
  b.set([0x02, 0, 0, 0, 0, 1], 6);
  v.setUint16(12, 0x0800);
  b[14] = 0x45;
  v.setUint16(16, 36); // total length
  v.setUint16(18, 0x1234); // IP id
  v.setUint16(20, first ? 0x2000 : 2); // more fragments, offset 0; or offset 16 bytes, the last
  b[22] = 64;
  b[23] = 17; // UDP
  b.set(ip4(src), 26);
  b.set(ip4(dst), 30);
  if (first) {
    v.setUint16(34, sport);
    v.setUint16(36, dport);
    v.setUint16(38, 8 + 16); // the whole datagram's UDP length
  }
  return b;
}

export async function runTestRun({ root, Ns, rounds, repeat, log }) {
  const { compile } = await import('@tsbpf/compiler');
  const { parseCollectionSpec } = await import('@tsbpf/object');
  const { loadCollection } = await import('@tsbpf/loader');
  const { TypedMap, PerCpuMap, struct, array, u8, u16, u32, u64, cidrKey, ipv4 } = await import('@tsbpf/maps');

  // The codecs of examples/pod-firewall/src/datapath/layout.ts.
  const endpointValue = struct({ endpointId: u32, identity: array(u32, 2), flags: array(u16, 2), addr: ipv4 });
  const ipcacheValue = struct({ identity: array(u32, 2), cidrIdentity: array(u32, 2), ifindex: u32 });
  const policyKey = struct({ endpointId: u32, peer: u32, port: u16, proto: u8, dirGen: u8 });
  const policyValue = struct({ policyId: u32 });
  const configValue = struct({ generation: u32 });
  const counterValue = struct({ packets: u64, bytes: u64 });

  const EP = 7,
    SELF = 300,
    ALLOWED_PEER = 600,
    DENIED_PEER = 601,
    CIDR_ID = (1 << 24) + 5;
  const INGRESS_GEN0 = 1; // dir INGRESS | generation 0 << 1
  // Endpoint flags: ingress enforced, its policy of exact ports only (the fillers' kind); or with every kind of
  // wildcard entry too (any port of a protocol, any protocol, any peer), so a deny takes all 9 hash lookups.
  const INGRESS = 1;
  const INGRESS_EVERY_KIND = 1 | 32 | 128 | 512;
  const { object } = await compile({ source: join(root, 'examples/pod-firewall/bpf/firewall.bpf.c') });
  const spec = parseCollectionSpec(object);
  const max = Math.max(...Ns);

  const setups = [];
  try {
    for (const n of Ns) {
      const collection = loadCollection(spec, { mapOverrides: { policy: { maxEntries: Math.max(262144, 2 ** Math.ceil(Math.log2(max + 1))) } } });
      const m = collection.maps;
      const endpoints = new TypedMap(m.endpoints, u32, endpointValue);
      const ipcache = new TypedMap(m.ipcache, cidrKey('ipv4'), ipcacheValue);
      const policy = new TypedMap(m.policy, policyKey, policyValue);
      const config = new TypedMap(m.config, u32, configValue);
      const counters = new PerCpuMap(m.counters, u32, counterValue);
      const endpoint = { endpointId: EP, identity: Uint32Array.from([SELF, SELF]), flags: Uint16Array.from([INGRESS, INGRESS]), addr: '10.252.0.2' };
      config.set(0, { generation: 0 });
      endpoints.set(1, endpoint);
      const ic = (id, cidr, ifindex = 0) => ({ identity: Uint32Array.from([id, id]), cidrIdentity: Uint32Array.from([cidr, cidr]), ifindex });
      ipcache.set('10.252.0.2/32', ic(SELF, 0, 1));
      ipcache.set('10.252.1.0/24', ic(CIDR_ID, CIDR_ID));
      ipcache.set('10.252.1.1/32', ic(ALLOWED_PEER, CIDR_ID));
      ipcache.set('10.252.1.2/32', ic(DENIED_PEER, CIDR_ID));
      // Two entries allow the ct-hit flows (TCP, and UDP for the fragments); the rest are fillers of the same endpoint, other peers.
      const entries = [
        [{ endpointId: EP, peer: ALLOWED_PEER, port: 8080, proto: 6, dirGen: INGRESS_GEN0 }, { policyId: 1 }],
        [{ endpointId: EP, peer: ALLOWED_PEER, port: 8080, proto: 17, dirGen: INGRESS_GEN0 }, { policyId: 1 }],
      ];
      for (let i = 0; entries.length < n; i++) {
        entries.push([
          { endpointId: EP, peer: 1000 + Math.floor(i / 60000), port: 1 + ((i % 60000) >> 1), proto: i & 1 ? 17 : 6, dirGen: INGRESS_GEN0 },
          { policyId: 2 },
        ]);
      }
      policy.setMany(entries);
      if (policy.size !== n) throw new Error(`policy map holds ${policy.size}, not ${n}`);
      const prog = collection.programs.to_pod;
      const fromPod = collection.programs.from_pod;
      const ctHit = tcpPacket('10.252.1.1', '10.252.0.2', 40000, 8080);
      const deny = tcpPacket('10.252.1.2', '10.252.0.2', 40001, 8080);
      const out = tcpPacket('10.252.0.2', '10.252.1.1', 40002, 8080);
      const spoofed = tcpPacket('10.252.0.9', '10.252.1.1', 40003, 8080);
      const fragFirst = udpFragment('10.252.1.1', '10.252.0.2', 40004, 8080, true);
      const fragNext = udpFragment('10.252.1.1', '10.252.0.2', 40004, 8080, false);
      // Each allowed flow's first packet makes its conntrack entry; every later one hits it.
      for (const [p, data] of [
        [prog, ctHit],
        [fromPod, out],
        [prog, fragFirst],
      ]) {
        const first = p.testRun({ data, repeat: 1 });
        if (first.retval !== 0) throw new Error(`allowed flow got ${first.retval}`);
      }
      setups.push({ n, collection, endpoints, endpoint, counters, prog, fromPod, ctHit, deny, out, spoofed, fragFirst, fragNext, policy, ipcache, config });
    }

    const cases = {
      'ct-hit': (s) => s.prog.testRun({ data: s.ctHit, repeat }),
      deny: (s) => s.prog.testRun({ data: s.deny, repeat }),
      unmanaged: (s) => {
        s.endpoints.delete(1);
        try {
          return s.prog.testRun({ data: s.ctHit, repeat });
        } finally {
          s.endpoints.set(1, s.endpoint);
        }
      },
      'deny-every-kind': (s) => {
        s.endpoints.set(1, { ...s.endpoint, flags: Uint16Array.from([INGRESS_EVERY_KIND, INGRESS_EVERY_KIND]) });
        try {
          return s.prog.testRun({ data: s.deny, repeat });
        } finally {
          s.endpoints.set(1, s.endpoint);
        }
      },
      'from-pod ct-hit': (s) => s.fromPod.testRun({ data: s.out, repeat }),
      spoofed: (s) => s.fromPod.testRun({ data: s.spoofed, repeat }),
      'frag-first': (s) => s.prog.testRun({ data: s.fragFirst, repeat }),
      'frag-next': (s) => s.prog.testRun({ data: s.fragNext, repeat }),
    };
    const expect = {
      'ct-hit': [0, REASON.allowCt],
      deny: [2, REASON.denyPolicy],
      'deny-every-kind': [2, REASON.denyPolicy],
      unmanaged: [-1 >>> 0, REASON.unmanaged],
      'from-pod ct-hit': [0, REASON.allowCt],
      spoofed: [2, REASON.dropSpoofed],
      'frag-first': [0, REASON.allowCt],
      'frag-next': [0, REASON.allowCt],
    };
    const samples = Object.fromEntries(Object.keys(cases).map((c) => [c, Object.fromEntries(Ns.map((n) => [n, []]))]));
    for (const s of setups) for (const c of Object.keys(cases)) cases[c](s); // warm up
    for (let r = 0; r < rounds; r++) {
      for (const s of setups) {
        for (const [c, run] of Object.entries(cases)) {
          const out = run(s);
          if (out.retval !== expect[c][0]) throw new Error(`to_pod ${c} at N=${s.n}: verdict ${out.retval | 0}, expected ${expect[c][0] | 0}`);
          samples[c][s.n].push(out.durationNs);
        }
      }
      log(`  test-run round ${r + 1}/${rounds}`);
    }
    // Each case went where it says (deny counts as deny-policy; its event is mostly lost).
    for (const s of setups) {
      const total = (reason) => s.counters.get(reason).reduce((a, c) => a + c.packets, 0n);
      const want = BigInt((rounds + 1) * repeat);
      if (total(REASON.allowCt) < 4n * want) throw new Error(`N=${s.n}: allow-ct counted ${total(REASON.allowCt)}, want ≥ ${4n * want}`);
      if (total(REASON.dropSpoofed) < want) throw new Error(`N=${s.n}: drop-spoofed counted ${total(REASON.dropSpoofed)}`);
      if (total(REASON.denyPolicy) < want) throw new Error(`N=${s.n}: deny-policy counted ${total(REASON.denyPolicy)}`);
      if (total(REASON.unmanaged) < want) throw new Error(`N=${s.n}: unmanaged counted ${total(REASON.unmanaged)}`);
    }
    const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
    const rows = [];
    for (const c of Object.keys(cases)) {
      const base = median(samples[c][Ns[0]]);
      const row = { case: c };
      for (const n of Ns) row[`N=${n.toLocaleString('en-US')} ns`] = median(samples[c][n]);
      for (const n of Ns.slice(1)) row[`N=${n.toLocaleString('en-US')} / N=${Ns[0]}`] = +(median(samples[c][n]) / base).toFixed(2);
      rows.push(row);
    }
    return { repeat, rounds, Ns, rows, samples };
  } finally {
    for (const s of setups) s.collection.close();
  }
}

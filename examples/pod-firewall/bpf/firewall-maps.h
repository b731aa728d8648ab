// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
// The pod firewall datapath's vocabulary: its constants, the types of its maps
// (the controller's bindings are generated from them), the maps themselves,
// and the two ways it speaks: per-CPU counters by reason and flow events.
// Included by firewall.bpf.c only.
#pragma once

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

/* tcx verdicts (linux/bpf.h of 6.6+; Debian 12's headers are 6.1). */
#ifndef TCX_NEXT
#define TCX_NEXT -1
#define TCX_PASS 0
#define TCX_DROP 2
#endif

#define DIR_EGRESS 0  /* leaving the pod */
#define DIR_INGRESS 1 /* entering the pod */

#define EP_ENFORCE_INGRESS 1
#define EP_ENFORCE_EGRESS 2
#define EP_RANGES_INGRESS 4 /* the ingress policy has port ranges in port_ranges */
#define EP_RANGES_EGRESS 8  /* the egress policy has port ranges in port_ranges */
#define EP_NAMED_EGRESS 16  /* the egress policy has per-pod entries (named ports) */
/* Which wildcard entries the policy has, by direction: lookups for kinds it has none of are skipped. */
#define EP_PORT_ANY_INGRESS 32   /* entries for every port of one protocol */
#define EP_PORT_ANY_EGRESS 64
#define EP_PROTO_ANY_INGRESS 128 /* entries for every protocol */
#define EP_PROTO_ANY_EGRESS 256
#define EP_PEER_ANY_INGRESS 512  /* entries for any peer */
#define EP_PEER_ANY_EGRESS 1024

#define IDENTITY_WORLD 2
#define PEER_ANY 0
/* A policy peer that is one pod (named ports resolve on it): this flag | its endpoint id. */
#define PEER_POD_FLAG (1U << 25)

/* IPv4 fragment offset bits and the more-fragments flag, host order. */
#define IP_OFFSET_MASK 0x1fff
#define IP_MORE_FRAGMENTS 0x2000

enum reason {
	REASON_UNMANAGED,       /* no endpoint on this interface */
	REASON_ALLOW_CT,        /* an established flow, either direction */
	REASON_ALLOW_POLICY,    /* a new flow a policy entry allows */
	REASON_ALLOW_UNENFORCED,/* a new flow in a direction no policy isolates */
	REASON_DENY_POLICY,     /* a new flow no policy entry allows */
	REASON_PASS_NON_IPV4,
	REASON_DROP_MALFORMED,
	REASON_EVENT_LOST,      /* the ring buffer was full */
	REASON_DROP_SPOOFED,    /* a source address the pod does not own (or a local pod's, not from its veth) */
	REASON_DROP_FRAGMENT,   /* a non-first fragment whose first fragment was not seen */
	REASON_MAX,
};

enum verdict { VERDICT_ALLOW = 1, VERDICT_DENY = 2 };

/* An IPv4 address in network order (the bindings read it as dotted text: tsbpf gen --typedef ipv4_addr=ipv4). */
typedef __be32 ipv4_addr;

/* A port in network order: the LPM trie matches a range block on its high bits. */
typedef __be16 port_be;

struct endpoint {
	__u32 endpoint_id;
	__u32 identity[2]; /* by generation */
	__u16 flags[2];    /* EP_*, by generation */
	ipv4_addr addr;    /* the pod's address: the only source allowed to leave it */
};

struct ipcache_key {
	__u32 prefixlen;
	ipv4_addr addr;
};

struct ipcache_value {
	__u32 identity[2];      /* label identity (pods), or the CIDR identity (prefixes), by generation */
	__u32 cidr_identity[2]; /* the most specific policy prefix containing the address (0: none), by generation */
	__u32 ifindex;          /* a pod of this node: its host veth, where its endpoint is */
};

struct policy_key {
	__u32 endpoint_id;
	__u32 peer;  /* the peer's identity; PEER_ANY: any peer */
	__u16 port;  /* destination port, host order; 0: any port */
	__u8 proto;          /* 0: any protocol */
	__u8 dir_gen;        /* direction | generation << 1 */
};

struct policy_value {
	__u32 policy_id; /* which NetworkPolicy allowed it, for events */
};

/* An endPort range as aligned power-of-two blocks: a block of 2^k ports has prefixlen PORT_RANGE_FULL_PREFIX - k. */
struct port_range_key {
	__u32 prefixlen;
	__u32 endpoint_id;
	__u32 peer;
	__u8 dir_gen;
	__u8 proto;
	port_be port; /* the block's first port */
};

#define PORT_RANGE_FULL_PREFIX 96 /* endpoint, peer, dir_gen, proto and all 16 port bits */

/* Fragment tracking, as Cilium's: a datagram's fragments share (source, destination, IP id, protocol). */
struct frag_key {
	ipv4_addr saddr;
	ipv4_addr daddr;
	__be16 id;
	__u8 proto;
	__u8 pad;
};

struct frag_value {
	__u16 sport; /* the first fragment's ports, host order */
	__u16 dport;
};

struct ct_key {
	ipv4_addr saddr;
	ipv4_addr daddr;
	__u16 sport;
	__u16 dport;
	__u8 proto;
	__u8 dir;
	__u16 pad;
};

struct ct_value {
	__u64 last_seen_ns; /* bpf_ktime_get_coarse_ns: CLOCK_MONOTONIC at tick resolution */
	__u64 packets;
	__u32 policy_id;
	__u32 closing; /* a TCP FIN or RST was seen */
};

/* Conntrack lifetimes, as Cilium's defaults: an entry idle longer is a new flow again. */
#define CT_LIFETIME_TCP_NS (21600ULL * 1000000000ULL)
#define CT_LIFETIME_NONTCP_NS (60ULL * 1000000000ULL)
#define CT_LIFETIME_CLOSING_NS (10ULL * 1000000000ULL)

#define TCP_FLAG_FIN 0x01
#define TCP_FLAG_SYN 0x02
#define TCP_FLAG_RST 0x04
#define TCP_FLAG_ACK 0x10

struct config {
	__u32 generation;
};

/*
 * A pod of this node the local fast path may deliver to (absent: every packet to it takes the
 * node's routing). Written by the controller when the fast path is on; empty when it is off.
 */
struct local_pod {
	__u32 ifindex;     /* its host veth: bpf_redirect_peer delivers to the pod's end of it */
	__u8 pod_mac[6];   /* the pod's own MAC: the destination of what it receives */
	__u8 gw_mac[6];    /* its gateway's MAC as the pod knows it: the source of what it receives */
};

struct counter {
	__u64 packets;
	__u64 bytes;
};

struct flow_event {
	__u64 timestamp_ns;
	ipv4_addr saddr;
	ipv4_addr daddr;
	__u16 sport;
	__u16 dport;
	__u8 proto;
	__u8 dir;
	__u8 verdict;
	__u8 reason;
	__u32 ifindex;
	__u32 endpoint_id;
	__u32 endpoint_identity;
	__u32 peer_identity;
	__u32 policy_id;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32); /* host-side ifindex */
	__type(value, struct endpoint);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} endpoints SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 65536);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct ipcache_key);
	__type(value, struct ipcache_value);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} ipcache SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 131072);
	__type(key, struct policy_key);
	__type(value, struct policy_value);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} policy SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 65536);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct port_range_key);
	__type(value, struct policy_value);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} port_ranges SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, struct frag_key);
	__type(value, struct frag_value);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} frags SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct ct_key);
	__type(value, struct ct_value);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} ct SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct config);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, ipv4_addr); /* the pod's address */
	__type(value, struct local_pod);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} local_pods SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, REASON_MAX);
	__type(key, __u32);
	__type(value, struct counter);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} events SEC(".maps");

/* Referenced so these types are in BTF: the record type of `events` (tsbpf gen's unused_<map>
 * convention), and enum reason, whose names src/datapath/layout.ts's REASONS follow. */
struct flow_event *unused_events __attribute__((unused));
enum reason *unused_reason __attribute__((unused));

static __always_inline void count(__u32 reason, __u32 bytes)
{
	struct counter *c = bpf_map_lookup_elem(&counters, &reason);

	if (c) {
		c->packets++;
		c->bytes += bytes;
	}
}

static __always_inline void report(struct __sk_buff *skb, const struct ct_key *t, const struct endpoint *ep, __u32 gen,
				   __u32 peer, __u32 policy_id, __u8 verdict, __u8 reason)
{
	struct flow_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);

	if (!e) {
		count(REASON_EVENT_LOST, 0);
		return;
	}
	e->timestamp_ns = bpf_ktime_get_ns(); /* precise, CLOCK_MONOTONIC: the controller shows it as wall time */
	e->saddr = t->saddr;
	e->daddr = t->daddr;
	e->sport = t->sport;
	e->dport = t->dport;
	e->proto = t->proto;
	e->dir = t->dir;
	e->verdict = verdict;
	e->reason = reason;
	e->ifindex = skb->ifindex;
	e->endpoint_id = ep->endpoint_id;
	e->endpoint_identity = ep->identity[gen & 1];
	e->peer_identity = peer;
	e->policy_id = policy_id;
	bpf_ringbuf_submit(e, 0);
}


// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
// The pod firewall's datapath: Kubernetes NetworkPolicy in the shape of
// Cilium's, one object shared by every pod, attached with tcx on both hooks
// of each pod's host-side veth.
//
//   tcx ingress of the host veth = packets leaving the pod  -> the pod's Egress policy
//   tcx egress  of the host veth = packets entering the pod -> the pod's Ingress policy
//
// Per packet (IPv4): endpoint by ifindex (unmanaged: pass on) -> what leaves
// a pod must carry the pod's own source address (anti-spoofing) -> a non-first
// fragment takes the ports its first fragment recorded (fragment tracking) ->
// conntrack,
// in this direction, then the reply direction (hit: pass). A new flow is
// decided once, where it is first seen: leaving pod A, both A's egress and,
// when the destination is a pod B of this node, B's ingress; entering B from
// elsewhere, B's ingress. A side not isolated allows; otherwise the ipcache
// (LPM) gives the peer's label identity and CIDR identity, and the policy is
// looked up for peer in {label, CIDR, any} x {proto+port, proto, any} (skipping
// the kinds of entries the endpoint's policy has none of, by its flags); an
// endpoint whose policy has endPort ranges also looks the port up in the
// `port_ranges` LPM trie (aligned power-of-two blocks of ports), and one whose
// egress names ports also looks up the destination pod itself (named ports
// resolve per pod, not per identity). Allowed flows get conntrack entries for
// both sides, so replies pass.
//
// Generations: endpoints and ipcache hold their answers for two generations,
// and policy keys carry one; `config.generation` says which is live. The
// controller writes a whole new state into the idle generation and flips it
// with one map write, so every flow is decided entirely by the old policy or
// entirely by the new one, never by a mix.
//
// New flows and drops are reported through a ring buffer; counters are per
// CPU by reason.
//
// The controller's map layouts are generated from this object's BTF
// (src/datapath/bindings.ts, by tsbpf gen; its test says when to regenerate).
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
	__u64 last_seen_ns;
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
				   __u32 peer, __u32 policy_id, __u8 verdict, __u8 reason, __u64 now)
{
	struct flow_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);

	if (!e) {
		count(REASON_EVENT_LOST, 0);
		return;
	}
	e->timestamp_ns = now;
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

/* What parse() found besides the tuple. */
struct parsed {
	__u8 tcp_flags;
	__u8 first_fragment; /* offset 0, more fragments follow: its ports are to be recorded */
	__be16 ip_id;
};

/*
 * Parses eth/IPv4/L4 into a conntrack tuple. 0: parsed; 1: not IPv4; -1: malformed; -2: a non-first
 * fragment of a port-bearing protocol (ports not in it: the caller looks them up by the tuple and ip_id).
 */
static __always_inline int parse(struct __sk_buff *skb, struct ct_key *t, struct parsed *info)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip;
	struct l4_head {
		__be16 source;
		__be16 dest;
		__be32 seq;
		__be32 ack_seq;
		__u8 doff;
		__u8 flags;
	} *ports; /* ports for TCP, UDP and SCTP; the rest only read for TCP */
	__u32 l4, need;
	__u16 frag;

	if ((void *)(eth + 1) > data_end)
		return -1;
	if (eth->h_proto != bpf_htons(ETH_P_IP))
		return 1;
	ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > data_end)
		return -1;
	if (ip->ihl < 5)
		return -1;
	t->saddr = ip->saddr;
	t->daddr = ip->daddr;
	t->proto = ip->protocol;
	t->sport = 0;
	t->dport = 0;
	if (ip->protocol != IPPROTO_TCP && ip->protocol != IPPROTO_UDP && ip->protocol != IPPROTO_SCTP)
		return 0; /* no ports: rules for the protocol or for everything judge it, fragmented or not */
	frag = bpf_ntohs(ip->frag_off);
	info->ip_id = ip->id;
	if (frag & IP_OFFSET_MASK)
		return -2;
	info->first_fragment = !!(frag & IP_MORE_FRAGMENTS);
	l4 = sizeof(*eth) + ip->ihl * 4;
	need = ip->protocol == IPPROTO_TCP ? sizeof(*ports) : 4;
	ports = data + l4;
	if ((void *)ports + need > data_end) {
		/* Headers beyond the linear area (or a first fragment too short to hold them): pull, look again. */
		if (bpf_skb_pull_data(skb, l4 + need))
			return -1;
		data = (void *)(long)skb->data;
		data_end = (void *)(long)skb->data_end;
		ports = data + l4;
		if ((void *)ports + 4 > data_end)
			return -1;
	}
	/* Source and destination ports come first in TCP, UDP and SCTP alike. */
	t->sport = bpf_ntohs(ports->source);
	t->dport = bpf_ntohs(ports->dest);
	if (t->proto == IPPROTO_TCP) { /* not ip->protocol: a pull invalidates packet pointers */
		if ((void *)(ports + 1) > data_end)
			return -1;
		info->tcp_flags = ports->flags;
	}
	return 0;
}

static __always_inline void frag_key_of(struct frag_key *k, const struct ct_key *t, __be16 ip_id)
{
	k->saddr = t->saddr;
	k->daddr = t->daddr;
	k->id = ip_id;
	k->proto = t->proto;
	k->pad = 0;
}

/* A first fragment: its ports, for the fragments that follow (written once: the second hook finds them). */
static __always_inline void frag_record(const struct ct_key *t, __be16 ip_id)
{
	struct frag_key k;
	struct frag_value v = { .sport = t->sport, .dport = t->dport }, *had;

	frag_key_of(&k, t, ip_id);
	had = bpf_map_lookup_elem(&frags, &k);
	if (had && had->sport == v.sport && had->dport == v.dport)
		return;
	bpf_map_update_elem(&frags, &k, &v, BPF_ANY);
}

/* A non-first fragment: the ports of its first fragment. 0: found; -1: never seen (or evicted). */
static __always_inline int frag_ports(struct ct_key *t, __be16 ip_id)
{
	struct frag_key k;
	struct frag_value *v;

	frag_key_of(&k, t, ip_id);
	v = bpf_map_lookup_elem(&frags, &k);
	if (!v)
		return -1;
	t->sport = v->sport;
	t->dport = v->dport;
	return 0;
}

/* Which kinds of entries one side's policy has (LOOK_*), so lookups of kinds it lacks are skipped. */
#define LOOK_PORT_ANY 1
#define LOOK_PROTO_ANY 2
#define LOOK_RANGES 4
#define LOOK_PEER_ANY 8

/* One peer's entries: {proto+port, proto, any} in the hash, then the port in the LPM trie (each if it has such entries). */
static __always_inline struct policy_value *lookup_policy(__u32 ep, __u32 peer, __u8 proto, __u16 dport, __u8 dir_gen,
							  __u32 look)
{
	struct policy_key k = { .endpoint_id = ep, .peer = peer, .port = dport, .proto = proto, .dir_gen = dir_gen };
	struct policy_value *v = bpf_map_lookup_elem(&policy, &k);

	if (v)
		return v;
	if (dport && (look & LOOK_PORT_ANY)) {
		k.port = 0; /* every port of this protocol */
		v = bpf_map_lookup_elem(&policy, &k);
		if (v)
			return v;
	}
	if (look & LOOK_PROTO_ANY) {
		k.port = 0;
		k.proto = 0; /* every protocol */
		v = bpf_map_lookup_elem(&policy, &k);
		if (v)
			return v;
	}
	if (!(look & LOOK_RANGES) || !dport)
		return 0;
	{
		struct port_range_key r = {
			.prefixlen = PORT_RANGE_FULL_PREFIX,
			.endpoint_id = ep,
			.peer = peer,
			.dir_gen = dir_gen,
			.proto = proto,
			.port = bpf_htons(dport),
		};

		return bpf_map_lookup_elem(&port_ranges, &r);
	}
}

static __always_inline void remember(const struct ct_key *t, __u8 dir, __u32 policy_id, __u64 now)
{
	struct ct_value v = { .last_seen_ns = now, .packets = 1, .policy_id = policy_id };
	struct ct_key k = *t;

	k.dir = dir;
	bpf_map_update_elem(&ct, &k, &v, BPF_ANY);
}

static __always_inline __u32 live_generation(void)
{
	__u32 zero = 0;
	struct config *c = bpf_map_lookup_elem(&config, &zero);

	return c ? c->generation & 1 : 0;
}

static __always_inline struct ipcache_value *ipcache_lookup(__u32 addr)
{
	struct ipcache_key k = { .prefixlen = 32, .addr = addr };

	return bpf_map_lookup_elem(&ipcache, &k);
}

/*
 * One side's verdict: 1 allowed (policy_id set when a policy entry said so), 0 denied. `dst_ep`: on
 * the egress side, the destination pod's endpoint when it is one of this node (its named ports).
 */
static __always_inline int side_allows(const struct endpoint *ep, __u32 gen, __u8 dir, const struct ipcache_value *peer_info,
				       const struct endpoint *dst_ep, const struct ct_key *t, __u32 *peer_out, __u32 *policy_id)
{
	struct policy_value *allow;
	__u32 peer = peer_info ? peer_info->identity[gen] : IDENTITY_WORLD;
	__u32 cidr = peer_info ? peer_info->cidr_identity[gen] : 0;
	__u8 dir_gen = dir | gen << 1;
	__u16 flags = ep->flags[gen];
	__u32 look;

	*peer_out = peer;
	if (dir == DIR_INGRESS) {
		if (!(flags & EP_ENFORCE_INGRESS))
			return 1;
		look = (flags & EP_PORT_ANY_INGRESS ? LOOK_PORT_ANY : 0) | (flags & EP_PROTO_ANY_INGRESS ? LOOK_PROTO_ANY : 0) |
		       (flags & EP_RANGES_INGRESS ? LOOK_RANGES : 0) | (flags & EP_PEER_ANY_INGRESS ? LOOK_PEER_ANY : 0);
	} else {
		if (!(flags & EP_ENFORCE_EGRESS))
			return 1;
		look = (flags & EP_PORT_ANY_EGRESS ? LOOK_PORT_ANY : 0) | (flags & EP_PROTO_ANY_EGRESS ? LOOK_PROTO_ANY : 0) |
		       (flags & EP_RANGES_EGRESS ? LOOK_RANGES : 0) | (flags & EP_PEER_ANY_EGRESS ? LOOK_PEER_ANY : 0);
	}
	allow = lookup_policy(ep->endpoint_id, peer, t->proto, t->dport, dir_gen, look);
	if (!allow && cidr && cidr != peer)
		allow = lookup_policy(ep->endpoint_id, cidr, t->proto, t->dport, dir_gen, look);
	if (!allow && (look & LOOK_PEER_ANY))
		allow = lookup_policy(ep->endpoint_id, PEER_ANY, t->proto, t->dport, dir_gen, look);
	if (!allow && dst_ep && (flags & EP_NAMED_EGRESS) && t->dport) {
		/* A named port: the number this very pod gives the name. */
		struct policy_key k = {
			.endpoint_id = ep->endpoint_id,
			.peer = PEER_POD_FLAG | dst_ep->endpoint_id,
			.port = t->dport,
			.proto = t->proto,
			.dir_gen = dir_gen,
		};

		allow = bpf_map_lookup_elem(&policy, &k);
	}
	if (!allow)
		return 0;
	*policy_id = allow->policy_id;
	return 1;
}

static __always_inline int handle(struct __sk_buff *skb, __u8 dir)
{
	__u32 ifindex = skb->ifindex;
	struct endpoint *ep = bpf_map_lookup_elem(&endpoints, &ifindex), *dst_ep = 0;
	struct ipcache_value *src_info = 0, *dst_info = 0;
	struct ct_key t = {}, reply = {};
	struct parsed info = {};
	struct ct_value *seen;
	__u32 gen, peer = 0, policy_id = 0, dst_ifindex;
	__u64 now;
	int parsed, ok;

	if (!ep) {
		count(REASON_UNMANAGED, skb->len);
		return TCX_NEXT;
	}
	parsed = parse(skb, &t, &info);
	if (parsed == 1) {
		count(REASON_PASS_NON_IPV4, skb->len);
		return TCX_PASS;
	}
	if (parsed == -1) {
		count(REASON_DROP_MALFORMED, skb->len);
		return TCX_DROP;
	}
	t.dir = dir;
	/* Leaving the pod: it may only speak for itself (a raw socket can write any source address). */
	if (dir == DIR_EGRESS && t.saddr != ep->addr) {
		count(REASON_DROP_SPOOFED, skb->len);
		report(skb, &t, ep, live_generation(), 0, 0, VERDICT_DENY, REASON_DROP_SPOOFED, bpf_ktime_get_ns());
		return TCX_DROP;
	}
	if (parsed == -2) {
		/* A non-first fragment is judged with its first fragment's ports; without them it is dropped. */
		if (frag_ports(&t, info.ip_id)) {
			count(REASON_DROP_FRAGMENT, skb->len);
			report(skb, &t, ep, live_generation(), 0, 0, VERDICT_DENY, REASON_DROP_FRAGMENT, bpf_ktime_get_ns());
			return TCX_DROP;
		}
	} else if (info.first_fragment) {
		frag_record(&t, info.ip_id);
	}

	/* An established flow, seen in this direction before ... */
	seen = bpf_map_lookup_elem(&ct, &t);
	if (!seen) {
		/* ... or the reply of a flow the other end accepted. */
		reply.saddr = t.daddr;
		reply.daddr = t.saddr;
		reply.sport = t.dport;
		reply.dport = t.sport;
		reply.proto = t.proto;
		reply.dir = !dir;
		seen = bpf_map_lookup_elem(&ct, &reply);
	}
	now = bpf_ktime_get_ns();
	if (seen) {
		__u64 lifetime = seen->closing ? CT_LIFETIME_CLOSING_NS :
				 t.proto == IPPROTO_TCP ? CT_LIFETIME_TCP_NS : CT_LIFETIME_NONTCP_NS;

		/* Expired, or a fresh SYN reusing the ports of a closed connection: a new flow. */
		if (now - seen->last_seen_ns > lifetime ||
		    (seen->closing && (info.tcp_flags & (TCP_FLAG_SYN | TCP_FLAG_ACK)) == TCP_FLAG_SYN))
			seen = 0;
	}
	if (seen) {
		seen->last_seen_ns = now;
		__sync_fetch_and_add(&seen->packets, 1);
		if (info.tcp_flags & (TCP_FLAG_FIN | TCP_FLAG_RST))
			seen->closing = 1;
		count(REASON_ALLOW_CT, skb->len);
		return TCX_PASS;
	}

	/* A new flow: one generation decides it, on both sides. */
	gen = live_generation();
	/* The peer of this side: the destination of what leaves the pod, the source of what enters it. */
	if (dir == DIR_EGRESS) {
		dst_info = ipcache_lookup(t.daddr);
		/* Leaving for a pod of this node: its endpoint (its named ports, and its ingress below). */
		dst_ifindex = dst_info ? dst_info->ifindex : 0;
		if (dst_ifindex)
			dst_ep = bpf_map_lookup_elem(&endpoints, &dst_ifindex);
	} else {
		src_info = ipcache_lookup(t.saddr);
		/* Entering from elsewhere with the address of a pod of this node that did not send it. */
		if (src_info && src_info->ifindex && src_info->ifindex != skb->ingress_ifindex) {
			count(REASON_DROP_SPOOFED, skb->len);
			report(skb, &t, ep, gen, src_info->identity[gen], 0, VERDICT_DENY, REASON_DROP_SPOOFED, now);
			return TCX_DROP;
		}
	}
	ok = side_allows(ep, gen, dir, dir == DIR_EGRESS ? dst_info : src_info, dst_ep, &t, &peer, &policy_id);
	if (!ok) {
		count(REASON_DENY_POLICY, skb->len);
		report(skb, &t, ep, gen, peer, 0, VERDICT_DENY, REASON_DENY_POLICY, now);
		return TCX_DROP;
	}
	/* Leaving for a pod of this node: decide its ingress now too, with the same generation. */
	if (dst_ep) {
		struct ct_key in = t;
		__u32 dst_peer = 0, dst_policy_id = 0;

		in.dir = DIR_INGRESS;
		src_info = ipcache_lookup(t.saddr);
		if (!side_allows(dst_ep, gen, DIR_INGRESS, src_info, 0, &t, &dst_peer, &dst_policy_id)) {
			count(REASON_DENY_POLICY, skb->len);
			report(skb, &in, dst_ep, gen, dst_peer, 0, VERDICT_DENY, REASON_DENY_POLICY, now);
			return TCX_DROP;
		}
		remember(&t, DIR_INGRESS, dst_policy_id, now);
		/* Each side a policy allowed reports it, at its own endpoint (as Hubble shows both). */
		if (dst_policy_id)
			report(skb, &in, dst_ep, gen, dst_peer, dst_policy_id, VERDICT_ALLOW, REASON_ALLOW_POLICY, now);
		if (policy_id)
			report(skb, &t, ep, gen, peer, policy_id, VERDICT_ALLOW, REASON_ALLOW_POLICY, now);
		else
			policy_id = dst_policy_id;
	} else if (policy_id) {
		report(skb, &t, ep, gen, peer, policy_id, VERDICT_ALLOW, REASON_ALLOW_POLICY, now);
	}
	remember(&t, dir, policy_id, now);
	count(policy_id ? REASON_ALLOW_POLICY : REASON_ALLOW_UNENFORCED, skb->len);
	return TCX_PASS;
}

SEC("tcx/ingress")
int from_pod(struct __sk_buff *skb)
{
	return handle(skb, DIR_EGRESS);
}

SEC("tcx/egress")
int to_pod(struct __sk_buff *skb)
{
	return handle(skb, DIR_INGRESS);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";

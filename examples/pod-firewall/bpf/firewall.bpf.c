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
// The local fast path: what from_pod allowed for a pod of this node listed in
// `local_pods` (TCP or UDP, no IP options, no fragment, TTL above 1), whose
// receiving side conntrack holds established (what to_pod would pass), goes
// straight into that pod with bpf_redirect_peer, its Ethernet header and TTL
// as the node's routing would leave them; to_pod and the routing do not run.
// Policy is thus judged at the source for local pairs, as Cilium does with BPF
// host routing. It is off when `local_pods` is empty, and costs nothing when
// the controller loads the programs with `fast_path` 0: the verifier then
// removes the branch, `local_pods` lookup and all.
//
// New flows and drops are reported through a ring buffer; counters are per
// CPU by reason.
//
// The controller's map layouts are generated from this object's BTF
// (src/datapath/bindings.ts, by tsbpf gen; its test says when to regenerate).
#include "firewall-maps.h"
#include "firewall-parse.h"

#ifndef PF_NO_FAST_PATH_SWITCH
/* The local fast path's switch, set before load (.rodata is frozen): 0 leaves every packet to to_pod and the routing. */
const volatile __u32 fast_path = 1;
#else
/* A build from before the switch (for the fast path's test): it always looks `local_pods` up. */
#define fast_path 1
#endif

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

/*
 * Whether `t` (its dir set) is an established flow: seen in this direction before, or the reply of a
 * flow the other end accepted, and not idle past its lifetime; if so, the entry is refreshed.
 */
static __always_inline int established(const struct ct_key *t, __u8 tcp_flags, __u64 now)
{
	struct ct_key reply = {
		.saddr = t->daddr,
		.daddr = t->saddr,
		.sport = t->dport,
		.dport = t->sport,
		.proto = t->proto,
		.dir = !t->dir,
	};
	struct ct_value *seen = bpf_map_lookup_elem(&ct, t);
	__u64 lifetime;

	if (!seen)
		seen = bpf_map_lookup_elem(&ct, &reply);
	if (!seen)
		return 0;
	lifetime = seen->closing ? CT_LIFETIME_CLOSING_NS : t->proto == IPPROTO_TCP ? CT_LIFETIME_TCP_NS : CT_LIFETIME_NONTCP_NS;
	/* Expired, or a fresh SYN reusing the ports of a closed connection: a new flow. Signed: an entry
	 * stamped by the precise clock (a datapath before this one) may be a tick ahead. */
	if ((__s64)(now - seen->last_seen_ns) > (__s64)lifetime ||
	    (seen->closing && (tcp_flags & (TCP_FLAG_SYN | TCP_FLAG_ACK)) == TCP_FLAG_SYN))
		return 0;
	seen->last_seen_ns = now;
	__sync_fetch_and_add(&seen->packets, 1);
	if (tcp_flags & (TCP_FLAG_FIN | TCP_FLAG_RST))
		seen->closing = 1;
	return 1;
}

/*
 * The local fast path, for a packet from_pod allowed: when its destination is a pod of this node in
 * `local_pods` and to_pod would pass it too (the destination's ingress side is an established flow:
 * from_pod records it when it decides a local pair's new flow), it goes straight into that pod, as
 * the node's routing would deliver it (Ethernet header from the pod's gateway, TTL down by one),
 * without to_pod and the node's routing. Everything else passes on to them: other destinations, an
 * fast path off (`fast_path` 0, or an empty `local_pods`), protocols other than TCP and UDP, IP
 * options, fragments, a TTL the node would answer with an ICMP error, and an ingress side to_pod
 * would judge anew.
 */
static __always_inline int deliver_local(struct __sk_buff *skb, const struct ct_key *t, const struct parsed *info, __u64 now)
{
	struct local_pod *dst;
	struct ct_key in = *t;
	struct ethhdr *eth;
	struct iphdr *ip;
	__u32 check;

	if (!fast_path || !info->forwardable || (t->proto != IPPROTO_TCP && t->proto != IPPROTO_UDP))
		return TCX_PASS;
	dst = bpf_map_lookup_elem(&local_pods, &t->daddr);
	if (!dst)
		return TCX_PASS;
	eth = (void *)(long)skb->data;
	ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > (void *)(long)skb->data_end)
		return TCX_PASS;
	in.dir = DIR_INGRESS;
	if (!established(&in, info->tcp_flags, now))
		return TCX_PASS;
	__builtin_memcpy(eth->h_dest, dst->pod_mac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, dst->gw_mac, ETH_ALEN);
	/* The TTL down by one, the header checksum adjusted for it (RFC 1624; as the kernel's ip_decrease_ttl). */
	check = ip->check;
	check += bpf_htons(0x0100);
	ip->check = (__u16)(check + (check >= 0xFFFF));
	ip->ttl--;
	return bpf_redirect_peer(dst->ifindex, 0);
}

static __always_inline int handle(struct __sk_buff *skb, __u8 dir)
{
	__u32 ifindex = skb->ifindex;
	struct endpoint *ep = bpf_map_lookup_elem(&endpoints, &ifindex), *dst_ep = 0;
	struct ipcache_value *src_info = 0, *dst_info = 0;
	struct ct_key t = {};
	struct parsed info = {};
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
		report(skb, &t, ep, live_generation(), 0, 0, VERDICT_DENY, REASON_DROP_SPOOFED);
		return TCX_DROP;
	}
	if (parsed == -2) {
		/* A non-first fragment is judged with its first fragment's ports; without them it is dropped. */
		if (frag_ports(&t, info.ip_id)) {
			count(REASON_DROP_FRAGMENT, skb->len);
			report(skb, &t, ep, live_generation(), 0, 0, VERDICT_DENY, REASON_DROP_FRAGMENT);
			return TCX_DROP;
		}
	} else if (info.first_fragment) {
		frag_record(&t, info.ip_id);
	}

	/* Conntrack ages are seconds to hours: the coarse clock (no clock read) is precise enough. */
	now = bpf_ktime_get_coarse_ns();
	if (established(&t, info.tcp_flags, now)) {
		count(REASON_ALLOW_CT, skb->len);
		if (dir == DIR_EGRESS)
			return deliver_local(skb, &t, &info, now);
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
			report(skb, &t, ep, gen, src_info->identity[gen], 0, VERDICT_DENY, REASON_DROP_SPOOFED);
			return TCX_DROP;
		}
	}
	ok = side_allows(ep, gen, dir, dir == DIR_EGRESS ? dst_info : src_info, dst_ep, &t, &peer, &policy_id);
	if (!ok) {
		count(REASON_DENY_POLICY, skb->len);
		report(skb, &t, ep, gen, peer, 0, VERDICT_DENY, REASON_DENY_POLICY);
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
			report(skb, &in, dst_ep, gen, dst_peer, 0, VERDICT_DENY, REASON_DENY_POLICY);
			return TCX_DROP;
		}
		remember(&t, DIR_INGRESS, dst_policy_id, now);
		/* Each side a policy allowed reports it, at its own endpoint (as Hubble shows both). */
		if (dst_policy_id)
			report(skb, &in, dst_ep, gen, dst_peer, dst_policy_id, VERDICT_ALLOW, REASON_ALLOW_POLICY);
		if (policy_id)
			report(skb, &t, ep, gen, peer, policy_id, VERDICT_ALLOW, REASON_ALLOW_POLICY);
		else
			policy_id = dst_policy_id;
	} else if (policy_id) {
		report(skb, &t, ep, gen, peer, policy_id, VERDICT_ALLOW, REASON_ALLOW_POLICY);
	}
	remember(&t, dir, policy_id, now);
	count(policy_id ? REASON_ALLOW_POLICY : REASON_ALLOW_UNENFORCED, skb->len);
	if (dst_ep)
		return deliver_local(skb, &t, &info, now);
	return TCX_PASS;
}

#ifdef PF_DATAPATH_MARK
// A build that differs (for the upgrade test): from_pod also counts the
// packets it sees per host veth, so which build judged a packet shows.
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} marked SEC(".maps");
#endif

SEC("tcx/ingress")
int from_pod(struct __sk_buff *skb)
{
#ifdef PF_DATAPATH_MARK
	__u32 ifindex = skb->ifindex;
	__u64 one = 1, *n = bpf_map_lookup_elem(&marked, &ifindex);

	if (n)
		__sync_fetch_and_add(n, 1);
	else
		bpf_map_update_elem(&marked, &ifindex, &one, BPF_NOEXIST);
#endif
	return handle(skb, DIR_EGRESS);
}

SEC("tcx/egress")
int to_pod(struct __sk_buff *skb)
{
	return handle(skb, DIR_INGRESS);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";

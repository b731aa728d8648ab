// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
// Reading a packet: eth/IPv4/L4 into a conntrack tuple, and IPv4 fragment
// tracking (a first fragment records its ports, later ones take them).
// Included by firewall.bpf.c only, after firewall-maps.h.
#pragma once

#include "firewall-maps.h"

/* What parse() found besides the tuple. */
struct parsed {
	__u8 tcp_flags;
	__u8 first_fragment; /* offset 0, more fragments follow: its ports are to be recorded */
	__be16 ip_id;
	__u8 forwardable; /* no IP options, not a fragment, TTL above 1: the local fast path may take it */
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
	info->forwardable = ip->ihl == 5 && !(bpf_ntohs(ip->frag_off) & (IP_OFFSET_MASK | IP_MORE_FRAGMENTS)) && ip->ttl > 1;
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


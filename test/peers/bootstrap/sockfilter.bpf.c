/* sockfilter: a socket filter that reads headers with bpf_skb_load_bytes and reports IPv4 flows on a ring buffer. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define ETH_P_IP 0x0800
#define ETH_HLEN 14

struct flow {
	__be32 src;
	__be32 dst;
	__u8 proto;
	__u8 ihl;
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
} flows SEC(".maps");

SEC("socket")
int report_flows(struct __sk_buff *skb)
{
	__be16 proto;
	if (bpf_skb_load_bytes(skb, 12, &proto, sizeof(proto)) < 0 || proto != bpf_htons(ETH_P_IP))
		return 0;
	__u8 first;
	if (bpf_skb_load_bytes(skb, ETH_HLEN, &first, 1) < 0)
		return 0;
	struct flow *f = bpf_ringbuf_reserve(&flows, sizeof(*f), 0);
	if (!f)
		return 0;
	f->ihl = first & 0x0f;
	bpf_skb_load_bytes(skb, ETH_HLEN + 9, &f->proto, 1);
	bpf_skb_load_bytes(skb, ETH_HLEN + 12, &f->src, 4);
	bpf_skb_load_bytes(skb, ETH_HLEN + 16, &f->dst, 4);
	bpf_ringbuf_submit(f, 0);
	return skb->len;
}

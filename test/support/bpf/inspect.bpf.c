// The object the introspection tests load (by tsbpf and by libbpf) and look
// at from outside: a struct-keyed hash, a per-CPU counter, and a ring buffer
// whose record type follows tsbpf gen's unused_<map> convention.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct flow {
	__u32 saddr;
	__u32 daddr;
	__u16 sport;
	__u16 dport;
	__u8 proto;
};

struct flow_stats {
	__u64 packets;
	__u64 bytes;
};

struct event {
	__u64 seq;
	__u32 len;
	__u32 magic;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, struct flow);
	__type(value, struct flow_stats);
} flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} hits SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} events SEC(".maps");

struct event *unused_events __attribute__((unused));

__u64 seq;

SEC("xdp")
int count_packets(struct xdp_md *ctx)
{
	__u32 zero = 0;
	__u64 *h = bpf_map_lookup_elem(&hits, &zero);
	if (h)
		(*h)++;
	struct event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (e) {
		e->seq = ++seq;
		e->len = ctx->data_end - ctx->data;
		e->magic = 0xfeedbeef;
		bpf_ringbuf_submit(e, 0);
	}
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

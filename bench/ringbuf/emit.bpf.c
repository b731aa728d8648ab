// The producer for bench/ringbuf: one 16-byte record per run of the program.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct record {
	__u64 seq;
	__u32 len;
	__u32 flags;
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 25);
} records SEC(".maps");

__u64 seq, dropped;

SEC("xdp")
int emit(struct xdp_md *ctx)
{
	struct record *r = bpf_ringbuf_reserve(&records, sizeof(*r), 0);
	if (!r) {
		__sync_fetch_and_add(&dropped, 1);
		return XDP_PASS;
	}
	r->seq = seq++;
	r->len = ctx->data_end - ctx->data;
	r->flags = 0;
	bpf_ringbuf_submit(r, BPF_RB_NO_WAKEUP);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

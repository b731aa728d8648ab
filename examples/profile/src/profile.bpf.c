// profile: on every cpu-clock sample (a perf event per CPU), the sampled
// task's kernel and user stacks go into a stack-trace map, and the tuple
// (process, comm, kernel stack id, user stack id) is counted in a hash.
// target_tgid (0: every process) is set at load time.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define MAX_STACKS 16384
#define MAX_DEPTH 127

struct key {
	__u32 tgid;
	__s32 kernel_stack;
	__s32 user_stack;
	char comm[16];
};

const volatile __u32 target_tgid = 0;

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, MAX_STACKS);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, MAX_DEPTH * sizeof(__u64));
} stacks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_STACKS);
	__type(key, struct key);
	__type(value, __u64);
} counts SEC(".maps");

/* Samples lost because the counts hash was full. */
__u64 dropped = 0;

SEC("perf_event")
int on_sample(void *ctx)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	if (tgid == 0)
		return 0; /* the idle task */
	if (target_tgid != 0 && tgid != target_tgid)
		return 0;
	struct key k = {};
	k.tgid = tgid;
	bpf_get_current_comm(k.comm, sizeof(k.comm));
	k.kernel_stack = bpf_get_stackid(ctx, &stacks, 0);
	k.user_stack = bpf_get_stackid(ctx, &stacks, BPF_F_USER_STACK);
	__u64 one = 1;
	__u64 *n = bpf_map_lookup_elem(&counts, &k);
	if (n)
		__sync_fetch_and_add(n, 1);
	else if (bpf_map_update_elem(&counts, &k, &one, BPF_NOEXIST) != 0) {
		n = bpf_map_lookup_elem(&counts, &k);
		if (n)
			__sync_fetch_and_add(n, 1);
		else
			__sync_fetch_and_add(&dropped, 1);
	}
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

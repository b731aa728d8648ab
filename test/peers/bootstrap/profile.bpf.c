/* profile: a perf_event program that samples user and kernel stacks onto a ring buffer. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define DEPTH 64

struct stack_sample {
	__u32 pid;
	__u32 cpu;
	char comm[16];
	__s32 kstack_bytes;
	__s32 ustack_bytes;
	__u64 kstack[DEPTH];
	__u64 ustack[DEPTH];
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} samples SEC(".maps");

SEC("perf_event")
int sample_stacks(struct bpf_perf_event_data *ctx)
{
	struct stack_sample *s = bpf_ringbuf_reserve(&samples, sizeof(*s), 0);
	if (!s)
		return 1;
	s->pid = bpf_get_current_pid_tgid() >> 32;
	s->cpu = bpf_get_smp_processor_id();
	if (bpf_get_current_comm(s->comm, sizeof(s->comm)))
		s->comm[0] = 0;
	s->kstack_bytes = bpf_get_stack(ctx, s->kstack, sizeof(s->kstack), 0);
	s->ustack_bytes = bpf_get_stack(ctx, s->ustack, sizeof(s->ustack), BPF_F_USER_STACK);
	bpf_ringbuf_submit(s, 0);
	return 0;
}

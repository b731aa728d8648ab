/* uprobe: entry and return of a user-space function, its arguments and result through BPF_KPROBE. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, u32);
	__type(value, long);
} last SEC(".maps");

SEC("uprobe")
int BPF_KPROBE(add_entry, int a, int b)
{
	u32 k = 0;
	long v = (long)a + b;
	bpf_map_update_elem(&last, &k, &v, BPF_ANY);
	return 0;
}

SEC("uretprobe")
int BPF_KRETPROBE(add_return, int ret)
{
	u32 k = 1;
	long v = ret;
	bpf_map_update_elem(&last, &k, &v, BPF_ANY);
	return 0;
}

SEC("uprobe//proc/self/exe:uprobed_sub")
int BPF_KPROBE(sub_entry, int a, int b)
{
	bpf_printk("sub(%d, %d)", a, b);
	return 0;
}

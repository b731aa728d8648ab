/* kprobe: entry and return of a kernel function through BPF_KPROBE / BPF_KRETPROBE. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("kprobe/do_unlinkat")
int BPF_KPROBE(unlinkat_entry, int dfd, struct filename *name)
{
	const char *path = BPF_CORE_READ(name, name);
	bpf_printk("unlinkat %s", path);
	return 0;
}

SEC("kretprobe/do_unlinkat")
int BPF_KRETPROBE(unlinkat_exit, long ret)
{
	bpf_printk("unlinkat returned %ld", ret);
	return 0;
}

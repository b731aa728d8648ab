/* lsm: a BPF LSM hook that refuses one bpf() command. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

#define EPERM 1

SEC("lsm/bpf")
int BPF_PROG(refuse_freeze, int cmd, union bpf_attr *attr, unsigned int size, int ret)
{
	if (ret != 0)
		return ret;
	return cmd == BPF_MAP_FREEZE ? -EPERM : 0;
}

/* minimal: a tracepoint that logs the writes of one process (set from user space). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

const volatile int watched_pid = 0;
__u64 writes = 0;

SEC("tp/syscalls/sys_enter_write")
int count_writes(void *ctx)
{
	int pid = bpf_get_current_pid_tgid() >> 32;
	if (pid != watched_pid)
		return 0;
	__sync_fetch_and_add(&writes, 1);
	bpf_printk("write from pid %d", pid);
	return 0;
}

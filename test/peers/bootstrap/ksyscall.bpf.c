/* ksyscall: syscall entry through BPF_KSYSCALL, which reads arguments the way this kernel passes them (syscall wrapper or not). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("ksyscall/tgkill")
int BPF_KSYSCALL(on_tgkill, pid_t tgid, pid_t tid, int sig)
{
	bpf_printk("tgkill(%d, %d, %d)", tgid, tid, sig);
	return 0;
}

SEC("kretsyscall/kill")
int BPF_KRETPROBE(on_kill_return, int ret)
{
	bpf_printk("kill returned %d", ret);
	return 0;
}

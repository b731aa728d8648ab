/* usdt: USDT probes through libbpf's usdt.bpf.h (argument specs in its maps, the BPF cookie when the kernel has it). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/usdt.bpf.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("usdt/libc.so.6:libc:setjmp")
int BPF_USDT(on_setjmp, void *buf, int mask)
{
	bpf_printk("setjmp(%p, %d)", buf, mask);
	return 0;
}

SEC("usdt")
int BPF_USDT(on_any, long arg0)
{
	bpf_printk("usdt arg0 %ld", arg0);
	return 0;
}

/* task_iter: a BPF iterator over every task, printing pid, ppid and comm like ps. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("iter/task")
int list_tasks(struct bpf_iter__task *ctx)
{
	struct seq_file *seq = ctx->meta->seq;
	struct task_struct *task = ctx->task;
	if (!task)
		return 0;
	if (ctx->meta->seq_num == 0)
		BPF_SEQ_PRINTF(seq, "%8s %8s %s\n", "PID", "PPID", "COMM");
	BPF_SEQ_PRINTF(seq, "%8d %8d %s\n", task->tgid, BPF_CORE_READ(task, real_parent, tgid), task->comm);
	return 0;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * processes.bpf.c: process exec, fork and exit, from the sched tracepoints.
 *
 * A process that lives a millisecond is gone before user space could read /proc; these events
 * carry what attribution needs (executable, command line, parent, start time) at the moment
 * it happens. Threads are filtered out: only thread group leaders make events.
 */
#include "lib/common.h"
#include "lib/task.h"

char LICENSE[] SEC("license") = "GPL";

SEC("tp_btf/sched_process_exec")
int BPF_PROG(fsight_proc_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	struct fsight_proc_exec *e = fsight_reserve(struct fsight_proc_exec, FSIGHT_EV_PROC_EXEC);
	unsigned long arg_start, arg_end, len;

	if (!e)
		return 0;
	fsight_fill_task(&e->task);
	e->ppid = BPF_CORE_READ(p, real_parent, tgid);
	e->start_ns = BPF_CORE_READ(p, start_time);
	e->_pad = 0;
	if (bpf_probe_read_kernel_str(e->filename, sizeof(e->filename), BPF_CORE_READ(bprm, filename)) < 0)
		e->filename[0] = 0;

	/* The new image's argv is in the current (exec'ing) task's memory. */
	arg_start = BPF_CORE_READ(p, mm, arg_start);
	arg_end = BPF_CORE_READ(p, mm, arg_end);
	len = arg_end > arg_start ? arg_end - arg_start : 0;
	e->args_truncated = len > FSIGHT_ARGS_LEN;
	if (len > FSIGHT_ARGS_LEN)
		len = FSIGHT_ARGS_LEN;
	if (bpf_probe_read_user(e->args, len, (void *)arg_start))
		len = 0;
	e->args_len = len;
	bpf_ringbuf_submit(e, 0);
	return 0;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(fsight_proc_fork, struct task_struct *parent, struct task_struct *child)
{
	struct fsight_proc_fork *e;

	if (child->pid != child->tgid)
		return 0; /* a new thread, not a new process */
	e = fsight_reserve(struct fsight_proc_fork, FSIGHT_EV_PROC_FORK);
	if (!e)
		return 0;
	e->parent_tgid = parent->tgid;
	e->child_tgid = child->tgid;
	e->start_ns = child->start_time;
	bpf_ringbuf_submit(e, 0);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(fsight_proc_exit, struct task_struct *p)
{
	struct fsight_proc_exit *e;

	if (p->pid != p->tgid)
		return 0;
	e = fsight_reserve(struct fsight_proc_exit, FSIGHT_EV_PROC_EXIT);
	if (!e)
		return 0;
	e->tgid = p->tgid;
	e->exit_code = p->exit_code;
	bpf_ringbuf_submit(e, 0);
	return 0;
}

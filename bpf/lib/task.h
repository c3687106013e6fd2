/* SPDX-License-Identifier: GPL-2.0 */
/* task.h: the current task as struct fsight_task. Only valid in process context. */
#ifndef FSIGHT_LIB_TASK_H
#define FSIGHT_LIB_TASK_H

#include "common.h"

static __always_inline void fsight_fill_task(struct fsight_task *t)
{
	__u64 pt = bpf_get_current_pid_tgid();
	__u64 ug = bpf_get_current_uid_gid();

	t->tgid = pt >> 32;
	t->pid = (__u32)pt;
	t->uid = (__u32)ug;
	t->gid = ug >> 32;
	t->cgroup_id = bpf_get_current_cgroup_id();
	bpf_get_current_comm(t->comm, sizeof(t->comm));
}

#endif

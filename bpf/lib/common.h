/* SPDX-License-Identifier: GPL-2.0 */
/* common.h: includes and small helpers every program uses. */
#ifndef FSIGHT_LIB_COMMON_H
#define FSIGHT_LIB_COMMON_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "maps.h"

#define FSIGHT_IPPROTO_ICMP 1
#define FSIGHT_IPPROTO_TCP 6
#define FSIGHT_IPPROTO_UDP 17
#define FSIGHT_IPPROTO_ICMPV6 58

/* Count one occurrence of an enum fsight_counter on this CPU. */
static __always_inline void fsight_count(__u32 idx)
{
	__u64 *c = bpf_map_lookup_elem(&fsight_counters, &idx);
	if (c)
		*c += 1; /* per-CPU slot: no other writer, no atomic needed */
}

/* Reserve a ring-buffer record of type T and fill its header; counts the loss when full. */
#define fsight_reserve(T, KIND)                                                         \
	({                                                                          \
		T *__e = bpf_ringbuf_reserve(&fsight_events, sizeof(T), 0);             \
		if (__e) {                                                          \
			__e->hdr.kind = (KIND);                                     \
			__e->hdr._pad = 0;                                          \
			__e->hdr.ts_ns = bpf_ktime_get_ns();                        \
		} else {                                                            \
			fsight_count(FSIGHT_CNT_LOST_EVENTS);                               \
		}                                                                   \
		__e;                                                                \
	})

#endif

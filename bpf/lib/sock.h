/* SPDX-License-Identifier: GPL-2.0 */
/* sock.h: reading a struct sock and stamping its owner. */
#ifndef FSIGHT_LIB_SOCK_H
#define FSIGHT_LIB_SOCK_H

#include "common.h"
#include "task.h"

/* Fill the socket part of an owner event. CO-RE reads, so it also works on a struct sock
 * pointer that the verifier does not know as BTF (the accept hook walks to it by hand). */
static __always_inline void fsight_fill_sock(struct fsight_sock_owner *e, const struct sock *sk)
{
	e->family = BPF_CORE_READ(sk, __sk_common.skc_family);
	e->protocol = BPF_CORE_READ(sk, sk_protocol);
	e->lport = BPF_CORE_READ(sk, __sk_common.skc_num);
	e->rport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	e->netns = BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum);
	if (e->family == FSIGHT_AF_INET) {
		__u32 l = BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr);
		__u32 r = BPF_CORE_READ(sk, __sk_common.skc_daddr);
		__builtin_memcpy(e->laddr, &l, 4);
		__builtin_memcpy(e->raddr, &r, 4);
	} else {
		BPF_CORE_READ_INTO(&e->laddr, sk, __sk_common.skc_v6_rcv_saddr.in6_u.u6_addr8);
		BPF_CORE_READ_INTO(&e->raddr, sk, __sk_common.skc_v6_daddr.in6_u.u6_addr8);
	}
}

/* Send an owner event for the current task. sk may be NULL (sock_create has no tuple yet). */
static __always_inline void fsight_emit_owner(__u64 cookie, __u8 origin, const struct sock *sk,
					  __u16 family, __u8 protocol)
{
	struct fsight_sock_owner *e = fsight_reserve(struct fsight_sock_owner, FSIGHT_EV_SOCK_OWNER);
	if (!e)
		return;
	fsight_fill_task(&e->task);
	e->cookie = cookie;
	e->origin = origin;
	e->_pad = 0;
	if (sk) {
		fsight_fill_sock(e, sk);
	} else {
		__builtin_memset(e->laddr, 0, sizeof(e->laddr));
		__builtin_memset(e->raddr, 0, sizeof(e->raddr));
		e->lport = 0;
		e->rport = 0;
		/* socket(2): the socket is made in the current task's namespace. */
		e->netns = BPF_CORE_READ((struct task_struct *)bpf_get_current_task(), nsproxy,
					 net_ns, ns.inum);
		e->family = family;
		e->protocol = protocol;
	}
	bpf_ringbuf_submit(e, 0);
}

#endif

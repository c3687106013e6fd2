// SPDX-License-Identifier: GPL-2.0
/*
 * sockets.bpf.c: who owns each TCP, UDP and ICMP socket (ping's: a datagram socket, or a raw
 * one for ICMP when ping runs with CAP_NET_RAW).
 *
 * Ownership is stamped only where the current task really is the owner (process context) and
 * is tied to the socket by its cookie, which TC sees too:
 *   socket(2)        cgroup/sock_create               creator           FSIGHT_STAMP_CREATE
 *   connect(2)       inet_sock_set_state -> SYN_SENT  connecting task   FSIGHT_STAMP_CONNECT
 *   accept(2)        syscalls/sys_exit_accept{,4}     accepting task    FSIGHT_STAMP_ACCEPT
 *   first send/recv  sock_send_length/sock_recv_length                  FSIGHT_STAMP_SEND/RECV
 * and closes are announced (FSIGHT_EV_SOCK_CLOSE) from the TCP CLOSE state change and, for UDP
 * and ICMP, from cgroup/sock_release.
 * The server side of TCP becomes ESTABLISHED in softirq, where the current task is whoever
 * the CPU interrupted (on loopback, the client): there only the cookie is stamped, never an
 * owner. The stamp lives in sk_storage so TC can name a socket it finds with bpf_sk_lookup_*.
 * The client side becomes ESTABLISHED in softirq too; that event carries only the completed
 * tuple (FSIGHT_STAMP_CONNECTED) for flows seen where TC cannot find the socket (another
 * network namespace: the host side of a container's veth, a bridge).
 */
#include "lib/common.h"
#include "lib/sock.h"

char LICENSE[] SEC("license") = "GPL";

#define FSIGHT_TCP_ESTABLISHED 1
#define FSIGHT_TCP_SYN_SENT 2
#define FSIGHT_TCP_SYN_RECV 3
#define FSIGHT_TCP_CLOSE 7

/* A socket whose owner flows are attributed to: TCP, UDP, and ICMP of its family (ping). */
static __always_inline int fsight_is_owned(__u16 family, __u16 protocol)
{
	if (protocol == FSIGHT_IPPROTO_TCP || protocol == FSIGHT_IPPROTO_UDP)
		return family == FSIGHT_AF_INET || family == FSIGHT_AF_INET6;
	return (family == FSIGHT_AF_INET && protocol == FSIGHT_IPPROTO_ICMP) ||
	       (family == FSIGHT_AF_INET6 && protocol == FSIGHT_IPPROTO_ICMPV6);
}

/*
 * Make the current task the owner of sk and tell user space, unless it already is. `weak`
 * claims (first send/receive) only take a socket nobody owns, or one whose creator never used
 * it (a socket created by one process and handed to another, as pre-fork servers do).
 */
static __always_inline void fsight_claim(struct sock *sk, __u8 origin, int weak)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct fsight_sk_stamp *st;
	__u64 cookie;

	st = bpf_sk_storage_get(&fsight_sk_stamps, sk, 0, weak ? 0 : BPF_SK_STORAGE_GET_F_CREATE);
	if (st && st->tgid == tgid)
		return;
	if (weak && st && st->tgid && st->origin != FSIGHT_STAMP_CREATE)
		return;
	if (weak) {
		/* An accepted socket: the accept hook already announced this owner. */
		__u64 key = (__u64)sk;
		struct fsight_accepting *acc = bpf_map_lookup_elem(&fsight_accepting, &key);
		if (acc && acc->tgid == tgid) {
			if (st) {
				st->tgid = tgid;
				st->origin = FSIGHT_STAMP_ACCEPT;
			}
			bpf_map_delete_elem(&fsight_accepting, &key);
			return;
		}
		if (!st)
			st = bpf_sk_storage_get(&fsight_sk_stamps, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	}
	cookie = bpf_get_socket_cookie(sk);
	if (st) {
		st->cookie = cookie;
		st->tgid = tgid;
		st->origin = origin;
	} else {
		fsight_count(FSIGHT_CNT_LOST_SK_STORAGE);
	}
	fsight_emit_owner(cookie, origin, sk, 0, 0);
}

SEC("cgroup/sock_create")
int fsight_sock_create(struct bpf_sock *ctx)
{
	struct fsight_sk_stamp *st;
	__u64 cookie;

	if (!fsight_is_owned(ctx->family, ctx->protocol))
		return 1;
	cookie = bpf_get_socket_cookie(ctx);
	st = bpf_sk_storage_get(&fsight_sk_stamps, ctx, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (st) {
		st->cookie = cookie;
		st->tgid = bpf_get_current_pid_tgid() >> 32;
		st->origin = FSIGHT_STAMP_CREATE;
	} else {
		fsight_count(FSIGHT_CNT_LOST_SK_STORAGE);
	}
	fsight_emit_owner(cookie, FSIGHT_STAMP_CREATE, NULL, ctx->family, ctx->protocol);
	return 1; /* allow: flowsight only watches */
}

/*
 * A UDP or ICMP socket is released (its last close). TCP sockets say so through their CLOSE
 * state change; the others have no states, and without this their owners would stay in user
 * space's tables until those fill.
 */
SEC("cgroup/sock_release")
int fsight_sock_release(struct bpf_sock *ctx)
{
	if (ctx->protocol == FSIGHT_IPPROTO_TCP || !fsight_is_owned(ctx->family, ctx->protocol))
		return 1;
	struct fsight_sock_close *e = fsight_reserve(struct fsight_sock_close, FSIGHT_EV_SOCK_CLOSE);
	if (e) {
		e->cookie = bpf_get_socket_cookie(ctx);
		bpf_ringbuf_submit(e, 0);
	}
	return 1; /* allow: flowsight only watches */
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(fsight_tcp_state, struct sock *sk, int oldstate, int newstate)
{
	if (sk->sk_protocol != FSIGHT_IPPROTO_TCP)
		return 0;

	if (newstate == FSIGHT_TCP_SYN_SENT) {
		/* Inside connect(2): the current task is the client. The local port is not
		 * chosen yet (inet_hash_connect runs after this state change). */
		fsight_claim(sk, FSIGHT_STAMP_CONNECT, 0);
	} else if (oldstate == FSIGHT_TCP_SYN_SENT && newstate == FSIGHT_TCP_ESTABLISHED) {
		/* The SYN+ACK arrived: the whole tuple is known. */
		fsight_emit_owner(bpf_get_socket_cookie(sk), FSIGHT_STAMP_CONNECTED, sk, 0, 0);
	} else if (oldstate == FSIGHT_TCP_SYN_RECV && newstate == FSIGHT_TCP_ESTABLISHED) {
		/* Passive open, in softirq: remember the cookie, leave the owner to accept(). */
		__u64 cookie = bpf_get_socket_cookie(sk);
		struct fsight_sk_stamp *st =
			bpf_sk_storage_get(&fsight_sk_stamps, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
		if (st) {
			if (!st->cookie) {
				st->cookie = cookie;
				st->origin = FSIGHT_STAMP_ESTABLISHED;
			}
		} else {
			fsight_count(FSIGHT_CNT_LOST_SK_STORAGE);
		}
		__u64 key = (__u64)sk;
		struct fsight_accepting acc = { .cookie = cookie };
		if (bpf_map_update_elem(&fsight_accepting, &key, &acc, BPF_ANY))
			fsight_count(FSIGHT_CNT_LOST_ACCEPT_MAP);
	} else if (newstate == FSIGHT_TCP_CLOSE) {
		struct fsight_sock_close *e = fsight_reserve(struct fsight_sock_close, FSIGHT_EV_SOCK_CLOSE);
		if (e) {
			e->cookie = bpf_get_socket_cookie(sk);
			bpf_ringbuf_submit(e, 0);
		}
	}
	return 0;
}

/* accept(2) returned fd `ret`: follow it to its struct sock and announce the accepting task. */
static __always_inline int fsight_accept_exit(long ret)
{
	struct task_struct *task;
	struct file **fds;
	struct file *f = NULL;
	struct socket *sock;
	struct sock *sk;
	struct fsight_accepting *acc;
	__u64 key, cookie = 0;

	if (ret < 0)
		return 0;
	task = (struct task_struct *)bpf_get_current_task();
	fds = BPF_CORE_READ(task, files, fdt, fd);
	if (bpf_probe_read_kernel(&f, sizeof(f), &fds[ret]) || !f)
		return 0;
	sock = BPF_CORE_READ(f, private_data);
	sk = BPF_CORE_READ(sock, sk);
	if (!sk)
		return 0;
	key = (__u64)sk;
	acc = bpf_map_lookup_elem(&fsight_accepting, &key);
	if (acc) {
		cookie = acc->cookie;
		acc->tgid = bpf_get_current_pid_tgid() >> 32;
	}
	/* cookie 0: the socket was established before flowsight started, or its entry was
	 * evicted; user space then joins by the tuple and network namespace in the event. */
	fsight_emit_owner(cookie, FSIGHT_STAMP_ACCEPT, sk, 0, 0);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_accept4")
int fsight_accept4_exit(struct trace_event_raw_sys_exit *ctx)
{
	return fsight_accept_exit(ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_accept")
int fsight_accept_exit_plain(struct trace_event_raw_sys_exit *ctx)
{
	return fsight_accept_exit(ctx->ret);
}

static __always_inline int fsight_first_use(struct sock *sk, __u8 origin)
{
	if (!sk || !fsight_is_owned(sk->__sk_common.skc_family, sk->sk_protocol))
		return 0;
	fsight_claim(sk, origin, 1);
	return 0;
}

SEC("tp_btf/sock_send_length")
int BPF_PROG(fsight_sock_send, struct sock *sk, int ret, int flags)
{
	return fsight_first_use(sk, FSIGHT_STAMP_SEND);
}

SEC("tp_btf/sock_recv_length")
int BPF_PROG(fsight_sock_recv, struct sock *sk, int ret, int flags)
{
	return fsight_first_use(sk, FSIGHT_STAMP_RECV);
}

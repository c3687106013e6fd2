/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 OR MIT */
/*
 * abi.h: the ONE definition of every struct and constant that crosses the kernel boundary.
 *
 * The BPF programs include it with vmlinux.h; crates/abi gets its Rust view from it through
 * bindgen (scripts/build-bpf), so a field added here reaches both sides or the build fails.
 * Every struct is laid out by hand without implicit padding (explicit _pad fields) and its size
 * is pinned by a _Static_assert here and a const assert on the Rust side: a layout change must
 * be deliberate.
 *
 * Byte order: addresses are in network order (as on the wire), ports and everything else in
 * host order.
 */
#ifndef FLOWSIGHT_ABI_H
#define FLOWSIGHT_ABI_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* Length of task->comm, NUL included. */
#define FSIGHT_COMM_LEN 16
/* Bytes of the executed file name kept per exec event, NUL included. */
#define FSIGHT_PATH_LEN 256
/* Bytes of the command line (NUL-separated arguments) kept per exec event. */
#define FSIGHT_ARGS_LEN 512
/* ifindex of the loopback device: 1 in every network namespace (LOOPBACK_IFINDEX). */
#define FSIGHT_LOOPBACK_IFINDEX 1

/* Largest payload prefix a sample carries: a full Ethernet-MTU segment, so a ClientHello or a
 * request head in one packet arrives whole. */
#define FSIGHT_SAMPLE_MAX 2048

/* Largest packet prefix `flowsight capture` carries per packet (its snap length is capped
 * here): one packet is assembled in a per-CPU scratch value, and a per-CPU array value is at
 * most 32 KiB (PCPU_MIN_UNIT_SIZE), head included. Larger (GSO) packets are cut, their
 * length on the wire kept. */
#define FSIGHT_PACKET_MAX (32768 - 96)

/* Socket lookups tried per flow before giving up (fsight_flow_stats.lookups). */
#define FSIGHT_FLOW_LOOKUPS_MAX 8

/* Address families as the kernel numbers them (AF_INET, AF_INET6). */
#define FSIGHT_AF_INET 2
#define FSIGHT_AF_INET6 10

/* Kinds of record in the "events" ring buffer; each starts with struct fsight_event_header. */
enum fsight_event_kind {
	/* struct fsight_sock_owner: a process took ownership of a socket. */
	FSIGHT_EV_SOCK_OWNER = 1,
	/* struct fsight_sock_close: a TCP socket reached CLOSE, or a UDP socket was released. */
	FSIGHT_EV_SOCK_CLOSE = 2,
	/* struct fsight_proc_exec: a process executed a new program. */
	FSIGHT_EV_PROC_EXEC = 3,
	/* struct fsight_proc_fork: a new process (not a thread) was forked. */
	FSIGHT_EV_PROC_FORK = 4,
	/* struct fsight_proc_exit: a process's main thread exited. */
	FSIGHT_EV_PROC_EXIT = 5,
	/* struct fsight_flow_recycled: a finished TCP flow's entry was taken by a new connection. */
	FSIGHT_EV_FLOW_RECYCLED = 6,
	/* struct fsight_sample (in the "samples" ring buffer): the first bytes of a packet's
	 * payload, for the protocol analyzers. */
	FSIGHT_EV_SAMPLE = 7,
	/* struct fsight_packet (in the "packets" ring buffer): a whole packet (up to the snap
	 * length), sent only while packet capture is on (fsight_capture_cfg.enabled). */
	FSIGHT_EV_PACKET = 8,
};

/* Where in a socket's life its owner was stamped (fsight_sock_owner.origin). */
enum fsight_stamp_origin {
	/* socket(2), from cgroup/sock_create: the creator. */
	FSIGHT_STAMP_CREATE = 1,
	/* connect(2) (TCP CLOSE -> SYN_SENT): the connecting process. */
	FSIGHT_STAMP_CONNECT = 2,
	/* accept(2)/accept4(2) returned the socket: the accepting process. */
	FSIGHT_STAMP_ACCEPT = 3,
	/* First send on a socket nobody (else) had claimed. */
	FSIGHT_STAMP_SEND = 4,
	/* First receive on a socket nobody (else) had claimed. */
	FSIGHT_STAMP_RECV = 5,
	/* A passively opened TCP socket became ESTABLISHED (softirq: cookie only, no owner). */
	FSIGHT_STAMP_ESTABLISHED = 6,
	/* A connecting TCP socket became ESTABLISHED (softirq: the task is not the owner). Its
	 * local port, chosen after the connect stamp, is known now: the event completes the
	 * tuple of the socket stamped at connect, so a flow seen where the kernel cannot name
	 * the socket (the host side of a container's veth, a bridge) is matched by address. */
	FSIGHT_STAMP_CONNECTED = 7,
};

/*
 * Per-CPU counters (map fsight_counters, one u64 per index and CPU). The FSIGHT_CNT_LOST_* ones are
 * losses; the others are informational.
 */
enum fsight_counter {
	/* An event did not fit in the "events" ring buffer. */
	FSIGHT_CNT_LOST_EVENTS = 0,
	/* A packet was not counted: the flow map was full. */
	FSIGHT_CNT_LOST_FLOW_FULL = 1,
	/* A passive TCP socket could not be remembered until accept (map full). */
	FSIGHT_CNT_LOST_ACCEPT_MAP = 2,
	/* A socket's owner could not be stored (sk_storage allocation failed). */
	FSIGHT_CNT_LOST_SK_STORAGE = 3,
	/* A non-first IP fragment whose first fragment was not seen (counted under ports 0/0). */
	FSIGHT_CNT_FRAG_ORPHAN = 4,
	/* A frame that is not IPv4/IPv6 (ARP, LLDP, ...). */
	FSIGHT_CNT_NOT_IP = 5,
	/* A frame whose headers were shorter than they claim. */
	FSIGHT_CNT_TRUNCATED = 6,
	/* A payload sample did not fit in the "samples" ring buffer. */
	FSIGHT_CNT_LOST_SAMPLES = 7,
	/* Payload samples sent. */
	FSIGHT_CNT_SAMPLES = 8,
	/* A captured packet did not fit in the "packets" ring buffer. */
	FSIGHT_CNT_LOST_PACKETS = 9,
	/* Captured packets sent. */
	FSIGHT_CNT_PACKETS = 10,
	FSIGHT_CNT__MAX = 11,
};

/* Which endpoint of a flow started it (fsight_flow_stats.initiator). */
enum fsight_initiator {
	/* Not known yet. */
	FSIGHT_INIT_UNKNOWN = 0,
	/* Endpoint 0 sent the first packet seen (weak: the flow may predate the capture). */
	FSIGHT_INIT_FIRST_0 = 1,
	/* Endpoint 1 sent the first packet seen. */
	FSIGHT_INIT_FIRST_1 = 2,
	/* Endpoint 0 sent a SYN without ACK (or endpoint 1 a SYN+ACK): endpoint 0 connected. */
	FSIGHT_INIT_SYN_0 = 3,
	/* Endpoint 1 connected. */
	FSIGHT_INIT_SYN_1 = 4,
};

/* What fsight_flow_stats.cookie[i] is (fsight_flow_stats.cookie_kind[i]). */
enum fsight_cookie_kind {
	/* No socket known for this endpoint. */
	FSIGHT_COOKIE_NONE = 0,
	/* The endpoint's own socket. */
	FSIGHT_COOKIE_SOCKET = 1,
	/* The listening socket a SYN reached; replaced by the accepted socket when it is seen. */
	FSIGHT_COOKIE_LISTENER = 2,
};

/* Common header of every record in the "events" ring buffer. */
struct fsight_event_header {
	/* enum fsight_event_kind */
	__u32 kind;
	__u32 _pad;
	/* bpf_ktime_get_ns(): CLOCK_MONOTONIC nanoseconds. */
	__u64 ts_ns;
};
_Static_assert(sizeof(struct fsight_event_header) == 16, "fsight_event_header");

/* The current task, as seen from a BPF program. */
struct fsight_task {
	/* Thread group id (the process id, initial pid namespace). */
	__u32 tgid;
	/* Thread id. */
	__u32 pid;
	/* Real user and group id. */
	__u32 uid;
	__u32 gid;
	/* cgroup v2 id of the task (inode of its cgroup2 directory). */
	__u64 cgroup_id;
	/* task->comm, NUL-terminated. */
	char comm[FSIGHT_COMM_LEN];
};
_Static_assert(sizeof(struct fsight_task) == 40, "fsight_task");

/* FSIGHT_EV_SOCK_OWNER: a process took ownership of a socket. */
struct fsight_sock_owner {
	struct fsight_event_header hdr;
	struct fsight_task task;
	/* Socket cookie (bpf_get_socket_cookie; the same number inet_diag reports). */
	__u64 cookie;
	/* Inode number of the socket's network namespace; 0 when the hook cannot see it. */
	__u32 netns;
	/* FSIGHT_AF_INET or FSIGHT_AF_INET6. */
	__u16 family;
	/* IPPROTO_TCP or IPPROTO_UDP. */
	__u8 protocol;
	/* enum fsight_stamp_origin */
	__u8 origin;
	/* Local and remote address (network order; IPv4 in the first 4 bytes); zero if unbound. */
	__u8 laddr[16];
	__u8 raddr[16];
	/* Local and remote port (host order); zero if unbound. */
	__u16 lport;
	__u16 rport;
	__u32 _pad;
};
_Static_assert(sizeof(struct fsight_sock_owner) == 112, "fsight_sock_owner");

/* FSIGHT_EV_SOCK_CLOSE: a TCP socket reached CLOSE (its flow is over), or a UDP socket was
 * released. */
struct fsight_sock_close {
	struct fsight_event_header hdr;
	__u64 cookie;
};
_Static_assert(sizeof(struct fsight_sock_close) == 24, "fsight_sock_close");

/* FSIGHT_EV_PROC_EXEC: the process executed a new program (after the exec succeeded). */
struct fsight_proc_exec {
	struct fsight_event_header hdr;
	/* The task after exec: its comm is the new program's. */
	struct fsight_task task;
	/* Parent's thread group id. */
	__u32 ppid;
	/* Bytes of args[] filled. */
	__u32 args_len;
	/* task->start_time: CLOCK_MONOTONIC nanoseconds when the process was forked. */
	__u64 start_ns;
	/* 1 when the command line was longer than args[]. */
	__u32 args_truncated;
	__u32 _pad;
	/* The file name passed to execve (may be relative), NUL-terminated. */
	char filename[FSIGHT_PATH_LEN];
	/* The command line: arguments separated by NUL bytes. */
	char args[FSIGHT_ARGS_LEN];
};
_Static_assert(sizeof(struct fsight_proc_exec) == 848, "fsight_proc_exec");

/* FSIGHT_EV_PROC_FORK: a new process (thread group leader) was created. */
struct fsight_proc_fork {
	struct fsight_event_header hdr;
	__u32 parent_tgid;
	__u32 child_tgid;
	/* The child's task->start_time (CLOCK_MONOTONIC ns). */
	__u64 start_ns;
};
_Static_assert(sizeof(struct fsight_proc_fork) == 32, "fsight_proc_fork");

/* FSIGHT_EV_PROC_EXIT: a process's main thread exited. */
struct fsight_proc_exit {
	struct fsight_event_header hdr;
	__u32 tgid;
	/* task->exit_code (wait status form). */
	__u32 exit_code;
};
_Static_assert(sizeof(struct fsight_proc_exit) == 24, "fsight_proc_exit");

/*
 * Key of the flow map: one entry per bidirectional flow and interface. The two endpoints are
 * stored in canonical order (endpoint 0 is the smaller of (address, port)), so both
 * directions of a flow find the same entry with a single lookup.
 */
struct fsight_flow_key {
	/* Endpoint addresses (network order; IPv4 in the first 4 bytes, rest zero). */
	__u8 addr[2][16];
	/* Endpoint ports (host order); for ICMP the Community ID type/code mapping. */
	__u16 port[2];
	/* Interface the packets were seen on. */
	__u32 ifindex;
	/* Outer 802.1Q VLAN id, 0 when untagged. */
	__u16 vlan;
	/* IP protocol number. */
	__u8 protocol;
	/* FSIGHT_AF_INET or FSIGHT_AF_INET6. */
	__u8 family;
};
_Static_assert(sizeof(struct fsight_flow_key) == 44, "fsight_flow_key");

/* Value of the flow map. Index i of each pair is endpoint i of the key. */
struct fsight_flow_stats {
	/* First and last packet (CLOCK_MONOTONIC ns). last_ns is exact for the first 16 packets
	 * of each direction and for SYN/FIN/RST, then updated every 64th packet. */
	__u64 first_ns;
	__u64 last_ns;
	/* Packets and bytes SENT by endpoint i (whole frames as seen at the hook). */
	__u64 packets[2];
	__u64 bytes[2];
	/* Socket cookie of endpoint i when it is local (see cookie_kind). */
	__u64 cookie[2];
	/* OR of the TCP flags endpoint i sent. */
	__u8 tcp_flags[2];
	/* enum fsight_initiator */
	__u8 initiator;
	/* enum fsight_cookie_kind, per endpoint. */
	__u8 cookie_kind[2];
	/* Socket lookups done for this flow at ingress; capped (FSIGHT_FLOW_LOOKUPS_MAX) so that
	 * forwarded traffic, which has no local socket, does not pay for one per packet. */
	__u8 lookups;
	/* Payload samples sent for packets of endpoint i (capped by the loader's setting). */
	__u8 samples[2];
};
_Static_assert(sizeof(struct fsight_flow_stats) == 72, "fsight_flow_stats");

/*
 * FSIGHT_EV_FLOW_RECYCLED: a SYN arrived for a flow whose entry had already seen FIN or RST,
 * i.e. a new connection reusing the 4-tuple (Linux reuses TIME_WAIT ports on loopback). The
 * kernel hands over the old connection's final counters here and resets the entry for the
 * new one, so the two are never merged.
 */
struct fsight_flow_recycled {
	struct fsight_event_header hdr;
	struct fsight_flow_key key;
	__u32 _pad;
	struct fsight_flow_stats stats;
};
_Static_assert(sizeof(struct fsight_flow_recycled) == 136, "fsight_flow_recycled");

/*
 * FSIGHT_EV_SAMPLE: the payload of one packet (up to FSIGHT_SAMPLE_MAX bytes) of a flow's
 * first packets in each direction, for HTTP/DNS/TLS analysis in user space. Written with
 * only `len` bytes of data[] (the ring holds what was sent, not the maximum). Sampling of a
 * flow stops after the loader's per-direction packet count, or when user space puts the flow
 * in fsight_sample_stop because its analyzers have what they need.
 */
/* The fixed part of a sample; data follows it in the ring record. */
struct fsight_sample_head {
	struct fsight_event_header hdr;
	struct fsight_flow_key key;
	/* TCP sequence number of data[0]; 0 for UDP. */
	__u32 seq;
	/* Bytes of data after the head. */
	__u16 len;
	/* The packet's whole payload length (more than len when cut). */
	__u16 payload_len;
	/* Index (in key) of the endpoint that sent the packet. */
	__u8 sender;
	/* The packet's TCP flags. */
	__u8 tcp_flags;
	/* The flow's enum fsight_initiator at the time. */
	__u8 initiator;
	/* enum fsight_cookie_kind of each endpoint's cookie. */
	__u8 cookie_kind[2];
	__u8 _pad[7];
	/* The flow's socket cookies at the time (as fsight_flow_stats.cookie). */
	__u64 cookie[2];
};
_Static_assert(sizeof(struct fsight_sample_head) == 96, "fsight_sample_head");

struct fsight_sample {
	struct fsight_sample_head head;
	__u8 data[FSIGHT_SAMPLE_MAX];
};
_Static_assert(sizeof(struct fsight_sample) == 96 + FSIGHT_SAMPLE_MAX, "fsight_sample");

/*
 * Packet capture settings (map fsight_capture_cfg, one entry, written by user space). While
 * `enabled` is 0 the TC programs pay one inlined array lookup per packet and send nothing,
 * so `flowsight live` costs the same as before packet capture existed.
 */
struct fsight_capture_cfg {
	/* 1: send every packet seen (after flow accounting) to the "packets" ring buffer. */
	__u32 enabled;
	/* Bytes kept of each packet (capped at FSIGHT_PACKET_MAX). */
	__u32 snaplen;
};
_Static_assert(sizeof(struct fsight_capture_cfg) == 8, "fsight_capture_cfg");

/*
 * FSIGHT_EV_PACKET: one packet as the TC hook saw it, link header included (Ethernet on
 * Ethernet devices and loopback, none on L3 devices), with its flow and the flow's socket
 * cookies at the time, so user space can name the process behind it. Written with only
 * `caplen` bytes of data[].
 */
struct fsight_packet_head {
	struct fsight_event_header hdr;
	/* The packet's flow (canonical order, as in fsight_flows); all zero when has_flow is 0. */
	struct fsight_flow_key key;
	/* Interface the packet was seen on. */
	__u32 ifindex;
	/* The packet's length (skb->len; more than caplen when cut). */
	__u32 len;
	/* Bytes of data after the head. */
	__u32 caplen;
	/* 1 at TC egress (sent by this host), 0 at ingress. */
	__u8 egress;
	/* 1 when data starts with an Ethernet header, 0 when with the IP header. */
	__u8 l2;
	/* 1 when key holds the packet's flow (it parsed as IPv4/IPv6). */
	__u8 has_flow;
	/* Index (in key) of the endpoint that sent the packet. */
	__u8 sender;
	/* enum fsight_cookie_kind of each endpoint's cookie. */
	__u8 cookie_kind[2];
	__u8 _pad[2];
	/* The flow's socket cookies at the time (as fsight_flow_stats.cookie). */
	__u64 cookie[2];
};
_Static_assert(sizeof(struct fsight_packet_head) == 96, "fsight_packet_head");

struct fsight_packet {
	struct fsight_packet_head head;
	__u8 data[FSIGHT_PACKET_MAX];
};
_Static_assert(sizeof(struct fsight_packet) == 32768, "fsight_packet");

#endif /* FLOWSIGHT_ABI_H */

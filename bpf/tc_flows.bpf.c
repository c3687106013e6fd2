// SPDX-License-Identifier: GPL-2.0
/*
 * tc_flows.bpf.c: per-flow packet and byte counters at TC ingress and egress, and the socket
 * cookie of each local endpoint so user space can name its owner.
 *
 * Which socket a packet belongs to:
 *   egress                  skb->sk is the local sender (full sockets only: a SYN-ACK carries
 *                           a request socket, a late ACK a time-wait socket; both are skipped)
 *   ingress, veth/cross-ns  skb->sk is the SENDER's socket in the other namespace: it names the
 *                           sending endpoint, never the receiver
 *   ingress                 the receiver is found with bpf_sk_lookup_{tcp,udp}; a looked-up
 *                           socket has no cookie helper in TC, so it is read from sk_storage,
 *                           where sockets.bpf.c stamped it
 * On loopback every packet passes egress and then ingress, and both ends are local: it is
 * counted at egress, where the receiver is also looked up, and no ingress program is attached
 * (the ingress code still skips counting on loopback, should one be).
 *
 * While packet capture is on (fsight_capture_cfg), every packet also goes whole (up to the snap
 * length) to the "packets" ring buffer with its flow and socket cookies, for `flowsight capture`.
 *
 * Return value: TC_ACT_UNSPEC (TCX_NEXT), so flowsight never changes what happens to a packet
 * and the programs after it still run.
 */
#include "lib/common.h"
#include "lib/parse.h"

char LICENSE[] SEC("license") = "GPL";

#define FSIGHT_TC_ACT_UNSPEC (-1)
/* Payload samples per flow and direction for the protocol analyzers; 0 turns sampling off.
 * Set by the loader (--sample-packets). */
volatile const __u32 fsight_cfg_sample_packets = 0;

/* Packets per direction whose time is always taken, and the clock period after that. */
#define FSIGHT_EXACT_PACKETS 16
#define FSIGHT_CLOCK_EVERY 64
#define FSIGHT_TCP_LISTEN 10
#define FSIGHT_TCP_FIN 0x01
#define FSIGHT_TCP_SYN 0x02
#define FSIGHT_TCP_RST 0x04
#define FSIGHT_TCP_ACK 0x10
#define FSIGHT_EEXIST 17

/* (a, pa) < (b, pb) in network byte order, which is also Community ID's order. */
static __always_inline int fsight_endpoint_lt(const __u8 *a, __u16 pa, const __u8 *b, __u16 pb)
{
#pragma unroll
	for (int i = 0; i < 16; i += 4) {
		__u32 x = bpf_ntohl(*(__u32 *)(a + i));
		__u32 y = bpf_ntohl(*(__u32 *)(b + i));
		if (x != y)
			return x < y;
	}
	return pa < pb;
}

/* Later fragments carry no transport header: take the ports their first fragment had. */
static __always_inline void fsight_frag_ports(struct fsight_pkt *p)
{
	struct fsight_frag_key fk = {};

	__builtin_memcpy(fk.saddr, p->addr[0], 16);
	__builtin_memcpy(fk.daddr, p->addr[1], 16);
	fk.id = p->frag_id;
	fk.protocol = p->protocol;
	fk.family = p->family;
	if (p->frag_first) {
		struct fsight_frag_ports fp = { .sport = p->port[0], .dport = p->port[1] };
		bpf_map_update_elem(&fsight_frags, &fk, &fp, BPF_ANY);
	} else if (p->frag_later) {
		struct fsight_frag_ports *fp = bpf_map_lookup_elem(&fsight_frags, &fk);
		if (fp) {
			p->port[0] = fp->sport;
			p->port[1] = fp->dport;
		} else {
			fsight_count(FSIGHT_CNT_FRAG_ORPHAN);
		}
	}
}

/* Find the local socket a packet is delivered to and record its cookie for endpoint r. */
static __always_inline void fsight_lookup_receiver(struct __sk_buff *skb, const struct fsight_pkt *p,
					       struct fsight_flow_stats *v, __u32 r)
{
	struct bpf_sock_tuple t = {};
	struct bpf_sock *sk, *full;
	__u32 tlen;
	__u8 kind;

	if (v->lookups >= FSIGHT_FLOW_LOOKUPS_MAX)
		return;
	v->lookups++;
	if (p->family == FSIGHT_AF_INET) {
		__builtin_memcpy(&t.ipv4.saddr, p->addr[0], 4);
		__builtin_memcpy(&t.ipv4.daddr, p->addr[1], 4);
		t.ipv4.sport = bpf_htons(p->port[0]);
		t.ipv4.dport = bpf_htons(p->port[1]);
		tlen = sizeof(t.ipv4);
	} else {
		__builtin_memcpy(t.ipv6.saddr, p->addr[0], 16);
		__builtin_memcpy(t.ipv6.daddr, p->addr[1], 16);
		t.ipv6.sport = bpf_htons(p->port[0]);
		t.ipv6.dport = bpf_htons(p->port[1]);
		tlen = sizeof(t.ipv6);
	}
	if (p->protocol == FSIGHT_IPPROTO_TCP)
		sk = bpf_sk_lookup_tcp(skb, &t, tlen, BPF_F_CURRENT_NETNS, 0);
	else
		sk = bpf_sk_lookup_udp(skb, &t, tlen, BPF_F_CURRENT_NETNS, 0);
	if (!sk)
		return;
	kind = (p->protocol == FSIGHT_IPPROTO_TCP && sk->state == FSIGHT_TCP_LISTEN) ? FSIGHT_COOKIE_LISTENER
									     : FSIGHT_COOKIE_SOCKET;
	full = bpf_sk_fullsock(sk);
	if (full) {
		struct fsight_sk_stamp *st = bpf_sk_storage_get(&fsight_sk_stamps, full, 0, 0);
		if (st && st->cookie) {
			v->cookie[r & 1] = st->cookie;
			v->cookie_kind[r & 1] = kind;
		}
	}
	bpf_sk_release(sk);
}

/* The cookie of skb->sk, when it is a full socket, for endpoint s. */
static __always_inline void fsight_take_skb_sock(struct __sk_buff *skb, struct fsight_flow_stats *v, __u32 s)
{
	struct bpf_sock *sk = skb->sk;

	if (!sk)
		return;
	sk = bpf_sk_fullsock(sk);
	if (!sk)
		return;
	v->cookie[s & 1] = bpf_get_socket_cookie(skb);
	v->cookie_kind[s & 1] = FSIGHT_COOKIE_SOCKET;
}

/*
 * The sender of an ICMP message at egress, when it is a socket sockets.bpf.c stamped with an
 * owner: ping's (datagram or raw). The kernel's own control and neighbour-discovery sockets
 * (echo replies, errors, NDP) and unstamped raw sockets are left out, so they never lend a
 * flow an owner. ICMP flows are keyed without the echo identifier, so several pingers can
 * share one: the latest stamped sender names it. No lookup helper finds the receiver of an
 * ICMP message.
 */
static __always_inline void fsight_take_icmp_sock(struct __sk_buff *skb, struct fsight_flow_stats *v, __u32 s)
{
	struct bpf_sock *sk = skb->sk;
	struct fsight_sk_stamp *st;

	if (!sk)
		return;
	sk = bpf_sk_fullsock(sk);
	if (!sk)
		return;
	st = bpf_sk_storage_get(&fsight_sk_stamps, sk, 0, 0);
	if (!st || !st->tgid || !st->cookie)
		return;
	v->cookie[s & 1] = st->cookie;
	v->cookie_kind[s & 1] = FSIGHT_COOKIE_SOCKET;
}

/* Send the first bytes of this packet's payload to user space for the protocol analyzers. */
static __always_inline void fsight_sample(struct __sk_buff *skb, const struct fsight_flow_key *k,
					  const struct fsight_flow_stats *v, const struct fsight_pkt *p,
					  __u32 s)
{
	struct fsight_sample *e;
	__u32 zero = 0, plen, len;

	if (p->payload_off >= skb->len)
		return;
	plen = p->ip_end - p->payload_off;
	if (bpf_map_lookup_elem(&fsight_sample_stop, k))
		return;
	e = bpf_map_lookup_elem(&fsight_sample_scratch, &zero);
	if (!e)
		return;
	len = skb->len - p->payload_off; /* a capture may hold less than the IP length says */
	if (len > plen)
		len = plen;
	if (len > FSIGHT_SAMPLE_MAX)
		len = FSIGHT_SAMPLE_MAX;
	if (len == 0)
		return;
	if (bpf_skb_load_bytes(skb, p->payload_off, e->data, len))
		return;
	e->head.hdr.kind = FSIGHT_EV_SAMPLE;
	e->head.hdr._pad = 0;
	e->head.hdr.ts_ns = bpf_ktime_get_ns();
	e->head.key = *k;
	e->head.seq = p->seq;
	e->head.len = len;
	e->head.payload_len = plen > 0xffff ? 0xffff : plen;
	e->head.sender = s;
	e->head.tcp_flags = p->tcp_flags;
	e->head.initiator = v->initiator;
	e->head.cookie_kind[0] = v->cookie_kind[0];
	e->head.cookie_kind[1] = v->cookie_kind[1];
	e->head.cookie[0] = v->cookie[0];
	e->head.cookie[1] = v->cookie[1];
	__builtin_memset(e->head._pad, 0, sizeof(e->head._pad));
	if (bpf_ringbuf_output(&fsight_samples, e, __builtin_offsetof(struct fsight_sample, data) + len, 0))
		fsight_count(FSIGHT_CNT_LOST_SAMPLES);
	else
		fsight_count(FSIGHT_CNT_SAMPLES);
}

/* A new connection on the 4-tuple of a finished one: hand the old counters to user space and
 * start the entry afresh, so the two connections are never merged. */
static __always_inline void fsight_recycle(const struct fsight_flow_key *k, struct fsight_flow_stats *v,
					   __u32 s)
{
	struct fsight_flow_recycled *e =
		fsight_reserve(struct fsight_flow_recycled, FSIGHT_EV_FLOW_RECYCLED);

	if (e) {
		e->key = *k;
		e->_pad = 0;
		e->stats = *v;
		bpf_ringbuf_submit(e, 0);
	}
	/* The new connection is sampled from its first packet, whatever the analyzers of the
	 * old one had asked. */
	bpf_map_delete_elem(&fsight_sample_stop, k);
	__builtin_memset(v, 0, sizeof(*v));
	v->first_ns = bpf_ktime_get_ns();
	v->last_ns = v->first_ns;
	v->initiator = s ? FSIGHT_INIT_FIRST_1 : FSIGHT_INIT_FIRST_0;
}

/* Send the packet (up to the snap length) to user space for `flowsight capture`, with its
 * flow and the flow's socket cookies when it has one (k and v may be NULL). */
static __always_inline void fsight_capture(struct __sk_buff *skb, __u32 snaplen, int l2, int egress,
					   const struct fsight_flow_key *k,
					   const struct fsight_flow_stats *v, __u32 s)
{
	struct fsight_packet *e;
	__u32 zero = 0, len = skb->len;

	if (len > snaplen)
		len = snaplen;
	if (len > FSIGHT_PACKET_MAX)
		len = FSIGHT_PACKET_MAX;
	if (len == 0)
		return;
	e = bpf_map_lookup_elem(&fsight_packet_scratch, &zero);
	if (!e)
		return;
	if (bpf_skb_load_bytes(skb, 0, e->data, len))
		return;
	__builtin_memset(&e->head, 0, sizeof(e->head));
	e->head.hdr.kind = FSIGHT_EV_PACKET;
	e->head.hdr.ts_ns = bpf_ktime_get_ns();
	e->head.ifindex = skb->ifindex;
	e->head.len = skb->len;
	e->head.caplen = len;
	e->head.egress = egress;
	e->head.l2 = l2;
	if (k) {
		e->head.key = *k;
		e->head.has_flow = 1;
		e->head.sender = s & 1;
	}
	if (v) {
		e->head.cookie_kind[0] = v->cookie_kind[0];
		e->head.cookie_kind[1] = v->cookie_kind[1];
		e->head.cookie[0] = v->cookie[0];
		e->head.cookie[1] = v->cookie[1];
	}
	if (bpf_ringbuf_output(&fsight_packets, e, __builtin_offsetof(struct fsight_packet, data) + len, 0))
		fsight_count(FSIGHT_CNT_LOST_PACKETS);
	else
		fsight_count(FSIGHT_CNT_PACKETS);
}

/* Count the packet in its flow and learn the flow's sockets. Returns the flow's entry (NULL
 * when it has none); *parsed says whether k and *sender were filled. */
static __always_inline struct fsight_flow_stats *fsight_account(struct __sk_buff *skb, int l2, int egress,
							       struct fsight_flow_key *kp, __u32 *sender,
							       int *parsed)
{
	struct fsight_pkt p = {};
	struct fsight_flow_key k = {};
	struct fsight_flow_stats *v;
	__u32 s, r;
	int loopback = skb->ifindex == FSIGHT_LOOPBACK_IFINDEX;
	int count = egress || !loopback;
	int rc;

	rc = fsight_parse(skb, l2, &p);
	if (rc != FSIGHT_PARSE_OK) {
		if (count)
			fsight_count(rc == FSIGHT_PARSE_NOT_IP ? FSIGHT_CNT_NOT_IP : FSIGHT_CNT_TRUNCATED);
		return NULL;
	}
	if (p.frag_first || p.frag_later)
		fsight_frag_ports(&p);

	/* Canonical key: endpoint 0 is the smaller (address, port); s is the sender's index. */
	s = fsight_endpoint_lt(p.addr[1], p.port[1], p.addr[0], p.port[0]) ? 1 : 0;
	r = s ^ 1;
	__builtin_memcpy(k.addr[0], p.addr[s], 16);
	__builtin_memcpy(k.addr[1], p.addr[r], 16);
	k.port[0] = p.port[s];
	k.port[1] = p.port[r];
	k.ifindex = skb->ifindex;
	k.vlan = p.vlan;
	k.protocol = p.protocol;
	k.family = p.family;
	*kp = k;
	*sender = s;
	*parsed = 1;

	v = bpf_map_lookup_elem(&fsight_flows, &k);
	if (!v) {
		struct fsight_flow_stats nv = {};
		if (!count)
			return NULL;
		nv.first_ns = bpf_ktime_get_ns();
		nv.last_ns = nv.first_ns;
		nv.initiator = s ? FSIGHT_INIT_FIRST_1 : FSIGHT_INIT_FIRST_0;
		rc = bpf_map_update_elem(&fsight_flows, &k, &nv, BPF_NOEXIST);
		if (rc && rc != -FSIGHT_EEXIST) {
			fsight_count(FSIGHT_CNT_LOST_FLOW_FULL);
			return NULL;
		}
		v = bpf_map_lookup_elem(&fsight_flows, &k);
		if (!v)
			return NULL;
	}

	if (count && p.protocol == FSIGHT_IPPROTO_TCP && (p.tcp_flags & (FSIGHT_TCP_SYN | FSIGHT_TCP_ACK)) == FSIGHT_TCP_SYN &&
	    ((v->tcp_flags[0] | v->tcp_flags[1]) & (FSIGHT_TCP_FIN | FSIGHT_TCP_RST)))
		fsight_recycle(&k, v, s);

	if (count) {
		/* The clock costs 20-40 ns here: read it for every packet of small flows and of a
		 * flow's first packets, for SYN/FIN/RST, and for every 64th packet of bulk flows,
		 * so `last_ns` is exact for short flows and at a TCP close, and at most 63
		 * packets stale mid-transfer (user space counts a flow whose counters grew between
		 * two scans as active, so the idle timeout does not depend on it). */
		__u64 sent = v->packets[s & 1];
		if (sent < FSIGHT_EXACT_PACKETS || !(sent & (FSIGHT_CLOCK_EVERY - 1)) ||
		    (p.tcp_flags & (FSIGHT_TCP_SYN | FSIGHT_TCP_FIN | FSIGHT_TCP_RST)))
			v->last_ns = bpf_ktime_get_ns();
		__sync_fetch_and_add(&v->packets[s & 1], 1);
		__sync_fetch_and_add(&v->bytes[s & 1], skb->len);
		if (p.tcp_flags && (v->tcp_flags[s & 1] | p.tcp_flags) != v->tcp_flags[s & 1])
			v->tcp_flags[s & 1] |= p.tcp_flags;
	}
	if (p.protocol == FSIGHT_IPPROTO_TCP && (p.tcp_flags & FSIGHT_TCP_SYN) &&
	    v->initiator != FSIGHT_INIT_SYN_0 && v->initiator != FSIGHT_INIT_SYN_1) {
		/* SYN: the sender connects. SYN+ACK: the receiver did. */
		__u32 client = (p.tcp_flags & FSIGHT_TCP_ACK) ? r : s;
		v->initiator = client ? FSIGHT_INIT_SYN_1 : FSIGHT_INIT_SYN_0;
	}

	if (p.protocol == FSIGHT_IPPROTO_ICMP || p.protocol == FSIGHT_IPPROTO_ICMPV6) {
		if (egress)
			fsight_take_icmp_sock(skb, v, s);
		return v;
	}
	if (p.protocol != FSIGHT_IPPROTO_TCP && p.protocol != FSIGHT_IPPROTO_UDP)
		return v;
	if (egress) {
		if (v->cookie_kind[s & 1] != FSIGHT_COOKIE_SOCKET)
			fsight_take_skb_sock(skb, v, s);
		/* On loopback the receiver is local too: find it here, so that loopback needs no
		 * ingress program at all. */
		if (loopback && v->cookie_kind[r & 1] != FSIGHT_COOKIE_SOCKET)
			fsight_lookup_receiver(skb, &p, v, r);
	} else {
		if (!loopback && v->cookie_kind[s & 1] != FSIGHT_COOKIE_SOCKET)
			fsight_take_skb_sock(skb, v, s);
		if (v->cookie_kind[r & 1] != FSIGHT_COOKIE_SOCKET)
			fsight_lookup_receiver(skb, &p, v, r);
	}
	/* After the cookies, so a flow's first sample already names its sockets. */
	if (count && v->samples[s & 1] < fsight_cfg_sample_packets && p.ip_end > p.payload_off &&
	    !p.frag_first && !p.frag_later) {
		v->samples[s & 1]++;
		fsight_sample(skb, &k, v, &p, s);
	}
	return v;
}

static __always_inline int fsight_handle(struct __sk_buff *skb, int l2, int egress)
{
	struct fsight_flow_key k = {};
	struct fsight_flow_stats *v;
	struct fsight_capture_cfg *cfg;
	__u32 s = 0, zero = 0;
	int parsed = 0;

	v = fsight_account(skb, l2, egress, &k, &s, &parsed);
	/* An array lookup the verifier inlines: what `live` pays while nobody captures. Loopback
	 * ingress (never attached) would see every packet a second time: not captured. */
	cfg = bpf_map_lookup_elem(&fsight_capture_cfg, &zero);
	if (cfg && cfg->enabled && (egress || skb->ifindex != FSIGHT_LOOPBACK_IFINDEX))
		fsight_capture(skb, cfg->snaplen, l2, egress, parsed ? &k : NULL, v, s);
	return FSIGHT_TC_ACT_UNSPEC;
}

/* Ethernet-framed devices (and loopback). */
SEC("classifier")
int fsight_tc_ingress(struct __sk_buff *skb)
{
	return fsight_handle(skb, 1, 0);
}

SEC("classifier")
int fsight_tc_egress(struct __sk_buff *skb)
{
	return fsight_handle(skb, 1, 1);
}

/* L3 devices without a link header (tun, WireGuard, ipip). */
SEC("classifier")
int fsight_tc_ingress_l3(struct __sk_buff *skb)
{
	return fsight_handle(skb, 0, 0);
}

SEC("classifier")
int fsight_tc_egress_l3(struct __sk_buff *skb)
{
	return fsight_handle(skb, 0, 1);
}

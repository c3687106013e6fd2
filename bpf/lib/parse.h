/* SPDX-License-Identifier: GPL-2.0 */
/*
 * parse.h: Ethernet / 802.1Q / IPv4 / IPv6 / TCP / UDP / ICMP headers of a TC packet.
 *
 * Each parser is written once and compiled twice through the constant `direct`: reading the
 * headers in place through skb->data (the fast path: about 10 ns for a whole TCP/IP header
 * stack) and, when a header lies beyond the linear part of the skb (some GRO'd and
 * tunnelled packets), copying them with bpf_skb_load_bytes (about 80 ns). Two specialised
 * copies keep the verifier's view simple: every pointer on a path is of one kind.
 */
#ifndef FSIGHT_LIB_PARSE_H
#define FSIGHT_LIB_PARSE_H

#include "common.h"

#define FSIGHT_ETH_P_IP 0x0800
#define FSIGHT_ETH_P_IPV6 0x86DD
#define FSIGHT_ETH_P_8021Q 0x8100
#define FSIGHT_ETH_P_8021AD 0x88A8
#define FSIGHT_ETH_P_QINQ1 0x9100
/* VLAN tags followed in the frame (QinQ = 2). */
#define FSIGHT_VLAN_MAX 2
/* IPv6 extension headers followed before giving up: bounds the loop a crafted packet
 * could otherwise make long. */
#define FSIGHT_IPV6_EXT_MAX 6

/* One packet, direction as sent: index 0 is the sender, 1 the receiver. */
struct fsight_pkt {
	__u8 addr[2][16];
	__u16 port[2];
	__u16 vlan;
	__u8 protocol;
	__u8 family;
	__u8 tcp_flags;
	/* A fragment other than the first: no transport header in this packet. */
	__u8 frag_later;
	/* The first fragment of a fragmented datagram. */
	__u8 frag_first;
	__u8 _pad;
	__u32 frag_id;
	/* Where the transport payload starts in the packet, and where the IP datagram ends. */
	__u32 payload_off;
	__u32 ip_end;
	/* TCP sequence number. */
	__u32 seq;
};

enum fsight_parse_result {
	FSIGHT_PARSE_OK = 0,
	FSIGHT_PARSE_NOT_IP = 1,
	FSIGHT_PARSE_TRUNCATED = 2,
	/* Direct access ran past the linear data: parse again by copying. */
	FSIGHT_PARSE_RETRY = 3,
};

/* Largest header offset followed; bounds offsets for the verifier. */
#define FSIGHT_MAX_HDR_OFF 1024

/*
 * `len` bytes at `off`: a pointer into the packet (direct), or a copy in `buf`. NULL when
 * they are not there (direct: maybe only not linear; copy: the packet is shorter).
 */
static __always_inline const __u8 *fsight_hdr(struct __sk_buff *skb, __u32 off, __u32 len,
					      __u8 *buf, const int direct)
{
	if (off > FSIGHT_MAX_HDR_OFF)
		return NULL;
	if (direct) {
		const __u8 *data = (const __u8 *)(long)skb->data;
		const __u8 *end = (const __u8 *)(long)skb->data_end;
		if (data + off + len > end)
			return NULL;
		return data + off;
	}
	if (bpf_skb_load_bytes(skb, off, buf, len))
		return NULL;
	return buf;
}

#define FSIGHT_SHORT(direct) ((direct) ? FSIGHT_PARSE_RETRY : FSIGHT_PARSE_TRUNCATED)
#define FSIGHT_BE16(h, i) ((__u16)(((h)[i] << 8) | (h)[(i) + 1]))


/*
 * ICMP "ports" as Community ID v1 defines them: the message type, and for request/reply pairs
 * the counterpart's type, so that an echo request and its reply land in one flow; otherwise
 * the code.
 */
static __always_inline void fsight_icmp_ports(struct fsight_pkt *p, __u8 type, __u8 code, int v6)
{
	int peer = -1;

	if (!v6) {
		switch (type) {
		case 8: peer = 0; break;    /* echo */
		case 0: peer = 8; break;
		case 13: peer = 14; break;  /* timestamp */
		case 14: peer = 13; break;
		case 15: peer = 16; break;  /* information */
		case 16: peer = 15; break;
		case 10: peer = 9; break;   /* router solicitation / advertisement */
		case 9: peer = 10; break;
		case 17: peer = 18; break;  /* address mask */
		case 18: peer = 17; break;
		}
	} else {
		switch (type) {
		case 128: peer = 129; break; /* echo */
		case 129: peer = 128; break;
		case 133: peer = 134; break; /* router solicitation / advertisement */
		case 134: peer = 133; break;
		case 135: peer = 136; break; /* neighbor solicitation / advertisement */
		case 136: peer = 135; break;
		case 130: peer = 131; break; /* multicast listener query / report */
		case 131: peer = 130; break;
		case 144: peer = 145; break; /* home agent address discovery */
		case 145: peer = 144; break;
		}
	}
	p->port[0] = type;
	p->port[1] = peer >= 0 ? (__u16)peer : code;
}

/* Transport ports (or ICMP type/code) and TCP flags from the header at off. */
static __always_inline int fsight_parse_l4(struct __sk_buff *skb, __u32 off, struct fsight_pkt *p,
					   const int direct)
{
	__u8 buf[14];
	const __u8 *h;

	if (p->protocol == FSIGHT_IPPROTO_TCP) {
		/* ports, seq, ack, data offset, flags */
		h = fsight_hdr(skb, off, 14, buf, direct);
		if (!h)
			return FSIGHT_SHORT(direct);
		p->port[0] = FSIGHT_BE16(h, 0);
		p->port[1] = FSIGHT_BE16(h, 2);
		p->tcp_flags = h[13];
		p->payload_off = off + (h[12] >> 4) * 4;
		p->seq = ((__u32)h[4] << 24) | ((__u32)h[5] << 16) | ((__u32)h[6] << 8) | h[7];
	} else if (p->protocol == FSIGHT_IPPROTO_UDP) {
		h = fsight_hdr(skb, off, 4, buf, direct);
		if (!h)
			return FSIGHT_SHORT(direct);
		p->port[0] = FSIGHT_BE16(h, 0);
		p->port[1] = FSIGHT_BE16(h, 2);
		p->payload_off = off + 8;
	} else if (p->protocol == FSIGHT_IPPROTO_ICMP || p->protocol == FSIGHT_IPPROTO_ICMPV6) {
		h = fsight_hdr(skb, off, 2, buf, direct);
		if (!h)
			return FSIGHT_SHORT(direct);
		fsight_icmp_ports(p, h[0], h[1], p->protocol == FSIGHT_IPPROTO_ICMPV6);
	}
	return FSIGHT_PARSE_OK;
}

static __always_inline int fsight_parse_ipv4(struct __sk_buff *skb, __u32 off, struct fsight_pkt *p,
					     const int direct)
{
	__u8 buf[20];
	const __u8 *h = fsight_hdr(skb, off, 20, buf, direct);
	__u16 frag;
	__u32 ihl;

	if (!h)
		return FSIGHT_SHORT(direct);
	ihl = (h[0] & 0x0f) * 4;
	if ((h[0] >> 4) != 4 || ihl < 20)
		return FSIGHT_PARSE_TRUNCATED;
	p->family = FSIGHT_AF_INET;
	p->protocol = h[9];
	p->ip_end = off + FSIGHT_BE16(h, 2);
	__builtin_memcpy(p->addr[0], h + 12, 4);
	__builtin_memcpy(p->addr[1], h + 16, 4);
	frag = FSIGHT_BE16(h, 6);
	p->frag_id = FSIGHT_BE16(h, 4);
	if (frag & 0x1fff) {
		p->frag_later = 1;
		return FSIGHT_PARSE_OK;
	}
	p->frag_first = (frag & 0x2000) != 0;
	return fsight_parse_l4(skb, off + ihl, p, direct);
}

static __always_inline int fsight_parse_ipv6(struct __sk_buff *skb, __u32 off, struct fsight_pkt *p,
					     const int direct)
{
	__u8 buf[40];
	const __u8 *h = fsight_hdr(skb, off, 40, buf, direct);
	__u8 nexthdr;

	if (!h)
		return FSIGHT_SHORT(direct);
	if ((h[0] >> 4) != 6)
		return FSIGHT_PARSE_TRUNCATED;
	p->family = FSIGHT_AF_INET6;
	p->ip_end = off + 40 + FSIGHT_BE16(h, 4);
	__builtin_memcpy(p->addr[0], h + 8, 16);
	__builtin_memcpy(p->addr[1], h + 24, 16);
	nexthdr = h[6];
	off += 40;

#pragma unroll
	for (int i = 0; i < FSIGHT_IPV6_EXT_MAX; i++) {
		__u8 ebuf[8];
		const __u8 *e;
		if (nexthdr == 0 || nexthdr == 43 || nexthdr == 60) {
			/* hop-by-hop, routing, destination options: length in 8-octet units */
			e = fsight_hdr(skb, off, 2, ebuf, direct);
			if (!e)
				return FSIGHT_SHORT(direct);
			nexthdr = e[0];
			off += (e[1] + 1) * 8;
		} else if (nexthdr == 51) {
			/* authentication header: length in 4-octet units, minus 2 */
			e = fsight_hdr(skb, off, 2, ebuf, direct);
			if (!e)
				return FSIGHT_SHORT(direct);
			nexthdr = e[0];
			off += (e[1] + 2) * 4;
		} else if (nexthdr == 44) {
			/* fragment: offset in the upper 13 bits, M flag in bit 0 */
			e = fsight_hdr(skb, off, 8, ebuf, direct);
			if (!e)
				return FSIGHT_SHORT(direct);
			__u16 fo = FSIGHT_BE16(e, 2);
			nexthdr = e[0];
			p->frag_id = ((__u32)e[4] << 24) | ((__u32)e[5] << 16) | ((__u32)e[6] << 8) | e[7];
			off += 8;
			if (fo >> 3) {
				p->protocol = nexthdr;
				p->frag_later = 1;
				return FSIGHT_PARSE_OK;
			}
			p->frag_first = fo & 1;
		} else {
			break;
		}
	}
	p->protocol = nexthdr;
	return fsight_parse_l4(skb, off, p, direct);
}

static __always_inline int fsight_parse_from(struct __sk_buff *skb, int l2, struct fsight_pkt *p,
					     const int direct)
{
	__u32 off = 0;
	__u16 proto;

	if (skb->vlan_present)
		p->vlan = skb->vlan_tci & 0x0fff; /* tag already taken out of the frame */
	if (l2) {
		__u8 buf[14];
		const __u8 *h = fsight_hdr(skb, 0, 14, buf, direct);
		if (!h)
			return FSIGHT_SHORT(direct);
		proto = FSIGHT_BE16(h, 12);
		off = 14;
#pragma unroll
		for (int i = 0; i < FSIGHT_VLAN_MAX; i++) {
			if (proto != FSIGHT_ETH_P_8021Q && proto != FSIGHT_ETH_P_8021AD && proto != FSIGHT_ETH_P_QINQ1)
				break;
			__u8 tbuf[4];
			const __u8 *t = fsight_hdr(skb, off, 4, tbuf, direct);
			if (!t)
				return FSIGHT_SHORT(direct);
			if (!p->vlan)
				p->vlan = FSIGHT_BE16(t, 0) & 0x0fff;
			proto = FSIGHT_BE16(t, 2);
			off += 4;
		}
	} else {
		proto = bpf_ntohs(skb->protocol);
	}
	if (proto == FSIGHT_ETH_P_IP)
		return fsight_parse_ipv4(skb, off, p, direct);
	if (proto == FSIGHT_ETH_P_IPV6)
		return fsight_parse_ipv6(skb, off, p, direct);
	return FSIGHT_PARSE_NOT_IP;
}

/*
 * Parse a packet whose first byte is the link header (l2 = 1: Ethernet) or the IP header
 * (l2 = 0: tun, WireGuard and other L3 devices, where skb->protocol says which IP).
 */
static __always_inline int fsight_parse(struct __sk_buff *skb, int l2, struct fsight_pkt *p)
{
	int rc = fsight_parse_from(skb, l2, p, 1);

	if (rc != FSIGHT_PARSE_RETRY)
		return rc;
	__builtin_memset(p, 0, sizeof(*p));
	return fsight_parse_from(skb, l2, p, 0);
}

#endif

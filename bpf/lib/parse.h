/* SPDX-License-Identifier: GPL-2.0 */
/*
 * parse.h: Ethernet / 802.1Q / IPv4 / IPv6 / TCP / UDP / ICMP headers of a TC packet.
 *
 * Headers are copied with bpf_skb_load_bytes in fixed sizes rather than read through
 * skb->data: it works whether or not the headers are in the linear part of the skb (GRO'd
 * and tunnelled packets often are not), and fixed sizes keep the verifier simple.
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
};

enum fsight_parse_result {
	FSIGHT_PARSE_OK = 0,
	FSIGHT_PARSE_NOT_IP = 1,
	FSIGHT_PARSE_TRUNCATED = 2,
};

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
static __always_inline int fsight_parse_l4(struct __sk_buff *skb, __u32 off, struct fsight_pkt *p)
{
	if (p->protocol == FSIGHT_IPPROTO_TCP) {
		/* ports, seq, ack, data offset, flags */
		__u8 th[14];
		if (bpf_skb_load_bytes(skb, off, th, sizeof(th)))
			return FSIGHT_PARSE_TRUNCATED;
		p->port[0] = (th[0] << 8) | th[1];
		p->port[1] = (th[2] << 8) | th[3];
		p->tcp_flags = th[13];
	} else if (p->protocol == FSIGHT_IPPROTO_UDP) {
		__u8 uh[4];
		if (bpf_skb_load_bytes(skb, off, uh, sizeof(uh)))
			return FSIGHT_PARSE_TRUNCATED;
		p->port[0] = (uh[0] << 8) | uh[1];
		p->port[1] = (uh[2] << 8) | uh[3];
	} else if (p->protocol == FSIGHT_IPPROTO_ICMP || p->protocol == FSIGHT_IPPROTO_ICMPV6) {
		__u8 ih[2];
		if (bpf_skb_load_bytes(skb, off, ih, sizeof(ih)))
			return FSIGHT_PARSE_TRUNCATED;
		fsight_icmp_ports(p, ih[0], ih[1], p->protocol == FSIGHT_IPPROTO_ICMPV6);
	}
	return FSIGHT_PARSE_OK;
}

static __always_inline int fsight_parse_ipv4(struct __sk_buff *skb, __u32 off, struct fsight_pkt *p)
{
	struct iphdr ip;
	__u16 frag;

	if (bpf_skb_load_bytes(skb, off, &ip, sizeof(ip)))
		return FSIGHT_PARSE_TRUNCATED;
	if (ip.version != 4 || ip.ihl < 5)
		return FSIGHT_PARSE_TRUNCATED;
	p->family = FSIGHT_AF_INET;
	p->protocol = ip.protocol;
	__builtin_memcpy(p->addr[0], &ip.saddr, 4);
	__builtin_memcpy(p->addr[1], &ip.daddr, 4);
	frag = bpf_ntohs(ip.frag_off);
	p->frag_id = bpf_ntohs(ip.id);
	if (frag & 0x1fff) {
		p->frag_later = 1;
		return FSIGHT_PARSE_OK;
	}
	p->frag_first = (frag & 0x2000) != 0;
	return fsight_parse_l4(skb, off + ip.ihl * 4, p);
}

static __always_inline int fsight_parse_ipv6(struct __sk_buff *skb, __u32 off, struct fsight_pkt *p)
{
	struct ipv6hdr ip6;
	__u8 nexthdr;

	if (bpf_skb_load_bytes(skb, off, &ip6, sizeof(ip6)))
		return FSIGHT_PARSE_TRUNCATED;
	if (ip6.version != 6)
		return FSIGHT_PARSE_TRUNCATED;
	p->family = FSIGHT_AF_INET6;
	__builtin_memcpy(p->addr[0], &ip6.saddr, 16);
	__builtin_memcpy(p->addr[1], &ip6.daddr, 16);
	nexthdr = ip6.nexthdr;
	off += sizeof(ip6);

#pragma unroll
	for (int i = 0; i < FSIGHT_IPV6_EXT_MAX; i++) {
		__u8 ext[8];
		if (nexthdr == 0 || nexthdr == 43 || nexthdr == 60) {
			/* hop-by-hop, routing, destination options: length in 8-octet units */
			if (bpf_skb_load_bytes(skb, off, ext, 2))
				return FSIGHT_PARSE_TRUNCATED;
			nexthdr = ext[0];
			off += (ext[1] + 1) * 8;
		} else if (nexthdr == 51) {
			/* authentication header: length in 4-octet units, minus 2 */
			if (bpf_skb_load_bytes(skb, off, ext, 2))
				return FSIGHT_PARSE_TRUNCATED;
			nexthdr = ext[0];
			off += (ext[1] + 2) * 4;
		} else if (nexthdr == 44) {
			/* fragment: offset in the upper 13 bits, M flag in bit 0 */
			if (bpf_skb_load_bytes(skb, off, ext, 8))
				return FSIGHT_PARSE_TRUNCATED;
			__u16 fo = (ext[2] << 8) | ext[3];
			nexthdr = ext[0];
			p->frag_id = ((__u32)ext[4] << 24) | ((__u32)ext[5] << 16) | ((__u32)ext[6] << 8) | ext[7];
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
	return fsight_parse_l4(skb, off, p);
}

/*
 * Parse a packet whose first byte is the link header (l2 = 1: Ethernet) or the IP header
 * (l2 = 0: tun, WireGuard and other L3 devices, where skb->protocol says which IP).
 */
static __always_inline int fsight_parse(struct __sk_buff *skb, int l2, struct fsight_pkt *p)
{
	__u32 off = 0;
	__u16 proto;

	if (skb->vlan_present)
		p->vlan = skb->vlan_tci & 0x0fff; /* tag already taken out of the frame */
	if (l2) {
		struct ethhdr eth;
		if (bpf_skb_load_bytes(skb, 0, &eth, sizeof(eth)))
			return FSIGHT_PARSE_TRUNCATED;
		proto = bpf_ntohs(eth.h_proto);
		off = sizeof(eth);
#pragma unroll
		for (int i = 0; i < FSIGHT_VLAN_MAX; i++) {
			if (proto != FSIGHT_ETH_P_8021Q && proto != FSIGHT_ETH_P_8021AD && proto != FSIGHT_ETH_P_QINQ1)
				break;
			__u16 tag[2];
			if (bpf_skb_load_bytes(skb, off, tag, sizeof(tag)))
				return FSIGHT_PARSE_TRUNCATED;
			if (!p->vlan)
				p->vlan = bpf_ntohs(tag[0]) & 0x0fff;
			proto = bpf_ntohs(tag[1]);
			off += sizeof(tag);
		}
	} else {
		proto = bpf_ntohs(skb->protocol);
	}
	if (proto == FSIGHT_ETH_P_IP)
		return fsight_parse_ipv4(skb, off, p);
	if (proto == FSIGHT_ETH_P_IPV6)
		return fsight_parse_ipv6(skb, off, p);
	return FSIGHT_PARSE_NOT_IP;
}

#endif

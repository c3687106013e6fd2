/* SPDX-License-Identifier: GPL-2.0 */
/*
 * maps.h: every map the programs share, declared once.
 *
 * Each .bpf.c is compiled on its own and `bpftool gen object` links them into one object.
 * maps.bpf.c defines FSIGHT_DEFINE_MAPS before including this file and so owns the definitions;
 * every other unit sees the same declarations as `extern`, which the BPF static linker resolves
 * to the one definition. One object then means one set of maps, shared without pinning.
 */
#ifndef FSIGHT_LIB_MAPS_H
#define FSIGHT_LIB_MAPS_H

#include "../abi.h"

#ifdef FSIGHT_DEFINE_MAPS
#define FSIGHT_MAP_STORAGE
#else
#define FSIGHT_MAP_STORAGE extern
#endif

/* Owner stamp kept on each socket (sk_storage). Kernel-internal: user space never reads it. */
struct fsight_sk_stamp {
	/* The socket's cookie, so TC can name a socket it found with bpf_sk_lookup_*. */
	__u64 cookie;
	/* Owner's thread group id; 0 while only the cookie is known (passive open in softirq). */
	__u32 tgid;
	/* enum fsight_stamp_origin of the current owner. */
	__u8 origin;
	__u8 _pad[3];
};

/* A passively opened TCP socket waiting for accept(): the accept tracepoint only has the
 * struct sock pointer, and cannot call bpf_get_socket_cookie or reach sk_storage with it. */
struct fsight_accepting {
	__u64 cookie;
	/* Set by the accept hook; the first send/receive then stamps the socket silently. */
	__u32 tgid;
	__u32 _pad;
};

/* Identifies the fragments of one IP datagram. */
struct fsight_frag_key {
	__u8 saddr[16];
	__u8 daddr[16];
	__u32 id;
	__u8 protocol;
	__u8 family;
	__u16 _pad;
};

/* The ports found in a datagram's first fragment, for the fragments that follow. */
struct fsight_frag_ports {
	__u16 sport;
	__u16 dport;
};

/* Records for user space: socket owners, socket closes, process exec/fork/exit. Sized by the
 * loader (--ring-size); a full ring is counted in FSIGHT_CNT_LOST_EVENTS. */
FSIGHT_MAP_STORAGE struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 22);
} fsight_events SEC(".maps");

/* Payload samples for the protocol analyzers. Separate from the events ring so that a burst
 * of payload can never crowd out socket owners. Sized by the loader (--sample-ring-size). */
FSIGHT_MAP_STORAGE struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 22);
} fsight_samples SEC(".maps");

/* One sample being assembled (too large for the BPF stack). */
FSIGHT_MAP_STORAGE struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct fsight_sample);
} fsight_sample_scratch SEC(".maps");

/* Flows whose analyzers need no more payload (written by user space). LRU: a forgotten
 * entry only costs a few more samples. */
FSIGHT_MAP_STORAGE struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1 << 16);
	__type(key, struct fsight_flow_key);
	__type(value, __u8);
} fsight_sample_stop SEC(".maps");

/* Captured packets for `flowsight capture` (struct fsight_packet). Its own ring, so a burst
 * of packets never crowds out owners or samples. Sized by the loader: one page unless packet
 * capture is asked for. A full ring is counted in FSIGHT_CNT_LOST_PACKETS. */
FSIGHT_MAP_STORAGE struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 12);
} fsight_packets SEC(".maps");

/* One packet being assembled (too large for the BPF stack). */
FSIGHT_MAP_STORAGE struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct fsight_packet);
} fsight_packet_scratch SEC(".maps");

/* Packet capture on or off, and the snap length (written by user space). */
FSIGHT_MAP_STORAGE struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct fsight_capture_cfg);
} fsight_capture_cfg SEC(".maps");

/* enum fsight_counter, per CPU. */
FSIGHT_MAP_STORAGE struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FSIGHT_CNT__MAX);
	__type(key, __u32);
	__type(value, __u64);
} fsight_counters SEC(".maps");

/* Flow counters. A plain hash, not LRU: an LRU would evict live flows silently; a full map
 * is counted instead (FSIGHT_CNT_LOST_FLOW_FULL) and user space deletes flows as they end.
 * Sized by the loader (--flow-map-size). */
FSIGHT_MAP_STORAGE struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1 << 18);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct fsight_flow_key);
	__type(value, struct fsight_flow_stats);
} fsight_flows SEC(".maps");

/* Owner stamp per socket; freed with the socket. */
FSIGHT_MAP_STORAGE struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct fsight_sk_stamp);
} fsight_sk_stamps SEC(".maps");

/* struct sock address -> cookie of passively opened sockets not yet accepted. LRU: a
 * connection reset before accept leaves an entry behind, and eviction only loses the fast
 * path (the first send/receive still stamps the socket). */
FSIGHT_MAP_STORAGE struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1 << 16);
	__type(key, __u64);
	__type(value, struct fsight_accepting);
} fsight_accepting SEC(".maps");

/* First-fragment ports by datagram. LRU: a lost entry only makes the later fragments
 * orphans, which are counted. */
FSIGHT_MAP_STORAGE struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1 << 13);
	__type(key, struct fsight_frag_key);
	__type(value, struct fsight_frag_ports);
} fsight_frags SEC(".maps");

#endif

//! The TC program's parsing and accounting, checked by pushing hand-made packets through
//! BPF_PROG_TEST_RUN and reading the flow map (root; skips loudly otherwise). Nothing is
//! attached to any interface.

mod common;

use common::root_or_skip;

use bytemuck::Zeroable;
use flowsight_abi::{Event, FlowKey, FlowStats, counter, initiator};
use flowsight_capture::testbed::{Hook, TcTestBed};
use std::net::{Ipv4Addr, Ipv6Addr};

const LO: u32 = 1;
const TCP: u8 = 6;
const UDP: u8 = 17;
const SYN: u8 = 0x02;
const ACK: u8 = 0x10;
const RST: u8 = 0x04;

fn eth(ethertype: u16, vlans: &[(u16, u16)], payload: &[u8]) -> Vec<u8> {
    let mut p = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1];
    for &(tpid, id) in vlans {
        p.extend(tpid.to_be_bytes());
        p.extend(id.to_be_bytes());
    }
    p.extend(ethertype.to_be_bytes());
    p.extend(payload);
    p
}

fn tcp(sport: u16, dport: u16, flags: u8) -> Vec<u8> {
    let mut t = vec![0u8; 20];
    t[0..2].copy_from_slice(&sport.to_be_bytes());
    t[2..4].copy_from_slice(&dport.to_be_bytes());
    t[12] = 5 << 4;
    t[13] = flags;
    t
}

fn udp(sport: u16, dport: u16, payload_len: usize) -> Vec<u8> {
    let mut u = vec![0u8; 8 + payload_len];
    u[0..2].copy_from_slice(&sport.to_be_bytes());
    u[2..4].copy_from_slice(&dport.to_be_bytes());
    u[4..6].copy_from_slice(&((8 + payload_len) as u16).to_be_bytes());
    u
}

fn ipv4(
    src: [u8; 4],
    dst: [u8; 4],
    proto: u8,
    options: &[u8],
    id: u16,
    frag: u16,
    l4: &[u8],
) -> Vec<u8> {
    let ihl = 20 + options.len();
    assert_eq!(ihl % 4, 0);
    let mut h = vec![0u8; 20];
    h[0] = 0x40 | (ihl / 4) as u8;
    h[2..4].copy_from_slice(&((ihl + l4.len()) as u16).to_be_bytes());
    h[4..6].copy_from_slice(&id.to_be_bytes());
    h[6..8].copy_from_slice(&frag.to_be_bytes());
    h[8] = 64;
    h[9] = proto;
    h[12..16].copy_from_slice(&src);
    h[16..20].copy_from_slice(&dst);
    h.extend(options);
    h.extend(l4);
    h
}

fn ipv6(src: &str, dst: &str, next: u8, rest: &[u8]) -> Vec<u8> {
    let mut h = vec![0u8; 40];
    h[0] = 0x60;
    h[4..6].copy_from_slice(&(rest.len() as u16).to_be_bytes());
    h[6] = next;
    h[7] = 64;
    h[8..24].copy_from_slice(&src.parse::<Ipv6Addr>().unwrap().octets());
    h[24..40].copy_from_slice(&dst.parse::<Ipv6Addr>().unwrap().octets());
    h.extend(rest);
    h
}

fn flows(bed: &mut TcTestBed) -> Vec<(FlowKey, FlowStats)> {
    let mut v = Vec::new();
    bed.flows().scan(&mut v).unwrap();
    v
}

fn v4(k: &FlowKey, i: usize) -> Ipv4Addr {
    Ipv4Addr::new(k.addr[i][0], k.addr[i][1], k.addr[i][2], k.addr[i][3])
}

/// Each test loads its own copy of the object, so maps are not shared between tests.
fn bed() -> TcTestBed {
    TcTestBed::new().expect("load the BPF object")
}

#[test]
fn tcp_handshake_counts_both_directions_once_per_packet() {
    if !root_or_skip("tcp_handshake_counts_both_directions_once_per_packet") {
        return;
    }
    let mut b = bed();
    let syn = eth(
        0x0800,
        &[],
        &ipv4(
            [10, 0, 0, 2],
            [10, 0, 0, 1],
            TCP,
            &[],
            1,
            0x4000,
            &tcp(40000, 80, SYN),
        ),
    );
    let synack = eth(
        0x0800,
        &[],
        &ipv4(
            [10, 0, 0, 1],
            [10, 0, 0, 2],
            TCP,
            &[],
            2,
            0x4000,
            &tcp(80, 40000, SYN | ACK),
        ),
    );
    let ack = eth(
        0x0800,
        &[],
        &ipv4(
            [10, 0, 0, 2],
            [10, 0, 0, 1],
            TCP,
            &[],
            3,
            0x4000,
            &tcp(40000, 80, ACK),
        ),
    );
    for p in [&syn, &synack, &ack] {
        let r = b.run(Hook::Egress, p, LO, 1).unwrap();
        assert_eq!(
            r.retval, -1,
            "TC_ACT_UNSPEC: never changes the packet's fate"
        );
    }
    let f = flows(&mut b);
    assert_eq!(f.len(), 1);
    let (k, v) = &f[0];
    // Canonical order: 10.0.0.1:80 is endpoint 0.
    assert_eq!(
        (v4(k, 0), k.port[0], v4(k, 1), k.port[1]),
        (
            Ipv4Addr::new(10, 0, 0, 1),
            80,
            Ipv4Addr::new(10, 0, 0, 2),
            40000
        )
    );
    assert_eq!((k.protocol, k.ifindex, k.vlan), (TCP, LO, 0));
    assert_eq!(v.packets, [1, 2]);
    assert_eq!(
        v.bytes,
        [synack.len() as u64, (syn.len() + ack.len()) as u64]
    );
    assert_eq!(v.tcp_flags, [SYN | ACK, SYN | ACK]);
    assert_eq!(
        v.initiator as u32,
        initiator::FSIGHT_INIT_SYN_1,
        "the SYN sender (endpoint 1) connected"
    );
}

#[test]
fn loopback_ingress_is_not_counted_twice() {
    if !root_or_skip("loopback_ingress_is_not_counted_twice") {
        return;
    }
    let mut b = bed();
    let p = eth(
        0x0800,
        &[],
        &ipv4(
            [127, 0, 0, 1],
            [127, 0, 0, 1],
            UDP,
            &[],
            1,
            0,
            &udp(5000, 53, 10),
        ),
    );
    b.run(Hook::Egress, &p, LO, 1).unwrap();
    b.run(Hook::Ingress, &p, LO, 1).unwrap();
    let f = flows(&mut b);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].1.packets[0] + f[0].1.packets[1], 1);
}

#[test]
fn vlan_qinq_ip_options_and_ipv6_extension_headers() {
    if !root_or_skip("vlan_qinq_ip_options_and_ipv6_extension_headers") {
        return;
    }
    let mut b = bed();
    // 802.1Q VLAN 100, IPv4 with 4 bytes of options (NOP NOP NOP EOL).
    let p1 = eth(
        0x0800,
        &[(0x8100, 100)],
        &ipv4(
            [10, 1, 0, 1],
            [10, 1, 0, 2],
            UDP,
            &[1, 1, 1, 0],
            7,
            0,
            &udp(1111, 2222, 4),
        ),
    );
    // QinQ: 802.1ad 200 outside, 802.1Q 300 inside; IPv6 with hop-by-hop and destination
    // options before TCP.
    let mut ext = vec![60, 0, 0, 0, 0, 0, 0, 0]; // hop-by-hop, next = dstopts, 8 bytes
    ext.extend([TCP, 0, 0, 0, 0, 0, 0, 0]); // dstopts, next = TCP
    ext.extend(tcp(3333, 443, SYN));
    let p2 = eth(
        0x86DD,
        &[(0x88A8, 200), (0x8100, 300)],
        &ipv6("2001:db8::1", "2001:db8::2", 0, &ext),
    );
    b.run(Hook::Egress, &p1, LO, 1).unwrap();
    b.run(Hook::Egress, &p2, LO, 1).unwrap();
    let mut f = flows(&mut b);
    f.sort_by_key(|(k, _)| k.protocol);
    assert_eq!(f.len(), 2, "{f:?}");
    let (k, _) = &f[0];
    assert_eq!(
        (k.protocol, k.vlan, k.port),
        (TCP, 200, [3333, 443]),
        "outer tag, ports after two extension headers"
    );
    assert_eq!(k.family as u16, flowsight_abi::AF_INET6);
    let (k, _) = &f[1];
    assert_eq!(
        (k.protocol, k.vlan, k.port),
        (UDP, 100, [1111, 2222]),
        "ports after IP options"
    );
}

#[test]
fn later_fragments_join_their_first_and_orphans_are_counted() {
    if !root_or_skip("later_fragments_join_their_first_and_orphans_are_counted") {
        return;
    }
    let mut b = bed();
    let first = eth(
        0x0800,
        &[],
        &ipv4(
            [10, 2, 0, 1],
            [10, 2, 0, 2],
            UDP,
            &[],
            42,
            0x2000,
            &udp(5000, 53, 1472),
        ),
    );
    let second = eth(
        0x0800,
        &[],
        &ipv4([10, 2, 0, 1], [10, 2, 0, 2], UDP, &[], 42, 185, &[0u8; 100]),
    );
    let orphan = eth(
        0x0800,
        &[],
        &ipv4([10, 2, 0, 1], [10, 2, 0, 2], UDP, &[], 43, 185, &[0u8; 100]),
    );
    for p in [&first, &second, &orphan] {
        b.run(Hook::Egress, p, LO, 1).unwrap();
    }
    let f = flows(&mut b);
    let joined = f
        .iter()
        .find(|(k, _)| k.port == [5000, 53])
        .expect("the datagram's flow");
    assert_eq!(joined.1.packets[0], 2);
    assert_eq!(joined.1.bytes[0], (first.len() + second.len()) as u64);
    assert!(
        f.iter().any(|(k, _)| k.port == [0, 0]),
        "the orphan is counted under ports 0/0"
    );
    assert_eq!(
        b.counters().unwrap()[counter::FSIGHT_CNT_FRAG_ORPHAN as usize],
        1
    );
}

#[test]
fn icmp_echo_and_reply_are_one_flow_and_junk_is_counted() {
    if !root_or_skip("icmp_echo_and_reply_are_one_flow_and_junk_is_counted") {
        return;
    }
    let mut b = bed();
    let icmp = |t: u8| vec![t, 0, 0, 0, 0, 1, 0, 1];
    let req = eth(
        0x0800,
        &[],
        &ipv4([10, 3, 0, 1], [10, 3, 0, 2], 1, &[], 1, 0, &icmp(8)),
    );
    let rep = eth(
        0x0800,
        &[],
        &ipv4([10, 3, 0, 2], [10, 3, 0, 1], 1, &[], 2, 0, &icmp(0)),
    );
    let arp = eth(0x0806, &[], &[0u8; 28]);
    // An IPv4 header that announces TCP, and no TCP header. (BPF_PROG_TEST_RUN refuses frames
    // shorter than Ethernet + IPv4.)
    let truncated = eth(
        0x0800,
        &[],
        &ipv4([10, 3, 0, 1], [10, 3, 0, 2], TCP, &[], 3, 0, &[]),
    );
    for p in [&req, &rep, &arp, &truncated] {
        b.run(Hook::Egress, p, LO, 1).unwrap();
    }
    let f = flows(&mut b);
    assert_eq!(f.len(), 1, "{f:?}");
    let (k, v) = &f[0];
    assert_eq!(
        (k.protocol, k.port),
        (1, [8, 0]),
        "Community ID port equivalents"
    );
    assert_eq!(v.packets, [1, 1]);
    let c = b.counters().unwrap();
    assert_eq!(c[counter::FSIGHT_CNT_NOT_IP as usize], 1);
    assert_eq!(c[counter::FSIGHT_CNT_TRUNCATED as usize], 1);
}

#[test]
fn a_syn_after_rst_hands_the_old_connection_over() {
    if !root_or_skip("a_syn_after_rst_hands_the_old_connection_over") {
        return;
    }
    let mut b = bed();
    let pkt = |flags, sport, dport, src, dst| {
        eth(
            0x0800,
            &[],
            &ipv4(src, dst, TCP, &[], 1, 0, &tcp(sport, dport, flags)),
        )
    };
    let (c, s) = ([10, 4, 0, 2], [10, 4, 0, 1]);
    b.run(Hook::Egress, &pkt(SYN, 40000, 80, c, s), LO, 1)
        .unwrap();
    b.run(Hook::Egress, &pkt(RST | ACK, 80, 40000, s, c), LO, 1)
        .unwrap();
    b.run(Hook::Egress, &pkt(SYN, 40000, 80, c, s), LO, 1)
        .unwrap();
    let recycled: Vec<_> = b
        .events()
        .into_iter()
        .filter_map(|e| match e.unwrap() {
            Event::FlowRecycled(r) => Some(r),
            _ => None,
        })
        .collect();
    assert_eq!(recycled.len(), 1);
    assert_eq!(
        recycled[0].stats.packets,
        [1, 1],
        "the old connection's SYN and RST"
    );
    let f = flows(&mut b);
    assert_eq!(f.len(), 1);
    assert_eq!(
        f[0].1.packets,
        [0, 1],
        "the new connection starts with its SYN"
    );
    assert_eq!(f[0].1.tcp_flags, [0, SYN]);
}

fn tcp_data(sport: u16, dport: u16, flags: u8, seq: u32, payload: &[u8]) -> Vec<u8> {
    let mut t = tcp(sport, dport, flags);
    t[4..8].copy_from_slice(&seq.to_be_bytes());
    t.extend(payload);
    t
}

#[test]
fn samples_carry_the_first_payload_bytes_of_the_first_packets_only() {
    if !root_or_skip("samples_carry_the_first_payload_bytes_of_the_first_packets_only") {
        return;
    }
    let mut b = TcTestBed::with_samples(2).expect("load");
    let (c, s) = ([10, 5, 0, 2], [10, 5, 0, 1]);
    let pkt = |seq: u32, body: &[u8]| {
        eth(
            0x0800,
            &[],
            &ipv4(
                c,
                s,
                TCP,
                &[],
                1,
                0x4000,
                &tcp_data(40000, 80, 0x18, seq, body),
            ),
        )
    };
    b.run(
        Hook::Egress,
        &eth(
            0x0800,
            &[],
            &ipv4(c, s, TCP, &[], 1, 0, &tcp(40000, 80, SYN)),
        ),
        LO,
        1,
    )
    .unwrap();
    b.run(Hook::Egress, &pkt(1001, b"GET / HTTP/1.1\r\n"), LO, 1)
        .unwrap();
    b.run(Hook::Egress, &pkt(1017, b"Host: x\r\n\r\n"), LO, 1)
        .unwrap();
    b.run(Hook::Egress, &pkt(1028, b"more"), LO, 1).unwrap();
    let samples = b.samples();
    assert_eq!(
        samples.len(),
        2,
        "two samples per direction, and the SYN carries no payload"
    );
    assert_eq!(samples[0].1, b"GET / HTTP/1.1\r\n");
    assert_eq!((samples[0].0.seq, samples[1].0.seq), (1001, 1017));
    assert_eq!(samples[1].1, b"Host: x\r\n\r\n");
    let k = samples[0].0.key;
    assert_eq!(
        k.port[samples[0].0.sender as usize], 40000,
        "sender is the client's endpoint index"
    );
    assert_eq!(samples[0].0.payload_len, 16);
    assert_eq!(
        b.counters().unwrap()[counter::FSIGHT_CNT_SAMPLES as usize],
        2
    );

    // The server's direction is sampled separately, unless user space says stop.
    b.sample_stop().stop(&k).unwrap();
    let reply = eth(
        0x0800,
        &[],
        &ipv4(
            s,
            c,
            TCP,
            &[],
            2,
            0x4000,
            &tcp_data(80, 40000, 0x18, 5001, b"HTTP/1.1 200 OK\r\n"),
        ),
    );
    b.run(Hook::Egress, &reply, LO, 1).unwrap();
    assert!(b.samples().is_empty(), "stopped flows are not sampled");
    b.sample_stop().forget(&k);
    b.run(Hook::Egress, &reply, LO, 1).unwrap();
    assert_eq!(b.samples().len(), 1);
}

#[test]
fn samples_exclude_ethernet_padding_and_are_off_by_default() {
    if !root_or_skip("samples_exclude_ethernet_padding_and_are_off_by_default") {
        return;
    }
    let mut frame = eth(
        0x0800,
        &[],
        &ipv4([10, 6, 0, 1], [10, 6, 0, 2], UDP, &[], 1, 0, &{
            let mut u = udp(5353, 53, 4);
            u[8..12].copy_from_slice(b"abcd");
            u
        }),
    );
    frame.resize(60, 0xee); // minimum Ethernet frame: padding after the IP datagram
    let mut b = TcTestBed::with_samples(4).expect("load");
    b.run(Hook::Egress, &frame, LO, 1).unwrap();
    let samples = b.samples();
    assert_eq!(samples.len(), 1);
    assert_eq!(
        samples[0].1, b"abcd",
        "the IP length bounds the payload, not the frame"
    );

    let mut off = TcTestBed::new().expect("load");
    off.run(Hook::Egress, &frame, LO, 1).unwrap();
    assert!(off.samples().is_empty());
    let _ = FlowKey::zeroed();
}

use super::*;
use crate::tcp::Flags;
use crate::testutil::*;

const V4_ETH: u16 = 0x0800;
const V6_ETH: u16 = 0x86dd;

fn tcp_info(d: &Decoded<'_>) -> TcpInfo {
    match d.l4 {
        L4::Tcp(t) => t,
        other => panic!("expected TCP, got {other:?}"),
    }
}

#[test]
fn ethernet_ipv4_tcp() {
    let (s, d) = (v4(192, 168, 1, 10), v4(93, 184, 216, 34));
    // MSS 1460, NOP NOP SACK-permitted... padded to 4-byte multiple.
    let opts = [2, 4, 5, 0xb4, 1, 1, 4, 2, 1, 3, 3, 8];
    let seg = tcp(s, d, 51000, 443, 0x002, 7, &opts, b"");
    let frame = eth(&[], V4_ETH, &ipv4(s, d, 6, &seg));
    let r = decode(LinkType::Ethernet, &frame).unwrap();
    let ip = r.ip.unwrap();
    assert_eq!(ip.version, IpVersion::V4);
    assert_eq!((ip.src, ip.dst), (s, d));
    assert_eq!(ip.protocol, IpProtocol::Tcp);
    assert_eq!(ip.ttl, 64);
    assert_eq!(ip.offset, 14);
    assert_eq!(ip.header_len, 20);
    assert_eq!(ip.total_len, 20 + 32);
    assert_eq!(ip.checksum_ok, Some(true));
    assert!(ip.dont_fragment && ip.fragment.is_none());
    assert_eq!(r.ethertype, Some(EtherType::Ipv4));
    assert_eq!(r.vlan, None);
    assert!(r.encaps.is_empty());
    let t = tcp_info(&r);
    assert_eq!((t.src_port, t.dst_port, t.seq), (51000, 443, 7));
    assert_eq!(t.flags, Flags::SYN);
    assert_eq!(t.header_len, 32);
    assert_eq!(t.options.mss, Some(1460));
    assert_eq!(t.options.window_scale, Some(8));
    assert!(t.options.sack_permitted && !t.options.malformed);
    assert_eq!(r.ports(), Some((51000, 443)));
    assert_eq!(r.l4_offset, 34);
    assert!(r.payload.is_empty());
    assert!(!r.truncated);
    assert_eq!(r.verify_l4_checksum(), Some(true));
}

#[test]
fn ethernet_padding_is_cut_by_total_length() {
    let (s, d) = (v4(10, 0, 0, 1), v4(10, 0, 0, 2));
    let mut frame = eth(&[], V4_ETH, &ipv4(s, d, 17, &udp(s, d, 1234, 9999, b"hi")));
    assert_eq!(frame.len(), 14 + 20 + 8 + 2);
    frame.resize(60, 0);
    let r = decode(LinkType::Ethernet, &frame).unwrap();
    assert_eq!(r.payload, b"hi");
    assert_eq!(r.segment.len(), 10);
    assert!(!r.truncated);
    assert_eq!(r.verify_l4_checksum(), Some(true));
}

#[test]
fn bad_checksums_are_reported_not_rejected() {
    let (s, d) = (v4(10, 0, 0, 1), v4(10, 0, 0, 2));
    let mut frame = eth(&[], V4_ETH, &ipv4(s, d, 17, &udp(s, d, 1234, 9999, b"hi")));
    frame[14 + 10] ^= 0x55; // IP header checksum
    frame[14 + 20 + 6] ^= 0x55; // UDP checksum
    let r = decode(LinkType::Ethernet, &frame).unwrap();
    assert_eq!(r.ip.unwrap().checksum_ok, Some(false));
    assert_eq!(r.verify_l4_checksum(), Some(false));
    // A zero UDP checksum over IPv4 means "not computed".
    frame[14 + 20 + 6] = 0;
    frame[14 + 20 + 7] = 0;
    assert_eq!(
        decode(LinkType::Ethernet, &frame)
            .unwrap()
            .verify_l4_checksum(),
        None
    );
}

#[test]
fn qinq_outer_vlan_and_encaps() {
    let (s, d) = (v4(10, 0, 0, 1), v4(10, 0, 0, 2));
    let frame = eth(
        &[(0x88a8, 100), (0x8100, 0x2000 | 200)],
        V4_ETH,
        &ipv4(s, d, 17, &udp(s, d, 53, 5353, b"x")),
    );
    let r = decode(LinkType::Ethernet, &frame).unwrap();
    assert_eq!(r.vlan, Some(100));
    assert_eq!(
        r.encaps.as_slice(),
        &[Encap::Vlan { id: 100 }, Encap::Vlan { id: 200 }]
    );
    assert_eq!(r.ip.unwrap().offset, 22);
    assert_eq!(r.ports(), Some((53, 5353)));
}

#[test]
fn vlan_stack_is_capped() {
    let tags: Vec<(u16, u16)> = (0..9).map(|i| (0x8100, i)).collect();
    let frame = eth(&tags, V4_ETH, &[0x45; 40]);
    assert_eq!(
        decode(LinkType::Ethernet, &frame).unwrap_err(),
        DecodeError::TooDeep {
            layer: Layer::Vlan,
            max: 8
        }
    );
    let tags: Vec<(u16, u16)> = (0..8).map(|i| (0x8100, i)).collect();
    let frame = eth(&tags, 0x0806, &[0; 28]);
    assert!(decode(LinkType::Ethernet, &frame).unwrap().ip.is_none());
}

#[test]
fn mpls_stack_then_ipv6() {
    let (s, d) = (v6(1), v6(2));
    let mut labels = vec![0x00, 0x01, 0x00, 0x40]; // label 16, not bottom
    labels.extend_from_slice(&[0x00, 0x02, 0x01, 0x40]); // label 32, bottom
    labels.extend_from_slice(&ipv6(s, d, 17, &udp(s, d, 1, 2, b"abc")));
    let frame = eth(&[], 0x8847, &labels);
    let r = decode(LinkType::Ethernet, &frame).unwrap();
    assert_eq!(
        r.encaps.as_slice(),
        &[Encap::Mpls { label: 16 }, Encap::Mpls { label: 32 }]
    );
    let ip = r.ip.unwrap();
    assert_eq!(ip.version, IpVersion::V6);
    assert_eq!(ip.offset, 22);
    assert_eq!(r.payload, b"abc");
    assert_eq!(r.verify_l4_checksum(), Some(true));
    // A stack that never ends is capped.
    let endless: Vec<u8> = (0..17).flat_map(|_| [0, 1, 0, 64]).collect();
    assert_eq!(
        decode(LinkType::Ethernet, &eth(&[], 0x8847, &endless)).unwrap_err(),
        DecodeError::TooDeep {
            layer: Layer::Mpls,
            max: 16
        }
    );
    // Not IP after the stack: decoded as non-IP.
    let pw = eth(&[], 0x8847, &[0, 1, 1, 64, 0, 0, 0, 0]);
    assert!(decode(LinkType::Ethernet, &pw).unwrap().ip.is_none());
}

#[test]
fn non_ip_frames_decode_without_ip() {
    let arp = eth(&[(0x8100, 7)], 0x0806, &[0, 1, 8, 0, 6, 4, 0, 1]);
    let r = decode(LinkType::Ethernet, &arp).unwrap();
    assert_eq!(r.ethertype, Some(EtherType::Arp));
    assert_eq!(r.vlan, Some(7));
    assert!(r.ip.is_none());
    assert_eq!(r.l4, L4::None);
    assert_eq!(r.payload.len(), 8);
    assert_eq!(r.l4_offset, 18);
    assert_eq!(r.verify_l4_checksum(), None);
    let lldp = eth(&[], 0x88cc, &[2, 7, 4]);
    assert_eq!(
        decode(LinkType::Ethernet, &lldp).unwrap().ethertype,
        Some(EtherType::Lldp)
    );
}

#[test]
fn other_link_types() {
    let (s, d) = (v4(1, 1, 1, 1), v4(2, 2, 2, 2));
    let ip = ipv4(s, d, 17, &udp(s, d, 10, 20, b"z"));
    // Raw.
    let r = decode(LinkType::Raw, &ip).unwrap();
    assert_eq!((r.ip.unwrap().offset, r.ports()), (0, Some((10, 20))));
    assert_eq!(r.ethertype, None);
    // SLL v1.
    let mut sll = vec![0, 0, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0, 0x08, 0x00];
    sll.extend_from_slice(&ip);
    let r = decode(LinkType::LinuxSll, &sll).unwrap();
    assert_eq!(r.ip.unwrap().offset, 16);
    // SLL v2.
    let mut sll2 = vec![
        0x08, 0x00, 0, 0, 0, 0, 0, 3, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0,
    ];
    sll2.extend_from_slice(&ip);
    let r = decode(LinkType::LinuxSll2, &sll2).unwrap();
    assert_eq!(r.ip.unwrap().offset, 20);
    // Null, little-endian family 2; Loop, big-endian.
    let mut null = vec![2, 0, 0, 0];
    null.extend_from_slice(&ip);
    assert_eq!(decode(LinkType::Null, &null).unwrap().ip.unwrap().offset, 4);
    let mut lp = vec![0, 0, 0, 2];
    lp.extend_from_slice(&ip);
    assert_eq!(decode(LinkType::Loop, &lp).unwrap().ports(), Some((10, 20)));
    // Null with an unknown family is not IP.
    let unknown = [7, 0, 0, 0, 1, 2];
    assert!(decode(LinkType::Null, &unknown).unwrap().ip.is_none());
    // Raw with a bad version nibble.
    assert_eq!(
        decode(LinkType::Raw, &[0x55; 40]).unwrap_err(),
        DecodeError::BadVersion {
            layer: Layer::Ipv4,
            version: 5
        }
    );
    assert_eq!(
        decode(LinkType::Unknown(147), &ip).unwrap_err(),
        DecodeError::UnsupportedLinkType(147)
    );
    // EtherType says IPv4 but the header says 6.
    let v6 = ipv6(v6(1), v6(2), 59, &[]);
    assert_eq!(
        decode(LinkType::Ethernet, &eth(&[], V4_ETH, &v6)).unwrap_err(),
        DecodeError::BadVersion {
            layer: Layer::Ipv4,
            version: 6
        }
    );
}

#[test]
fn ipv4_fragments() {
    let (s, d) = (v4(10, 0, 0, 1), v4(10, 0, 0, 2));
    let first_opts = V4Opts {
        ident: 77,
        df: false,
        mf: true,
        frag_off: 0,
        ttl: 9,
    };
    let dgram = udp(s, d, 5000, 6000, &[0xab; 100]);
    let first = eth(&[], V4_ETH, &ipv4_with(first_opts, s, d, 17, &dgram[..48]));
    let r = decode(LinkType::Ethernet, &first).unwrap();
    let ip = r.ip.unwrap();
    assert_eq!(
        ip.fragment,
        Some(Fragment {
            ident: 77,
            offset: 0,
            more: true
        })
    );
    assert!(ip.is_fragmented());
    assert_eq!(r.ports(), Some((5000, 6000)));
    // The UDP length covers the whole datagram, more than this fragment holds.
    assert!(r.truncated);
    assert_eq!(r.verify_l4_checksum(), None);

    let later_opts = V4Opts {
        mf: false,
        frag_off: 48,
        ..first_opts
    };
    let later = eth(&[], V4_ETH, &ipv4_with(later_opts, s, d, 17, &dgram[48..]));
    let r = decode(LinkType::Ethernet, &later).unwrap();
    assert_eq!(r.l4, L4::Fragment);
    assert_eq!(
        r.ip.unwrap().fragment,
        Some(Fragment {
            ident: 77,
            offset: 48,
            more: false
        })
    );
    assert_eq!(r.payload, &dgram[48..]);
    assert_eq!(r.l4_offset, 34);
    assert_eq!(r.ports(), None);
    assert!(!r.truncated);
    // A later fragment too short to hold a UDP header is still not an error.
    let tiny = eth(&[], V4_ETH, &ipv4_with(later_opts, s, d, 17, &[1, 2]));
    assert_eq!(decode(LinkType::Ethernet, &tiny).unwrap().l4, L4::Fragment);
}

#[test]
fn ipv6_extension_headers_and_fragments() {
    let (s, d) = (v6(1), v6(2));
    let seg = tcp(s, d, 1, 2, 0x010, 0, &[], b"data");
    // hop-by-hop -> destination options -> TCP
    let mut pl = vec![60, 0, 1, 4, 0, 0, 0, 0, 6, 0, 1, 4, 0, 0, 0, 0];
    pl.extend_from_slice(&seg);
    let frame = eth(&[], V6_ETH, &ipv6(s, d, 0, &pl));
    let r = decode(LinkType::Ethernet, &frame).unwrap();
    let ip = r.ip.unwrap();
    assert_eq!(ip.protocol, IpProtocol::Tcp);
    assert_eq!(ip.header_len, 56);
    assert_eq!(ip.checksum_ok, None);
    assert_eq!(r.payload, b"data");
    assert_eq!(r.l4_offset, 14 + 56);
    assert_eq!(r.verify_l4_checksum(), Some(true));

    // Later fragment: offset 1232, M clear, id 0xabcd.
    let mut frag = vec![17, 0, 0x04, 0xd0, 0, 0, 0xab, 0xcd];
    frag.extend_from_slice(&[7; 30]);
    let frame = eth(&[], V6_ETH, &ipv6(s, d, 44, &frag));
    let r = decode(LinkType::Ethernet, &frame).unwrap();
    assert_eq!(r.l4, L4::Fragment);
    let ip = r.ip.unwrap();
    assert_eq!(ip.protocol, IpProtocol::Udp);
    assert_eq!(
        ip.fragment,
        Some(Fragment {
            ident: 0xabcd,
            offset: 1232,
            more: false
        })
    );
    assert_eq!(ip.ident, 0xabcd);
    assert_eq!(r.payload, &[7; 30]);

    // ESP stops the walk.
    let frame = eth(&[], V6_ETH, &ipv6(s, d, 50, &[0; 16]));
    let r = decode(LinkType::Ethernet, &frame).unwrap();
    assert_eq!((r.ip.unwrap().protocol, r.l4), (IpProtocol::Esp, L4::Other));
}

#[test]
fn icmp_echo_both_versions() {
    let (s, d) = (v4(10, 0, 0, 1), v4(10, 0, 0, 2));
    let frame = eth(
        &[],
        V4_ETH,
        &ipv4(s, d, 1, &echo_request(s, d, 0x42, 3, b"ping")),
    );
    let r = decode(LinkType::Ethernet, &frame).unwrap();
    let L4::Icmp(i) = r.l4 else { panic!() };
    assert_eq!(i.kind, IcmpKind::V4(icmp::Message::EchoRequest));
    assert_eq!((i.msg_type, i.code, i.echo), (8, 0, Some((0x42, 3))));
    assert_eq!(r.payload, b"ping");
    assert_eq!(r.verify_l4_checksum(), Some(true));

    let (s, d) = (v6(1), v6(2));
    let frame = eth(
        &[],
        V6_ETH,
        &ipv6(s, d, 58, &echo_request(s, d, 9, 1, b"p6")),
    );
    let r = decode(LinkType::Ethernet, &frame).unwrap();
    let L4::Icmp(i) = r.l4 else { panic!() };
    assert_eq!(i.kind, IcmpKind::V6(icmp::Message6::EchoRequest));
    assert_eq!(i.echo, Some((9, 1)));
    assert_eq!(r.verify_l4_checksum(), Some(true));
}

#[test]
fn snaplen_cut_is_flagged_not_rejected() {
    let frame = eth_v4_tcp(&[0x61; 200]);
    let r = decode(LinkType::Ethernet, &frame[..96]).unwrap();
    assert!(r.truncated && r.ip.unwrap().truncated);
    assert_eq!(r.payload.len(), 96 - 54);
    assert_eq!(r.verify_l4_checksum(), None);
    // Cut inside the TCP header: a typed error.
    assert_eq!(
        decode(LinkType::Ethernet, &frame[..40]).unwrap_err(),
        DecodeError::Truncated {
            layer: Layer::Tcp,
            needed: 20,
            got: 6
        }
    );
}

fn sample_frames() -> Vec<(LinkType, Vec<u8>)> {
    let (s, d) = (v4(10, 0, 0, 1), v4(10, 0, 0, 2));
    let (s6, d6) = (v6(1), v6(2));
    let (inner, _, _) = inner_v4_udp();
    let mut vx = vec![0x08, 0, 0, 0, 0, 0, 1, 0];
    vx.extend_from_slice(&eth(&[], V4_ETH, &inner));
    let mut g = vec![0xb0, 0x00, 0x08, 0x00, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 2];
    g.extend_from_slice(&inner);
    let mut ext = vec![6, 0, 1, 4, 0, 0, 0, 0];
    ext.extend_from_slice(&tcp(
        s6,
        d6,
        1,
        2,
        0x18,
        5,
        &[1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2],
        b"x",
    ));
    vec![
        (LinkType::Ethernet, eth_v4_tcp(b"GET / HTTP/1.1\r\n\r\n")),
        (
            LinkType::Ethernet,
            eth(&[(0x8100, 3)], V6_ETH, &ipv6(s6, d6, 0, &ext)),
        ),
        (
            LinkType::Ethernet,
            eth(&[], V4_ETH, &ipv4(s, d, 17, &udp(s, d, 1, 4789, &vx))),
        ),
        (LinkType::Raw, ipv4(s, d, 47, &g)),
        (
            LinkType::Raw,
            ipv4(s, d, 1, &echo_request(s, d, 1, 2, b"abcd")),
        ),
        (LinkType::LinuxSll, {
            let mut f = vec![0, 0, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0, 0x86, 0xdd];
            f.extend_from_slice(&ipv6(s6, d6, 58, &echo_request(s6, d6, 1, 1, b"")));
            f
        }),
    ]
}

#[test]
fn every_truncated_prefix_is_an_error_or_flagged() {
    for (link, frame) in sample_frames() {
        assert!(!decode(link, &frame).unwrap().truncated);
        for n in 0..frame.len() {
            match decode(link, &frame[..n]) {
                Err(_) => {}
                Ok(r) => assert!(
                    r.truncated,
                    "{link:?} prefix {n}/{} decoded as complete: {r:?}",
                    frame.len()
                ),
            }
        }
    }
}

#[test]
fn random_and_mutated_frames_never_panic() {
    let links = [
        LinkType::Ethernet,
        LinkType::Raw,
        LinkType::LinuxSll,
        LinkType::LinuxSll2,
        LinkType::Null,
        LinkType::Loop,
    ];
    let samples = sample_frames();
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    for i in 0..30_000 {
        let link = links[i % links.len()];
        let bytes = if i.is_multiple_of(2) {
            rng.bytes(128)
        } else {
            let (_, base) = &samples[(rng.next_u64() as usize) % samples.len()];
            rng.mutate(base)
        };
        if let Ok(r) = decode(link, &bytes) {
            let _ = r.verify_l4_checksum();
            assert!(r.payload.len() <= bytes.len());
        }
    }
}

#[test]
fn decoded_stays_small() {
    // Copied per packet: keep it within a few cache lines (344 bytes on x86_64 today).
    let size = std::mem::size_of::<Decoded<'_>>();
    assert!(size <= 384, "{size}");
}

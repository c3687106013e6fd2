//! Tunnels: GRE (with ERSPAN and PPTP), VXLAN, Geneve, GTP-U, Teredo, AYIYA, CAPWAP, IP in
//! IP, the fallbacks and the depth cap.

use super::*;
use crate::testutil::*;

const V4_ETH: u16 = 0x0800;

fn assert_inner(r: &Decoded<'_>, s: IpAddr, d: IpAddr) {
    let ip = r.ip.unwrap();
    assert_eq!((ip.src, ip.dst), (s, d));
    assert_eq!(r.ports(), Some((1111, 2222)));
    assert_eq!(r.payload, b"inner");
    assert_eq!(r.inner_error, None);
    let outer = r.outer_ip.unwrap();
    assert_eq!(outer.src, v4(192, 0, 2, 1));
    assert_eq!(r.verify_l4_checksum(), Some(true));
}

#[test]
fn gre_carrying_ipv4_and_ethernet() {
    let (o1, o2) = (v4(192, 0, 2, 1), v4(192, 0, 2, 2));
    let (inner, s, d) = inner_v4_udp();
    // GRE with a key, carrying IPv4.
    let mut g = vec![0x20, 0x00, 0x08, 0x00, 0, 0, 0, 99];
    g.extend_from_slice(&inner);
    let frame = eth(&[], V4_ETH, &ipv4(o1, o2, 47, &g));
    let r = decode(LinkType::Ethernet, &frame).unwrap();
    assert_inner(&r, s, d);
    assert_eq!(r.encaps.as_slice(), &[Encap::Gre { key: Some(99) }]);
    assert_eq!(r.ip.unwrap().offset, 14 + 20 + 8);

    // GRE transparent Ethernet bridging, with a VLAN inside.
    let mut g = vec![0x00, 0x00, 0x65, 0x58];
    g.extend_from_slice(&eth(&[(0x8100, 30)], V4_ETH, &inner));
    let frame = eth(&[], V4_ETH, &ipv4(o1, o2, 47, &g));
    let r = decode(LinkType::Ethernet, &frame).unwrap();
    assert_inner(&r, s, d);
    assert_eq!(r.vlan, Some(30));
    assert_eq!(
        r.encaps.as_slice(),
        &[Encap::Gre { key: None }, Encap::Vlan { id: 30 }]
    );
}

#[test]
fn erspan_types() {
    let (o1, o2) = (v4(192, 0, 2, 1), v4(192, 0, 2, 2));
    let (inner, s, d) = inner_v4_udp();
    let mirrored = eth(&[], V4_ETH, &inner);
    // Type I: no sequence bit, no ERSPAN header.
    let mut g = vec![0x00, 0x00, 0x88, 0xbe];
    g.extend_from_slice(&mirrored);
    let frame = eth(&[], V4_ETH, &ipv4(o1, o2, 47, &g));
    let r = decode(LinkType::Ethernet, &frame).unwrap();
    assert_inner(&r, s, d);
    assert_eq!(
        r.encaps.as_slice()[1],
        Encap::Erspan {
            kind: 1,
            session: 0
        }
    );
    // Type II: sequence bit and an 8-byte header, session 5.
    let mut g = vec![
        0x10, 0x00, 0x88, 0xbe, 0, 0, 0, 1, 0x10, 0, 0, 5, 0, 0, 0, 0,
    ];
    g.extend_from_slice(&mirrored);
    let frame = eth(&[], V4_ETH, &ipv4(o1, o2, 47, &g));
    let r = decode(LinkType::Ethernet, &frame).unwrap();
    assert_inner(&r, s, d);
    assert_eq!(
        r.encaps.as_slice()[1],
        Encap::Erspan {
            kind: 2,
            session: 5
        }
    );
    // Type III: 12-byte header, session 6.
    let mut g = vec![
        0x10, 0x00, 0x22, 0xeb, 0, 0, 0, 1, 0x20, 0, 0, 6, 0, 0, 0, 0, 0, 0, 0, 0,
    ];
    g.extend_from_slice(&mirrored);
    let frame = eth(&[], V4_ETH, &ipv4(o1, o2, 47, &g));
    let r = decode(LinkType::Ethernet, &frame).unwrap();
    assert_inner(&r, s, d);
    assert_eq!(
        r.encaps.as_slice()[1],
        Encap::Erspan {
            kind: 3,
            session: 6
        }
    );
}

#[test]
fn gre_in_udp_and_teredo_with_a_relay() {
    let (o1, o2) = (v4(192, 0, 2, 1), v4(192, 0, 2, 2));
    let (inner, s, d) = inner_v4_udp();
    // GRE-in-UDP (RFC 8086): port 4754, a GRE header, the packet.
    let mut g = vec![0x00, 0x00, 0x08, 0x00];
    g.extend_from_slice(&inner);
    let frame = eth(
        &[],
        V4_ETH,
        &ipv4(o1, o2, 17, &udp(o1, o2, 50000, 4754, &g)),
    );
    let r = decode(LinkType::Ethernet, &frame).unwrap();
    assert_inner(&r, s, d);
    assert_eq!(r.encaps.as_slice(), &[Encap::Gre { key: None }]);

    // Teredo between a client (2001:0::/32) and a relay, on neither's Teredo port.
    let client: std::net::IpAddr = "2001:0:4137:9e50:8000:f12a:b9c8:2815".parse().unwrap();
    let server = v6(0x68);
    let six = ipv6(client, server, 17, &udp(client, server, 1286, 53, b"inner"));
    let frame = eth(
        &[],
        V4_ETH,
        &ipv4(o1, o2, 17, &udp(o1, o2, 3797, 32900, &six)),
    );
    let r = decode(LinkType::Ethernet, &frame).unwrap();
    assert_eq!(r.encaps.as_slice(), &[Encap::Teredo]);
    assert_eq!((r.ip.unwrap().src, r.ip.unwrap().dst), (client, server));
    // The same without a Teredo address is plain UDP: no other protocol is taken for it.
    let other = v6(7);
    let six = ipv6(other, server, 17, &udp(other, server, 1286, 53, b"inner"));
    let frame = eth(
        &[],
        V4_ETH,
        &ipv4(o1, o2, 17, &udp(o1, o2, 3797, 32900, &six)),
    );
    let r = decode(LinkType::Ethernet, &frame).unwrap();
    assert!(r.encaps.is_empty());
    assert_eq!(r.ip.unwrap().src, o1);
}

#[test]
fn vxlan_and_geneve() {
    let (o1, o2) = (v4(192, 0, 2, 1), v4(192, 0, 2, 2));
    let (inner, s, d) = inner_v4_udp();
    let mut vx = vec![0x08, 0, 0, 0, 0, 0x10, 0x00, 0];
    vx.extend_from_slice(&eth(&[], V4_ETH, &inner));
    let frame = eth(
        &[],
        V4_ETH,
        &ipv4(o1, o2, 17, &udp(o1, o2, 40000, 4789, &vx)),
    );
    let r = decode(LinkType::Ethernet, &frame).unwrap();
    assert_inner(&r, s, d);
    assert_eq!(r.encaps.as_slice(), &[Encap::Vxlan { vni: 0x1000 }]);
    assert_eq!(r.encaps.tunnels(), 1);

    // Geneve carrying IPv4 directly, with one 4-byte option.
    let mut gn = vec![0x01, 0x00, 0x08, 0x00, 0, 0, 7, 0, 1, 2, 3, 0];
    gn.extend_from_slice(&inner);
    let frame = eth(
        &[],
        V4_ETH,
        &ipv4(o1, o2, 17, &udp(o1, o2, 40000, 6081, &gn)),
    );
    let r = decode(LinkType::Ethernet, &frame).unwrap();
    assert_inner(&r, s, d);
    assert_eq!(r.encaps.as_slice(), &[Encap::Geneve { vni: 7 }]);
}

#[test]
fn tunnel_fallbacks() {
    let (o1, o2) = (v4(192, 0, 2, 1), v4(192, 0, 2, 2));
    // Port 4789 carrying something that is not VXLAN: the UDP packet itself, with why.
    let frame = eth(
        &[],
        V4_ETH,
        &ipv4(o1, o2, 17, &udp(o1, o2, 4789, 4789, b"nope")),
    );
    let r = decode(LinkType::Ethernet, &frame).unwrap();
    assert_eq!(r.ports(), Some((4789, 4789)));
    assert_eq!(r.payload, b"nope");
    assert_eq!(
        r.inner_error,
        Some(DecodeError::Truncated {
            layer: Layer::Vxlan,
            needed: 8,
            got: 4
        })
    );
    assert!(r.encaps.is_empty() && r.outer_ip.is_none());

    // VXLAN carrying ARP: the UDP packet, no error.
    let mut vx = vec![0x08, 0, 0, 0, 0, 0, 1, 0];
    vx.extend_from_slice(&eth(&[(0x8100, 5)], 0x0806, &[0; 28]));
    let frame = eth(&[], V4_ETH, &ipv4(o1, o2, 17, &udp(o1, o2, 1, 4789, &vx)));
    let r = decode(LinkType::Ethernet, &frame).unwrap();
    assert_eq!(r.ports(), Some((1, 4789)));
    assert_eq!((r.inner_error, r.vlan), (None, None));
    assert!(r.encaps.is_empty());

    // GRE with a broken inner IPv4 header: the GRE packet, with why.
    let mut g = vec![0x00, 0x00, 0x08, 0x00, 0x45, 0, 0, 10];
    g.extend_from_slice(&[0; 16]);
    let frame = eth(&[], V4_ETH, &ipv4(o1, o2, 47, &g));
    let r = decode(LinkType::Ethernet, &frame).unwrap();
    assert_eq!((r.ip.unwrap().protocol, r.l4), (IpProtocol::Gre, L4::Other));
    assert_eq!(
        r.inner_error,
        Some(DecodeError::BadLength {
            layer: Layer::Ipv4,
            len: 10
        })
    );

    // A tunnel inside a fragment is not unwrapped.
    let (inner, _, _) = inner_v4_udp();
    let frag = V4Opts {
        mf: true,
        ..V4Opts::default()
    };
    let frame = eth(&[], V4_ETH, &ipv4_with(frag, o1, o2, 4, &inner));
    let r = decode(LinkType::Ethernet, &frame).unwrap();
    assert_eq!((r.l4, r.inner_error), (L4::Other, None));
    assert!(r.encaps.is_empty());
}

#[test]
fn ip_in_ip_depth_is_capped() {
    let (s, d) = (v6(1), v6(2));
    let mut pkt = ipv6(s, d, 17, &udp(s, d, 7, 8, b"deep"));
    // Wrap in IPv4 (41 = IPv6 inside), then four more IPv4-in-IPv4 layers.
    let (o1, o2) = (v4(192, 0, 2, 1), v4(192, 0, 2, 2));
    pkt = ipv4(o1, o2, 41, &pkt);
    for _ in 0..3 {
        pkt = ipv4(o1, o2, 4, &pkt);
    }
    let r = decode(LinkType::Raw, &pkt).unwrap();
    assert_eq!(r.encaps.depth(), 4);
    assert_eq!(r.ip.unwrap().src, s);
    assert_eq!(r.payload, b"deep");
    assert_eq!(r.inner_error, None);

    let deeper = ipv4(o1, o2, 4, &pkt);
    let r = decode(LinkType::Raw, &deeper).unwrap();
    assert_eq!(r.encaps.depth(), 4);
    assert_eq!(r.ip.unwrap().protocol, IpProtocol::Ipv6);
    assert_eq!(
        r.inner_error,
        Some(DecodeError::TooDeep {
            layer: Layer::Tunnel,
            max: MAX_TUNNELS
        })
    );
}

/// Ethernet, IPv4 192.0.2.1 -> 192.0.2.2 and UDP `sport` -> `dport` around `payload`.
fn over_udp(sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let (o1, o2) = (v4(192, 0, 2, 1), v4(192, 0, 2, 2));
    eth(
        &[],
        V4_ETH,
        &ipv4(o1, o2, 17, &udp(o1, o2, sport, dport, payload)),
    )
}

/// Where the UDP payload of [`over_udp`] starts.
const UDP_PAYLOAD: usize = 14 + 20 + 8;

fn cat(head: &[u8], tail: &[u8]) -> Vec<u8> {
    let mut v = head.to_vec();
    v.extend_from_slice(tail);
    v
}

/// The frame decoded as the outer UDP packet: no tunnel, and `why` (if any).
fn assert_outer_udp(f: &[u8], ports: (u16, u16), why: Option<DecodeError>) {
    let r = decode(LinkType::Ethernet, f).unwrap();
    assert_eq!(r.ports(), Some(ports));
    assert_eq!(r.ip.unwrap().src, v4(192, 0, 2, 1));
    assert!(r.encaps.is_empty() && r.outer_ip.is_none(), "{r:?}");
    assert_eq!(r.inner_error, why);
}

/// Every proper prefix is a typed error or a decode flagged truncated.
fn assert_prefixes(f: &[u8]) {
    for n in 0..f.len() {
        if let Ok(r) = decode(LinkType::Ethernet, &f[..n]) {
            assert!(
                r.truncated,
                "prefix {n}/{} decoded as complete: {r:?}",
                f.len()
            );
        }
    }
}

/// A G-PDU header (`flags` 0x30 plus E/S/PN bits) with `extra` (optional fields and
/// extension headers), TEID 0x1234, around `packet`.
fn gtp(flags: u8, extra: &[u8], packet: &[u8]) -> Vec<u8> {
    let mut g = vec![flags, 0xff];
    g.extend_from_slice(&((extra.len() + packet.len()) as u16).to_be_bytes());
    g.extend_from_slice(&[0, 0, 0x12, 0x34]);
    g.extend_from_slice(extra);
    g.extend_from_slice(packet);
    g
}

fn gtp_frames() -> Vec<Vec<u8>> {
    let (inner, _, _) = inner_v4_udp();
    vec![
        over_udp(2152, 2152, &gtp(0x30, &[], &inner)),
        // Sequence number and a PDCP PDU number extension header, as in Zeek's
        // gtp_ext_header.pcap (and from a port other than 2152, as in gtp2).
        over_udp(5906, 2152, &gtp(0x36, &[0, 5, 0, 0xc0, 1, 9, 4, 0], &inner)),
    ]
}

#[test]
fn gtp_u() {
    let frames = gtp_frames();
    for (f, header) in frames.iter().zip([8, 16]) {
        let r = decode(LinkType::Ethernet, f).unwrap();
        let (_, s, d) = inner_v4_udp();
        assert_inner(&r, s, d);
        assert_eq!(r.ip.unwrap().offset, UDP_PAYLOAD + header);
        assert_eq!(r.encaps.as_slice(), &[Encap::Gtp { teid: 0x1234 }]);
        assert_eq!(r.encaps.tunnels(), 1);
        assert_prefixes(f);
    }
    // IPv6 inside (as in nDPI's ipv6_in_gtp.pcap).
    let (s6, d6) = (v6(1), v6(2));
    let six = ipv6(s6, d6, 17, &udp(s6, d6, 53, 53, b"six"));
    let f = over_udp(2152, 2152, &gtp(0x30, &[], &six));
    let r = decode(LinkType::Ethernet, &f).unwrap();
    assert_eq!((r.ip.unwrap().src, r.payload), (s6, &b"six"[..]));

    // Not a user packet: an echo request; a G-PDU whose payload is not IP.
    let echo = [0x32, 0x01, 0x00, 0x04, 0, 0, 0, 0, 0xfe, 0x69, 0, 0];
    assert_outer_udp(&over_udp(2152, 2152, &echo), (2152, 2152), None);
    let f = over_udp(2152, 2152, &gtp(0x30, &[], b"\x00ppp"));
    assert_outer_udp(&f, (2152, 2152), None);
    // Something else from port 2152 (Zeek's gtp3_false_gtp.pcap: DNS): the UDP packet.
    let dns = [0x6b, 0xcb, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
    assert_outer_udp(
        &over_udp(2152, 53, &dns),
        (2152, 53),
        Some(DecodeError::BadVersion {
            layer: Layer::Gtp,
            version: 3,
        }),
    );
}

#[test]
fn teredo() {
    let (s6, d6) = (v6(1), v6(2));
    let six = ipv6(s6, d6, 17, &udp(s6, d6, 7, 8, b"teredo"));
    // Bare, and after authentication and origin indicators (Zeek's Teredo.pcap).
    let auth = [
        0x00, 0x01, 0x00, 0x00, 0xcd, 0x56, 0x69, 0x40, 0x0b, 0x22, 0xdf, 0x88, 0x00,
    ];
    let origin = [0x00, 0x00, 0xf1, 0x2a, 0xb9, 0xc8, 0x28, 0x15];
    for (head, sport, dport) in [
        (vec![], 40000, 3544),
        (cat(&auth, &origin), 3544, 3797),
        (origin.to_vec(), 3544, 3797),
    ] {
        let f = over_udp(sport, dport, &cat(&head, &six));
        let r = decode(LinkType::Ethernet, &f).unwrap();
        let ip = r.ip.unwrap();
        assert_eq!(
            (ip.src, ip.dst, ip.offset),
            (s6, d6, UDP_PAYLOAD + head.len())
        );
        assert_eq!((r.ports(), r.payload), (Some((7, 8)), &b"teredo"[..]));
        assert_eq!(r.encaps.as_slice(), &[Encap::Teredo]);
        assert_eq!(r.outer_ip.unwrap().src, v4(192, 0, 2, 1));
        assert_eq!(r.verify_l4_checksum(), Some(true));
        assert_prefixes(&f);
    }
    // A bubble, with trailing bytes too (Zeek's teredo_bubble_with_payload.pcap).
    let bubble = ipv6(s6, d6, 59, &[]);
    for tail in [&b""[..], b"extra"] {
        let f = over_udp(3544, 1, &cat(&bubble, tail));
        let r = decode(LinkType::Ethernet, &f).unwrap();
        assert_eq!(r.ip.unwrap().protocol, IpProtocol::Ipv6NoNext);
        assert_eq!(r.encaps.as_slice(), &[Encap::Teredo]);
    }
    // A payload length that does not match the datagram, and something that is not IPv6
    // at all: the UDP packet, with why.
    assert_outer_udp(
        &over_udp(3544, 1, &cat(&six, b"x")),
        (3544, 1),
        Some(DecodeError::BadLength {
            layer: Layer::Teredo,
            len: six.len(),
        }),
    );
    assert_outer_udp(
        &over_udp(
            1,
            3544,
            b"\x45not teredo, but long enough for an IPv6 header",
        ),
        (1, 3544),
        Some(DecodeError::BadVersion {
            layer: Layer::Teredo,
            version: 4,
        }),
    );
    // A capture cut inside the inner packet: decoded, flagged truncated.
    let f = over_udp(3544, 1, &six);
    let r = decode(LinkType::Ethernet, &f[..f.len() - 3]).unwrap();
    assert_eq!(
        (r.encaps.as_slice(), r.truncated),
        (&[Encap::Teredo][..], true)
    );
    assert_eq!(r.payload, b"ter");
}

/// An AYIYA header: 16-byte identity, 20-byte signature, `opcode`, `next` header.
fn ayiya(opcode: u8, next: u8, packet: &[u8]) -> Vec<u8> {
    let mut a = vec![0x42, 0x52, 0x10 | opcode, next, 0x4a, 0xf6, 0x4b, 0xfd];
    a.extend_from_slice(&[0x20; 16]);
    a.extend_from_slice(&[0xaa; 20]);
    a.extend_from_slice(packet);
    a
}

#[test]
fn ayiya_forwarded_packets() {
    let (inner, s, d) = inner_v4_udp();
    let f = over_udp(53859, 5072, &ayiya(1, 4, &inner));
    let r = decode(LinkType::Ethernet, &f).unwrap();
    assert_inner(&r, s, d);
    assert_eq!(r.ip.unwrap().offset, UDP_PAYLOAD + 44);
    assert_eq!(r.encaps.as_slice(), &[Encap::Ayiya]);
    assert_prefixes(&f);
    let (s6, d6) = (v6(1), v6(2));
    let six = ipv6(s6, d6, 17, &udp(s6, d6, 7, 8, b"6"));
    let f = over_udp(5072, 1, &ayiya(1, 41, &six));
    let r = decode(LinkType::Ethernet, &f).unwrap();
    assert_eq!(r.ip.unwrap().src, s6);
    // A heartbeat (opcode 0, no next header) and an unknown next header: the UDP packet.
    assert_outer_udp(&over_udp(1, 5072, &ayiya(0, 59, &[])), (1, 5072), None);
    assert_outer_udp(&over_udp(1, 5072, &ayiya(1, 17, &inner)), (1, 5072), None);
    // An identity longer than the datagram (as in Zeek's ayiya-large-identity.pcap, but
    // larger): the UDP packet, with why.
    let mut big = ayiya(1, 41, &six);
    big[0] = 0xf1;
    assert_outer_udp(
        &over_udp(1, 5072, &big),
        (1, 5072),
        Some(DecodeError::Truncated {
            layer: Layer::Ayiya,
            needed: 8 + 32768 + 20,
            got: big.len(),
        }),
    );
}

/// A CAPWAP data header of 8 bytes, or 16 with wireless information, and `flags`: the
/// 24 bits after the preamble (HLEN is filled in).
fn capwap(bits: u32, packet: &[u8]) -> Vec<u8> {
    let wireless = bits & (1 << 5) != 0;
    let hlen: u32 = if wireless { 4 } else { 2 };
    let bits = (hlen << 19) | bits;
    let mut c = vec![0x00];
    c.extend_from_slice(&bits.to_be_bytes()[1..]);
    c.extend_from_slice(&[0, 0, 0, 0]);
    if wireless {
        c.extend_from_slice(&[0x01, 0x04, 0xed, 0x4d, 0, 0, 0, 0]);
    }
    c.extend_from_slice(packet);
    c
}

/// T, WBID 1 (802.11) and W, as nDPI's capwap.pcap has them.
const CAPWAP_80211: u32 = (1 << 9) | (1 << 8) | (1 << 5);

/// An 802.11 data frame to the AP with frame control bytes `fc`, through SNAP to IPv4.
fn wlan_ipv4(fc: [u8; 2], packet: &[u8]) -> Vec<u8> {
    let mut w = vec![fc[0], fc[1], 0x2c, 0x00];
    w.extend_from_slice(&[
        2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 3, 0x10, 0,
    ]);
    w.extend_from_slice(&[0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00]);
    w.extend_from_slice(packet);
    w
}

#[test]
fn capwap_data() {
    let (inner, s, d) = inner_v4_udp();
    // 802.11 with the frame control bytes swapped (Cisco, as in nDPI's captures) and as
    // sent.
    for fc in [[0x01, 0x08], [0x08, 0x01], [0x11, 0x08]] {
        let f = over_udp(12380, 5247, &capwap(CAPWAP_80211, &wlan_ipv4(fc, &inner)));
        let r = decode(LinkType::Ethernet, &f).unwrap_or_else(|e| panic!("{fc:02x?}: {e}"));
        assert_inner(&r, s, d);
        assert_eq!(r.ip.unwrap().offset, UDP_PAYLOAD + 16 + 24 + 8);
        assert_eq!(r.encaps.as_slice(), &[Encap::Capwap, Encap::Ieee80211]);
        assert_eq!(r.encaps.tunnels(), 1);
        assert_prefixes(&f);
    }
    // An 802.3 frame (T clear).
    let f = over_udp(5247, 12380, &capwap(0, &eth(&[], V4_ETH, &inner)));
    let r = decode(LinkType::Ethernet, &f).unwrap();
    assert_inner(&r, s, d);
    assert_eq!(r.ip.unwrap().offset, UDP_PAYLOAD + 8 + 14);
    assert_eq!(r.encaps.as_slice(), &[Encap::Capwap]);
    assert_prefixes(&f);

    // Not decoded: a keep-alive, another binding, a management frame (a probe request,
    // swapped), and with why: a fragment, DTLS.
    assert_outer_udp(
        &over_udp(1, 5247, &capwap(1 << 3, &[0; 8])),
        (1, 5247),
        None,
    );
    let other = capwap((3 << 9) | (1 << 8), &wlan_ipv4([0x01, 0x08], &inner));
    assert_outer_udp(&over_udp(1, 5247, &other), (1, 5247), None);
    let probe = capwap(CAPWAP_80211, &wlan_ipv4([0x00, 0x40], &[]));
    assert_outer_udp(&over_udp(1, 5247, &probe), (1, 5247), None);
    let frag = capwap(1 << 7, &eth(&[], V4_ETH, &inner));
    assert_outer_udp(
        &over_udp(1, 5247, &frag),
        (1, 5247),
        Some(DecodeError::Unsupported {
            layer: Layer::Capwap,
            what: "fragment",
        }),
    );
    let dtls = [0x01, 0, 0, 0, 0x17, 0xfe, 0xfd, 0, 1];
    assert_outer_udp(
        &over_udp(1, 5247, &dtls),
        (1, 5247),
        Some(DecodeError::Unsupported {
            layer: Layer::Capwap,
            what: "DTLS-encrypted packet",
        }),
    );
}

/// An enhanced GRE (version 1) header with key, sequence and acknowledgment, then `ppp`.
fn pptp(ppp: &[u8]) -> Vec<u8> {
    let mut g = vec![0x30, 0x81, 0x88, 0x0b];
    g.extend_from_slice(&(ppp.len() as u16).to_be_bytes());
    g.extend_from_slice(&[0x17, 0x80, 0, 6, 0x8f, 0xb1, 0, 8, 0x3a, 0x76]);
    g.extend_from_slice(ppp);
    g
}

#[test]
fn pptp_carries_ppp() {
    let (o1, o2) = (v4(192, 0, 2, 1), v4(192, 0, 2, 2));
    let (inner, s, d) = inner_v4_udp();
    // With address and control (Zeek's gre-pptp.pcap), and with both compressions.
    for ppp in [vec![0xff, 0x03, 0x00, 0x21], vec![0x21]] {
        let f = eth(&[], V4_ETH, &ipv4(o1, o2, 47, &pptp(&cat(&ppp, &inner))));
        let r = decode(LinkType::Ethernet, &f).unwrap();
        assert_inner(&r, s, d);
        assert_eq!(r.ip.unwrap().offset, 14 + 20 + 16 + ppp.len());
        assert_eq!(
            r.encaps.as_slice(),
            &[Encap::Gre {
                key: Some(((ppp.len() + inner.len()) as u32) << 16 | 0x1780)
            }]
        );
        assert_prefixes(&f);
    }
    // An acknowledgment alone, and LCP: the GRE packet, no error.
    for g in [pptp(&[]), pptp(&[0xff, 0x03, 0xc0, 0x21, 9, 1, 0, 8])] {
        let f = eth(&[], V4_ETH, &ipv4(o1, o2, 47, &g));
        let r = decode(LinkType::Ethernet, &f).unwrap();
        assert_eq!((r.ip.unwrap().protocol, r.l4), (IpProtocol::Gre, L4::Other));
        assert_eq!((r.inner_error, r.encaps.depth()), (None, 0));
    }
}

#[test]
fn udp_tunnels_nest_within_the_depth_cap() {
    let (s6, d6) = (v6(1), v6(2));
    // Teredo in GTP (Zeek's gtp8_teredo.pcap): two tunnels.
    let (i1, i2) = (v4(10, 0, 0, 1), v4(10, 0, 0, 2));
    let six = ipv6(s6, d6, 17, &udp(s6, d6, 7, 8, b"deep"));
    let teredo_pkt = ipv4(i1, i2, 17, &udp(i1, i2, 3544, 50000, &six));
    let f = over_udp(2152, 2152, &gtp(0x30, &[], &teredo_pkt));
    let r = decode(LinkType::Ethernet, &f).unwrap();
    assert_eq!(
        r.encaps.as_slice(),
        &[Encap::Gtp { teid: 0x1234 }, Encap::Teredo]
    );
    assert_eq!((r.ip.unwrap().src, r.payload), (s6, &b"deep"[..]));
    assert_eq!(r.outer_ip.unwrap().src, v4(192, 0, 2, 1));

    // GTP in GTP, MAX_TUNNELS deep and one more.
    let (inner, s, _) = inner_v4_udp();
    let mut pkt = inner;
    for _ in 0..MAX_TUNNELS - 1 {
        pkt = ipv4(i1, i2, 17, &udp(i1, i2, 2152, 2152, &gtp(0x30, &[], &pkt)));
    }
    let f = over_udp(2152, 2152, &gtp(0x30, &[], &pkt));
    let r = decode(LinkType::Ethernet, &f).unwrap();
    assert_eq!((r.encaps.depth(), r.ip.unwrap().src), (MAX_TUNNELS, s));
    assert_eq!(r.inner_error, None);
    let pkt = ipv4(i1, i2, 17, &udp(i1, i2, 2152, 2152, &gtp(0x30, &[], &pkt)));
    let f = over_udp(2152, 2152, &gtp(0x30, &[], &pkt));
    let r = decode(LinkType::Ethernet, &f).unwrap();
    assert_eq!(r.encaps.depth(), MAX_TUNNELS);
    assert_eq!(r.ports(), Some((2152, 2152)));
    assert_eq!(
        r.inner_error,
        Some(DecodeError::TooDeep {
            layer: Layer::Tunnel,
            max: MAX_TUNNELS
        })
    );
}

#[test]
fn random_and_mutated_tunnel_frames_never_panic() {
    let (inner, _, _) = inner_v4_udp();
    let (s6, d6) = (v6(1), v6(2));
    let six = ipv6(s6, d6, 17, &udp(s6, d6, 7, 8, b"6"));
    let mut samples = gtp_frames();
    samples.push(over_udp(3544, 1, &six));
    samples.push(over_udp(1, 5072, &ayiya(1, 41, &six)));
    samples.push(over_udp(
        1,
        5247,
        &capwap(CAPWAP_80211, &wlan_ipv4([0x01, 0x08], &inner)),
    ));
    samples.push(over_udp(1, 5247, &capwap(0, &eth(&[], V4_ETH, &inner))));
    let (o1, o2) = (v4(192, 0, 2, 1), v4(192, 0, 2, 2));
    samples.push(eth(
        &[],
        V4_ETH,
        &ipv4(o1, o2, 47, &pptp(&cat(&[0x21], &inner))),
    ));
    let mut rng = XorShift(0x7e4e_d0c0_ffee_0001);
    for _ in 0..30_000 {
        let base = &samples[(rng.next_u64() as usize) % samples.len()];
        let bytes = rng.mutate(base);
        if let Ok(r) = decode(LinkType::Ethernet, &bytes) {
            let _ = r.verify_l4_checksum();
            assert!(r.payload.len() <= bytes.len());
            assert!(r.l4_offset <= bytes.len());
        }
    }
}

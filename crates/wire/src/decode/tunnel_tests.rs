//! Tunnels: GRE (with ERSPAN), VXLAN, Geneve, IP in IP, the fallbacks and the depth cap.

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

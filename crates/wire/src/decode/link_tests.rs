//! Link layers that reach IP through PPP (LINKTYPE_PPP, _PPP_HDLC, _PPP_WITH_DIR, PPPoE
//! sessions), Cisco HDLC, and Linux NFLOG.

use super::*;
use crate::testutil::*;

/// The tunnel tests' IPv4/UDP packet at `ip_offset`.
fn assert_inner_v4(r: &Decoded<'_>, ip_offset: usize) {
    let (_, s, d) = inner_v4_udp();
    let ip = r.ip.unwrap();
    assert_eq!((ip.src, ip.dst, ip.offset), (s, d, ip_offset));
    assert_eq!(r.ports(), Some((1111, 2222)));
    assert_eq!(r.payload, b"inner");
    assert_eq!(r.verify_l4_checksum(), Some(true));
    assert!(!r.truncated);
    assert_eq!(r.inner_error, None);
}

/// An IPv6/UDP packet.
fn inner_v6_udp() -> Vec<u8> {
    let (s, d) = (v6(1), v6(2));
    ipv6(s, d, 17, &udp(s, d, 3333, 4444, b"six"))
}

fn assert_inner_v6(r: &Decoded<'_>, ip_offset: usize) {
    let ip = r.ip.unwrap();
    assert_eq!((ip.src, ip.dst, ip.offset), (v6(1), v6(2), ip_offset));
    assert_eq!(r.ports(), Some((3333, 4444)));
    assert_eq!(r.payload, b"six");
    assert!(!r.truncated);
}

fn cat(head: &[u8], tail: &[u8]) -> Vec<u8> {
    let mut v = head.to_vec();
    v.extend_from_slice(tail);
    v
}

/// Every proper prefix of `frame` is a typed error or a decode flagged truncated.
fn assert_prefixes(link: LinkType, frame: &[u8]) {
    for n in 0..frame.len() {
        if let Ok(r) = decode(link, &frame[..n]) {
            assert!(
                r.truncated,
                "{link:?} prefix {n}/{} decoded as complete: {r:?}",
                frame.len()
            );
        }
    }
}

/// Frames of the PPP link types that carry IP, with where the IP header starts.
fn ppp_frames() -> Vec<(LinkType, Vec<u8>, usize)> {
    let (inner, _, _) = inner_v4_udp();
    let six = inner_v6_udp();
    vec![
        // Address, control, protocol.
        (LinkType::Ppp, cat(&[0xff, 0x03, 0x00, 0x21], &inner), 4),
        // Address and control compressed away.
        (LinkType::Ppp, cat(&[0x00, 0x57], &six), 2),
        // And the protocol compressed to one byte.
        (LinkType::Ppp, cat(&[0x21], &inner), 1),
        (
            LinkType::PppWithDir,
            cat(&[0x01, 0xff, 0x03, 0x00, 0x21], &inner),
            5,
        ),
        (LinkType::PppWithDir, cat(&[0x00, 0x57], &six), 2),
        (LinkType::PppHdlc, cat(&[0xff, 0x03, 0x00, 0x57], &six), 4),
        // Cisco framing in LINKTYPE_PPP_HDLC, and LINKTYPE_C_HDLC.
        (LinkType::PppHdlc, cat(&[0x0f, 0x00, 0x08, 0x00], &inner), 4),
        (LinkType::CiscoHdlc, cat(&[0x8f, 0x00, 0x86, 0xdd], &six), 4),
    ]
}

#[test]
fn ppp_link_types() {
    for (link, f, off) in ppp_frames() {
        let r = decode(link, &f).unwrap_or_else(|e| panic!("{link:?} {f:02x?}: {e}"));
        assert_eq!(r.link, link);
        if r.ip.unwrap().version == IpVersion::V4 {
            assert_inner_v4(&r, off);
        } else {
            assert_inner_v6(&r, off);
        }
        assert!(r.encaps.is_empty() && r.outer_ip.is_none());
        let cisco = matches!(f[0], 0x0f | 0x8f);
        assert_eq!(r.ethertype.is_some(), cisco, "{link:?}");
        assert_prefixes(link, &f);
    }
}

#[test]
fn ppp_frames_that_are_not_ip_and_mpls() {
    let (inner, _, _) = inner_v4_udp();
    // LCP, IPCP, an unknown protocol, Cisco SLARP: not IP, what follows is the segment.
    for (link, f, off) in [
        (LinkType::Ppp, vec![0xff, 0x03, 0xc0, 0x21, 1, 1, 0, 4], 4),
        (LinkType::Ppp, vec![0x80, 0x21, 1, 1, 0, 4], 2),
        (LinkType::PppHdlc, vec![0xff, 0x5f, 0x7e, 0x08, 0x00], 1),
        (LinkType::CiscoHdlc, vec![0x8f, 0x00, 0x80, 0x35, 0, 0], 4),
    ] {
        let r = decode(link, &f).unwrap();
        assert_eq!((r.ip, r.l4, r.l4_offset), (None, L4::None, off), "{f:02x?}");
        assert_eq!(r.segment, &f[off..]);
    }
    // MPLS over PPP (as in tcpdump's mpls-traceroute.pcap): label 0x18960, bottom of stack.
    let f = cat(&[0xff, 0x03, 0x02, 0x81, 0x18, 0x96, 0x01, 0x01], &inner);
    let r = decode(LinkType::Ppp, &f).unwrap();
    assert_inner_v4(&r, 8);
    assert_eq!(r.encaps.as_slice(), &[Encap::Mpls { label: 0x18960 }]);
    // (Its prefixes are not checked: a label stack with nothing after it is not IP, as on
    // Ethernet.)
    // Empty and cut headers are typed errors.
    // (The PPP header's own numbers: after the direction byte of LINKTYPE_PPP_WITH_DIR.)
    for (link, f, needed, got) in [
        (LinkType::Ppp, vec![], 1, 0),
        (LinkType::Ppp, vec![0xff], 2, 1),
        (LinkType::Ppp, vec![0x00], 2, 1),
        (LinkType::PppWithDir, vec![], 1, 0),
        (LinkType::PppWithDir, vec![0x01, 0xff, 0x03], 3, 2),
    ] {
        assert_eq!(
            decode(link, &f).unwrap_err(),
            DecodeError::Truncated {
                layer: Layer::Ppp,
                needed,
                got
            },
            "{link:?} {f:02x?}"
        );
    }
    assert_eq!(
        decode(LinkType::CiscoHdlc, &[0x0f, 0x00, 0x08]).unwrap_err(),
        DecodeError::Truncated {
            layer: Layer::Chdlc,
            needed: 4,
            got: 3
        }
    );
}

/// PPPoE session `session` carrying `ppp` (a PPP frame), after a QinQ stack as in Zeek's
/// pppoe-over-qinq.pcap.
fn pppoe(session: u16, ppp: &[u8]) -> Vec<u8> {
    let mut h = vec![0x11, 0x00];
    h.extend_from_slice(&session.to_be_bytes());
    h.extend_from_slice(&(ppp.len() as u16).to_be_bytes());
    h.extend_from_slice(ppp);
    eth(&[(0x8100, 3704), (0x8100, 2474)], 0x8864, &h)
}

#[test]
fn pppoe_sessions() {
    let (inner, _, _) = inner_v4_udp();
    let f = pppoe(0x0f07, &cat(&[0x00, 0x21], &inner));
    let r = decode(LinkType::Ethernet, &f).unwrap();
    assert_inner_v4(&r, 14 + 8 + 6 + 2);
    assert_eq!(
        r.encaps.as_slice(),
        &[
            Encap::Vlan { id: 3704 },
            Encap::Vlan { id: 2474 },
            Encap::Pppoe { session: 0x0f07 }
        ]
    );
    assert_eq!(r.encaps.tunnels(), 0);
    assert_eq!(
        (r.vlan, r.ethertype),
        (Some(3704), Some(EtherType::PppoeSession))
    );
    assert_prefixes(LinkType::Ethernet, &f);

    // IPv6 with a compressed protocol, and Ethernet padding after a short packet.
    let six = inner_v6_udp();
    let f = pppoe(1, &cat(&[0x57], &six));
    assert_inner_v6(&decode(LinkType::Ethernet, &f).unwrap(), 14 + 8 + 6 + 1);
    assert_prefixes(LinkType::Ethernet, &f);
    let mut padded = pppoe(1, &cat(&[0x00, 0x21], &inner));
    padded.extend_from_slice(&[0; 10]);
    assert_inner_v4(&decode(LinkType::Ethernet, &padded).unwrap(), 30);

    // LCP in a session, and discovery: not IP.
    let f = pppoe(7, &[0xc0, 0x21, 9, 1, 0, 8, 0, 0, 0, 0]);
    let r = decode(LinkType::Ethernet, &f).unwrap();
    assert_eq!((r.ip, r.l4_offset), (None, 30));
    assert_eq!(r.encaps.as_slice()[2], Encap::Pppoe { session: 7 });
    let f = eth(&[], 0x8863, &[0x11, 0x09, 0, 0, 0, 0]);
    let r = decode(LinkType::Ethernet, &f).unwrap();
    assert_eq!((r.ip, r.ethertype), (None, Some(EtherType::PppoeDiscovery)));
    assert!(r.encaps.is_empty());

    // A bad version/type byte, and a session header with no PPP frame.
    let mut bad = pppoe(1, &cat(&[0x00, 0x21], &inner));
    bad[22] = 0x12;
    assert_eq!(
        decode(LinkType::Ethernet, &bad).unwrap_err(),
        DecodeError::BadVersion {
            layer: Layer::Pppoe,
            version: 0x12
        }
    );
    assert_eq!(
        decode(LinkType::Ethernet, &pppoe(1, &[])).unwrap_err(),
        DecodeError::Truncated {
            layer: Layer::Ppp,
            needed: 1,
            got: 0
        }
    );
}

/// An NFLOG record: header for `family`, a prefix and an outdev TLV, the payload TLV.
fn nflog(family: u8, packet: &[u8]) -> Vec<u8> {
    let mut b = vec![family, 0, 0, 42];
    b.extend_from_slice(&[8, 0, 1, 0, 0x08, 0x00, 3, 0]);
    b.extend_from_slice(&[5, 0, 10, 0, b'x', 0, 0, 0]);
    b.extend_from_slice(&[8, 0, 5, 0, 0, 0, 0, 2]);
    b.extend_from_slice(&((4 + packet.len()) as u16).to_le_bytes());
    b.extend_from_slice(&[9, 0]);
    b.extend_from_slice(packet);
    b
}

#[test]
fn nflog_records() {
    let (inner, _, _) = inner_v4_udp();
    let f = nflog(nflog::AF_INET, &inner);
    let r = decode(LinkType::Nflog, &f).unwrap();
    assert_inner_v4(&r, 32);
    assert_eq!(r.ethertype, None);
    assert_prefixes(LinkType::Nflog, &f);
    let f = nflog(nflog::AF_INET6, &inner_v6_udp());
    assert_inner_v6(&decode(LinkType::Nflog, &f).unwrap(), 32);
    assert_prefixes(LinkType::Nflog, &f);

    // A TLV after the payload is not part of the packet: when the payload holds only
    // part of it (a copy range), the packet is flagged truncated.
    let uid = [8, 0, 11, 0, 0, 0, 3, 0xe8];
    let f = cat(&nflog(nflog::AF_INET, &inner), &uid);
    let r = decode(LinkType::Nflog, &f).unwrap();
    assert_inner_v4(&r, 32);
    assert_eq!(r.segment.len(), 8 + 5);
    let f = cat(&nflog(nflog::AF_INET, &inner[..inner.len() - 2]), &uid);
    let r = decode(LinkType::Nflog, &f).unwrap();
    assert!(r.truncated);
    assert_eq!(r.payload, b"inn");

    // Another family: not IP, the payload is the segment.
    let f = nflog(7, b"data");
    let r = decode(LinkType::Nflog, &f).unwrap();
    assert_eq!((r.ip, r.l4_offset, r.segment), (None, 32, &b"data"[..]));

    // Zeek's nflog-bad-tlv-len.pcap, a length below 4, and a record without a payload.
    let zeek = [2, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0];
    assert_eq!(
        decode(LinkType::Nflog, &zeek).unwrap_err(),
        DecodeError::Truncated {
            layer: Layer::Nflog,
            needed: 260,
            got: 12
        }
    );
    let mut bad = nflog(2, &inner);
    bad[12] = 2;
    assert_eq!(
        decode(LinkType::Nflog, &bad).unwrap_err(),
        DecodeError::BadLength {
            layer: Layer::Nflog,
            len: 2
        }
    );
    assert!(matches!(
        decode(LinkType::Nflog, &nflog(2, &inner)[..28]),
        Err(DecodeError::Truncated {
            layer: Layer::Nflog,
            ..
        })
    ));
}

#[test]
fn random_and_mutated_frames_never_panic() {
    let links = [
        LinkType::Ppp,
        LinkType::PppHdlc,
        LinkType::PppWithDir,
        LinkType::CiscoHdlc,
        LinkType::Nflog,
        LinkType::Ethernet,
    ];
    let (inner, _, _) = inner_v4_udp();
    let mut samples: Vec<Vec<u8>> = ppp_frames().into_iter().map(|(_, f, _)| f).collect();
    samples.push(pppoe(1, &cat(&[0x00, 0x21], &inner)));
    samples.push(nflog(2, &inner));
    samples.push(nflog(10, &inner_v6_udp()));
    let mut rng = XorShift(0x5eed_0000_0bbb_0001);
    for i in 0..30_000 {
        let link = links[i % links.len()];
        let bytes = if i.is_multiple_of(4) {
            rng.bytes(96)
        } else {
            let base = &samples[(rng.next_u64() as usize) % samples.len()];
            rng.mutate(base)
        };
        if let Ok(r) = decode(link, &bytes) {
            let _ = r.verify_l4_checksum();
            assert!(r.payload.len() <= bytes.len());
            assert!(r.l4_offset <= bytes.len());
        }
    }
}

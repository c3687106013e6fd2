//! The innermost address pair of a frame, found fast: what spreads flows over threads.
//!
//! `flowsight read --threads N` must send every packet of a flow, both directions and every
//! fragment, to the same engine, so it keys each frame by its innermost addresses and IP
//! protocol, exactly as [`decode`] finds them. Each thread asks that of every frame in the
//! capture, so the full walk is too dear: the common frame (Ethernet or raw IP, then IPv4
//! or IPv6 without extension headers, then TCP, UDP or ICMP, not a tunnel) is read in place,
//! and everything else goes through [`decode`].

use super::{Tunnel, decode};
use crate::ip::IpProtocol;
use crate::link::LinkType;
use crate::teredo;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The innermost IP packet's addresses and protocol, as `(source, destination, protocol)`:
/// those of [`decode`]'s [`Decoded::ip`](super::Decoded::ip) whenever it decodes the frame.
/// `None` for frames without IP and frames [`decode`] rejects (a malformed frame whose
/// common headers are whole may still be given a pair: it belongs to no flow either way).
pub fn innermost_pair(link: LinkType, frame: &[u8]) -> Option<(IpAddr, IpAddr, IpProtocol)> {
    if let Some(pair) = plain(link, frame) {
        return Some(pair);
    }
    let ip = decode(link, frame).ok()?.ip?;
    Some((ip.src, ip.dst, ip.protocol))
}

/// The pair of a frame that cannot hold a tunnel, or `None` when the full walk is needed.
#[inline]
fn plain(link: LinkType, frame: &[u8]) -> Option<(IpAddr, IpAddr, IpProtocol)> {
    // The IP header, and the version the link layer announced (`None`: the header's own).
    let (ip, announced) = match link {
        LinkType::Ethernet => match u16::from_be_bytes([*frame.get(12)?, *frame.get(13)?]) {
            0x0800 => (frame.get(14..)?, Some(4)),
            0x86dd => (frame.get(14..)?, Some(6)),
            _ => return None,
        },
        LinkType::Raw => (frame, None),
        _ => return None,
    };
    let version = ip.first()? >> 4;
    if announced.is_some_and(|v| v != version) {
        return None;
    }
    let (src, dst, protocol, upper, fragmented) = match version {
        4 => {
            let ihl = usize::from(ip[0] & 0x0f) * 4;
            if ihl < 20 || ip.len() < ihl {
                return None;
            }
            let flags_offset = u16::from_be_bytes([ip[6], ip[7]]);
            let src: [u8; 4] = ip[12..16].try_into().ok()?;
            let dst: [u8; 4] = ip[16..20].try_into().ok()?;
            (
                IpAddr::V4(Ipv4Addr::from(src)),
                IpAddr::V4(Ipv4Addr::from(dst)),
                ip[9],
                &ip[ihl..],
                flags_offset & 0x3fff != 0,
            )
        }
        6 => {
            if ip.len() < 40 {
                return None;
            }
            let src: [u8; 16] = ip[8..24].try_into().ok()?;
            let dst: [u8; 16] = ip[24..40].try_into().ok()?;
            (
                IpAddr::V6(Ipv6Addr::from(src)),
                IpAddr::V6(Ipv6Addr::from(dst)),
                ip[6],
                &ip[40..],
                false,
            )
        }
        _ => return None,
    };
    let protocol = IpProtocol::from(protocol);
    match protocol {
        IpProtocol::Tcp | IpProtocol::Icmp | IpProtocol::Icmpv6 => {}
        // A fragment is never unwrapped; a whole datagram to a tunnel port may be.
        IpProtocol::Udp if fragmented => {}
        IpProtocol::Udp => {
            let ports = upper.get(..4)?;
            let (s, d) = (
                u16::from_be_bytes([ports[0], ports[1]]),
                u16::from_be_bytes([ports[2], ports[3]]),
            );
            // A tunnel port, or maybe Teredo on another port: decode decides.
            if Tunnel::by_udp_ports(s, d).is_some()
                || upper.get(8..).is_some_and(teredo::may_be_relayed)
            {
                return None;
            }
        }
        // IP in IP, GRE, IPv6 extension headers, ...
        _ => return None,
    }
    Some((src, dst, protocol))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::*;

    /// Frames of every shape the fast path takes or declines.
    fn frames() -> Vec<(LinkType, Vec<u8>)> {
        let (a, b) = (v4(10, 0, 0, 1), v4(10, 0, 0, 2));
        let (a6, b6) = (v6(1), v6(2));
        let (inner, _, _) = inner_v4_udp();
        let udp_v4 = ipv4(a, b, 17, &udp(a, b, 5353, 53, b"question"));
        let frag = ipv4_with(
            V4Opts {
                mf: true,
                df: false,
                ..V4Opts::default()
            },
            a,
            b,
            17,
            &udp(a, b, 4789, 4789, &[0u8; 40]),
        );
        vec![
            (LinkType::Ethernet, eth_v4_tcp(b"GET / HTTP/1.1\r\n\r\n")),
            (LinkType::Ethernet, eth(&[], 0x0800, &udp_v4)),
            (LinkType::Raw, udp_v4.clone()),
            (LinkType::Ethernet, eth(&[(0x8100, 7)], 0x0800, &udp_v4)),
            (
                LinkType::Ethernet,
                eth(&[], 0x0800, &ipv4(a, b, 1, &echo_request(a, b, 1, 2, b"x"))),
            ),
            (
                LinkType::Ethernet,
                eth(
                    &[],
                    0x86dd,
                    &ipv6(a6, b6, 6, &tcp(a6, b6, 1, 443, 0x002, 9, &[], b"")),
                ),
            ),
            (
                LinkType::Raw,
                ipv6(a6, b6, 17, &udp(a6, b6, 1000, 53, b"q")),
            ),
            (
                LinkType::Ethernet,
                eth(
                    &[],
                    0x86dd,
                    &ipv6(a6, b6, 0, &{
                        // Hop-by-hop options (a PadN), then UDP.
                        let mut v = vec![17, 0, 1, 4, 0, 0, 0, 0];
                        v.extend(udp(a6, b6, 546, 547, b"solicit"));
                        v
                    }),
                ),
            ),
            // VXLAN: the pair is the inner packet's.
            (
                LinkType::Ethernet,
                eth(
                    &[],
                    0x0800,
                    &ipv4(
                        a,
                        b,
                        17,
                        &udp(a, b, 50000, 4789, &{
                            let mut v = vec![0x08, 0, 0, 0, 0, 0, 1, 0];
                            v.extend(eth(&[], 0x0800, &inner));
                            v
                        }),
                    ),
                ),
            ),
            // IP in IP.
            (LinkType::Ethernet, eth(&[], 0x0800, &ipv4(a, b, 4, &inner))),
            (LinkType::Ethernet, frag),
            // GRE-in-UDP, and Teredo with a relay on other ports than Teredo's.
            (
                LinkType::Ethernet,
                eth(
                    &[],
                    0x0800,
                    &ipv4(
                        a,
                        b,
                        17,
                        &udp(a, b, 50000, 4754, &{
                            let mut v = vec![0, 0, 0x08, 0];
                            v.extend_from_slice(&inner);
                            v
                        }),
                    ),
                ),
            ),
            (LinkType::Ethernet, {
                let client: IpAddr = "2001:0:4137:9e50:8000:f12a:b9c8:2815".parse().unwrap();
                let six = ipv6(
                    client,
                    b6,
                    6,
                    &tcp(client, b6, 1286, 80, 0x002, 9, &[], b""),
                );
                eth(&[], 0x0800, &ipv4(a, b, 17, &udp(a, b, 3797, 32900, &six)))
            }),
            (LinkType::Ethernet, eth(&[], 0x0806, &[0u8; 28])),
        ]
    }

    fn by_decode(link: LinkType, f: &[u8]) -> Option<Option<(IpAddr, IpAddr, IpProtocol)>> {
        let d = decode(link, f).ok()?;
        Some(d.ip.map(|ip| (ip.src, ip.dst, ip.protocol)))
    }

    #[test]
    fn agrees_with_decode_on_every_shape() {
        for (link, f) in frames() {
            assert_eq!(
                Some(innermost_pair(link, &f)),
                by_decode(link, &f),
                "{link:?} {f:02x?}"
            );
        }
    }

    #[test]
    fn takes_the_inner_pair_of_tunnels() {
        let all = frames();
        let (_, s, d) = inner_v4_udp();
        let (link, vxlan) = &all[8];
        assert_eq!(innermost_pair(*link, vxlan), Some((s, d, IpProtocol::Udp)));
        assert!(plain(*link, vxlan).is_none());
    }

    /// Mutated and cut frames: wherever decode finds a pair, the same one; never a panic.
    #[test]
    fn agrees_with_decode_on_mutated_frames() {
        let mut rng = XorShift(0x5eed_1234_abcd_0001);
        let mut compared = 0;
        for (link, f) in frames() {
            for _ in 0..5000 {
                let m = rng.mutate(&f);
                let fast = innermost_pair(link, &m);
                if let Some(slow) = by_decode(link, &m) {
                    assert_eq!(fast, slow, "{link:?} {m:02x?}");
                    compared += 1;
                }
            }
        }
        assert!(compared > 10_000, "only {compared} mutated frames decoded");
    }
}

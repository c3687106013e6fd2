//! The innermost address pair of a frame, found fast: what spreads flows over threads.
//!
//! `flowsight read --threads N` must send every packet of a flow, both directions and every
//! fragment, to the same engine, so it keys each frame by its innermost addresses and IP
//! protocol, exactly as [`decode`] finds them. The reading thread asks that of every frame
//! in the capture before the engine decodes it again, so the full walk is too dear: the
//! common frame (Ethernet or raw IP, then IPv4 or IPv6 without extension headers, then TCP,
//! UDP or ICMP, not a tunnel) is read in place, and everything else goes through
//! [`decode`]. The same read says whether the frame is an IPv4 fragment, and of which
//! datagram.

use super::{Tunnel, decode};
use crate::ip::{IpProtocol, IpVersion};
use crate::link::LinkType;
use crate::{icmp, ipv4, ipv6, tcp, teredo, udp};
use std::net::IpAddr;

/// An address pair and protocol, `(source, destination, protocol)`.
pub type Pair = (IpAddr, IpAddr, IpProtocol);

/// What [`frame_pair`] finds in a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FramePair {
    /// The innermost IP packet's addresses and protocol.
    pub pair: Pair,
    /// The datagram the frame's outermost IP header is a fragment of, when it is an IPv4
    /// fragment.
    pub fragment: Option<FragmentOf>,
}

/// One IPv4 fragment's datagram and place in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FragmentOf {
    /// The datagram: addresses, protocol and identification, as reassembly keys it.
    pub datagram: (IpAddr, IpAddr, u8, u32),
    /// The first fragment (offset 0): it holds the upper-layer headers.
    pub first: bool,
    /// The last fragment (no more-fragments flag).
    pub last: bool,
    /// Where its IPv4 header starts in the frame.
    pub ip_offset: usize,
}

/// The innermost IP packet's addresses and protocol (those of [`decode`]'s
/// [`Decoded::ip`](super::Decoded::ip) whenever it decodes the frame), and the IPv4 datagram
/// the frame is a fragment of, if it is one; `None` for frames without IP and frames
/// [`decode`] rejects. A tunnel carried in fragments shows its inner flow only in the first
/// fragment, so a caller that spreads flows over threads routes the later fragments where
/// [`first_fragment_pair`] sent the first.
pub fn frame_pair(link: LinkType, frame: &[u8]) -> Option<FramePair> {
    plain(link, frame).or_else(|| by_decode(link, frame))
}

/// [`frame_pair`]'s pair alone.
pub fn innermost_pair(link: LinkType, frame: &[u8]) -> Option<Pair> {
    frame_pair(link, frame).map(|p| p.pair)
}

/// [`frame_pair`] through the full walk.
fn by_decode(link: LinkType, frame: &[u8]) -> Option<FramePair> {
    let d = decode(link, frame).ok()?;
    let ip = d.ip?;
    // A fragment is never unwrapped: a fragmented innermost header with no outer one is the
    // outermost.
    let fragment = match (ip.fragment, d.outer_ip, ip.version) {
        (Some(f), None, IpVersion::V4) => Some(FragmentOf {
            datagram: (ip.src, ip.dst, u8::from(ip.protocol), f.ident),
            first: f.offset == 0,
            last: !f.more,
            ip_offset: ip.offset,
        }),
        _ => None,
    };
    Some(FramePair {
        pair: (ip.src, ip.dst, ip.protocol),
        fragment,
    })
}

/// For the first fragment of an IPv4 datagram (see [`frame_pair`]): the innermost pair
/// [`decode`] finds in the headers it carries, read as if the datagram ended there. For a
/// tunnel (GTP-U, GRE, VXLAN ... over a small MTU) that is the inner flow's pair, where the
/// unfragmented packets of that flow go; otherwise the fragment's own pair.
pub fn first_fragment_pair(link: LinkType, frame: &[u8], fragment: &FragmentOf) -> Option<Pair> {
    let mut whole = frame.to_vec();
    let ip = whole.get_mut(fragment.ip_offset..)?;
    if ip.len() < 20 {
        return None;
    }
    // No more fragments, and a length no longer than what is here: decode then unwraps.
    ip[6] &= !0x20;
    let here = u16::try_from(ip.len()).unwrap_or(u16::MAX);
    let total = u16::from_be_bytes([ip[2], ip[3]]).min(here);
    ip[2..4].copy_from_slice(&total.to_be_bytes());
    let ip = decode(link, &whole).ok()?.ip?;
    Some((ip.src, ip.dst, ip.protocol))
}

/// The pair of a frame that cannot hold a tunnel, or `None` when the full walk is needed.
/// Given only when [`decode`] would decode the frame too: the headers are checked by the
/// same views decode uses (a frame decode rejects keeps going where decode sends it, so
/// the threads of `read --threads` split the anomalies as before).
#[inline]
fn plain(link: LinkType, frame: &[u8]) -> Option<FramePair> {
    // Where the IP header starts, and the version the link layer announced (`None`: the
    // header's own).
    let (at, announced) = match link {
        LinkType::Ethernet => match u16::from_be_bytes([*frame.get(12)?, *frame.get(13)?]) {
            0x0800 => (14, Some(4)),
            0x86dd => (14, Some(6)),
            _ => return None,
        },
        LinkType::Raw => (0, None),
        _ => return None,
    };
    let ip = frame.get(at..)?;
    let version = ip.first()? >> 4;
    if announced.is_some_and(|v| v != version) {
        return None;
    }
    let (src, dst, protocol, upper, fragment) = match version {
        4 => {
            let p = ipv4::Packet::new_checked(ip).ok()?;
            let (src, dst) = (IpAddr::V4(p.src_addr()), IpAddr::V4(p.dst_addr()));
            let fragment = p.is_fragment().then(|| FragmentOf {
                datagram: (src, dst, u8::from(p.protocol()), u32::from(p.ident())),
                first: p.frag_offset() == 0,
                last: !p.more_frags(),
                ip_offset: at,
            });
            (src, dst, p.protocol(), p.payload(), fragment)
        }
        6 => {
            let p = ipv6::Packet::new_checked(ip).ok()?;
            (
                IpAddr::V6(p.src_addr()),
                IpAddr::V6(p.dst_addr()),
                p.next_header(),
                p.payload(),
                None,
            )
        }
        _ => return None,
    };
    let later_fragment = fragment.is_some_and(|f| !f.first);
    match protocol {
        // A later fragment has no transport header to check.
        IpProtocol::Tcp | IpProtocol::Icmp | IpProtocol::Icmpv6 | IpProtocol::Udp
            if later_fragment => {}
        IpProtocol::Tcp => {
            tcp::Packet::new_checked(upper).ok()?;
        }
        IpProtocol::Icmp => {
            icmp::Packet::new_checked(upper, IpVersion::V4).ok()?;
        }
        IpProtocol::Icmpv6 => {
            icmp::Packet::new_checked(upper, IpVersion::V6).ok()?;
        }
        IpProtocol::Udp => {
            let p = udp::Packet::new_checked(upper).ok()?;
            // A tunnel port, or maybe Teredo on another port: decode decides. (A fragment
            // is never unwrapped.)
            if fragment.is_none()
                && (Tunnel::by_udp_ports(p.src_port(), p.dst_port()).is_some()
                    || teredo::may_be_relayed(p.payload()))
            {
                return None;
            }
        }
        // IP in IP, GRE, IPv6 extension headers, ...
        _ => return None,
    }
    Some(FramePair {
        pair: (src, dst, protocol),
        fragment,
    })
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

    fn decoded_pair(link: LinkType, f: &[u8]) -> Option<Option<Pair>> {
        let d = decode(link, f).ok()?;
        Some(d.ip.map(|ip| (ip.src, ip.dst, ip.protocol)))
    }

    #[test]
    fn agrees_with_decode_on_every_shape() {
        for (link, f) in frames() {
            assert_eq!(
                Some(innermost_pair(link, &f)),
                decoded_pair(link, &f),
                "{link:?} {f:02x?}"
            );
        }
    }

    #[test]
    fn a_tunnels_first_fragment_names_the_inner_flow_and_the_rest_the_datagram() {
        let (a, b) = (v4(192, 0, 2, 1), v4(192, 0, 2, 2));
        let (inner, s, d) = inner_v4_udp();
        let mut g = vec![0x30, 0xff, 0, 0, 0, 0, 0, 1]; // GTP-U, G-PDU, TEID 1
        g[2..4].copy_from_slice(&(inner.len() as u16).to_be_bytes());
        g.extend_from_slice(&inner);
        let datagram = udp(a, b, 2152, 2152, &g);
        // First fragment: the UDP header, GTP and the inner IP and UDP headers.
        let first = eth(
            &[],
            0x0800,
            &ipv4_with(
                V4Opts {
                    mf: true,
                    df: false,
                    ..V4Opts::default()
                },
                a,
                b,
                17,
                &datagram[..48],
            ),
        );
        let rest = eth(
            &[],
            0x0800,
            &ipv4_with(
                V4Opts {
                    mf: false,
                    df: false,
                    frag_off: 48,
                    ..V4Opts::default()
                },
                a,
                b,
                17,
                &datagram[48..],
            ),
        );
        let f = frame_pair(LinkType::Ethernet, &first)
            .unwrap()
            .fragment
            .unwrap();
        let r = frame_pair(LinkType::Ethernet, &rest)
            .unwrap()
            .fragment
            .unwrap();
        assert_eq!(f.ip_offset, 14);
        assert!(f.first && !f.last && !r.first && r.last);
        assert_eq!(f.datagram, r.datagram);
        // Both fragments alone are keyed by the outer pair; the first names the inner one.
        assert_eq!(
            innermost_pair(LinkType::Ethernet, &first),
            Some((a, b, IpProtocol::Udp))
        );
        assert_eq!(
            first_fragment_pair(LinkType::Ethernet, &first, &f),
            Some((s, d, IpProtocol::Udp))
        );
        // Whole datagrams are no fragments.
        let whole = eth(&[], 0x0800, &ipv4(a, b, 17, &datagram));
        assert_eq!(
            frame_pair(LinkType::Ethernet, &whole).unwrap().fragment,
            None
        );
        // Behind a VLAN tag (the full walk), the fragment is found where its header is.
        let tagged = eth(&[(0x8100, 7)], 0x0800, &first[14..]);
        let t = frame_pair(LinkType::Ethernet, &tagged)
            .unwrap()
            .fragment
            .unwrap();
        assert_eq!((t.datagram, t.first, t.ip_offset), (f.datagram, true, 18));
        assert_eq!(
            first_fragment_pair(LinkType::Ethernet, &tagged, &t),
            Some((s, d, IpProtocol::Udp))
        );
        assert_eq!(
            innermost_pair(LinkType::Ethernet, &whole),
            Some((s, d, IpProtocol::Udp))
        );
    }

    #[test]
    fn takes_the_inner_pair_of_tunnels() {
        let all = frames();
        let (_, s, d) = inner_v4_udp();
        let (link, vxlan) = &all[8];
        assert_eq!(innermost_pair(*link, vxlan), Some((s, d, IpProtocol::Udp)));
        assert!(plain(*link, vxlan).is_none());
    }

    /// Mutated and cut frames: wherever decode finds a pair, the same one, and none where
    /// decode fails; where the fast path answers, the full walk's fragment too; never a
    /// panic.
    #[test]
    fn agrees_with_decode_on_mutated_frames() {
        let mut rng = XorShift(0x5eed_1234_abcd_0001);
        let mut compared = 0;
        for (link, f) in frames() {
            for _ in 0..5000 {
                let m = rng.mutate(&f);
                if let Some(fast) = plain(link, &m) {
                    assert_eq!(Some(fast), by_decode(link, &m), "{link:?} {m:02x?}");
                    if let Some(f) = &fast.fragment {
                        let _ = first_fragment_pair(link, &m, f);
                    }
                }
                let fast = innermost_pair(link, &m);
                match decoded_pair(link, &m) {
                    Some(slow) => {
                        assert_eq!(fast, slow, "{link:?} {m:02x?}");
                        compared += 1;
                    }
                    // A frame decode rejects has no pair, so it goes where it always went.
                    None => assert_eq!(fast, None, "{link:?} {m:02x?}"),
                }
            }
        }
        assert!(compared > 10_000, "only {compared} mutated frames decoded");
    }
}

//! The innermost address pair of a frame, found fast: what spreads flows over threads.
//!
//! `flowsight read --threads N` must send every packet of a flow, both directions and every
//! fragment, to the same engine, so it keys each frame by its innermost addresses and IP
//! protocol, exactly as [`decode`] finds them. The reading thread asks that of every frame
//! in the capture before the engine decodes it again, so the full walk is too dear: the
//! common frame (Ethernet, after up to `vlan::MAX_TAGS` VLAN tags, or raw IP; then IPv4 or
//! IPv6 without extension headers, then TCP, UDP or ICMP, not a tunnel) is read in place, and
//! everything else goes through [`decode`]. The same read says whether the frame is an IP
//! fragment (IPv6 fragments, behind their extension header, through the full walk), and of
//! which datagram; [`whole_packet_bits`] answers with numbers alone, for the frames that are
//! none.

use super::{Tunnel, decode};
use crate::ethernet::EtherType;
use crate::ip::{IpProtocol, IpVersion};
use crate::link::LinkType;
use crate::{icmp, ipv4, ipv6, tcp, teredo, udp, vlan};
use std::net::IpAddr;

/// An address pair and protocol, `(source, destination, protocol)`.
pub type Pair = (IpAddr, IpAddr, IpProtocol);

/// What [`frame_pair`] finds in a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FramePair {
    /// The innermost IP packet's addresses and protocol.
    pub pair: Pair,
    /// The datagram the frame's outermost IP header is a fragment of, when it is a fragment
    /// (IPv4, or IPv6 with a fragment header).
    pub fragment: Option<FragmentOf>,
}

/// One IP fragment's datagram and place in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FragmentOf {
    /// The datagram: addresses, protocol and identification, as reassembly keys it.
    pub datagram: (IpAddr, IpAddr, u8, u32),
    /// The first fragment (offset 0): it holds the upper-layer headers.
    pub first: bool,
    /// The last fragment (no more-fragments flag).
    pub last: bool,
    /// Where its IP header starts in the frame.
    pub ip_offset: usize,
}

/// The innermost IP packet's addresses and protocol (those of [`decode`]'s
/// [`Decoded::ip`](super::Decoded::ip) whenever it decodes the frame), and the IP datagram
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
    let fragment = match (ip.fragment, d.outer_ip) {
        (Some(f), None) => Some(FragmentOf {
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

/// For the first fragment of a datagram (see [`frame_pair`]): the innermost pair [`decode`]
/// finds in the headers it carries, read as if the datagram ended there. For a tunnel
/// (GTP-U, GRE, VXLAN, IPv4 in IPv6 ... over a small MTU) that is the inner flow's pair, where
/// the unfragmented packets of that flow go; otherwise the fragment's own pair.
pub fn first_fragment_pair(link: LinkType, frame: &[u8], fragment: &FragmentOf) -> Option<Pair> {
    let ip = frame.get(fragment.ip_offset..)?;
    let whole = match ip.first()? >> 4 {
        4 => {
            let mut whole = frame.to_vec();
            let ip = whole.get_mut(fragment.ip_offset..)?;
            if ip.len() < 20 {
                return None;
            }
            // No more fragments, and a length no longer than what is here: decode then
            // unwraps.
            ip[6] &= !0x20;
            let here = u16::try_from(ip.len()).unwrap_or(u16::MAX);
            let total = u16::from_be_bytes([ip[2], ip[3]]).min(here);
            ip[2..4].copy_from_slice(&total.to_be_bytes());
            whole
        }
        6 => {
            // The fragment's payload straight after the fixed header, the fragment header
            // (and any extension header) gone: an unfragmented packet decode unwraps.
            let info = decode(link, frame).ok()?.ip?;
            let end = (info.offset + info.total_len as usize).min(frame.len());
            let upper = frame.get(info.offset + usize::from(info.header_len)..end)?;
            let mut header: [u8; ipv6::HEADER_LEN] = ip.get(..ipv6::HEADER_LEN)?.try_into().ok()?;
            header[4..6].copy_from_slice(&u16::try_from(upper.len()).ok()?.to_be_bytes());
            header[6] = u8::from(info.protocol);
            [&frame[..fragment.ip_offset], &header, upper].concat()
        }
        _ => return None,
    };
    let ip = decode(link, &whole).ok()?.ip?;
    Some((ip.src, ip.dst, ip.protocol))
}

/// An address pair and protocol as numbers, the same for both directions: what a router of
/// flows to threads hashes. An IPv4 address is its 32 bits, an IPv6 address its 128. The
/// lower address always comes first (the fields are private so that it does): the two
/// directions of a flow must go to the same thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PairBits {
    lo: u128,
    hi: u128,
    protocol: u8,
}

impl PairBits {
    /// The pair of addresses `a` and `b` (in either order) and an IP protocol number.
    fn new(a: u128, b: u128, protocol: u8) -> PairBits {
        let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
        PairBits { lo, hi, protocol }
    }

    /// The lower of the two addresses.
    pub fn lo(&self) -> u128 {
        self.lo
    }

    /// The higher of the two addresses.
    pub fn hi(&self) -> u128 {
        self.hi
    }

    /// The IP protocol number.
    pub fn protocol(&self) -> u8 {
        self.protocol
    }
}

impl From<Pair> for PairBits {
    fn from((src, dst, protocol): Pair) -> PairBits {
        let bits = |x: IpAddr| match x {
            IpAddr::V4(v) => u128::from(u32::from(v)),
            IpAddr::V6(v) => u128::from(v),
        };
        PairBits::new(bits(src), bits(dst), u8::from(protocol))
    }
}

/// [`frame_pair`]'s pair, as [`PairBits`], of a whole packet (no fragment) that is no
/// tunnel, read in place; `None` when [`frame_pair`] must be asked (fragments, tunnels, IPv6
/// extension headers, other link layers, frames [`decode`] may reject). Routing a frame
/// costs a few dozen instructions this way: a thread of `read --threads` asks it of every
/// frame of the capture, its own and the others'.
#[inline]
pub fn whole_packet_bits(link: LinkType, frame: &[u8]) -> Option<PairBits> {
    let p = plain_parts(link, frame)?;
    if p.fragment.is_some() {
        return None;
    }
    let bits = |a: Addrs| match a {
        Addrs::V4(s, d) => (u128::from(s), u128::from(d)),
        Addrs::V6(s, d) => (u128::from_be_bytes(s), u128::from_be_bytes(d)),
    };
    let (a, b) = bits(p.addrs);
    Some(PairBits::new(a, b, p.protocol))
}

/// Addresses as they lie in the IP header.
#[derive(Clone, Copy)]
enum Addrs {
    V4(u32, u32),
    V6([u8; 16], [u8; 16]),
}

/// What the fast read of a frame finds.
struct Parts {
    addrs: Addrs,
    /// The IP protocol number.
    protocol: u8,
    /// For an IPv4 fragment: its identification, whether it is the first (offset 0), and
    /// whether it is the last (more-fragments flag clear).
    fragment: Option<(u16, bool, bool)>,
    /// Where the IP header starts.
    at: usize,
}

/// The pair of a frame that cannot hold a tunnel, or `None` when the full walk is needed.
/// Given only when [`decode`] would decode the frame too: the headers are checked by the
/// same views decode uses (a frame decode rejects keeps going where decode sends it, so
/// the threads of `read --threads` split the anomalies as before).
#[inline]
fn plain(link: LinkType, frame: &[u8]) -> Option<FramePair> {
    let p = plain_parts(link, frame)?;
    let (src, dst) = match p.addrs {
        Addrs::V4(s, d) => (IpAddr::from(s.to_be_bytes()), IpAddr::from(d.to_be_bytes())),
        Addrs::V6(s, d) => (IpAddr::from(s), IpAddr::from(d)),
    };
    let fragment = p.fragment.map(|(ident, first, last)| FragmentOf {
        datagram: (src, dst, p.protocol, u32::from(ident)),
        first,
        last,
        ip_offset: p.at,
    });
    Some(FramePair {
        pair: (src, dst, IpProtocol::from(p.protocol)),
        fragment,
    })
}

/// [`plain`]'s reading, without building addresses.
#[inline]
fn plain_parts(link: LinkType, frame: &[u8]) -> Option<Parts> {
    // Where the IP header starts, and the version the link layer announced (`None`: the
    // header's own).
    let (at, announced) = match link {
        LinkType::Ethernet => {
            let mut et = u16::from_be_bytes([*frame.get(12)?, *frame.get(13)?]);
            let mut at = 14;
            // VLAN tags, as decode follows them (more than it takes: decode decides).
            for _ in 0..vlan::MAX_TAGS {
                if !EtherType::from(et).is_vlan() {
                    break;
                }
                et = u16::from_be_bytes([*frame.get(at + 2)?, *frame.get(at + 3)?]);
                at += 4;
            }
            match et {
                0x0800 => (at, Some(4)),
                0x86dd => (at, Some(6)),
                _ => return None,
            }
        }
        LinkType::Raw => (0, None),
        _ => return None,
    };
    let ip = frame.get(at..)?;
    let version = ip.first()? >> 4;
    if announced.is_some_and(|v| v != version) {
        return None;
    }
    let (addrs, protocol, upper, fragment) = match version {
        4 => {
            let p = ipv4::Packet::new_checked(ip).ok()?;
            let fragment = p
                .is_fragment()
                .then(|| (p.ident(), p.frag_offset() == 0, !p.more_frags()));
            let addrs = Addrs::V4(u32::from(p.src_addr()), u32::from(p.dst_addr()));
            (addrs, p.protocol_number(), p.payload(), fragment)
        }
        6 => {
            let p = ipv6::Packet::new_checked(ip).ok()?;
            let addrs = Addrs::V6(p.src_addr().octets(), p.dst_addr().octets());
            (addrs, p.next_header_number(), p.payload(), None)
        }
        _ => return None,
    };
    let later_fragment = fragment.is_some_and(|(_, first, _)| !first);
    // Numbers, not IpProtocol: building one per frame cost more than the rest of the read.
    const ICMP: u8 = 1;
    const TCP: u8 = 6;
    const UDP: u8 = 17;
    const ICMPV6: u8 = 58;
    match protocol {
        // A later fragment has no transport header to check.
        TCP | ICMP | ICMPV6 | UDP if later_fragment => {}
        TCP => {
            tcp::Packet::new_checked(upper).ok()?;
        }
        ICMP => {
            icmp::Packet::new_checked(upper, IpVersion::V4).ok()?;
        }
        ICMPV6 => {
            icmp::Packet::new_checked(upper, IpVersion::V6).ok()?;
        }
        UDP => {
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
    Some(Parts {
        addrs,
        protocol,
        fragment,
        at,
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
            // QinQ, then IPv4; a VLAN tag, then IPv6.
            (
                LinkType::Ethernet,
                eth(&[(0x88a8, 5), (0x8100, 7)], 0x0800, &udp_v4),
            ),
            (
                LinkType::Ethernet,
                eth(
                    &[(0x8100, 9)],
                    0x86dd,
                    &ipv6(a6, b6, 6, &tcp(a6, b6, 1, 443, 0x002, 9, &[], b"")),
                ),
            ),
        ]
    }

    fn decoded_pair(link: LinkType, f: &[u8]) -> Option<Option<Pair>> {
        let d = decode(link, f).ok()?;
        Some(d.ip.map(|ip| (ip.src, ip.dst, ip.protocol)))
    }

    /// What [`whole_packet_bits`] must give: the bits of [`frame_pair`]'s pair when the
    /// frame is no fragment (it may also leave a frame to [`frame_pair`]).
    fn check_bits(link: LinkType, f: &[u8]) -> bool {
        let Some(bits) = whole_packet_bits(link, f) else {
            return false;
        };
        let full = frame_pair(link, f).expect("a frame with bits has a pair");
        assert_eq!(full.fragment, None, "{link:?} {f:02x?}");
        assert_eq!(bits, PairBits::from(full.pair), "{link:?} {f:02x?}");
        true
    }

    #[test]
    fn agrees_with_decode_on_every_shape() {
        let mut fast = 0;
        for (link, f) in frames() {
            assert_eq!(
                Some(innermost_pair(link, &f)),
                decoded_pair(link, &f),
                "{link:?} {f:02x?}"
            );
            fast += usize::from(check_bits(link, &f));
        }
        // Ethernet, raw IP, VLAN tags, ICMP, IPv6; not tunnels, fragments or ARP.
        assert_eq!(fast, 9);
    }

    #[test]
    fn pair_bits_are_the_same_both_ways_and_differ_by_protocol() {
        let (a, b) = (IpAddr::from([10, 0, 0, 1]), IpAddr::from([10, 0, 0, 2]));
        let ab = PairBits::from((a, b, IpProtocol::Tcp));
        assert_eq!(ab, PairBits::from((b, a, IpProtocol::Tcp)));
        assert_eq!((ab.lo, ab.hi, ab.protocol), (0x0a00_0001, 0x0a00_0002, 6));
        assert_ne!(ab, PairBits::from((a, b, IpProtocol::Udp)));
    }

    /// The datagram an Ethernet frame is a fragment of.
    fn fragment_of(frame: &[u8]) -> FragmentOf {
        frame_pair(LinkType::Ethernet, frame)
            .and_then(|p| p.fragment)
            .expect("a fragment")
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
        let f = fragment_of(&first);
        let r = fragment_of(&rest);
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
        let t = fragment_of(&tagged);
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

    /// IPv4 in IPv6 (DS-Lite's tunnel) cut into IPv6 fragments: both are keyed by the
    /// outer pair and name one datagram, the first names the inner flow.
    #[test]
    fn an_ipv6_tunnels_first_fragment_names_the_inner_flow() {
        let (a, b) = (v6(1), v6(2));
        let (inner, s, d) = inner_v4_udp();
        let cut = 32; // a multiple of 8: the inner IPv4 and UDP headers, and a little more
        // Fragment header: next header 4 (IPv4), offset, M flag, identification 0x77.
        let frag = |offset: usize, more: bool, bytes: &[u8]| {
            let mut f = vec![4, 0];
            f.extend_from_slice(&((offset as u16) | u16::from(more)).to_be_bytes());
            f.extend_from_slice(&0x77u32.to_be_bytes());
            f.extend_from_slice(bytes);
            eth(&[], 0x86dd, &ipv6(a, b, 44, &f))
        };
        let (first, rest) = (
            frag(0, true, &inner[..cut]),
            frag(cut, false, &inner[cut..]),
        );
        let f = fragment_of(&first);
        let r = fragment_of(&rest);
        assert_eq!(f.datagram, (a, b, 4, 0x77));
        assert_eq!(f.datagram, r.datagram);
        assert_eq!(f.ip_offset, 14);
        assert!(f.first && !f.last && !r.first && r.last);
        let outer = Some((a, b, IpProtocol::from(4)));
        assert_eq!(innermost_pair(LinkType::Ethernet, &first), outer);
        assert_eq!(innermost_pair(LinkType::Ethernet, &rest), outer);
        assert_eq!(
            first_fragment_pair(LinkType::Ethernet, &first, &f),
            Some((s, d, IpProtocol::Udp))
        );
        // A first fragment cut before the inner headers end names no inner flow: its own.
        let short = frag(0, true, &inner[..8]);
        let sf = fragment_of(&short);
        assert_eq!(first_fragment_pair(LinkType::Ethernet, &short, &sf), outer);
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
                check_bits(link, &m);
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

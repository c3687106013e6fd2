//! The one entry point: [`decode`] walks a captured frame from its link header through
//! VLAN tags, MPLS labels and tunnels down to the innermost IP header and its transport
//! header.
//!
//! Caps keep a crafted frame from making the walk long: [`crate::vlan::MAX_TAGS`] tags per
//! link header, [`crate::mpls::MAX_LABELS`] labels, [`crate::ipv6::MAX_EXT_HEADERS`]
//! extension headers, and [`MAX_TUNNELS`] nested tunnels.
//!
//! IEEE 802.11 data frames (bare, after a radiotap, Prism or AVS header, or in Aruba's GRE
//! encapsulation or CAPWAP) are followed through their LLC/SNAP header; management,
//! control and null frames, and bodies without a SNAP EtherType, are not IP. Encrypted
//! (Protected) frames and A-MSDUs are [`DecodeError::Unsupported`].
//!
//! PPP frames (the PPP link types, PPPoE sessions, PPTP) lead to IP for the protocols
//! 0x0021 (IPv4) and 0x0057 (IPv6), to MPLS for 0x0281/0x0283; LCP, IPCP and the rest are
//! not IP. NFLOG captures lead to the packet in their NFULA_PAYLOAD TLV.
//!
//! Tunnels are unwrapped when the outer packet says so: IP protocol 4/41 (IP in IP), GRE
//! (47, PPTP's version 1 included), and UDP to or from port 4789 (VXLAN), 6081 (Geneve),
//! 2152 (GTP-U), 3544 (Teredo), 5072 (AYIYA) or 5247 (CAPWAP data). The port-based ones
//! are a guess, so a tunnel whose payload does not decode falls back to the outer packet
//! (see [`Decoded`]); Teredo is only unwrapped when an IPv6 header whose length matches
//! the datagram follows its indicators, and on other ports only when one of its addresses
//! is a Teredo client's ([`teredo::relayed`]: a relay talks to a client from any port). Tunnels inside a fragmented datagram are not
//! unwrapped: their payload is incomplete until the flow table reassembles it (and can
//! decode the result again as [`LinkType::Raw`]).

mod pair;
mod types;

pub use pair::{
    FragmentOf, FramePair, Pair, PairBits, first_fragment_pair, frame_pair, innermost_pair,
    whole_packet_bits,
};

pub use types::{
    Decoded, Encap, Encaps, Fragment, IcmpInfo, IcmpKind, IpInfo, L4, MAX_ENCAPS, TcpInfo, UdpInfo,
};

use crate::error::{DecodeError, Layer, need};
use crate::ethernet::{self, EtherType};
use crate::ip::{IpProtocol, IpVersion};
use crate::link::LinkType;
use crate::loopback::{self, Family};
use crate::{
    ayiya, capwap, chdlc, geneve, gre, gtp, icmp, ieee80211, ipv4, ipv6, llc, mpls, nflog, ppp,
    pppoe, prism, radiotap, sll, tcp, teredo, udp, vlan, vxlan,
};
use std::net::IpAddr;

/// The most tunnels unwrapped in one frame; a deeper one is left wrapped and reported in
/// [`Decoded::inner_error`] as [`DecodeError::TooDeep`].
pub const MAX_TUNNELS: usize = 4;

/// Decodes one captured frame of link type `link`.
///
/// Errors are for frames whose headers are broken or cut before the transport header
/// ends; a short capture that still holds every header decodes with
/// [`Decoded::truncated`] set. Non-IP frames decode with `ip: None` (see [`Decoded`]).
pub fn decode(link: LinkType, frame: &[u8]) -> Result<Decoded<'_>, DecodeError> {
    let mut d = Decoded::new(link);
    decode_into(link, frame, &mut d)?;
    Ok(d)
}

/// [`decode`] into `d`, for a caller that decodes every frame: the result (some 350 bytes)
/// is written in place instead of copied out. `d` is reset first; after an error it holds
/// what was decoded before it.
pub fn decode_into<'a>(
    link: LinkType,
    frame: &'a [u8],
    d: &mut Decoded<'a>,
) -> Result<(), DecodeError> {
    *d = Decoded::new(link);
    let mut w = Walker {
        frame,
        d,
        tunnels: 0,
    };
    match w.link(link)? {
        Next::Ip(off, version) => w.ip(off, version)?,
        Next::NotIp(off) => w.not_ip(off),
    }
    Ok(())
}

/// What the link layers lead to.
enum Next {
    /// An IP header at this offset; the version is what the link layer announced (`None`:
    /// read it from the header).
    Ip(usize, Option<IpVersion>),
    /// Something else at this offset.
    NotIp(usize),
}

struct Walker<'a, 'd> {
    frame: &'a [u8],
    d: &'d mut Decoded<'a>,
    tunnels: usize,
}

impl<'a> Walker<'a, '_> {
    fn link(&mut self, link: LinkType) -> Result<Next, DecodeError> {
        let f = self.frame;
        match link {
            LinkType::Ethernet => self.ethernet(0),
            LinkType::LinuxSll => {
                let p = sll::Packet::new_checked(f)?;
                self.ether(p.protocol(), sll::Packet::<&[u8]>::HEADER_LEN)
            }
            LinkType::LinuxSll2 => {
                let p = sll::Packet2::new_checked(f)?;
                self.ether(p.protocol(), sll::Packet2::<&[u8]>::HEADER_LEN)
            }
            LinkType::Raw => Ok(Next::Ip(0, None)),
            LinkType::Null | LinkType::Loop => {
                let p = loopback::Packet::new_checked(f)?;
                let family = if link == LinkType::Null {
                    p.null_family()
                } else {
                    p.loop_family()
                };
                let off = loopback::Packet::<&[u8]>::HEADER_LEN;
                Ok(match family {
                    Family::Ipv4 => Next::Ip(off, Some(IpVersion::V4)),
                    Family::Ipv6 => Next::Ip(off, Some(IpVersion::V6)),
                    Family::Unknown(_) => Next::NotIp(off),
                })
            }
            LinkType::Ieee80211 => self.ieee80211(0, false, false),
            LinkType::Ieee80211Radiotap => {
                let p = radiotap::Packet::new_checked(f)?;
                self.ieee80211(p.header_len(), p.data_pad(), false)
            }
            LinkType::Ieee80211Prism if !prism::is_avs(f) => {
                prism::Packet::new_checked(f)?;
                self.ieee80211(prism::PRISM_HEADER_LEN, false, false)
            }
            LinkType::Ieee80211Prism | LinkType::Ieee80211Avs => {
                let p = prism::AvsPacket::new_checked(f)?;
                self.ieee80211(p.header_len(), false, false)
            }
            LinkType::Ppp => self.ppp(0),
            LinkType::PppWithDir => {
                // The direction byte.
                need(Layer::Ppp, f, 1)?;
                self.ppp(1)
            }
            LinkType::PppHdlc if !chdlc::is_cisco(f) => self.ppp(0),
            LinkType::PppHdlc | LinkType::CiscoHdlc => {
                let p = chdlc::Packet::new_checked(f)?;
                self.ether(p.protocol(), chdlc::HEADER_LEN)
            }
            LinkType::Nflog => {
                let p = nflog::Packet::new_checked(f)?;
                let payload = p.payload_range();
                // What follows the payload TLV is not part of the packet.
                self.frame = &f[..payload.end];
                Ok(match p.family() {
                    nflog::AF_INET => Next::Ip(payload.start, Some(IpVersion::V4)),
                    nflog::AF_INET6 => Next::Ip(payload.start, Some(IpVersion::V6)),
                    _ => Next::NotIp(payload.start),
                })
            }
            LinkType::Unknown(n) => Err(DecodeError::UnsupportedLinkType(n)),
        }
    }

    /// An 802.11 frame at `off`, down to what its LLC/SNAP header says follows. `data_pad`:
    /// the radio header says the body starts at the next multiple of 4 after the header.
    /// `swapped_fc`: the two frame control bytes may be swapped (CAPWAP from Cisco
    /// controllers; Wireshark swaps them by default): they are read swapped unless that
    /// gives a protocol version other than 0.
    fn ieee80211(
        &mut self,
        off: usize,
        data_pad: bool,
        swapped_fc: bool,
    ) -> Result<Next, DecodeError> {
        let bytes = &self.frame[off..];
        let mut copy = [0u8; ieee80211::MAX_HEADER_LEN];
        let header = if swapped_fc && bytes.len() >= 2 && bytes[1] & 3 == 0 {
            let n = bytes.len().min(copy.len());
            copy[..n].copy_from_slice(&bytes[..n]);
            copy.swap(0, 1);
            &copy[..n]
        } else {
            bytes
        };
        let p = ieee80211::Packet::new_checked(header)?;
        let mut header_len = p.header_len();
        if !p.has_body() {
            return Ok(Next::NotIp(off + header_len));
        }
        if p.protected() {
            return Err(DecodeError::Unsupported {
                layer: Layer::Ieee80211,
                what: "protected (encrypted) frame",
            });
        }
        if p.is_amsdu() {
            return Err(DecodeError::Unsupported {
                layer: Layer::Ieee80211,
                what: "A-MSDU",
            });
        }
        if data_pad {
            header_len = header_len.next_multiple_of(4);
            need(Layer::Ieee80211, bytes, header_len)?;
        }
        let body = off + header_len;
        let l = llc::Packet::new_checked(&self.frame[body..])?;
        let next = body + l.header_len();
        match l.ethertype() {
            Some(et) => self.ether(et, next),
            None => Ok(Next::NotIp(next)),
        }
    }

    /// An Ethernet header at `off`.
    fn ethernet(&mut self, off: usize) -> Result<Next, DecodeError> {
        let p = ethernet::Packet::new_checked(&self.frame[off..])?;
        self.ether(p.ethertype(), off + ethernet::Packet::<&[u8]>::HEADER_LEN)
    }

    /// Follows an EtherType through VLAN tags and MPLS labels.
    fn ether(&mut self, mut et: EtherType, mut off: usize) -> Result<Next, DecodeError> {
        let mut tags = 0;
        while et.is_vlan() {
            if tags == vlan::MAX_TAGS {
                return Err(DecodeError::TooDeep {
                    layer: Layer::Vlan,
                    max: vlan::MAX_TAGS,
                });
            }
            let tag = vlan::Packet::new_checked(&self.frame[off..])?;
            let id = tag.vlan_id();
            self.d.vlan.get_or_insert(id);
            self.d.encaps.push(Encap::Vlan { id });
            et = tag.ethertype();
            off += vlan::Packet::<&[u8]>::HEADER_LEN;
            tags += 1;
        }
        self.d.ethertype = Some(et);
        match et {
            EtherType::Ipv4 => Ok(Next::Ip(off, Some(IpVersion::V4))),
            EtherType::Ipv6 => Ok(Next::Ip(off, Some(IpVersion::V6))),
            EtherType::Mpls | EtherType::MplsMulticast => self.mpls(off),
            EtherType::PppoeSession => {
                let p = pppoe::Packet::new_checked(&self.frame[off..])?;
                self.d.encaps.push(Encap::Pppoe {
                    session: p.session_id(),
                });
                self.ppp(off + pppoe::HEADER_LEN)
            }
            _ => Ok(Next::NotIp(off)),
        }
    }

    /// A PPP header at `off`, to what its protocol says follows.
    fn ppp(&mut self, off: usize) -> Result<Next, DecodeError> {
        let p = ppp::Packet::new_checked(&self.frame[off..])?;
        let next = off + p.header_len();
        match p.protocol() {
            ppp::Protocol::Ipv4 => Ok(Next::Ip(next, Some(IpVersion::V4))),
            ppp::Protocol::Ipv6 => Ok(Next::Ip(next, Some(IpVersion::V6))),
            ppp::Protocol::Mpls | ppp::Protocol::MplsMulticast => self.mpls(next),
            _ => Ok(Next::NotIp(next)),
        }
    }

    fn mpls(&mut self, mut off: usize) -> Result<Next, DecodeError> {
        for _ in 0..mpls::MAX_LABELS {
            let e = mpls::Packet::new_checked(&self.frame[off..])?;
            self.d.encaps.push(Encap::Mpls { label: e.label() });
            off += mpls::Packet::<&[u8]>::HEADER_LEN;
            if e.bottom_of_stack() {
                return Ok(match mpls::guess_payload(&self.frame[off..]) {
                    mpls::Payload::Ipv4 => Next::Ip(off, Some(IpVersion::V4)),
                    mpls::Payload::Ipv6 => Next::Ip(off, Some(IpVersion::V6)),
                    mpls::Payload::Unknown => Next::NotIp(off),
                });
            }
        }
        Err(DecodeError::TooDeep {
            layer: Layer::Mpls,
            max: mpls::MAX_LABELS,
        })
    }

    fn not_ip(&mut self, off: usize) {
        let rest = &self.frame[off.min(self.frame.len())..];
        self.d.ip = None;
        self.d.l4 = L4::None;
        self.d.l4_offset = off;
        self.d.segment = rest;
        self.d.payload = rest;
    }

    /// An IP header at `off`, then its transport layer.
    fn ip(&mut self, off: usize, version: Option<IpVersion>) -> Result<(), DecodeError> {
        let bytes = &self.frame[off..];
        let version = version.unwrap_or(match bytes.first().map(|b| b >> 4) {
            Some(6) => IpVersion::V6,
            _ => IpVersion::V4,
        });
        let (info, upper_off, upper, later_fragment) = match version {
            IpVersion::V4 => {
                let p = ipv4::Packet::new_checked(bytes)?;
                let fragment = p.is_fragment().then(|| Fragment {
                    ident: u32::from(p.ident()),
                    offset: p.frag_offset(),
                    more: p.more_frags(),
                });
                let info = IpInfo {
                    version,
                    src: IpAddr::V4(p.src_addr()),
                    dst: IpAddr::V4(p.dst_addr()),
                    protocol: p.protocol(),
                    ttl: p.ttl(),
                    tos: p.tos(),
                    total_len: p.datagram_len() as u32,
                    header_len: p.header_len() as u16,
                    offset: off,
                    ident: u32::from(p.ident()),
                    dont_fragment: p.dont_frag(),
                    fragment,
                    checksum_ok: Some(p.verify_checksum()),
                    truncated: p.is_truncated(),
                };
                (
                    info,
                    off + p.header_len(),
                    p.payload(),
                    p.frag_offset() != 0,
                )
            }
            IpVersion::V6 => {
                let p = ipv6::Packet::new_checked(bytes)?;
                let up = ipv6::walk_extensions(p.next_header(), p.payload())?;
                let fragment = up.fragment.map(|f| Fragment {
                    ident: f.ident,
                    offset: f.offset,
                    more: f.more,
                });
                let info = IpInfo {
                    version,
                    src: IpAddr::V6(p.src_addr()),
                    dst: IpAddr::V6(p.dst_addr()),
                    protocol: up.protocol,
                    ttl: p.hop_limit(),
                    tos: p.traffic_class(),
                    total_len: (ipv6::HEADER_LEN + p.announced_payload_len()) as u32,
                    header_len: (ipv6::HEADER_LEN + up.ext_len) as u16,
                    offset: off,
                    ident: up.fragment.map_or(0, |f| f.ident),
                    dont_fragment: false,
                    fragment,
                    checksum_ok: None,
                    truncated: p.is_truncated(),
                };
                let later = up.is_later_fragment();
                (info, off + ipv6::HEADER_LEN + up.ext_len, up.payload, later)
            }
        };
        if self.d.ip.is_some() && self.d.outer_ip.is_none() {
            self.d.outer_ip = self.d.ip;
        }
        self.d.ip = Some(info);
        self.d.truncated = info.truncated;
        self.d.l4_offset = upper_off;
        self.d.segment = upper;
        self.d.payload = upper;
        if later_fragment {
            self.d.l4 = L4::Fragment;
            return Ok(());
        }
        self.l4(info, upper_off, upper)
    }

    fn l4(&mut self, ip: IpInfo, off: usize, upper: &'a [u8]) -> Result<(), DecodeError> {
        let may_unwrap = !ip.is_fragmented();
        match ip.protocol {
            IpProtocol::Tcp => {
                let p = tcp::Packet::new_checked(upper)?;
                self.d.l4 = L4::Tcp(TcpInfo {
                    src_port: p.src_port(),
                    dst_port: p.dst_port(),
                    seq: p.seq_number(),
                    ack: p.ack_number(),
                    flags: p.flags(),
                    window: p.window_len(),
                    header_len: p.header_len() as u8,
                    checksum: p.checksum(),
                    urgent: p.urgent_at(),
                    options: tcp::Options::parse(p.options()),
                });
                self.d.payload = p.payload();
            }
            IpProtocol::Udp => {
                let p = udp::Packet::new_checked(upper)?;
                self.d.l4 = L4::Udp(UdpInfo {
                    src_port: p.src_port(),
                    dst_port: p.dst_port(),
                    length: p.len(),
                    checksum: p.checksum(),
                });
                self.d.segment = p.datagram();
                self.d.payload = p.payload();
                self.d.truncated |= p.is_truncated();
                let payload_off = off + udp::HEADER_LEN;
                if may_unwrap && let Some(kind) = Tunnel::by_udp_ports(p.src_port(), p.dst_port()) {
                    self.tunnel(kind, payload_off);
                } else if may_unwrap && !self.d.truncated && teredo::relayed(p.payload()) {
                    // A Teredo client's traffic with a relay, on the relay's port.
                    self.tunnel(Tunnel::Teredo, payload_off);
                }
            }
            IpProtocol::Icmp | IpProtocol::Icmpv6 => {
                let version = if ip.protocol == IpProtocol::Icmp {
                    IpVersion::V4
                } else {
                    IpVersion::V6
                };
                let p = icmp::Packet::new_checked(upper, version)?;
                let kind = match version {
                    IpVersion::V4 => IcmpKind::V4(p.message()),
                    IpVersion::V6 => IcmpKind::V6(p.message6()),
                };
                self.d.l4 = L4::Icmp(IcmpInfo {
                    kind,
                    msg_type: p.msg_type(),
                    code: p.msg_code(),
                    checksum: p.checksum(),
                    echo: p
                        .is_echo(version)
                        .then(|| (p.echo_ident(), p.echo_seq_no())),
                });
                self.d.payload = p.payload();
            }
            IpProtocol::IpIp | IpProtocol::Ipv6 if may_unwrap => {
                self.d.l4 = L4::Other;
                let v = if ip.protocol == IpProtocol::IpIp {
                    IpVersion::V4
                } else {
                    IpVersion::V6
                };
                self.tunnel(Tunnel::IpInIp(v), off);
            }
            IpProtocol::Gre if may_unwrap => {
                self.d.l4 = L4::Other;
                self.tunnel(Tunnel::Gre, off);
            }
            _ => self.d.l4 = L4::Other,
        }
        Ok(())
    }

    /// Tries to unwrap a tunnel whose header starts at `off`. The current result (the
    /// tunnel packet itself) is kept when the inside is not IP or fails to decode.
    fn tunnel(&mut self, kind: Tunnel, off: usize) {
        if self.tunnels == MAX_TUNNELS {
            self.d.inner_error = Some(DecodeError::TooDeep {
                layer: Layer::Tunnel,
                max: MAX_TUNNELS,
            });
            return;
        }
        let saved = *self.d;
        self.tunnels += 1;
        let r = self.inner(kind, off);
        self.tunnels -= 1;
        match r {
            Ok(true) => {}
            Ok(false) => *self.d = saved,
            Err(e) => {
                *self.d = saved;
                self.d.inner_error = Some(e);
            }
        }
    }

    /// Decodes a tunnel's inside; `Ok(false)` when it is not IP.
    fn inner(&mut self, kind: Tunnel, off: usize) -> Result<bool, DecodeError> {
        let bytes = &self.frame[off..];
        let next = match kind {
            Tunnel::IpInIp(v) => {
                self.d.encaps.push(Encap::IpInIp);
                Next::Ip(off, Some(v))
            }
            Tunnel::Vxlan => {
                let p = vxlan::Packet::new_checked(bytes)?;
                self.d.encaps.push(Encap::Vxlan { vni: p.vni() });
                self.ethernet(off + vxlan::HEADER_LEN)?
            }
            Tunnel::Geneve => {
                let p = geneve::Packet::new_checked(bytes)?;
                self.d.encaps.push(Encap::Geneve { vni: p.vni() });
                self.carried(p.protocol(), off + p.header_len())?
            }
            Tunnel::Gre => {
                let p = gre::Packet::new_checked(bytes)?;
                let inner = off + p.header_len();
                if p.version() == 1 {
                    // PPTP: a PPP frame, unless the packet is only an acknowledgment
                    // (self.d.payload is still the whole GRE packet).
                    if u16::from(p.protocol()) != gre::PROTOCOL_PPP
                        || self.d.payload.len() <= p.header_len()
                    {
                        return Ok(false);
                    }
                    self.d.encaps.push(Encap::Gre { key: p.key() });
                    let next = self.ppp(inner)?;
                    return self.finish(next);
                }
                self.d.encaps.push(Encap::Gre { key: p.key() });
                match p.protocol() {
                    EtherType::ErspanII if !p.has_sequence() => {
                        self.d.encaps.push(Encap::Erspan {
                            kind: 1,
                            session: 0,
                        });
                        self.ethernet(inner)?
                    }
                    EtherType::ErspanII | EtherType::ErspanIII => {
                        let e = gre::ErspanPacket::new_checked(&self.frame[inner..])?;
                        self.d.encaps.push(Encap::Erspan {
                            kind: e.version() + 1,
                            session: e.session_id(),
                        });
                        self.ethernet(inner + e.header_len())?
                    }
                    et if gre::is_aruba_wlan(u16::from(et)) => {
                        self.d.encaps.push(Encap::Ieee80211);
                        self.ieee80211(inner, false, false)?
                    }
                    et => self.carried(et, inner)?,
                }
            }
            Tunnel::Gtp => {
                let p = gtp::Packet::new_checked(bytes)?;
                if !p.is_gpdu() {
                    // Echo, error indication, end marker: signalling, no user packet.
                    return Ok(false);
                }
                // The version nibble says which IP (a G-PDU does not otherwise).
                let inner = off + p.header_len();
                let version = match p.payload().first().map(|b| b >> 4) {
                    Some(4) => IpVersion::V4,
                    Some(6) => IpVersion::V6,
                    _ => return Ok(false),
                };
                self.d.encaps.push(Encap::Gtp { teid: p.teid() });
                Next::Ip(inner, Some(version))
            }
            Tunnel::Teredo => {
                // The UDP payload as the length field cuts it (self.d is still the UDP
                // packet): the IPv6 length must account for all of it.
                let udp_payload = self.d.payload;
                let p = if self.d.truncated {
                    teredo::Packet::new_checked_cut(udp_payload)?
                } else {
                    teredo::Packet::new_checked(udp_payload)?
                };
                self.d.encaps.push(Encap::Teredo);
                Next::Ip(off + p.header_len(), Some(IpVersion::V6))
            }
            Tunnel::Ayiya => {
                let p = ayiya::Packet::new_checked(bytes)?;
                let version = match p.next_header() {
                    IpProtocol::IpIp => IpVersion::V4,
                    IpProtocol::Ipv6 => IpVersion::V6,
                    _ => return Ok(false),
                };
                if p.opcode() != ayiya::OPCODE_FORWARD {
                    return Ok(false);
                }
                self.d.encaps.push(Encap::Ayiya);
                Next::Ip(off + p.header_len(), Some(version))
            }
            Tunnel::Capwap => {
                let p = capwap::Packet::new_checked(bytes)?;
                if p.is_fragment() {
                    return Err(DecodeError::Unsupported {
                        layer: Layer::Capwap,
                        what: "fragment",
                    });
                }
                if p.is_keep_alive() {
                    return Ok(false);
                }
                self.d.encaps.push(Encap::Capwap);
                let inner = off + p.header_len();
                if !p.is_native() {
                    self.ethernet(inner)?
                } else if p.wbid() == capwap::WBID_IEEE80211 {
                    self.d.encaps.push(Encap::Ieee80211);
                    self.ieee80211(inner, false, true)?
                } else {
                    return Ok(false);
                }
            }
        };
        self.finish(next)
    }

    /// Decodes the IP packet a tunnel leads to; `Ok(false)` when it leads to something else.
    fn finish(&mut self, next: Next) -> Result<bool, DecodeError> {
        match next {
            Next::Ip(off, v) => {
                self.ip(off, v)?;
                Ok(true)
            }
            Next::NotIp(_) => Ok(false),
        }
    }

    /// What a tunnel's EtherType-like protocol field leads to.
    fn carried(&mut self, et: EtherType, off: usize) -> Result<Next, DecodeError> {
        match et {
            EtherType::TransparentEthernet => self.ethernet(off),
            et => self.ether(et, off),
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Tunnel {
    IpInIp(IpVersion),
    Gre,
    Vxlan,
    Geneve,
    Gtp,
    Teredo,
    Ayiya,
    Capwap,
}

impl Tunnel {
    /// The tunnel a UDP port suggests, checked in this order on either port.
    const UDP_PORTS: [(u16, Tunnel); 7] = [
        (vxlan::PORT, Tunnel::Vxlan),
        (gre::UDP_PORT, Tunnel::Gre),
        (geneve::PORT, Tunnel::Geneve),
        (gtp::PORT, Tunnel::Gtp),
        (teredo::PORT, Tunnel::Teredo),
        (ayiya::PORT, Tunnel::Ayiya),
        (capwap::DATA_PORT, Tunnel::Capwap),
    ];

    fn by_udp_ports(src: u16, dst: u16) -> Option<Tunnel> {
        Tunnel::UDP_PORTS
            .iter()
            .find(|(port, _)| src == *port || dst == *port)
            .map(|&(_, t)| t)
    }
}

#[cfg(test)]
mod link_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tunnel_tests;
#[cfg(test)]
mod wlan_tests;

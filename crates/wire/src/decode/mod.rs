//! The one entry point: [`decode`] walks a captured frame from its link header through
//! VLAN tags, MPLS labels and tunnels down to the innermost IP header and its transport
//! header.
//!
//! Caps keep a crafted frame from making the walk long: [`crate::vlan::MAX_TAGS`] tags per
//! link header, [`crate::mpls::MAX_LABELS`] labels, [`crate::ipv6::MAX_EXT_HEADERS`]
//! extension headers, and [`MAX_TUNNELS`] nested tunnels.
//!
//! IEEE 802.11 data frames (bare, after a radiotap, Prism or AVS header, or in Aruba's GRE
//! encapsulation) are followed through their LLC/SNAP header; management, control and
//! null frames, and bodies without a SNAP EtherType, are not IP. Encrypted (Protected)
//! frames and A-MSDUs are [`DecodeError::Unsupported`].
//!
//! Tunnels are unwrapped when the outer packet says so: IP protocol 4/41 (IP in IP), GRE
//! (47), and UDP to or from port 4789 (VXLAN) or 6081 (Geneve). The port-based ones are a
//! guess, so a tunnel whose payload does not decode falls back to the outer packet (see
//! [`Decoded`]). Tunnels inside a fragmented datagram are not unwrapped: their payload is
//! incomplete until the flow table reassembles it (and can decode the result again as
//! [`LinkType::Raw`]).

mod types;

pub use types::{
    Decoded, Encap, Encaps, Fragment, IcmpInfo, IcmpKind, IpInfo, L4, MAX_ENCAPS, TcpInfo, UdpInfo,
};

use crate::error::{DecodeError, Layer, need};
use crate::ethernet::{self, EtherType};
use crate::ip::{IpProtocol, IpVersion};
use crate::link::LinkType;
use crate::loopback::{self, Family};
use crate::{
    geneve, gre, icmp, ieee80211, ipv4, ipv6, llc, mpls, prism, radiotap, sll, tcp, udp, vlan,
    vxlan,
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
    let mut w = Walker {
        frame,
        d: Decoded::new(link),
        tunnels: 0,
    };
    match w.link(link)? {
        Next::Ip(off, version) => w.ip(off, version)?,
        Next::NotIp(off) => w.not_ip(off),
    }
    Ok(w.d)
}

/// What the link layers lead to.
enum Next {
    /// An IP header at this offset; the version is what the link layer announced (`None`:
    /// read it from the header).
    Ip(usize, Option<IpVersion>),
    /// Something else at this offset.
    NotIp(usize),
}

struct Walker<'a> {
    frame: &'a [u8],
    d: Decoded<'a>,
    tunnels: usize,
}

impl<'a> Walker<'a> {
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
            LinkType::Ieee80211 => self.ieee80211(0, false),
            LinkType::Ieee80211Radiotap => {
                let p = radiotap::Packet::new_checked(f)?;
                self.ieee80211(p.header_len(), p.data_pad())
            }
            LinkType::Ieee80211Prism if !prism::is_avs(f) => {
                prism::Packet::new_checked(f)?;
                self.ieee80211(prism::PRISM_HEADER_LEN, false)
            }
            LinkType::Ieee80211Prism | LinkType::Ieee80211Avs => {
                let p = prism::AvsPacket::new_checked(f)?;
                self.ieee80211(p.header_len(), false)
            }
            LinkType::Unknown(n) => Err(DecodeError::UnsupportedLinkType(n)),
        }
    }

    /// An 802.11 frame at `off`, down to what its LLC/SNAP header says follows. `data_pad`:
    /// the radio header says the body starts at the next multiple of 4 after the header.
    fn ieee80211(&mut self, off: usize, data_pad: bool) -> Result<Next, DecodeError> {
        let bytes = &self.frame[off..];
        let p = ieee80211::Packet::new_checked(bytes)?;
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
            _ => Ok(Next::NotIp(off)),
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
                let ports = [p.src_port(), p.dst_port()];
                if may_unwrap && ports.contains(&vxlan::PORT) {
                    self.tunnel(Tunnel::Vxlan, payload_off);
                } else if may_unwrap && ports.contains(&geneve::PORT) {
                    self.tunnel(Tunnel::Geneve, payload_off);
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
        let saved = self.d;
        self.tunnels += 1;
        let r = self.inner(kind, off);
        self.tunnels -= 1;
        match r {
            Ok(true) => {}
            Ok(false) => self.d = saved,
            Err(e) => {
                self.d = saved;
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
                if p.version() != 0 {
                    // PPTP carries PPP.
                    return Ok(false);
                }
                self.d.encaps.push(Encap::Gre { key: p.key() });
                let inner = off + p.header_len();
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
                        self.ieee80211(inner, false)?
                    }
                    et => self.carried(et, inner)?,
                }
            }
        };
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
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tunnel_tests;
#[cfg(test)]
mod wlan_tests;

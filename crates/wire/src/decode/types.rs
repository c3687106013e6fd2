//! What [`crate::decode()`] returns.

use crate::checksum;
use crate::error::DecodeError;
use crate::ethernet::EtherType;
use crate::icmp;
use crate::ip::{IpProtocol, IpVersion};
use crate::link::LinkType;
use crate::tcp;
use std::net::IpAddr;

/// The fragment fields of an IP header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fragment {
    /// The identification shared by the fragments of one datagram (16 bits for IPv4).
    pub ident: u32,
    /// The offset of this fragment's data in the datagram, in bytes.
    pub offset: u16,
    /// The more-fragments flag.
    pub more: bool,
}

impl Fragment {
    /// True for the first fragment (offset 0): it carries the upper-layer header.
    pub fn is_first(&self) -> bool {
        self.offset == 0
    }

    /// True for an IPv6 atomic fragment (offset 0, no more fragments: a whole datagram
    /// that happens to carry a fragment header).
    pub fn is_atomic(&self) -> bool {
        self.offset == 0 && !self.more
    }
}

/// The fields of one IP header, both versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpInfo {
    /// The version.
    pub version: IpVersion,
    /// The source address.
    pub src: IpAddr,
    /// The destination address.
    pub dst: IpAddr,
    /// The upper-layer protocol (for IPv6: after the extension headers).
    pub protocol: IpProtocol,
    /// The time to live / hop limit.
    pub ttl: u8,
    /// The type of service / traffic class byte.
    pub tos: u8,
    /// The datagram length the header announces: IPv4 total length (as captured when
    /// the field is 0, segmentation offload); IPv6 40 + payload length (for a jumbogram:
    /// as captured).
    pub total_len: u32,
    /// Bytes of IP header: IPv4 header with options; IPv6 fixed and extension headers.
    pub header_len: u16,
    /// Where this header starts in the frame (the flow table reassembles fragments from
    /// here).
    pub offset: usize,
    /// IPv4 identification; for IPv6 the fragment header's, or 0 without one.
    pub ident: u32,
    /// The IPv4 don't-fragment flag (false for IPv6).
    pub dont_fragment: bool,
    /// Fragment fields: for IPv4 when more-fragments is set or the offset is not zero; for
    /// IPv6 whenever a fragment header is present (atomic fragments included).
    pub fragment: Option<Fragment>,
    /// Whether the IPv4 header checksum is correct; `None` for IPv6, which has none.
    pub checksum_ok: Option<bool>,
    /// The capture holds fewer bytes than `total_len` (snap length).
    pub truncated: bool,
}

impl IpInfo {
    /// True when this packet is part of a fragmented datagram (atomic fragments are not).
    pub fn is_fragmented(&self) -> bool {
        self.fragment.is_some_and(|f| !f.is_atomic())
    }
}

/// The TCP header fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpInfo {
    /// The source port.
    pub src_port: u16,
    /// The destination port.
    pub dst_port: u16,
    /// The sequence number.
    pub seq: u32,
    /// The acknowledgment number.
    pub ack: u32,
    /// The flags.
    pub flags: tcp::Flags,
    /// The window field (unscaled).
    pub window: u16,
    /// The header length in bytes, options included.
    pub header_len: u8,
    /// The checksum field.
    pub checksum: u16,
    /// The urgent pointer.
    pub urgent: u16,
    /// The options, summarised.
    pub options: tcp::Options,
}

/// The UDP header fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UdpInfo {
    /// The source port.
    pub src_port: u16,
    /// The destination port.
    pub dst_port: u16,
    /// The length field.
    pub length: u16,
    /// The checksum field (0: not computed).
    pub checksum: u16,
}

/// An ICMP type of either version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IcmpKind {
    /// ICMP over IPv4.
    V4(icmp::Message),
    /// ICMPv6.
    V6(icmp::Message6),
}

/// The ICMP header fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IcmpInfo {
    /// The message type.
    pub kind: IcmpKind,
    /// The raw type byte.
    pub msg_type: u8,
    /// The code.
    pub code: u8,
    /// The checksum field.
    pub checksum: u16,
    /// Identifier and sequence number, for echo request/reply.
    pub echo: Option<(u16, u16)>,
}

/// The transport layer of a decoded packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum L4 {
    /// No IP layer (see [`Decoded::ip`]).
    None,
    /// TCP.
    Tcp(TcpInfo),
    /// UDP.
    Udp(UdpInfo),
    /// ICMP or ICMPv6.
    Icmp(IcmpInfo),
    /// A fragment other than the first: it has no L4 header, its payload is fragment data.
    /// Not an error; the flow table reassembles.
    Fragment,
    /// A protocol this crate does not parse (ESP, SCTP, IGMP, a tunnel that was not
    /// unwrapped, ...): [`IpInfo::protocol`] says which.
    Other,
}

/// One encapsulation unwrapped on the way to the innermost IP header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Encap {
    /// An 802.1Q/802.1ad tag.
    Vlan {
        /// The VLAN id.
        id: u16,
    },
    /// An MPLS label stack entry.
    Mpls {
        /// The label.
        label: u32,
    },
    /// A PPPoE session header (and the PPP header after it). Not a tunnel: a link layer,
    /// like a VLAN tag.
    Pppoe {
        /// The PPPoE session id.
        session: u16,
    },
    /// IP directly in IP (4in4, 6in4, 4in6, 6in6).
    IpInIp,
    /// GRE (for PPTP's version 1: the PPP frame inside too).
    Gre {
        /// The key field, if present (for PPTP: payload length and call id).
        key: Option<u32>,
    },
    /// ERSPAN in GRE.
    Erspan {
        /// The ERSPAN type (1, 2 or 3).
        kind: u8,
        /// The session id (0 for type I, which has no header).
        session: u16,
    },
    /// VXLAN.
    Vxlan {
        /// The VXLAN network identifier.
        vni: u32,
    },
    /// Geneve.
    Geneve {
        /// The virtual network identifier.
        vni: u32,
    },
    /// GTP-U (a G-PDU).
    Gtp {
        /// The tunnel endpoint identifier.
        teid: u32,
    },
    /// Teredo (IPv6 in UDP).
    Teredo,
    /// AYIYA.
    Ayiya,
    /// The CAPWAP data channel.
    Capwap,
    /// An 802.11 frame inside a tunnel (Aruba's GRE encapsulation, CAPWAP). Not a tunnel
    /// itself: it is the link layer the tunnel carries, like the Ethernet header inside
    /// VXLAN.
    Ieee80211,
}

impl Encap {
    /// True for tunnels (as opposed to VLAN tags, MPLS labels, PPPoE sessions and 802.11
    /// headers).
    pub fn is_tunnel(&self) -> bool {
        !matches!(
            self,
            Encap::Vlan { .. } | Encap::Mpls { .. } | Encap::Pppoe { .. } | Encap::Ieee80211
        )
    }
}

/// How many encapsulations [`Encaps`] keeps; more are counted, not kept.
pub const MAX_ENCAPS: usize = 8;

/// The encapsulations seen, outermost first: a fixed-size list (no allocation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Encaps {
    items: [Encap; MAX_ENCAPS],
    kept: u8,
    depth: u16,
}

impl Default for Encaps {
    fn default() -> Encaps {
        Encaps {
            items: [Encap::IpInIp; MAX_ENCAPS],
            kept: 0,
            depth: 0,
        }
    }
}

impl Encaps {
    pub(crate) fn push(&mut self, e: Encap) {
        if usize::from(self.kept) < MAX_ENCAPS {
            self.items[usize::from(self.kept)] = e;
            self.kept += 1;
        }
        self.depth = self.depth.saturating_add(1);
    }

    /// The encapsulations kept (the first [`MAX_ENCAPS`]), outermost first.
    pub fn as_slice(&self) -> &[Encap] {
        &self.items[..usize::from(self.kept)]
    }

    /// Iterates over the encapsulations kept.
    pub fn iter(&self) -> std::slice::Iter<'_, Encap> {
        self.as_slice().iter()
    }

    /// How many encapsulations were seen, including any beyond [`MAX_ENCAPS`].
    pub fn depth(&self) -> usize {
        usize::from(self.depth)
    }

    /// True when there were none.
    pub fn is_empty(&self) -> bool {
        self.depth == 0
    }

    /// How many of the kept encapsulations are tunnels.
    pub fn tunnels(&self) -> usize {
        self.iter().filter(|e| e.is_tunnel()).count()
    }
}

/// One decoded frame, innermost layers first in importance. Borrowed from the frame and
/// `Copy`.
///
/// Non-IP frames (ARP, LLDP, ...) decode successfully with `ip: None` and `l4: L4::None`:
/// they are not anomalies, and [`Decoded::ethertype`] says what they are.
///
/// When a tunnel's payload fails to decode, the result describes the tunnel packet itself
/// (e.g. UDP to port 4789) and [`Decoded::inner_error`] says why the inside was rejected;
/// a tunnel whose payload is not IP is likewise reported as itself, without error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decoded<'a> {
    /// The capture's link type.
    pub link: LinkType,
    /// The first VLAN id seen (the outer tag of a QinQ stack).
    pub vlan: Option<u16>,
    /// Every VLAN tag, MPLS label, PPPoE session and tunnel unwrapped, outermost first.
    pub encaps: Encaps,
    /// What the innermost link layer said follows (`None` for raw IP, loopback, PPP and
    /// NFLOG links, and for 802.11 frames without a SNAP header that names an EtherType).
    /// For PPPoE it stays [`EtherType::PppoeSession`]: the PPP protocol is no EtherType.
    pub ethertype: Option<EtherType>,
    /// The outermost IP header, when tunnels were unwrapped (otherwise `None`).
    pub outer_ip: Option<IpInfo>,
    /// The innermost IP header, or `None` for a non-IP frame.
    pub ip: Option<IpInfo>,
    /// The transport layer of the innermost IP packet.
    pub l4: L4,
    /// Where [`Decoded::segment`] starts in the frame.
    pub l4_offset: usize,
    /// The L4 header and payload as captured, cut at the end of the IP datagram (for UDP:
    /// at its length field). For a non-IP frame: what follows the link headers.
    pub segment: &'a [u8],
    /// The L4 payload (for [`L4::Fragment`] and [`L4::Other`]: the whole IP payload).
    pub payload: &'a [u8],
    /// The capture holds fewer bytes than the IP or UDP header announces.
    pub truncated: bool,
    /// Why a tunnel payload could not be decoded (see the type's docs).
    pub inner_error: Option<DecodeError>,
}

impl<'a> Decoded<'a> {
    /// Nothing decoded yet from a frame of link type `link` (what [`crate::decode_into`]
    /// starts from).
    pub fn new(link: LinkType) -> Decoded<'a> {
        Decoded {
            link,
            vlan: None,
            encaps: Encaps::default(),
            ethertype: None,
            outer_ip: None,
            ip: None,
            l4: L4::None,
            l4_offset: 0,
            segment: &[],
            payload: &[],
            truncated: false,
            inner_error: None,
        }
    }

    /// Source and destination ports for TCP and UDP.
    pub fn ports(&self) -> Option<(u16, u16)> {
        match self.l4 {
            L4::Tcp(t) => Some((t.src_port, t.dst_port)),
            L4::Udp(u) => Some((u.src_port, u.dst_port)),
            _ => None,
        }
    }

    /// Verifies the TCP, UDP or ICMP checksum. `None` when it cannot be checked: no L4
    /// header, a truncated capture, a fragment of a larger datagram, or a UDP-over-IPv4
    /// checksum of 0 (not computed). A UDP-over-IPv6 checksum of 0 is reported as bad.
    pub fn verify_l4_checksum(&self) -> Option<bool> {
        let ip = self.ip?;
        if self.truncated || ip.is_fragmented() {
            return None;
        }
        match self.l4 {
            L4::Tcp(_) => {
                checksum::verify_upper_layer(ip.src, ip.dst, IpProtocol::Tcp, self.segment)
            }
            L4::Udp(u) if u.checksum == 0 => match ip.version {
                IpVersion::V4 => None,
                IpVersion::V6 => Some(false),
            },
            L4::Udp(_) => {
                checksum::verify_upper_layer(ip.src, ip.dst, IpProtocol::Udp, self.segment)
            }
            L4::Icmp(IcmpInfo {
                kind: IcmpKind::V4(_),
                ..
            }) => Some(checksum::verify(self.segment)),
            L4::Icmp(IcmpInfo {
                kind: IcmpKind::V6(_),
                ..
            }) => checksum::verify_upper_layer(ip.src, ip.dst, IpProtocol::Icmpv6, self.segment),
            L4::None | L4::Fragment | L4::Other => None,
        }
    }
}

//! The error of the link, network, transport and tunnel parsers.

use std::fmt;

/// The layer a [`DecodeError`] comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Layer {
    /// The pcap link type as a whole (an unsupported one).
    Link,
    /// Ethernet II.
    Ethernet,
    /// Linux cooked capture v1.
    Sll,
    /// Linux cooked capture v2.
    Sll2,
    /// BSD loopback (`DLT_NULL`) or OpenBSD `DLT_LOOP` header.
    Loopback,
    /// A PPP header (address, control, protocol).
    Ppp,
    /// A PPPoE session header.
    Pppoe,
    /// A Cisco HDLC header.
    Chdlc,
    /// The Linux NFLOG header and its TLVs.
    Nflog,
    /// An 802.1Q / 802.1ad tag.
    Vlan,
    /// An MPLS label stack entry.
    Mpls,
    /// The radiotap header of an 802.11 capture.
    Radiotap,
    /// The Prism header of an 802.11 capture.
    Prism,
    /// The AVS header of an 802.11 capture.
    Avs,
    /// The IEEE 802.11 MAC header.
    Ieee80211,
    /// The 802.2 LLC / SNAP header after an 802.11 header.
    Llc,
    /// The IPv4 header.
    Ipv4,
    /// The fixed IPv6 header.
    Ipv6,
    /// An IPv6 extension header.
    Ipv6Ext,
    /// The TCP header.
    Tcp,
    /// The UDP header.
    Udp,
    /// The ICMP (v4) header.
    Icmp,
    /// The ICMPv6 header.
    Icmpv6,
    /// The GRE header.
    Gre,
    /// The ERSPAN header inside GRE.
    Erspan,
    /// The VXLAN header.
    Vxlan,
    /// The Geneve header.
    Geneve,
    /// The GTP-U header.
    Gtp,
    /// Teredo's indicators and the IPv6 header they must lead to.
    Teredo,
    /// The AYIYA header.
    Ayiya,
    /// The CAPWAP data header.
    Capwap,
    /// Tunnel nesting as a whole (the depth cap).
    Tunnel,
}

impl Layer {
    /// The layer's name as it appears in error messages.
    pub fn name(self) -> &'static str {
        match self {
            Layer::Link => "link",
            Layer::Ethernet => "ethernet",
            Layer::Sll => "sll",
            Layer::Sll2 => "sll2",
            Layer::Loopback => "loopback",
            Layer::Ppp => "ppp",
            Layer::Pppoe => "pppoe",
            Layer::Chdlc => "chdlc",
            Layer::Nflog => "nflog",
            Layer::Vlan => "vlan",
            Layer::Mpls => "mpls",
            Layer::Radiotap => "radiotap",
            Layer::Prism => "prism",
            Layer::Avs => "avs",
            Layer::Ieee80211 => "ieee80211",
            Layer::Llc => "llc",
            Layer::Ipv4 => "ipv4",
            Layer::Ipv6 => "ipv6",
            Layer::Ipv6Ext => "ipv6-ext",
            Layer::Tcp => "tcp",
            Layer::Udp => "udp",
            Layer::Icmp => "icmp",
            Layer::Icmpv6 => "icmpv6",
            Layer::Gre => "gre",
            Layer::Erspan => "erspan",
            Layer::Vxlan => "vxlan",
            Layer::Geneve => "geneve",
            Layer::Gtp => "gtp",
            Layer::Teredo => "teredo",
            Layer::Ayiya => "ayiya",
            Layer::Capwap => "capwap",
            Layer::Tunnel => "tunnel",
        }
    }
}

impl fmt::Display for Layer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a link, network, transport or tunnel header was rejected.
///
/// Small and `Copy`, so [`crate::Decoded`] can carry one (a tunnel payload that failed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The buffer ended before the header was complete.
    #[error("{layer}: truncated: needed {needed} bytes, got {got}")]
    Truncated {
        /// The header that did not fit.
        layer: Layer,
        /// Bytes the header needs (as far as it could be read).
        needed: usize,
        /// Bytes that were there.
        got: usize,
    },
    /// The version field holds a version this parser does not handle.
    #[error("{layer}: bad version {version}")]
    BadVersion {
        /// The header with the version field.
        layer: Layer,
        /// The version found.
        version: u8,
    },
    /// A header-length field is smaller than the fixed part of the header.
    #[error("{layer}: bad header length {len}")]
    BadHeaderLength {
        /// The header with the length field.
        layer: Layer,
        /// The header length announced, in bytes.
        len: usize,
    },
    /// A total-length field is smaller than the header it covers.
    #[error("{layer}: bad length {len}")]
    BadLength {
        /// The header with the length field.
        layer: Layer,
        /// The length announced, in bytes.
        len: usize,
    },
    /// More stacked headers than the cap allows (VLAN tags, MPLS labels, IPv6 extension
    /// headers, tunnels): a crafted packet cannot make the parser loop.
    #[error("{layer}: more than {max} stacked headers")]
    TooDeep {
        /// What was stacked.
        layer: Layer,
        /// The cap.
        max: usize,
    },
    /// A valid header using a feature this crate does not decode (GRE routing, an encrypted
    /// or aggregated 802.11 frame, GTP', a DTLS-encrypted or fragmented CAPWAP packet).
    #[error("{layer}: unsupported {what}")]
    Unsupported {
        /// The header.
        layer: Layer,
        /// The feature.
        what: &'static str,
    },
    /// A TCP option whose length byte is impossible or runs past the options.
    #[error("tcp: bad option kind {kind} length {len}")]
    BadTcpOption {
        /// The option kind.
        kind: u8,
        /// The option length byte (0 when it was missing).
        len: u8,
    },
    /// An IPv4 option whose length byte is impossible or runs past the options.
    #[error("ipv4: bad option kind {kind} length {len}")]
    BadIpv4Option {
        /// The option type byte.
        kind: u8,
        /// The option length byte (0 when it was missing).
        len: u8,
    },
    /// A pcap link type this crate does not decode.
    #[error("unsupported link type {0}")]
    UnsupportedLinkType(u32),
}

impl DecodeError {
    /// The layer the error comes from.
    pub fn layer(&self) -> Layer {
        match *self {
            DecodeError::Truncated { layer, .. }
            | DecodeError::BadVersion { layer, .. }
            | DecodeError::BadHeaderLength { layer, .. }
            | DecodeError::BadLength { layer, .. }
            | DecodeError::TooDeep { layer, .. }
            | DecodeError::Unsupported { layer, .. } => layer,
            DecodeError::BadTcpOption { .. } => Layer::Tcp,
            DecodeError::BadIpv4Option { .. } => Layer::Ipv4,
            DecodeError::UnsupportedLinkType(_) => Layer::Link,
        }
    }

    /// Shorthand for a [`DecodeError::Truncated`].
    pub(crate) fn truncated(layer: Layer, needed: usize, got: usize) -> DecodeError {
        DecodeError::Truncated { layer, needed, got }
    }
}

/// Fails with [`DecodeError::Truncated`] unless `buf` holds at least `needed` bytes.
pub(crate) fn need(layer: Layer, buf: &[u8], needed: usize) -> Result<(), DecodeError> {
    if buf.len() < needed {
        Err(DecodeError::truncated(layer, needed, buf.len()))
    } else {
        Ok(())
    }
}

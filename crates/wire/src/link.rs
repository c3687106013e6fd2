//! pcap link types: which header a captured frame starts with.
//!
//! The per-link headers live in [`crate::ethernet`], [`crate::sll`], [`crate::loopback`],
//! [`crate::ieee80211`] and the 802.11 radio headers ([`crate::radiotap`],
//! [`crate::prism`]), [`crate::ppp`], [`crate::chdlc`] and [`crate::nflog`]; raw IP has
//! none. [`crate::decode()`] dispatches on a [`LinkType`].

/// The link-layer header type of a capture (`LINKTYPE_*` / `DLT_*` in pcap files).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LinkType {
    /// Ethernet II, LINKTYPE_ETHERNET (1).
    Ethernet,
    /// Linux cooked capture v1, LINKTYPE_LINUX_SLL (113).
    LinuxSll,
    /// Linux cooked capture v2, LINKTYPE_LINUX_SLL2 (276).
    LinuxSll2,
    /// Raw IPv4 or IPv6, told apart by the version nibble: LINKTYPE_RAW (101), the
    /// platform-specific DLT_RAW values 12 and 14, and LINKTYPE_IPV4/IPV6 (228/229).
    Raw,
    /// BSD loopback, LINKTYPE_NULL (0): a 4-byte address family in the writer's byte order.
    Null,
    /// OpenBSD loopback, LINKTYPE_LOOP (108): a 4-byte address family in network byte order.
    Loop,
    /// IEEE 802.11 frames without a radio header, LINKTYPE_IEEE802_11 (105).
    Ieee80211,
    /// IEEE 802.11 frames after a Prism header (or an AVS one, told apart by its magic
    /// cookie), LINKTYPE_IEEE802_11_PRISM (119).
    Ieee80211Prism,
    /// IEEE 802.11 frames after a radiotap header, LINKTYPE_IEEE802_11_RADIOTAP (127).
    Ieee80211Radiotap,
    /// IEEE 802.11 frames after an AVS header, LINKTYPE_IEEE802_11_AVS (163).
    Ieee80211Avs,
    /// PPP, LINKTYPE_PPP (9): a PPP header, with the HDLC address and control bytes
    /// 0xFF 0x03 when the frame starts with them.
    Ppp,
    /// PPP in HDLC-like framing, LINKTYPE_PPP_HDLC (50): address and control bytes (0xFF
    /// 0x03) and the protocol, or Cisco HDLC framing when the first byte is 0x0F or 0x8F.
    PppHdlc,
    /// PPP after a one-byte direction pseudo-header (0 received, 1 sent),
    /// LINKTYPE_PPP_WITH_DIR (204).
    PppWithDir,
    /// Cisco HDLC, LINKTYPE_C_HDLC (104): address, control and an EtherType.
    CiscoHdlc,
    /// Linux netfilter NFLOG, LINKTYPE_NFLOG (239): a header and TLVs, one of them the
    /// logged IP packet.
    Nflog,
    /// Any other link type; [`crate::decode()`] rejects it.
    Unknown(u32),
}

impl LinkType {
    /// The link type for a pcap/pcapng link-type number.
    pub fn from_dlt(dlt: u32) -> LinkType {
        match dlt {
            0 => LinkType::Null,
            1 => LinkType::Ethernet,
            9 => LinkType::Ppp,
            12 | 14 | 101 | 228 | 229 => LinkType::Raw,
            50 => LinkType::PppHdlc,
            104 => LinkType::CiscoHdlc,
            105 => LinkType::Ieee80211,
            108 => LinkType::Loop,
            113 => LinkType::LinuxSll,
            119 => LinkType::Ieee80211Prism,
            127 => LinkType::Ieee80211Radiotap,
            163 => LinkType::Ieee80211Avs,
            204 => LinkType::PppWithDir,
            239 => LinkType::Nflog,
            276 => LinkType::LinuxSll2,
            n => LinkType::Unknown(n),
        }
    }

    /// The canonical LINKTYPE number (101 for every raw-IP alias).
    pub fn dlt(self) -> u32 {
        match self {
            LinkType::Null => 0,
            LinkType::Ethernet => 1,
            LinkType::Ppp => 9,
            LinkType::PppHdlc => 50,
            LinkType::Raw => 101,
            LinkType::CiscoHdlc => 104,
            LinkType::Ieee80211 => 105,
            LinkType::Loop => 108,
            LinkType::LinuxSll => 113,
            LinkType::Ieee80211Prism => 119,
            LinkType::Ieee80211Radiotap => 127,
            LinkType::Ieee80211Avs => 163,
            LinkType::PppWithDir => 204,
            LinkType::Nflog => 239,
            LinkType::LinuxSll2 => 276,
            LinkType::Unknown(n) => n,
        }
    }
}

impl From<u32> for LinkType {
    fn from(dlt: u32) -> LinkType {
        LinkType::from_dlt(dlt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dlt_numbers_round_trip() {
        for (n, t) in [
            (0, LinkType::Null),
            (1, LinkType::Ethernet),
            (9, LinkType::Ppp),
            (50, LinkType::PppHdlc),
            (101, LinkType::Raw),
            (104, LinkType::CiscoHdlc),
            (105, LinkType::Ieee80211),
            (108, LinkType::Loop),
            (113, LinkType::LinuxSll),
            (119, LinkType::Ieee80211Prism),
            (127, LinkType::Ieee80211Radiotap),
            (163, LinkType::Ieee80211Avs),
            (204, LinkType::PppWithDir),
            (239, LinkType::Nflog),
            (276, LinkType::LinuxSll2),
            (147, LinkType::Unknown(147)),
        ] {
            assert_eq!(LinkType::from(n), t);
            assert_eq!(t.dlt(), n);
        }
        for raw in [12, 14, 228, 229] {
            assert_eq!(LinkType::from_dlt(raw), LinkType::Raw);
        }
    }
}

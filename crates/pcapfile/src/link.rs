//! Link types as capture files store them.

use std::fmt;

/// A capture's link-layer header type: the raw `LINKTYPE_*` number from a pcap file header or
/// a pcapng interface description, kept as stored so a file can be written back unchanged.
///
/// [`LinkType::to_wire`] maps it to the parser's [`flowsight_wire::link::LinkType`], which
/// folds aliases together (every raw-IP number becomes `Raw`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LinkType(pub u32);

impl LinkType {
    /// LINKTYPE_NULL (0): BSD loopback.
    pub const NULL: LinkType = LinkType(0);
    /// LINKTYPE_ETHERNET (1).
    pub const ETHERNET: LinkType = LinkType(1);
    /// LINKTYPE_RAW (101): raw IPv4 or IPv6.
    pub const RAW: LinkType = LinkType(101);
    /// LINKTYPE_IEEE802_11 (105): 802.11 without radio header.
    pub const IEEE802_11: LinkType = LinkType(105);
    /// LINKTYPE_LOOP (108): OpenBSD loopback.
    pub const LOOP: LinkType = LinkType(108);
    /// LINKTYPE_LINUX_SLL (113): Linux cooked capture v1.
    pub const LINUX_SLL: LinkType = LinkType(113);
    /// LINKTYPE_IEEE802_11_RADIOTAP (127).
    pub const IEEE802_11_RADIOTAP: LinkType = LinkType(127);
    /// LINKTYPE_IPV4 (228): raw IPv4.
    pub const IPV4: LinkType = LinkType(228);
    /// LINKTYPE_IPV6 (229): raw IPv6.
    pub const IPV6: LinkType = LinkType(229);
    /// LINKTYPE_LINUX_SLL2 (276): Linux cooked capture v2.
    pub const LINUX_SLL2: LinkType = LinkType(276);

    /// The parser's view of this link type.
    pub fn to_wire(self) -> flowsight_wire::link::LinkType {
        flowsight_wire::link::LinkType::from_dlt(self.0)
    }

    /// The usual name (`ETHERNET`, `LINUX_SLL`, ...) of the link types flowsight meets most,
    /// `None` for the others.
    pub fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            0 => "NULL",
            1 => "ETHERNET",
            12 | 14 | 101 => "RAW",
            105 => "IEEE802_11",
            108 => "LOOP",
            113 => "LINUX_SLL",
            127 => "IEEE802_11_RADIOTAP",
            228 => "IPV4",
            229 => "IPV6",
            276 => "LINUX_SLL2",
            _ => return None,
        })
    }
}

impl From<LinkType> for flowsight_wire::link::LinkType {
    fn from(l: LinkType) -> Self {
        l.to_wire()
    }
}

impl From<flowsight_wire::link::LinkType> for LinkType {
    /// The canonical number (101 for every raw-IP alias).
    fn from(l: flowsight_wire::link::LinkType) -> Self {
        LinkType(l.dlt())
    }
}

impl fmt::Display for LinkType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => write!(f, "{n} ({})", self.0),
            None => write!(f, "{}", self.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flowsight_wire::link::LinkType as Wire;

    #[test]
    fn converts_to_and_from_the_parsers_link_type() {
        assert_eq!(LinkType::ETHERNET.to_wire(), Wire::Ethernet);
        assert_eq!(LinkType(14).to_wire(), Wire::Raw);
        assert_eq!(LinkType(147).to_wire(), Wire::Unknown(147));
        assert_eq!(LinkType::from(Wire::LinuxSll2), LinkType::LINUX_SLL2);
        assert_eq!(LinkType::ETHERNET.to_string(), "ETHERNET (1)");
        assert_eq!(LinkType(147).to_string(), "147");
    }
}

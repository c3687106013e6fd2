//! Ethernet II frames and the EtherType registry.

use crate::bytes::be16;
use crate::error::{DecodeError, Layer, need};

/// What an EtherType (or an EtherType-like protocol field) says follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EtherType {
    /// IPv4 (0x0800).
    Ipv4,
    /// ARP (0x0806).
    Arp,
    /// IPv6 (0x86DD).
    Ipv6,
    /// 802.1Q customer VLAN tag (0x8100).
    Vlan,
    /// 802.1ad service VLAN tag, the outer tag of QinQ (0x88A8).
    QinQ,
    /// The pre-standard QinQ outer tag (0x9100).
    QinQLegacy,
    /// MPLS unicast (0x8847).
    Mpls,
    /// MPLS multicast (0x8848).
    MplsMulticast,
    /// Transparent Ethernet bridging: an Ethernet frame follows (0x6558, inside GRE/Geneve).
    TransparentEthernet,
    /// ERSPAN types I and II (0x88BE, inside GRE).
    ErspanII,
    /// ERSPAN type III (0x22EB, inside GRE).
    ErspanIII,
    /// PPPoE discovery (0x8863).
    PppoeDiscovery,
    /// PPPoE session (0x8864).
    PppoeSession,
    /// LLDP (0x88CC).
    Lldp,
    /// Any other value; values below 0x0600 are 802.3 length fields, not types.
    Unknown(u16),
}

impl From<u16> for EtherType {
    fn from(v: u16) -> EtherType {
        match v {
            0x0800 => EtherType::Ipv4,
            0x0806 => EtherType::Arp,
            0x86dd => EtherType::Ipv6,
            0x8100 => EtherType::Vlan,
            0x88a8 => EtherType::QinQ,
            0x9100 => EtherType::QinQLegacy,
            0x8847 => EtherType::Mpls,
            0x8848 => EtherType::MplsMulticast,
            0x6558 => EtherType::TransparentEthernet,
            0x88be => EtherType::ErspanII,
            0x22eb => EtherType::ErspanIII,
            0x8863 => EtherType::PppoeDiscovery,
            0x8864 => EtherType::PppoeSession,
            0x88cc => EtherType::Lldp,
            n => EtherType::Unknown(n),
        }
    }
}

impl From<EtherType> for u16 {
    fn from(t: EtherType) -> u16 {
        match t {
            EtherType::Ipv4 => 0x0800,
            EtherType::Arp => 0x0806,
            EtherType::Ipv6 => 0x86dd,
            EtherType::Vlan => 0x8100,
            EtherType::QinQ => 0x88a8,
            EtherType::QinQLegacy => 0x9100,
            EtherType::Mpls => 0x8847,
            EtherType::MplsMulticast => 0x8848,
            EtherType::TransparentEthernet => 0x6558,
            EtherType::ErspanII => 0x88be,
            EtherType::ErspanIII => 0x22eb,
            EtherType::PppoeDiscovery => 0x8863,
            EtherType::PppoeSession => 0x8864,
            EtherType::Lldp => 0x88cc,
            EtherType::Unknown(n) => n,
        }
    }
}

impl EtherType {
    /// True for the three VLAN tag protocol identifiers (0x8100, 0x88A8, 0x9100).
    pub fn is_vlan(self) -> bool {
        matches!(
            self,
            EtherType::Vlan | EtherType::QinQ | EtherType::QinQLegacy
        )
    }

    /// True for MPLS unicast and multicast.
    pub fn is_mpls(self) -> bool {
        matches!(self, EtherType::Mpls | EtherType::MplsMulticast)
    }
}

mod field {
    use core::ops::Range;
    pub const DESTINATION: Range<usize> = 0..6;
    pub const SOURCE: Range<usize> = 6..12;
    pub const ETHERTYPE: Range<usize> = 12..14;
    pub const PAYLOAD: usize = 14;
}

/// A MAC address.
pub type Address = [u8; 6];

/// An Ethernet II frame (header of 14 bytes, no FCS).
#[derive(Debug, Clone, Copy)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Header length in bytes.
    pub const HEADER_LEN: usize = field::PAYLOAD;

    /// Wraps `buffer` without checking it.
    pub const fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    /// Wraps `buffer`, checking that the header is there.
    pub fn new_checked(buffer: T) -> Result<Packet<T>, DecodeError> {
        need(Layer::Ethernet, buffer.as_ref(), field::PAYLOAD)?;
        Ok(Packet { buffer })
    }

    /// Returns the wrapped buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The destination MAC address.
    pub fn destination(&self) -> Address {
        let mut a = [0; 6];
        a.copy_from_slice(&self.buffer.as_ref()[field::DESTINATION]);
        a
    }

    /// The source MAC address.
    pub fn source(&self) -> Address {
        let mut a = [0; 6];
        a.copy_from_slice(&self.buffer.as_ref()[field::SOURCE]);
        a
    }

    /// The EtherType (or 802.3 length, when below 0x0600).
    pub fn ethertype(&self) -> EtherType {
        EtherType::from(be16(self.buffer.as_ref(), field::ETHERTYPE.start))
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Packet<&'a T> {
    /// The bytes after the header (including any trailing padding: the IP layer cuts it).
    pub fn payload(&self) -> &'a [u8] {
        &self.buffer.as_ref()[field::PAYLOAD..]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FRAME: [u8; 16] = [
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x08, 0x06, 0xaa,
        0xbb,
    ];

    #[test]
    fn fields() {
        let p = Packet::new_checked(&FRAME[..]).unwrap();
        assert_eq!(p.destination(), [0xff; 6]);
        assert_eq!(p.source(), [0, 0x11, 0x22, 0x33, 0x44, 0x55]);
        assert_eq!(p.ethertype(), EtherType::Arp);
        assert_eq!(p.payload(), &[0xaa, 0xbb]);
    }

    #[test]
    fn ethertype_round_trips() {
        for v in [
            0x0800u16, 0x0806, 0x86dd, 0x8100, 0x88a8, 0x9100, 0x8847, 0x8848, 0x6558, 0x88be,
            0x22eb, 0x8863, 0x8864, 0x88cc, 0x1234, 0x0040,
        ] {
            assert_eq!(u16::from(EtherType::from(v)), v);
        }
        assert!(EtherType::QinQ.is_vlan() && EtherType::MplsMulticast.is_mpls());
    }

    #[test]
    fn truncated_prefixes_are_errors() {
        for n in 0..14 {
            assert_eq!(
                Packet::new_checked(&FRAME[..n]).unwrap_err(),
                DecodeError::Truncated {
                    layer: Layer::Ethernet,
                    needed: 14,
                    got: n
                }
            );
        }
    }
}

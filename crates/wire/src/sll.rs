//! Linux cooked capture headers (`any` device captures): SLL v1 and SLL v2.
//!
//! Both carry an EtherType-like protocol field that says what follows.

use crate::bytes::{be16, be32};
use crate::error::{DecodeError, Layer, need};
use crate::ethernet::EtherType;

/// Who the packet was addressed to, as the Linux kernel saw it (`PACKET_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PacketType {
    /// Addressed to this host.
    Host,
    /// Link-layer broadcast.
    Broadcast,
    /// Link-layer multicast.
    Multicast,
    /// Addressed to another host (promiscuous capture).
    OtherHost,
    /// Sent by this host.
    Outgoing,
    /// Any other value.
    Unknown(u16),
}

impl From<u16> for PacketType {
    fn from(v: u16) -> PacketType {
        match v {
            0 => PacketType::Host,
            1 => PacketType::Broadcast,
            2 => PacketType::Multicast,
            3 => PacketType::OtherHost,
            4 => PacketType::Outgoing,
            n => PacketType::Unknown(n),
        }
    }
}

mod field {
    use core::ops::Range;
    pub const V1_PKTTYPE: Range<usize> = 0..2;
    pub const V1_HATYPE: Range<usize> = 2..4;
    pub const V1_HALEN: Range<usize> = 4..6;
    pub const V1_ADDR: Range<usize> = 6..14;
    pub const V1_PROTOCOL: Range<usize> = 14..16;
    pub const V1_LEN: usize = 16;

    pub const V2_PROTOCOL: Range<usize> = 0..2;
    pub const V2_IFINDEX: Range<usize> = 4..8;
    pub const V2_HATYPE: Range<usize> = 8..10;
    pub const V2_PKTTYPE: usize = 10;
    pub const V2_HALEN: usize = 11;
    pub const V2_ADDR: Range<usize> = 12..20;
    pub const V2_LEN: usize = 20;
}

/// A Linux cooked capture v1 header (16 bytes).
#[derive(Debug, Clone, Copy)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Header length in bytes.
    pub const HEADER_LEN: usize = field::V1_LEN;

    /// Wraps `buffer` without checking it.
    pub const fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    /// Wraps `buffer`, checking that the whole header is there.
    pub fn new_checked(buffer: T) -> Result<Packet<T>, DecodeError> {
        need(Layer::Sll, buffer.as_ref(), field::V1_LEN)?;
        Ok(Packet { buffer })
    }

    /// Returns the wrapped buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// Who the packet was addressed to.
    pub fn packet_type(&self) -> PacketType {
        PacketType::from(be16(self.buffer.as_ref(), field::V1_PKTTYPE.start))
    }

    /// The ARPHRD_* type of the interface.
    pub fn hardware_type(&self) -> u16 {
        be16(self.buffer.as_ref(), field::V1_HATYPE.start)
    }

    /// The link-layer address of the sender, cut to its announced length (at most 8).
    pub fn address(&self) -> &[u8] {
        let b = self.buffer.as_ref();
        let n = (be16(b, field::V1_HALEN.start) as usize).min(8);
        &b[field::V1_ADDR][..n]
    }

    /// The protocol that follows.
    pub fn protocol(&self) -> EtherType {
        EtherType::from(be16(self.buffer.as_ref(), field::V1_PROTOCOL.start))
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Packet<&'a T> {
    /// The bytes after the header.
    pub fn payload(&self) -> &'a [u8] {
        &self.buffer.as_ref()[field::V1_LEN..]
    }
}

/// A Linux cooked capture v2 header (20 bytes).
#[derive(Debug, Clone, Copy)]
pub struct Packet2<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet2<T> {
    /// Header length in bytes.
    pub const HEADER_LEN: usize = field::V2_LEN;

    /// Wraps `buffer` without checking it.
    pub const fn new_unchecked(buffer: T) -> Packet2<T> {
        Packet2 { buffer }
    }

    /// Wraps `buffer`, checking that the whole header is there.
    pub fn new_checked(buffer: T) -> Result<Packet2<T>, DecodeError> {
        need(Layer::Sll2, buffer.as_ref(), field::V2_LEN)?;
        Ok(Packet2 { buffer })
    }

    /// Returns the wrapped buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The protocol that follows.
    pub fn protocol(&self) -> EtherType {
        EtherType::from(be16(self.buffer.as_ref(), field::V2_PROTOCOL.start))
    }

    /// The interface index the packet was captured on.
    pub fn ifindex(&self) -> u32 {
        be32(self.buffer.as_ref(), field::V2_IFINDEX.start)
    }

    /// The ARPHRD_* type of the interface.
    pub fn hardware_type(&self) -> u16 {
        be16(self.buffer.as_ref(), field::V2_HATYPE.start)
    }

    /// Who the packet was addressed to.
    pub fn packet_type(&self) -> PacketType {
        PacketType::from(u16::from(self.buffer.as_ref()[field::V2_PKTTYPE]))
    }

    /// The link-layer address of the sender, cut to its announced length (at most 8).
    pub fn address(&self) -> &[u8] {
        let b = self.buffer.as_ref();
        let n = (b[field::V2_HALEN] as usize).min(8);
        &b[field::V2_ADDR][..n]
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Packet2<&'a T> {
    /// The bytes after the header.
    pub fn payload(&self) -> &'a [u8] {
        &self.buffer.as_ref()[field::V2_LEN..]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const V1: [u8; 18] = [
        0x00, 0x04, 0x00, 0x01, 0x00, 0x06, 0x02, 0x42, 0xac, 0x11, 0x00, 0x02, 0x00, 0x00, 0x08,
        0x00, 0x45, 0x00,
    ];

    const V2: [u8; 21] = [
        0x86, 0xdd, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07, 0x00, 0x01, 0x00, 0x06, 0x02, 0x42, 0xac,
        0x11, 0x00, 0x02, 0x00, 0x00, 0x60,
    ];

    #[test]
    fn v1_fields() {
        let p = Packet::new_checked(&V1[..]).unwrap();
        assert_eq!(p.packet_type(), PacketType::Outgoing);
        assert_eq!(p.hardware_type(), 1);
        assert_eq!(p.address(), &[0x02, 0x42, 0xac, 0x11, 0x00, 0x02]);
        assert_eq!(p.protocol(), EtherType::Ipv4);
        assert_eq!(p.payload(), &[0x45, 0x00]);
    }

    #[test]
    fn v2_fields() {
        let p = Packet2::new_checked(&V2[..]).unwrap();
        assert_eq!(p.protocol(), EtherType::Ipv6);
        assert_eq!(p.ifindex(), 7);
        assert_eq!(p.hardware_type(), 1);
        assert_eq!(p.packet_type(), PacketType::Host);
        assert_eq!(p.address().len(), 6);
        assert_eq!(p.payload(), &[0x60]);
    }

    #[test]
    fn truncated_prefixes_are_errors() {
        for n in 0..Packet::<&[u8]>::HEADER_LEN {
            assert!(matches!(
                Packet::new_checked(&V1[..n]),
                Err(DecodeError::Truncated { layer: Layer::Sll, needed: 16, got }) if got == n
            ));
        }
        for n in 0..Packet2::<&[u8]>::HEADER_LEN {
            assert!(matches!(
                Packet2::new_checked(&V2[..n]),
                Err(DecodeError::Truncated {
                    layer: Layer::Sll2,
                    ..
                })
            ));
        }
    }
}

//! GRE (RFC 2784/2890, and the PPTP variant, version 1) and the ERSPAN headers that ride
//! in it.
//!
//! GRE says what it carries with an EtherType: IPv4, IPv6, transparent Ethernet (0x6558),
//! ERSPAN types I/II (0x88BE) or ERSPAN type III (0x22EB); PPTP's version 1 carries PPP
//! frames ([`PROTOCOL_PPP`], see [`crate::ppp`]). Aruba access points tunnel
//! 802.11 frames to their controller with vendor protocol types 0x8200 to 0x8370
//! ([`is_aruba_wlan`]). The RFC 1701 routing bit is not decoded
//! ([`DecodeError::Unsupported`]).

use crate::bytes::{be16, be32};
use crate::error::{DecodeError, Layer, need};
use crate::ethernet::EtherType;

/// The UDP port of GRE-in-UDP (RFC 8086): a GRE header, then the packet, as the UDP
/// payload.
pub const UDP_PORT: u16 = 4754;

mod field {
    use core::ops::Range;
    pub const FLAGS: usize = 0;
    pub const VERSION: usize = 1;
    pub const PROTOCOL: Range<usize> = 2..4;
    pub const OPTIONAL: usize = 4;
}

const FLAG_C: u8 = 0x80;
const FLAG_R: u8 = 0x40;
const FLAG_K: u8 = 0x20;
const FLAG_S: u8 = 0x10;
const FLAG_A: u8 = 0x80; // in the version byte, PPTP only

/// The protocol type of PPP frames, which PPTP's enhanced GRE (version 1) carries.
pub const PROTOCOL_PPP: u16 = 0x880b;

/// The lowest and highest GRE protocol types of Aruba's 802.11 encapsulation.
const ARUBA_WLAN: core::ops::RangeInclusive<u16> = 0x8200..=0x8370;

/// True when a GRE protocol type says an 802.11 frame follows (Aruba's access-point to
/// controller tunnels): 0x8200, 0x8210, ... 0x8370, the values Wireshark's GRE dissector
/// names "ARUBA WLAN" and Zeek hands to its 802.11 analyzer. (Wireshark also names 0x9000
/// so, but Zeek does not decode it as 802.11 and neither does this crate.)
pub fn is_aruba_wlan(protocol: u16) -> bool {
    ARUBA_WLAN.contains(&protocol) && protocol & 0x000f == 0
}

/// A GRE header.
#[derive(Debug, Clone, Copy)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps `buffer` without checking it.
    pub const fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    /// Wraps `buffer`, checking the version (0, or 1 for PPTP), that the routing bit is
    /// clear, and that every optional field the flags announce is there.
    pub fn new_checked(buffer: T) -> Result<Packet<T>, DecodeError> {
        let b = buffer.as_ref();
        need(Layer::Gre, b, field::OPTIONAL)?;
        let version = b[field::VERSION] & 7;
        if version > 1 {
            return Err(DecodeError::BadVersion {
                layer: Layer::Gre,
                version,
            });
        }
        if b[field::FLAGS] & FLAG_R != 0 {
            return Err(DecodeError::Unsupported {
                layer: Layer::Gre,
                what: "source routing",
            });
        }
        let p = Packet { buffer };
        need(Layer::Gre, p.buffer.as_ref(), p.header_len())?;
        Ok(p)
    }

    /// Returns the wrapped buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    fn flags(&self) -> u8 {
        self.buffer.as_ref()[field::FLAGS]
    }

    /// The version (0, or 1 for PPTP's enhanced GRE).
    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[field::VERSION] & 7
    }

    /// True when a checksum field is present.
    pub fn has_checksum(&self) -> bool {
        self.flags() & FLAG_C != 0
    }

    /// True when a key field is present.
    pub fn has_key(&self) -> bool {
        self.flags() & FLAG_K != 0
    }

    /// True when a sequence-number field is present.
    pub fn has_sequence(&self) -> bool {
        self.flags() & FLAG_S != 0
    }

    fn has_ack(&self) -> bool {
        self.version() == 1 && self.buffer.as_ref()[field::VERSION] & FLAG_A != 0
    }

    /// The protocol carried.
    pub fn protocol(&self) -> EtherType {
        EtherType::from(be16(self.buffer.as_ref(), field::PROTOCOL.start))
    }

    /// The header length in bytes, optional fields included.
    pub fn header_len(&self) -> usize {
        let mut n = field::OPTIONAL;
        if self.has_checksum() {
            n += 4;
        }
        if self.has_key() {
            n += 4;
        }
        if self.has_sequence() {
            n += 4;
        }
        if self.has_ack() {
            n += 4;
        }
        n
    }

    /// The checksum field, if present.
    pub fn checksum(&self) -> Option<u16> {
        self.has_checksum()
            .then(|| be16(self.buffer.as_ref(), field::OPTIONAL))
    }

    /// The key field, if present (for PPTP: payload length and call id).
    pub fn key(&self) -> Option<u32> {
        let at = field::OPTIONAL + if self.has_checksum() { 4 } else { 0 };
        self.has_key().then(|| be32(self.buffer.as_ref(), at))
    }

    /// The sequence number, if present.
    pub fn sequence(&self) -> Option<u32> {
        let at = field::OPTIONAL
            + if self.has_checksum() { 4 } else { 0 }
            + if self.has_key() { 4 } else { 0 };
        self.has_sequence().then(|| be32(self.buffer.as_ref(), at))
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Packet<&'a T> {
    /// The bytes after the header.
    pub fn payload(&self) -> &'a [u8] {
        let b = self.buffer.as_ref();
        &b[Packet::new_unchecked(b).header_len()..]
    }
}

/// An ERSPAN type II (version 1) or type III (version 2) header, as carried after GRE.
/// Type I has no header: the mirrored frame follows GRE directly.
#[derive(Debug, Clone, Copy)]
pub struct ErspanPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> ErspanPacket<T> {
    /// Wraps `buffer` without checking it.
    pub const fn new_unchecked(buffer: T) -> ErspanPacket<T> {
        ErspanPacket { buffer }
    }

    /// Wraps `buffer`, checking the version (1 or 2) and the header length (8 bytes for
    /// type II, 12 for type III, 20 with the type III platform sub-header).
    pub fn new_checked(buffer: T) -> Result<ErspanPacket<T>, DecodeError> {
        let b = buffer.as_ref();
        need(Layer::Erspan, b, 8)?;
        let version = b[0] >> 4;
        if !(1..=2).contains(&version) {
            return Err(DecodeError::BadVersion {
                layer: Layer::Erspan,
                version,
            });
        }
        if version == 2 {
            need(Layer::Erspan, b, 12)?;
        }
        let p = ErspanPacket { buffer };
        need(Layer::Erspan, p.buffer.as_ref(), p.header_len())?;
        Ok(p)
    }

    /// The ERSPAN version field (1: type II, 2: type III).
    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[0] >> 4
    }

    /// The VLAN of the mirrored frame.
    pub fn vlan(&self) -> u16 {
        be16(self.buffer.as_ref(), 0) & 0x0fff
    }

    /// The session id (10 bits).
    pub fn session_id(&self) -> u16 {
        be16(self.buffer.as_ref(), 2) & 0x03ff
    }

    /// The header length in bytes.
    pub fn header_len(&self) -> usize {
        let b = self.buffer.as_ref();
        match self.version() {
            1 => 8,
            _ if b[11] & 1 != 0 => 20,
            _ => 12,
        }
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> ErspanPacket<&'a T> {
    /// The mirrored frame (Ethernet).
    pub fn payload(&self) -> &'a [u8] {
        let b = self.buffer.as_ref();
        &b[ErspanPacket::new_unchecked(b).header_len()..]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_gre() {
        let b = [0x00, 0x00, 0x08, 0x00, 0x45];
        let p = Packet::new_checked(&b[..]).unwrap();
        assert_eq!(p.version(), 0);
        assert_eq!(p.protocol(), EtherType::Ipv4);
        assert_eq!(p.header_len(), 4);
        assert_eq!((p.checksum(), p.key(), p.sequence()), (None, None, None));
        assert_eq!(p.payload(), &[0x45]);
    }

    #[test]
    fn optional_fields() {
        let b = [
            0xb0, 0x00, 0x65, 0x58, 0xab, 0xcd, 0, 0, 0, 0, 0, 42, 0, 0, 1, 0, 0xff,
        ];
        let p = Packet::new_checked(&b[..]).unwrap();
        assert_eq!(p.protocol(), EtherType::TransparentEthernet);
        assert_eq!(p.checksum(), Some(0xabcd));
        assert_eq!(p.key(), Some(42));
        assert_eq!(p.sequence(), Some(256));
        assert_eq!(p.header_len(), 16);
        assert_eq!(p.payload(), &[0xff]);
        for n in 0..16 {
            assert!(matches!(
                Packet::new_checked(&b[..n]),
                Err(DecodeError::Truncated {
                    layer: Layer::Gre,
                    ..
                })
            ));
        }
    }

    #[test]
    fn pptp_version_one() {
        // K, S set; A set in the version byte; PPP.
        let b = [0x30, 0x81, 0x88, 0x0b, 0, 10, 0, 1, 0, 0, 0, 5, 0, 0, 0, 4];
        let p = Packet::new_checked(&b[..]).unwrap();
        assert_eq!(p.version(), 1);
        assert_eq!(p.header_len(), 16);
        assert_eq!(p.sequence(), Some(5));
    }

    #[test]
    fn rejects_what_it_does_not_decode() {
        assert_eq!(
            Packet::new_checked(&[0x00, 0x02, 0x08, 0x00][..]).unwrap_err(),
            DecodeError::BadVersion {
                layer: Layer::Gre,
                version: 2
            }
        );
        assert_eq!(
            Packet::new_checked(&[0x40, 0x00, 0x08, 0x00, 0, 0, 0, 0][..]).unwrap_err(),
            DecodeError::Unsupported {
                layer: Layer::Gre,
                what: "source routing"
            }
        );
    }

    #[test]
    fn aruba_protocol_types() {
        for t in [0x8200, 0x8210, 0x82a0, 0x8300, 0x8310, 0x8370] {
            assert!(is_aruba_wlan(t), "{t:#x}");
        }
        for t in [0x81f0, 0x8201, 0x820f, 0x8380, 0x9000, 0x0800, 0x6558] {
            assert!(!is_aruba_wlan(t), "{t:#x}");
        }
    }

    #[test]
    fn erspan_headers() {
        // Type II: version 1, VLAN 10, session 100.
        let t2 = [0x10, 0x0a, 0x00, 0x64, 0, 0, 0, 0, 0xee];
        let e = ErspanPacket::new_checked(&t2[..]).unwrap();
        assert_eq!((e.version(), e.vlan(), e.session_id()), (1, 10, 100));
        assert_eq!(e.payload(), &[0xee]);
        // Type III with the platform sub-header.
        let mut t3 = vec![0x20, 0x00, 0x00, 0x07, 0, 0, 0, 0, 0, 0, 0, 0x01];
        t3.extend_from_slice(&[0; 8]);
        t3.push(0xdd);
        let e = ErspanPacket::new_checked(&t3[..]).unwrap();
        assert_eq!((e.version(), e.session_id(), e.header_len()), (2, 7, 20));
        assert_eq!(e.payload(), &[0xdd]);
        for n in 0..20 {
            assert!(matches!(
                ErspanPacket::new_checked(&t3[..n]),
                Err(DecodeError::Truncated {
                    layer: Layer::Erspan,
                    ..
                })
            ));
        }
        assert_eq!(
            ErspanPacket::new_checked(&[0x30, 0, 0, 0, 0, 0, 0, 0][..]).unwrap_err(),
            DecodeError::BadVersion {
                layer: Layer::Erspan,
                version: 3
            }
        );
    }
}

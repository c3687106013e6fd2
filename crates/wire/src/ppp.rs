//! PPP (RFC 1661) headers as captures hold them: LINKTYPE_PPP, LINKTYPE_PPP_HDLC and
//! LINKTYPE_PPP_WITH_DIR frames, and the PPP frames inside PPPoE ([`crate::pppoe`]) and
//! PPTP's enhanced GRE ([`crate::gre`]).
//!
//! A PPP frame may start with the HDLC address and control bytes 0xFF 0x03 (RFC 1662); a
//! link that negotiated address-and-control-field compression leaves them out. Then
//! comes the protocol field: two bytes, or one when protocol-field compression is in use.
//! Protocol numbers have an even first byte and an odd last byte, so a first byte with
//! its low bit set is a whole one-byte protocol.
//!
//! The frame is read as libpcap documents LINKTYPE_PPP: the address and control bytes are
//! taken to be there when, and only when, the frame starts with 0xFF 0x03.

use crate::bytes::be16;
use crate::error::{DecodeError, Layer, need};

/// The HDLC all-stations address byte.
pub const ADDRESS: u8 = 0xff;

/// The HDLC unnumbered-information control byte.
pub const CONTROL: u8 = 0x03;

/// The longest PPP header: address, control and a two-byte protocol.
pub const MAX_HEADER_LEN: usize = 4;

mod field {
    pub const ADDRESS: usize = 0;
    pub const CONTROL: usize = 1;
    /// Where the protocol starts when address and control are present.
    pub const FRAMED_PROTOCOL: usize = 2;
}

/// What a PPP protocol field says follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// IPv4 (0x0021).
    Ipv4,
    /// IPv6 (0x0057).
    Ipv6,
    /// MPLS unicast (0x0281).
    Mpls,
    /// MPLS multicast (0x0283).
    MplsMulticast,
    /// The link control protocol (0xC021).
    Lcp,
    /// The IPv4 control protocol (0x8021).
    Ipcp,
    /// The IPv6 control protocol (0x8057).
    Ipv6cp,
    /// Any other value.
    Unknown(u16),
}

impl From<u16> for Protocol {
    fn from(v: u16) -> Protocol {
        match v {
            0x0021 => Protocol::Ipv4,
            0x0057 => Protocol::Ipv6,
            0x0281 => Protocol::Mpls,
            0x0283 => Protocol::MplsMulticast,
            0xc021 => Protocol::Lcp,
            0x8021 => Protocol::Ipcp,
            0x8057 => Protocol::Ipv6cp,
            n => Protocol::Unknown(n),
        }
    }
}

impl From<Protocol> for u16 {
    fn from(p: Protocol) -> u16 {
        match p {
            Protocol::Ipv4 => 0x0021,
            Protocol::Ipv6 => 0x0057,
            Protocol::Mpls => 0x0281,
            Protocol::MplsMulticast => 0x0283,
            Protocol::Lcp => 0xc021,
            Protocol::Ipcp => 0x8021,
            Protocol::Ipv6cp => 0x8057,
            Protocol::Unknown(n) => n,
        }
    }
}

/// A PPP header: optional address and control bytes, then a one- or two-byte protocol.
#[derive(Debug, Clone, Copy)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps `buffer` without checking it.
    pub const fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    /// Wraps `buffer`, checking that the whole header is there (1 to 4 bytes, see
    /// [`Packet::header_len`]). A lone 0xFF is taken for cut framing, not for a protocol.
    pub fn new_checked(buffer: T) -> Result<Packet<T>, DecodeError> {
        let b = buffer.as_ref();
        if b.first() == Some(&ADDRESS) {
            need(Layer::Ppp, b, field::CONTROL + 1)?;
        }
        let at = protocol_at(b);
        need(Layer::Ppp, b, at + 1)?;
        let p = Packet { buffer };
        need(Layer::Ppp, p.buffer.as_ref(), p.header_len())?;
        Ok(p)
    }

    /// Returns the wrapped buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// True when the frame starts with the address and control bytes 0xFF 0x03.
    pub fn has_address_control(&self) -> bool {
        protocol_at(self.buffer.as_ref()) == field::FRAMED_PROTOCOL
    }

    /// True when the protocol field is compressed to one byte.
    pub fn is_protocol_compressed(&self) -> bool {
        let b = self.buffer.as_ref();
        b[protocol_at(b)] & 1 == 1
    }

    /// The header length in bytes: 1 or 2 for the protocol, plus 2 with address and
    /// control.
    pub fn header_len(&self) -> usize {
        let at = protocol_at(self.buffer.as_ref());
        at + if self.is_protocol_compressed() { 1 } else { 2 }
    }

    /// The protocol number (a compressed one is returned as its 16-bit value).
    pub fn protocol_number(&self) -> u16 {
        let b = self.buffer.as_ref();
        let at = protocol_at(b);
        if self.is_protocol_compressed() {
            u16::from(b[at])
        } else {
            be16(b, at)
        }
    }

    /// The protocol carried.
    pub fn protocol(&self) -> Protocol {
        Protocol::from(self.protocol_number())
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Packet<&'a T> {
    /// The bytes after the header.
    pub fn payload(&self) -> &'a [u8] {
        let b = self.buffer.as_ref();
        &b[Packet::new_unchecked(b).header_len()..]
    }
}

/// Where the protocol field starts: after 0xFF 0x03 when the frame starts with them.
fn protocol_at(b: &[u8]) -> usize {
    if b.get(field::ADDRESS) == Some(&ADDRESS) && b.get(field::CONTROL) == Some(&CONTROL) {
        field::FRAMED_PROTOCOL
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn framed_and_unframed_headers() {
        // Address, control, IPv4.
        let b = [0xff, 0x03, 0x00, 0x21, 0x45];
        let p = Packet::new_checked(&b[..]).unwrap();
        assert!(p.has_address_control() && !p.is_protocol_compressed());
        assert_eq!((p.header_len(), p.protocol()), (4, Protocol::Ipv4));
        assert_eq!(p.payload(), &[0x45]);
        // Without address and control: IPv6.
        let b = [0x00, 0x57, 0x60];
        let p = Packet::new_checked(&b[..]).unwrap();
        assert!(!p.has_address_control());
        assert_eq!((p.header_len(), p.protocol()), (2, Protocol::Ipv6));
        // Protocol-field compression, with and without address and control.
        let b = [0x21, 0x45];
        let p = Packet::new_checked(&b[..]).unwrap();
        assert!(p.is_protocol_compressed());
        assert_eq!((p.header_len(), p.protocol()), (1, Protocol::Ipv4));
        let b = [0xff, 0x03, 0x57, 0x60];
        let p = Packet::new_checked(&b[..]).unwrap();
        assert_eq!((p.header_len(), p.protocol()), (3, Protocol::Ipv6));
        assert_eq!(p.payload(), &[0x60]);
        // 0xFF not followed by 0x03 is not framing: 0xFF is an odd, one-byte protocol.
        let b = [0xff, 0x5f, 0x7e];
        let p = Packet::new_checked(&b[..]).unwrap();
        assert_eq!(p.protocol(), Protocol::Unknown(0xff));
        assert_eq!(p.header_len(), 1);
    }

    #[test]
    fn protocol_numbers_round_trip() {
        for v in [
            0x0021u16, 0x0057, 0x0281, 0x0283, 0xc021, 0x8021, 0x8057, 0x002d,
        ] {
            assert_eq!(u16::from(Protocol::from(v)), v);
        }
    }

    #[test]
    fn truncated_prefixes_are_errors() {
        let b = [0xff, 0x03, 0x00, 0x21];
        for n in 1..4 {
            assert_eq!(
                Packet::new_checked(&b[..n]).unwrap_err(),
                DecodeError::Truncated {
                    layer: Layer::Ppp,
                    needed: n + 1,
                    got: n
                }
            );
        }
        assert_eq!(
            Packet::new_checked(&[0x00u8][..]).unwrap_err(),
            DecodeError::Truncated {
                layer: Layer::Ppp,
                needed: 2,
                got: 1
            }
        );
        assert_eq!(
            Packet::new_checked(&b[..0]).unwrap_err(),
            DecodeError::Truncated {
                layer: Layer::Ppp,
                needed: 1,
                got: 0
            }
        );
    }
}

//! Cisco HDLC headers (LINKTYPE_C_HDLC, and the Cisco framing LINKTYPE_PPP_HDLC may hold):
//! an address byte (0x0F unicast, 0x8F broadcast), a control byte (0) and an EtherType.

use crate::bytes::be16;
use crate::error::{DecodeError, Layer, need};
use crate::ethernet::EtherType;

/// Header length in bytes.
pub const HEADER_LEN: usize = 4;

/// The unicast address byte.
pub const ADDRESS_UNICAST: u8 = 0x0f;

/// The broadcast address byte.
pub const ADDRESS_BROADCAST: u8 = 0x8f;

mod field {
    use core::ops::Range;
    pub const ADDRESS: usize = 0;
    pub const CONTROL: usize = 1;
    pub const PROTOCOL: Range<usize> = 2..4;
}

/// True when `b` starts with a Cisco HDLC address byte (how LINKTYPE_PPP_HDLC frames tell
/// Cisco framing from PPP's 0xFF).
pub fn is_cisco(b: &[u8]) -> bool {
    matches!(b.first(), Some(&ADDRESS_UNICAST) | Some(&ADDRESS_BROADCAST))
}

/// A Cisco HDLC header.
#[derive(Debug, Clone, Copy)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps `buffer` without checking it.
    pub const fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    /// Wraps `buffer`, checking that the header is there (address and control values are
    /// not checked).
    pub fn new_checked(buffer: T) -> Result<Packet<T>, DecodeError> {
        need(Layer::Chdlc, buffer.as_ref(), HEADER_LEN)?;
        Ok(Packet { buffer })
    }

    /// Returns the wrapped buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The address byte.
    pub fn address(&self) -> u8 {
        self.buffer.as_ref()[field::ADDRESS]
    }

    /// The control byte.
    pub fn control(&self) -> u8 {
        self.buffer.as_ref()[field::CONTROL]
    }

    /// The protocol carried, an EtherType.
    pub fn protocol(&self) -> EtherType {
        EtherType::from(be16(self.buffer.as_ref(), field::PROTOCOL.start))
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Packet<&'a T> {
    /// The bytes after the header.
    pub fn payload(&self) -> &'a [u8] {
        &self.buffer.as_ref()[HEADER_LEN..]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields() {
        let b = [0x8f, 0x00, 0x86, 0xdd, 0x60];
        assert!(is_cisco(&b) && !is_cisco(&[0xff, 0x03]) && !is_cisco(&[]));
        let p = Packet::new_checked(&b[..]).unwrap();
        assert_eq!((p.address(), p.control()), (0x8f, 0));
        assert_eq!(p.protocol(), EtherType::Ipv6);
        assert_eq!(p.payload(), &[0x60]);
        for n in 0..HEADER_LEN {
            assert_eq!(
                Packet::new_checked(&b[..n]).unwrap_err(),
                DecodeError::Truncated {
                    layer: Layer::Chdlc,
                    needed: HEADER_LEN,
                    got: n
                }
            );
        }
    }
}

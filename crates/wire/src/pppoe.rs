//! PPPoE session headers (RFC 2516): the 6 bytes after the EtherType 0x8864, followed by a
//! PPP frame without address and control bytes ([`crate::ppp`]).
//!
//! The header is a version and a type nibble (both 1), a code (0 for session data), the
//! session id and the length of the PPP frame that follows. Discovery packets (EtherType
//! 0x8863) carry no IP and are not decoded.

use crate::bytes::be16;
use crate::error::{DecodeError, Layer, need};

/// Header length in bytes.
pub const HEADER_LEN: usize = 6;

/// The only version and type RFC 2516 defines (both nibbles 1).
pub const VERSION_TYPE: u8 = 0x11;

mod field {
    use core::ops::Range;
    pub const VER_TYPE: usize = 0;
    pub const CODE: usize = 1;
    pub const SESSION_ID: Range<usize> = 2..4;
    pub const LENGTH: Range<usize> = 4..6;
}

/// A PPPoE header.
#[derive(Debug, Clone, Copy)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps `buffer` without checking it.
    pub const fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    /// Wraps `buffer`, checking that the header is there and that version and type are 1
    /// ([`DecodeError::BadVersion`] reports the version/type byte otherwise).
    pub fn new_checked(buffer: T) -> Result<Packet<T>, DecodeError> {
        let b = buffer.as_ref();
        need(Layer::Pppoe, b, HEADER_LEN)?;
        if b[field::VER_TYPE] != VERSION_TYPE {
            return Err(DecodeError::BadVersion {
                layer: Layer::Pppoe,
                version: b[field::VER_TYPE],
            });
        }
        Ok(Packet { buffer })
    }

    /// Returns the wrapped buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The version (1).
    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[field::VER_TYPE] >> 4
    }

    /// The type (1).
    pub fn kind(&self) -> u8 {
        self.buffer.as_ref()[field::VER_TYPE] & 0x0f
    }

    /// The code (0 for session data; discovery packets use the others).
    pub fn code(&self) -> u8 {
        self.buffer.as_ref()[field::CODE]
    }

    /// The session id.
    pub fn session_id(&self) -> u16 {
        be16(self.buffer.as_ref(), field::SESSION_ID.start)
    }

    /// The length field: bytes of PPP frame after the header.
    pub fn length(&self) -> u16 {
        be16(self.buffer.as_ref(), field::LENGTH.start)
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Packet<&'a T> {
    /// The PPP frame: the bytes after the header, cut at the length field (Ethernet
    /// padding removed) when the capture holds that many.
    pub fn payload(&self) -> &'a [u8] {
        let b = self.buffer.as_ref();
        let len = usize::from(Packet::new_unchecked(b).length());
        &b[HEADER_LEN..b.len().min(HEADER_LEN + len)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SESSION: [u8; 10] = [0x11, 0x00, 0x0f, 0x07, 0x00, 0x02, 0x00, 0x21, 0xaa, 0xbb];

    #[test]
    fn fields() {
        let p = Packet::new_checked(&SESSION[..]).unwrap();
        assert_eq!((p.version(), p.kind(), p.code()), (1, 1, 0));
        assert_eq!(p.session_id(), 0x0f07);
        assert_eq!(p.length(), 2);
        // Cut at the length field: the rest is padding.
        assert_eq!(p.payload(), &[0x00, 0x21]);
        // A capture shorter than the length field: what is there.
        let p = Packet::new_checked(&SESSION[..7]).unwrap();
        assert_eq!(p.payload(), &[0x00]);
    }

    #[test]
    fn bad_version_and_truncation() {
        let mut b = SESSION;
        b[0] = 0x21;
        assert_eq!(
            Packet::new_checked(&b[..]).unwrap_err(),
            DecodeError::BadVersion {
                layer: Layer::Pppoe,
                version: 0x21
            }
        );
        for n in 0..HEADER_LEN {
            assert_eq!(
                Packet::new_checked(&SESSION[..n]).unwrap_err(),
                DecodeError::Truncated {
                    layer: Layer::Pppoe,
                    needed: HEADER_LEN,
                    got: n
                }
            );
        }
    }
}

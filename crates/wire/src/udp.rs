//! UDP headers (RFC 768).
//!
//! The length field decides where the datagram ends; as for IP, a buffer shorter than it
//! (a snap-length cut) is accepted and flagged by [`Packet::is_truncated`].

use crate::bytes::be16;
use crate::error::{DecodeError, Layer, need};

mod field {
    use core::ops::Range;
    pub const SRC_PORT: Range<usize> = 0..2;
    pub const DST_PORT: Range<usize> = 2..4;
    pub const LENGTH: Range<usize> = 4..6;
    pub const CHECKSUM: Range<usize> = 6..8;
    pub const PAYLOAD: usize = 8;
}

/// Header length in bytes.
pub const HEADER_LEN: usize = field::PAYLOAD;

/// A UDP datagram.
#[derive(Debug, Clone, Copy)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps `buffer` without checking it.
    pub const fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    /// Wraps `buffer`, checking that the header is there and that the length field
    /// covers it.
    pub fn new_checked(buffer: T) -> Result<Packet<T>, DecodeError> {
        let b = buffer.as_ref();
        need(Layer::Udp, b, HEADER_LEN)?;
        let len = usize::from(be16(b, field::LENGTH.start));
        if len < HEADER_LEN {
            return Err(DecodeError::BadLength {
                layer: Layer::Udp,
                len,
            });
        }
        Ok(Packet { buffer })
    }

    /// Returns the wrapped buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The source port.
    pub fn src_port(&self) -> u16 {
        be16(self.buffer.as_ref(), field::SRC_PORT.start)
    }

    /// The destination port.
    pub fn dst_port(&self) -> u16 {
        be16(self.buffer.as_ref(), field::DST_PORT.start)
    }

    /// The length field (header and payload).
    pub fn len(&self) -> u16 {
        be16(self.buffer.as_ref(), field::LENGTH.start)
    }

    /// Never true once checked (the length covers at least the header); for API symmetry.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The checksum field (0: not computed, allowed over IPv4 only).
    pub fn checksum(&self) -> u16 {
        be16(self.buffer.as_ref(), field::CHECKSUM.start)
    }

    /// True when the buffer holds fewer bytes than the length field announces.
    pub fn is_truncated(&self) -> bool {
        self.buffer.as_ref().len() < usize::from(self.len())
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Packet<&'a T> {
    /// The payload: up to the length field, or as much as was captured.
    pub fn payload(&self) -> &'a [u8] {
        let b = self.buffer.as_ref();
        let end = usize::from(be16(b, field::LENGTH.start)).min(b.len());
        &b[HEADER_LEN..end]
    }

    /// Header and payload up to the length field (what the checksum covers).
    pub fn datagram(&self) -> &'a [u8] {
        let b = self.buffer.as_ref();
        let end = usize::from(be16(b, field::LENGTH.start)).min(b.len());
        &b[..end]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PACKET: [u8; 14] = [
        0xbf, 0x00, 0x00, 0x35, 0x00, 0x0c, 0x12, 0x4d, 0xaa, 0x00, 0x00, 0xff, 0x00, 0x00,
    ];

    #[test]
    fn fields() {
        let p = Packet::new_checked(&PACKET[..]).unwrap();
        assert_eq!(p.src_port(), 48896);
        assert_eq!(p.dst_port(), 53);
        assert_eq!(p.len(), 12);
        assert_eq!(p.checksum(), 0x124d);
        assert_eq!(p.payload(), &[0xaa, 0x00, 0x00, 0xff]);
        assert_eq!(p.datagram().len(), 12);
        assert!(!p.is_truncated() && !p.is_empty());
    }

    #[test]
    fn bad_length() {
        let mut b = PACKET;
        b[5] = 7;
        assert_eq!(
            Packet::new_checked(&b[..]).unwrap_err(),
            DecodeError::BadLength {
                layer: Layer::Udp,
                len: 7
            }
        );
    }

    #[test]
    fn truncated_prefixes_are_errors_or_flagged() {
        for n in 0..PACKET.len() {
            match Packet::new_checked(&PACKET[..n]) {
                Err(DecodeError::Truncated {
                    layer: Layer::Udp, ..
                }) => assert!(n < 8),
                Err(e) => panic!("unexpected {e}"),
                Ok(p) => assert_eq!(p.is_truncated(), n < 12),
            }
        }
    }
}

//! MPLS label stack entries.
//!
//! MPLS does not say what its payload is. After the bottom-of-stack entry,
//! [`guess_payload`] looks at the first nibble like every dissector does: 4 is IPv4, 6 is
//! IPv6; anything else (pseudowires, ...) is left undecoded.

use crate::bytes::be32;
use crate::error::{DecodeError, Layer, need};

/// The most label stack entries [`crate::decode()`] walks; a deeper stack is rejected as
/// [`DecodeError::TooDeep`].
pub const MAX_LABELS: usize = 16;

mod field {
    pub const ENTRY: core::ops::Range<usize> = 0..4;
}

/// One 4-byte label stack entry.
#[derive(Debug, Clone, Copy)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Entry length in bytes.
    pub const HEADER_LEN: usize = field::ENTRY.end;

    /// Wraps `buffer` without checking it.
    pub const fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    /// Wraps `buffer`, checking that the entry is there.
    pub fn new_checked(buffer: T) -> Result<Packet<T>, DecodeError> {
        need(Layer::Mpls, buffer.as_ref(), field::ENTRY.end)?;
        Ok(Packet { buffer })
    }

    /// Returns the wrapped buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    fn entry(&self) -> u32 {
        be32(self.buffer.as_ref(), field::ENTRY.start)
    }

    /// The label (20 bits).
    pub fn label(&self) -> u32 {
        self.entry() >> 12
    }

    /// The traffic class (3 bits).
    pub fn traffic_class(&self) -> u8 {
        ((self.entry() >> 9) & 7) as u8
    }

    /// True on the last entry of the stack.
    pub fn bottom_of_stack(&self) -> bool {
        self.entry() & 0x100 != 0
    }

    /// The time to live.
    pub fn ttl(&self) -> u8 {
        (self.entry() & 0xff) as u8
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Packet<&'a T> {
    /// The bytes after the entry.
    pub fn payload(&self) -> &'a [u8] {
        &self.buffer.as_ref()[field::ENTRY.end..]
    }
}

/// What the bytes after the bottom of an MPLS stack look like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Payload {
    /// First nibble 4.
    Ipv4,
    /// First nibble 6.
    Ipv6,
    /// Anything else, or nothing.
    Unknown,
}

/// Guesses the payload after an MPLS stack from its first nibble.
pub fn guess_payload(payload: &[u8]) -> Payload {
    match payload.first().map(|b| b >> 4) {
        Some(4) => Payload::Ipv4,
        Some(6) => Payload::Ipv6,
        _ => Payload::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields() {
        // label 1000, TC 5, bottom, TTL 64.
        let e = [0x00, 0x3e, 0x8b, 0x40, 0x45];
        let p = Packet::new_checked(&e[..]).unwrap();
        assert_eq!(p.label(), 1000);
        assert_eq!(p.traffic_class(), 5);
        assert!(p.bottom_of_stack());
        assert_eq!(p.ttl(), 64);
        assert_eq!(guess_payload(p.payload()), Payload::Ipv4);
        assert_eq!(guess_payload(&[0x60]), Payload::Ipv6);
        assert_eq!(guess_payload(&[0x00]), Payload::Unknown);
        assert_eq!(guess_payload(&[]), Payload::Unknown);
    }

    #[test]
    fn truncated_prefixes_are_errors() {
        let e = [0x00, 0x3e, 0x8b, 0x40];
        for n in 0..4 {
            assert!(matches!(
                Packet::new_checked(&e[..n]),
                Err(DecodeError::Truncated {
                    layer: Layer::Mpls,
                    ..
                })
            ));
        }
    }
}

//! 802.1Q / 802.1ad VLAN tags (the 4 bytes after a VLAN TPID).
//!
//! A tag is read after its tag protocol identifier (0x8100, 0x88A8 or 0x9100): the view
//! starts at the TCI. Stacks (QinQ and deeper) are walked by [`crate::decode()`] up to
//! [`MAX_TAGS`].

use crate::bytes::be16;
use crate::error::{DecodeError, Layer, need};
use crate::ethernet::EtherType;

/// The most VLAN tags [`crate::decode()`] walks in one link header; a deeper stack is
/// rejected as [`DecodeError::TooDeep`], so a crafted frame cannot make the walk long.
pub const MAX_TAGS: usize = 8;

mod field {
    use core::ops::Range;
    pub const TCI: Range<usize> = 0..2;
    pub const ETHERTYPE: Range<usize> = 2..4;
    pub const PAYLOAD: usize = 4;
}

/// One VLAN tag: TCI and the EtherType of what follows.
#[derive(Debug, Clone, Copy)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Tag length in bytes (after the TPID).
    pub const HEADER_LEN: usize = field::PAYLOAD;

    /// Wraps `buffer` without checking it.
    pub const fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    /// Wraps `buffer`, checking that the tag is there.
    pub fn new_checked(buffer: T) -> Result<Packet<T>, DecodeError> {
        need(Layer::Vlan, buffer.as_ref(), field::PAYLOAD)?;
        Ok(Packet { buffer })
    }

    /// Returns the wrapped buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The VLAN identifier (12 bits).
    pub fn vlan_id(&self) -> u16 {
        be16(self.buffer.as_ref(), field::TCI.start) & 0x0fff
    }

    /// The priority code point (3 bits).
    pub fn priority(&self) -> u8 {
        (self.buffer.as_ref()[field::TCI.start] >> 5) & 7
    }

    /// The drop eligible indicator.
    pub fn drop_eligible(&self) -> bool {
        self.buffer.as_ref()[field::TCI.start] & 0x10 != 0
    }

    /// The EtherType of what follows the tag (possibly another tag).
    pub fn ethertype(&self) -> EtherType {
        EtherType::from(be16(self.buffer.as_ref(), field::ETHERTYPE.start))
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Packet<&'a T> {
    /// The bytes after the tag.
    pub fn payload(&self) -> &'a [u8] {
        &self.buffer.as_ref()[field::PAYLOAD..]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields() {
        let tag = [0xb0, 0x64, 0x86, 0xdd, 0x60];
        let p = Packet::new_checked(&tag[..]).unwrap();
        assert_eq!(p.vlan_id(), 100);
        assert_eq!(p.priority(), 5);
        assert!(p.drop_eligible());
        assert_eq!(p.ethertype(), EtherType::Ipv6);
        assert_eq!(p.payload(), &[0x60]);
    }

    #[test]
    fn truncated_prefixes_are_errors() {
        let tag = [0x00, 0x64, 0x08, 0x00];
        for n in 0..4 {
            assert!(matches!(
                Packet::new_checked(&tag[..n]),
                Err(DecodeError::Truncated {
                    layer: Layer::Vlan,
                    ..
                })
            ));
        }
    }
}

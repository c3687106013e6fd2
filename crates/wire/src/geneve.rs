//! Geneve (RFC 8926): an 8-byte header with variable options over UDP.

use crate::bytes::{be16, be32};
use crate::error::{DecodeError, Layer, need};
use crate::ethernet::EtherType;

/// The IANA UDP port of Geneve.
pub const PORT: u16 = 6081;

mod field {
    use core::ops::Range;
    pub const VER_OPTLEN: usize = 0;
    pub const FLAGS: usize = 1;
    pub const PROTOCOL: Range<usize> = 2..4;
    pub const VNI: Range<usize> = 4..7;
    pub const OPTIONS: usize = 8;
}

/// Length of the header without options.
pub const MIN_HEADER_LEN: usize = field::OPTIONS;

/// A Geneve header.
#[derive(Debug, Clone, Copy)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps `buffer` without checking it.
    pub const fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    /// Wraps `buffer`, checking the version (0) and that the options are there.
    pub fn new_checked(buffer: T) -> Result<Packet<T>, DecodeError> {
        let b = buffer.as_ref();
        need(Layer::Geneve, b, MIN_HEADER_LEN)?;
        let version = b[field::VER_OPTLEN] >> 6;
        if version != 0 {
            return Err(DecodeError::BadVersion {
                layer: Layer::Geneve,
                version,
            });
        }
        let p = Packet { buffer };
        need(Layer::Geneve, p.buffer.as_ref(), p.header_len())?;
        Ok(p)
    }

    /// The header length in bytes, options included.
    pub fn header_len(&self) -> usize {
        MIN_HEADER_LEN + usize::from(self.buffer.as_ref()[field::VER_OPTLEN] & 0x3f) * 4
    }

    /// True when the O (control packet) flag is set.
    pub fn is_control(&self) -> bool {
        self.buffer.as_ref()[field::FLAGS] & 0x80 != 0
    }

    /// True when the C (critical options present) flag is set.
    pub fn has_critical_options(&self) -> bool {
        self.buffer.as_ref()[field::FLAGS] & 0x40 != 0
    }

    /// The protocol carried.
    pub fn protocol(&self) -> EtherType {
        EtherType::from(be16(self.buffer.as_ref(), field::PROTOCOL.start))
    }

    /// The virtual network identifier (24 bits).
    pub fn vni(&self) -> u32 {
        be32(self.buffer.as_ref(), field::VNI.start) >> 8
    }

    /// The raw options.
    pub fn options(&self) -> &[u8] {
        &self.buffer.as_ref()[field::OPTIONS..self.header_len()]
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Packet<&'a T> {
    /// The encapsulated packet or frame.
    pub fn payload(&self) -> &'a [u8] {
        let b = self.buffer.as_ref();
        &b[Packet::new_unchecked(b).header_len()..]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields() {
        // One 8-byte option (opt len 2).
        let b = [
            0x02, 0x40, 0x65, 0x58, 0x00, 0x00, 0x0a, 0x00, 0x01, 0x02, 0x03, 0x01, 0, 0, 0, 0,
            0xcc,
        ];
        let p = Packet::new_checked(&b[..]).unwrap();
        assert_eq!(p.header_len(), 16);
        assert!(!p.is_control() && p.has_critical_options());
        assert_eq!(p.protocol(), EtherType::TransparentEthernet);
        assert_eq!(p.vni(), 10);
        assert_eq!(p.options().len(), 8);
        assert_eq!(p.payload(), &[0xcc]);
        for n in 0..16 {
            assert!(matches!(
                Packet::new_checked(&b[..n]),
                Err(DecodeError::Truncated {
                    layer: Layer::Geneve,
                    ..
                })
            ));
        }
        let mut v1 = b;
        v1[0] |= 0x40;
        assert_eq!(
            Packet::new_checked(&v1[..]).unwrap_err(),
            DecodeError::BadVersion {
                layer: Layer::Geneve,
                version: 1
            }
        );
    }
}

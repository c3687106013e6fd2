//! VXLAN (RFC 7348): an 8-byte header over UDP, then an Ethernet frame.

use crate::bytes::be32;
use crate::error::{DecodeError, Layer, need};

/// The IANA UDP port of VXLAN.
pub const PORT: u16 = 4789;

/// Header length in bytes.
pub const HEADER_LEN: usize = 8;

mod field {
    pub const FLAGS: usize = 0;
    pub const VNI: core::ops::Range<usize> = 4..7;
}

const FLAG_I: u8 = 0x08;

/// A VXLAN header.
#[derive(Debug, Clone, Copy)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps `buffer` without checking it.
    pub const fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    /// Wraps `buffer`, checking that the header is there. The I flag is not required
    /// (tshark does not require it either); [`Packet::vni_valid`] reports it.
    pub fn new_checked(buffer: T) -> Result<Packet<T>, DecodeError> {
        need(Layer::Vxlan, buffer.as_ref(), HEADER_LEN)?;
        Ok(Packet { buffer })
    }

    /// The flags byte.
    pub fn flags(&self) -> u8 {
        self.buffer.as_ref()[field::FLAGS]
    }

    /// True when the I flag says the VNI is valid.
    pub fn vni_valid(&self) -> bool {
        self.flags() & FLAG_I != 0
    }

    /// The VXLAN network identifier (24 bits).
    pub fn vni(&self) -> u32 {
        be32(self.buffer.as_ref(), field::VNI.start) >> 8
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Packet<&'a T> {
    /// The encapsulated Ethernet frame.
    pub fn payload(&self) -> &'a [u8] {
        &self.buffer.as_ref()[HEADER_LEN..]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields() {
        let b = [0x08, 0, 0, 0, 0x12, 0x34, 0x56, 0x00, 0xaa];
        let p = Packet::new_checked(&b[..]).unwrap();
        assert!(p.vni_valid());
        assert_eq!(p.vni(), 0x123456);
        assert_eq!(p.payload(), &[0xaa]);
        for n in 0..8 {
            assert!(matches!(
                Packet::new_checked(&b[..n]),
                Err(DecodeError::Truncated {
                    layer: Layer::Vxlan,
                    ..
                })
            ));
        }
    }
}

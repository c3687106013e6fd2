//! BSD loopback headers: `DLT_NULL` (family in the writer's byte order) and OpenBSD
//! `DLT_LOOP` (family in network byte order).

use crate::bytes::be32;
use crate::error::{DecodeError, Layer, need};

/// The protocol family in a loopback header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    /// AF_INET (2 everywhere).
    Ipv4,
    /// AF_INET6, whose number differs by OS: 10 (Linux), 24 (NetBSD/OpenBSD), 28 (FreeBSD),
    /// 30 (Darwin).
    Ipv6,
    /// Any other family.
    Unknown(u32),
}

impl From<u32> for Family {
    fn from(v: u32) -> Family {
        match v {
            2 => Family::Ipv4,
            10 | 24 | 28 | 30 => Family::Ipv6,
            n => Family::Unknown(n),
        }
    }
}

mod field {
    pub const FAMILY: core::ops::Range<usize> = 0..4;
}

/// A 4-byte loopback header.
#[derive(Debug, Clone, Copy)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Header length in bytes.
    pub const HEADER_LEN: usize = field::FAMILY.end;

    /// Wraps `buffer` without checking it.
    pub const fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    /// Wraps `buffer`, checking that the header is there.
    pub fn new_checked(buffer: T) -> Result<Packet<T>, DecodeError> {
        need(Layer::Loopback, buffer.as_ref(), field::FAMILY.end)?;
        Ok(Packet { buffer })
    }

    /// Returns the wrapped buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The family of a `DLT_NULL` header, written in the capturing host's byte order: a
    /// value with bits in the upper half is taken as the other byte order (families are
    /// small numbers), as libpcap does.
    pub fn null_family(&self) -> Family {
        let v = be32(self.buffer.as_ref(), field::FAMILY.start);
        Family::from(if v & 0xffff_0000 != 0 {
            v.swap_bytes()
        } else {
            v
        })
    }

    /// The family of an OpenBSD `DLT_LOOP` header (network byte order).
    pub fn loop_family(&self) -> Family {
        Family::from(be32(self.buffer.as_ref(), field::FAMILY.start))
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Packet<&'a T> {
    /// The bytes after the header.
    pub fn payload(&self) -> &'a [u8] {
        &self.buffer.as_ref()[field::FAMILY.end..]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn null_family_in_either_byte_order() {
        let le = [2u8, 0, 0, 0, 0x45];
        let be = [0u8, 0, 0, 2, 0x45];
        let v6_darwin = [30u8, 0, 0, 0];
        assert_eq!(
            Packet::new_checked(&le[..]).unwrap().null_family(),
            Family::Ipv4
        );
        assert_eq!(
            Packet::new_checked(&be[..]).unwrap().null_family(),
            Family::Ipv4
        );
        assert_eq!(
            Packet::new_checked(&v6_darwin[..]).unwrap().null_family(),
            Family::Ipv6
        );
        assert_eq!(Packet::new_checked(&be[..]).unwrap().payload(), &[0x45]);
    }

    #[test]
    fn loop_family_is_network_order() {
        let be = [0u8, 0, 0, 24];
        assert_eq!(
            Packet::new_checked(&be[..]).unwrap().loop_family(),
            Family::Ipv6
        );
        let le = [24u8, 0, 0, 0];
        assert_eq!(
            Packet::new_checked(&le[..]).unwrap().loop_family(),
            Family::Unknown(0x1800_0000)
        );
    }

    #[test]
    fn truncated_prefixes_are_errors() {
        let be = [0u8, 0, 0, 2];
        for n in 0..4 {
            assert_eq!(
                Packet::new_checked(&be[..n]).unwrap_err(),
                DecodeError::Truncated {
                    layer: Layer::Loopback,
                    needed: 4,
                    got: n
                }
            );
        }
    }
}

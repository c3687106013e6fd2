//! AYIYA, "Anything In Anything" (the SixXS tunnel protocol), over UDP port 5072.
//!
//! An 8-byte header — identity length (a power of two: 2^n bytes) and type, signature
//! length (in 4-byte words) and hash method, authentication method and opcode, the next
//! header (an IP protocol number), a 4-byte epoch time — then the identity and the
//! signature, then the payload. As in Zeek, only the forward opcode (1) carries a packet,
//! and only an IPv4 (next header 4) or IPv6 (41) one is decoded.

use crate::bytes::be32;
use crate::error::{DecodeError, Layer, need};
use crate::ip::IpProtocol;

/// The IANA UDP port of AYIYA.
pub const PORT: u16 = 5072;

/// Length of the fixed header, before the identity and the signature.
pub const MIN_HEADER_LEN: usize = 8;

/// The opcode of a packet that carries a payload to forward.
pub const OPCODE_FORWARD: u8 = 1;

mod field {
    use core::ops::Range;
    pub const ID: usize = 0;
    pub const SIGNATURE: usize = 1;
    pub const AUTH_OPCODE: usize = 2;
    pub const NEXT_HEADER: usize = 3;
    pub const EPOCH: Range<usize> = 4..8;
}

/// An AYIYA header.
#[derive(Debug, Clone, Copy)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps `buffer` without checking it.
    pub const fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    /// Wraps `buffer`, checking that the header, identity and signature are there.
    pub fn new_checked(buffer: T) -> Result<Packet<T>, DecodeError> {
        need(Layer::Ayiya, buffer.as_ref(), MIN_HEADER_LEN)?;
        let p = Packet { buffer };
        need(Layer::Ayiya, p.buffer.as_ref(), p.header_len())?;
        Ok(p)
    }

    /// Returns the wrapped buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The identity length in bytes (2^n for the 4-bit n on the wire).
    pub fn identity_len(&self) -> usize {
        1 << (self.buffer.as_ref()[field::ID] >> 4)
    }

    /// The identity type (0 none, 1 IPv4 address, 2 IPv6 address ...).
    pub fn identity_type(&self) -> u8 {
        self.buffer.as_ref()[field::ID] & 0x0f
    }

    /// The signature length in bytes.
    pub fn signature_len(&self) -> usize {
        usize::from(self.buffer.as_ref()[field::SIGNATURE] >> 4) * 4
    }

    /// The hash method (0 none, 1 MD5, 2 SHA-1).
    pub fn hash_method(&self) -> u8 {
        self.buffer.as_ref()[field::SIGNATURE] & 0x0f
    }

    /// The authentication method.
    pub fn auth_method(&self) -> u8 {
        self.buffer.as_ref()[field::AUTH_OPCODE] >> 4
    }

    /// The opcode ([`OPCODE_FORWARD`] for a packet that carries a payload).
    pub fn opcode(&self) -> u8 {
        self.buffer.as_ref()[field::AUTH_OPCODE] & 0x0f
    }

    /// What the payload is.
    pub fn next_header(&self) -> IpProtocol {
        IpProtocol::from(self.buffer.as_ref()[field::NEXT_HEADER])
    }

    /// The epoch time of the sender, in seconds.
    pub fn epoch(&self) -> u32 {
        be32(self.buffer.as_ref(), field::EPOCH.start)
    }

    /// The header length in bytes: 8, the identity and the signature.
    pub fn header_len(&self) -> usize {
        MIN_HEADER_LEN + self.identity_len() + self.signature_len()
    }

    /// The identity.
    pub fn identity(&self) -> &[u8] {
        &self.buffer.as_ref()[MIN_HEADER_LEN..MIN_HEADER_LEN + self.identity_len()]
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Packet<&'a T> {
    /// The bytes after the header.
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
        // As in Zeek's ayiya3.pcap: a 16-byte identity (IPv6 address), a 20-byte SHA-1
        // signature, forward, IPv6.
        let mut b = vec![0x42, 0x52, 0x11, 0x29, 0x4a, 0xf6, 0x4b, 0xfd];
        b.extend_from_slice(&[0x20; 16]);
        b.extend_from_slice(&[0xaa; 20]);
        b.push(0x60);
        let p = Packet::new_checked(&b[..]).unwrap();
        assert_eq!((p.identity_len(), p.identity_type()), (16, 2));
        assert_eq!((p.signature_len(), p.hash_method()), (20, 2));
        assert_eq!((p.auth_method(), p.opcode()), (1, OPCODE_FORWARD));
        assert_eq!(p.next_header(), IpProtocol::Ipv6);
        assert_eq!(p.epoch(), 0x4af64bfd);
        assert_eq!(p.header_len(), 44);
        assert_eq!(p.identity(), &[0x20; 16]);
        assert_eq!(p.payload(), &[0x60]);
        for n in 0..44 {
            assert_eq!(
                Packet::new_checked(&b[..n]).unwrap_err(),
                DecodeError::Truncated {
                    layer: Layer::Ayiya,
                    needed: if n < 8 { 8 } else { 44 },
                    got: n
                }
            );
        }
        // The largest identity (2^15 bytes) is only a length check.
        b[0] = 0xf1;
        assert_eq!(
            Packet::new_checked(&b[..]).unwrap_err(),
            DecodeError::Truncated {
                layer: Layer::Ayiya,
                needed: 8 + 32768 + 20,
                got: 45
            }
        );
    }
}

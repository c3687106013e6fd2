//! The older monitor-mode radio headers: Prism (LINKTYPE_IEEE802_11_PRISM, 119) and AVS
//! (LINKTYPE_IEEE802_11_AVS, 163).
//!
//! A Prism header is a fixed 144 bytes (a message code, a length, a device name and ten
//! 12-byte items) in the capturing host's byte order; nothing in it is needed to find the
//! 802.11 frame after it. Linux drivers also put AVS headers under the Prism link type, so
//! a Prism capture whose first four bytes are the AVS magic cookie holds an AVS header
//! instead ([`is_avs`]), as tcpdump and Wireshark decide.
//!
//! An AVS header is big-endian: a version cookie (0x80211001 or 0x80211002) and the header
//! length (bytes 4..8), followed by radio fields skipped by that length.

use crate::bytes::be32;
use crate::error::{DecodeError, Layer, need};

/// The length of a Prism header.
pub const PRISM_HEADER_LEN: usize = 144;

/// The AVS version cookie without its version number (0x802110xx).
const AVS_COOKIE_BASE: u32 = 0x8021_1000;

mod field {
    use core::ops::Range;
    pub const DEVICE_NAME: Range<usize> = 8..24;
    pub const AVS_VERSION: Range<usize> = 0..4;
    pub const AVS_LENGTH: Range<usize> = 4..8;
    pub const AVS_MIN_LEN: usize = 8;
}

/// True when `buffer` starts with an AVS version cookie (version 1 or 2): the header of a
/// Prism-link frame is then an AVS header.
pub fn is_avs(buffer: &[u8]) -> bool {
    buffer.len() >= 4 && matches!(be32(buffer, 0), 0x8021_1001 | 0x8021_1002)
}

/// A Prism header (144 bytes).
#[derive(Debug, Clone, Copy)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Header length in bytes.
    pub const HEADER_LEN: usize = PRISM_HEADER_LEN;

    /// Wraps `buffer` without checking it.
    pub const fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    /// Wraps `buffer`, checking that the whole header is there.
    pub fn new_checked(buffer: T) -> Result<Packet<T>, DecodeError> {
        need(Layer::Prism, buffer.as_ref(), PRISM_HEADER_LEN)?;
        Ok(Packet { buffer })
    }

    /// Returns the wrapped buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The capturing device's name, cut at its first NUL.
    pub fn device_name(&self) -> &[u8] {
        let name = &self.buffer.as_ref()[field::DEVICE_NAME];
        let end = name.iter().position(|&c| c == 0).unwrap_or(name.len());
        &name[..end]
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Packet<&'a T> {
    /// The 802.11 frame after the header.
    pub fn payload(&self) -> &'a [u8] {
        &self.buffer.as_ref()[PRISM_HEADER_LEN..]
    }
}

/// An AVS header.
#[derive(Debug, Clone, Copy)]
pub struct AvsPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> AvsPacket<T> {
    /// Wraps `buffer` without checking it.
    pub const fn new_unchecked(buffer: T) -> AvsPacket<T> {
        AvsPacket { buffer }
    }

    /// Wraps `buffer`, checking the version cookie, that the header length covers the
    /// cookie and the length field, and that the whole header is there.
    pub fn new_checked(buffer: T) -> Result<AvsPacket<T>, DecodeError> {
        let b = buffer.as_ref();
        need(Layer::Avs, b, field::AVS_MIN_LEN)?;
        let cookie = be32(b, field::AVS_VERSION.start);
        if cookie & 0xffff_ff00 != AVS_COOKIE_BASE {
            return Err(DecodeError::BadVersion {
                layer: Layer::Avs,
                version: b[field::AVS_VERSION.end - 1],
            });
        }
        let len = be32(b, field::AVS_LENGTH.start) as usize;
        if len < field::AVS_MIN_LEN {
            return Err(DecodeError::BadHeaderLength {
                layer: Layer::Avs,
                len,
            });
        }
        need(Layer::Avs, b, len)?;
        Ok(AvsPacket { buffer })
    }

    /// Returns the wrapped buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The header version (the low byte of the cookie: 1 or 2).
    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[field::AVS_VERSION.end - 1]
    }

    /// The header length in bytes (where the 802.11 frame starts).
    pub fn header_len(&self) -> usize {
        be32(self.buffer.as_ref(), field::AVS_LENGTH.start) as usize
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> AvsPacket<&'a T> {
    /// The 802.11 frame after the header.
    pub fn payload(&self) -> &'a [u8] {
        let b = self.buffer.as_ref();
        &b[AvsPacket::new_unchecked(b).header_len()..]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prism(tail: &[u8]) -> Vec<u8> {
        let mut h = vec![0u8; PRISM_HEADER_LEN];
        h[0] = 0x44;
        h[4] = 144;
        h[8..13].copy_from_slice(b"wlan0");
        h.extend_from_slice(tail);
        h
    }

    /// An AVS v1 header: cookie, length 64, zeroed radio fields.
    fn avs(tail: &[u8]) -> Vec<u8> {
        let mut h = vec![0x80, 0x21, 0x10, 0x01, 0, 0, 0, 64];
        h.resize(64, 0);
        h.extend_from_slice(tail);
        h
    }

    #[test]
    fn prism_header() {
        let f = prism(&[0x08, 0x01]);
        assert!(!is_avs(&f));
        let p = Packet::new_checked(&f[..]).unwrap();
        assert_eq!(p.device_name(), b"wlan0");
        assert_eq!(p.payload(), &[0x08, 0x01]);
        for n in 0..PRISM_HEADER_LEN {
            assert_eq!(
                Packet::new_checked(&f[..n]).unwrap_err(),
                DecodeError::Truncated {
                    layer: Layer::Prism,
                    needed: 144,
                    got: n
                }
            );
        }
    }

    #[test]
    fn avs_header() {
        let f = avs(&[0x08, 0x02]);
        assert!(is_avs(&f));
        let p = AvsPacket::new_checked(&f[..]).unwrap();
        assert_eq!((p.version(), p.header_len()), (1, 64));
        assert_eq!(p.payload(), &[0x08, 0x02]);
        for n in 0..64 {
            let needed = if n < 8 { 8 } else { 64 };
            assert_eq!(
                AvsPacket::new_checked(&f[..n]).unwrap_err(),
                DecodeError::Truncated {
                    layer: Layer::Avs,
                    needed,
                    got: n
                }
            );
        }
    }

    #[test]
    fn avs_rejects_bad_cookie_and_length() {
        let mut f = avs(&[]);
        f[1] = 0x22;
        assert!(!is_avs(&f));
        assert!(matches!(
            AvsPacket::new_checked(&f[..]),
            Err(DecodeError::BadVersion {
                layer: Layer::Avs,
                ..
            })
        ));
        let mut f = avs(&[]);
        f[7] = 4;
        assert_eq!(
            AvsPacket::new_checked(&f[..]).unwrap_err(),
            DecodeError::BadHeaderLength {
                layer: Layer::Avs,
                len: 4
            }
        );
    }
}

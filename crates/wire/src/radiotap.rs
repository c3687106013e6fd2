//! Radiotap headers (LINKTYPE_IEEE802_11_RADIOTAP): the radio information a monitor-mode
//! capture puts before each 802.11 frame.
//!
//! The header is little-endian: version (0), a pad byte, the header length (bytes 2..4),
//! then one or more 32-bit presence bitmaps (bit 31: another bitmap follows) and the fields
//! they announce, each aligned to its natural size. Only the Flags field is read here: it
//! says whether the frame ends with an FCS and whether padding separates the 802.11 header
//! from its body. Everything else is skipped by the header length.

use crate::bytes::{le16, le32};
use crate::error::{DecodeError, Layer, need};

mod field {
    use core::ops::Range;
    pub const VERSION: usize = 0;
    pub const LENGTH: Range<usize> = 2..4;
    pub const PRESENT: usize = 4;
    pub const MIN_LEN: usize = 8;
}

/// Presence bit of the TSFT field (8 bytes, 8-aligned; it comes before Flags).
const PRESENT_TSFT: u32 = 1 << 0;
/// Presence bit of the Flags field (1 byte).
const PRESENT_FLAGS: u32 = 1 << 1;
/// Presence bit announcing another presence bitmap.
const PRESENT_EXT: u32 = 1 << 31;

/// Flags: the frame includes an FCS at its end.
pub const FLAG_FCS: u8 = 0x10;
/// Flags: padding between the 802.11 header and its body makes the body 4-byte aligned.
pub const FLAG_DATA_PAD: u8 = 0x20;
/// Flags: the frame failed its FCS check.
pub const FLAG_BAD_FCS: u8 = 0x40;

/// A radiotap header.
#[derive(Debug, Clone, Copy)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

/// Where the Flags field is, when the first presence bitmap announces it.
fn flags_offset(b: &[u8], len: usize) -> Result<Option<usize>, DecodeError> {
    let bad = DecodeError::BadHeaderLength {
        layer: Layer::Radiotap,
        len,
    };
    let first = le32(b, field::PRESENT);
    let mut pos = field::PRESENT;
    loop {
        if pos + 4 > len {
            return Err(bad);
        }
        let word = le32(b, pos);
        pos += 4;
        if word & PRESENT_EXT == 0 {
            break;
        }
    }
    if first & PRESENT_FLAGS == 0 {
        return Ok(None);
    }
    if first & PRESENT_TSFT != 0 {
        pos = pos.next_multiple_of(8) + 8;
    }
    if pos >= len {
        return Err(bad);
    }
    Ok(Some(pos))
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps `buffer` without checking it.
    pub const fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    /// Wraps `buffer`, checking the version (0), that the header length covers the fixed
    /// part, the presence bitmaps and the Flags field, and that the whole header is there.
    pub fn new_checked(buffer: T) -> Result<Packet<T>, DecodeError> {
        let b = buffer.as_ref();
        need(Layer::Radiotap, b, field::MIN_LEN)?;
        let version = b[field::VERSION];
        if version != 0 {
            return Err(DecodeError::BadVersion {
                layer: Layer::Radiotap,
                version,
            });
        }
        let len = usize::from(le16(b, field::LENGTH.start));
        if len < field::MIN_LEN {
            return Err(DecodeError::BadHeaderLength {
                layer: Layer::Radiotap,
                len,
            });
        }
        need(Layer::Radiotap, b, len)?;
        flags_offset(b, len)?;
        Ok(Packet { buffer })
    }

    /// Returns the wrapped buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The header length in bytes (where the 802.11 frame starts).
    pub fn header_len(&self) -> usize {
        usize::from(le16(self.buffer.as_ref(), field::LENGTH.start))
    }

    /// The first presence bitmap.
    pub fn present(&self) -> u32 {
        le32(self.buffer.as_ref(), field::PRESENT)
    }

    /// The Flags field, when present.
    pub fn flags(&self) -> Option<u8> {
        let b = self.buffer.as_ref();
        let at = flags_offset(b, self.header_len()).ok().flatten()?;
        Some(b[at])
    }

    /// True when the frame ends with a 4-byte FCS.
    pub fn has_fcs(&self) -> bool {
        self.flags().is_some_and(|f| f & FLAG_FCS != 0)
    }

    /// True when the 802.11 header is padded to a multiple of 4 bytes before the body.
    pub fn data_pad(&self) -> bool {
        self.flags().is_some_and(|f| f & FLAG_DATA_PAD != 0)
    }

    /// True when the frame failed its FCS check.
    pub fn bad_fcs(&self) -> bool {
        self.flags().is_some_and(|f| f & FLAG_BAD_FCS != 0)
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Packet<&'a T> {
    /// The 802.11 frame after the header (with its FCS, if [`Packet::has_fcs`]).
    pub fn payload(&self) -> &'a [u8] {
        let b = self.buffer.as_ref();
        &b[Packet::new_unchecked(b).header_len()..]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The radiotap header of a real capture (Zeek's radiotap.pcap, frame 3): TSFT, Flags
    /// (FCS, short preamble), rate, channel, signal, noise and antenna; 25 bytes.
    const HDR: [u8; 25] = [
        0x00, 0x00, 0x19, 0x00, 0x6f, 0x08, 0x00, 0x00, 0x88, 0x67, 0xce, 0x5f, 0x00, 0x00, 0x00,
        0x00, 0x12, 0x0c, 0xa4, 0x15, 0x40, 0x01, 0xc6, 0xa3, 0x01,
    ];

    #[test]
    fn fields() {
        let mut f = HDR.to_vec();
        f.extend_from_slice(&[0x08, 0x02]);
        let p = Packet::new_checked(&f[..]).unwrap();
        assert_eq!(p.header_len(), 25);
        assert_eq!(p.present(), 0x0000_086f);
        assert_eq!(p.flags(), Some(0x12));
        assert!(p.has_fcs() && !p.data_pad() && !p.bad_fcs());
        assert_eq!(p.payload(), &[0x08, 0x02]);
    }

    #[test]
    fn extended_bitmaps_and_no_tsft() {
        // Two presence words (the first with bit 31), Flags without TSFT: at offset 12.
        let h = [
            0,
            0,
            14,
            0,
            0x02,
            0,
            0,
            0x80,
            0x00,
            0,
            0,
            0,
            FLAG_DATA_PAD | FLAG_BAD_FCS,
            0,
        ];
        let p = Packet::new_checked(&h[..]).unwrap();
        assert_eq!(p.flags(), Some(0x60));
        assert!(p.data_pad() && p.bad_fcs() && !p.has_fcs());
        assert!(p.payload().is_empty());
        // No Flags field at all.
        let h = [0, 0, 8, 0, 0, 0, 0, 0];
        let p = Packet::new_checked(&h[..]).unwrap();
        assert_eq!(p.flags(), None);
        assert!(!p.has_fcs() && !p.data_pad());
    }

    #[test]
    fn rejects_bad_headers() {
        let mut h = HDR;
        h[0] = 1;
        assert_eq!(
            Packet::new_checked(&h[..]).unwrap_err(),
            DecodeError::BadVersion {
                layer: Layer::Radiotap,
                version: 1
            }
        );
        // A length below the fixed part.
        let h = [0, 0, 7, 0, 0, 0, 0, 0];
        assert_eq!(
            Packet::new_checked(&h[..]).unwrap_err(),
            DecodeError::BadHeaderLength {
                layer: Layer::Radiotap,
                len: 7
            }
        );
        // Presence words running past the header length.
        let h = [0, 0, 8, 0, 0, 0, 0, 0x80, 0, 0, 0, 0];
        assert_eq!(
            Packet::new_checked(&h[..]).unwrap_err(),
            DecodeError::BadHeaderLength {
                layer: Layer::Radiotap,
                len: 8
            }
        );
        // TSFT and Flags announced in a header too short to hold them.
        let h = [0, 0, 16, 0, 0x03, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(
            Packet::new_checked(&h[..]).unwrap_err(),
            DecodeError::BadHeaderLength {
                layer: Layer::Radiotap,
                len: 16
            }
        );
    }

    #[test]
    fn truncated_prefixes_are_errors() {
        for n in 0..HDR.len() {
            let needed = if n < 8 { 8 } else { 25 };
            assert_eq!(
                Packet::new_checked(&HDR[..n]).unwrap_err(),
                DecodeError::Truncated {
                    layer: Layer::Radiotap,
                    needed,
                    got: n
                }
            );
        }
    }
}

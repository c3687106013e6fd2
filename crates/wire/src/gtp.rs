//! GTP-U, the GPRS tunnelling protocol's user plane (3GPP TS 29.281), over UDP port 2152.
//!
//! The header is 8 bytes: flags (version 1 in the top 3 bits, the protocol type bit PT =
//! 1 for GTP as opposed to GTP', then the E, S and PN bits), the message type, a length
//! (bytes after these 8) and the tunnel endpoint id. When any of E, S or PN is set, 4 more
//! bytes follow: sequence number, N-PDU number and the type of the first extension header.
//! Extension headers then chain while the next-extension-type byte (each one's last) is
//! not zero; each starts with its length in 4-byte units.
//!
//! Only G-PDU messages (type 0xFF) carry a user packet: IPv4 or IPv6, told apart by the
//! version nibble. Echo, error indication and end marker messages carry none.

use crate::bytes::{be16, be32};
use crate::error::{DecodeError, Layer, need};

/// The IANA UDP port of GTP-U.
pub const PORT: u16 = 2152;

/// Length of the mandatory header.
pub const MIN_HEADER_LEN: usize = 8;

/// Length of the header with the optional sequence, N-PDU and next-extension fields.
pub const LONG_HEADER_LEN: usize = 12;

/// The message type of a G-PDU: a user packet follows the header.
pub const MSG_G_PDU: u8 = 0xff;

mod field {
    use core::ops::Range;
    pub const FLAGS: usize = 0;
    pub const MSG_TYPE: usize = 1;
    pub const LENGTH: Range<usize> = 2..4;
    pub const TEID: Range<usize> = 4..8;
    pub const SEQUENCE: Range<usize> = 8..10;
    pub const NPDU: usize = 10;
    pub const NEXT_EXT: usize = 11;
}

const FLAG_PT: u8 = 0x10;
const FLAG_E: u8 = 0x04;
const FLAG_S: u8 = 0x02;
const FLAG_PN: u8 = 0x01;

/// A GTP-U header with its extension headers.
#[derive(Debug, Clone, Copy)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps `buffer` without checking it.
    pub const fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    /// Wraps `buffer`, checking the version (1), the protocol type (GTP, not GTP':
    /// [`DecodeError::Unsupported`]), that the optional fields and every extension header
    /// are there, that no extension header has length 0, and that the length field covers
    /// them.
    pub fn new_checked(buffer: T) -> Result<Packet<T>, DecodeError> {
        let b = buffer.as_ref();
        need(Layer::Gtp, b, MIN_HEADER_LEN)?;
        let version = b[field::FLAGS] >> 5;
        if version != 1 {
            return Err(DecodeError::BadVersion {
                layer: Layer::Gtp,
                version,
            });
        }
        if b[field::FLAGS] & FLAG_PT == 0 {
            return Err(DecodeError::Unsupported {
                layer: Layer::Gtp,
                what: "GTP' (protocol type 0)",
            });
        }
        let header_len = walk(b)?;
        let length = usize::from(be16(b, field::LENGTH.start));
        if MIN_HEADER_LEN + length < header_len {
            return Err(DecodeError::BadLength {
                layer: Layer::Gtp,
                len: length,
            });
        }
        Ok(Packet { buffer })
    }

    /// Returns the wrapped buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    fn flags(&self) -> u8 {
        self.buffer.as_ref()[field::FLAGS]
    }

    /// The version (1).
    pub fn version(&self) -> u8 {
        self.flags() >> 5
    }

    /// True when the E flag says an extension header follows.
    pub fn has_extension(&self) -> bool {
        self.flags() & FLAG_E != 0
    }

    /// True when the S flag says the sequence number is meaningful.
    pub fn has_sequence(&self) -> bool {
        self.flags() & FLAG_S != 0
    }

    /// True when the PN flag says the N-PDU number is meaningful.
    pub fn has_npdu(&self) -> bool {
        self.flags() & FLAG_PN != 0
    }

    /// The message type ([`MSG_G_PDU`] for a user packet).
    pub fn message_type(&self) -> u8 {
        self.buffer.as_ref()[field::MSG_TYPE]
    }

    /// True for a G-PDU (a user packet follows).
    pub fn is_gpdu(&self) -> bool {
        self.message_type() == MSG_G_PDU
    }

    /// The length field: bytes after the mandatory 8-byte header.
    pub fn length(&self) -> u16 {
        be16(self.buffer.as_ref(), field::LENGTH.start)
    }

    /// The tunnel endpoint identifier.
    pub fn teid(&self) -> u32 {
        be32(self.buffer.as_ref(), field::TEID.start)
    }

    /// The sequence number, when the S flag is set.
    pub fn sequence(&self) -> Option<u16> {
        self.has_sequence()
            .then(|| be16(self.buffer.as_ref(), field::SEQUENCE.start))
    }

    /// The N-PDU number, when the PN flag is set.
    pub fn npdu(&self) -> Option<u8> {
        self.has_npdu().then(|| self.buffer.as_ref()[field::NPDU])
    }

    /// The header length in bytes: 8, or 12 with the optional fields, plus the
    /// extension headers.
    pub fn header_len(&self) -> usize {
        walk(self.buffer.as_ref()).unwrap_or(MIN_HEADER_LEN)
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Packet<&'a T> {
    /// The bytes after the header, cut at the length field when the capture holds more.
    pub fn payload(&self) -> &'a [u8] {
        let b = self.buffer.as_ref();
        let p = Packet::new_unchecked(b);
        let end = b.len().min(MIN_HEADER_LEN + usize::from(p.length()));
        &b[p.header_len().min(end)..end]
    }
}

/// The header length, extension headers included.
fn walk(b: &[u8]) -> Result<usize, DecodeError> {
    if b[field::FLAGS] & (FLAG_E | FLAG_S | FLAG_PN) == 0 {
        return Ok(MIN_HEADER_LEN);
    }
    need(Layer::Gtp, b, LONG_HEADER_LEN)?;
    let mut next = if b[field::FLAGS] & FLAG_E != 0 {
        b[field::NEXT_EXT]
    } else {
        0
    };
    let mut at = LONG_HEADER_LEN;
    // Each extension header is at least 4 bytes, so the walk ends with the buffer.
    while next != 0 {
        need(Layer::Gtp, b, at + 1)?;
        let len = usize::from(b[at]) * 4;
        if len == 0 {
            return Err(DecodeError::BadHeaderLength {
                layer: Layer::Gtp,
                len: 0,
            });
        }
        need(Layer::Gtp, b, at + len)?;
        next = b[at + len - 1];
        at += len;
    }
    Ok(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_g_pdu() {
        let b = [
            0x30, 0xff, 0x00, 0x02, 0x12, 0x34, 0x56, 0x78, 0x45, 0x00, 0xee,
        ];
        let p = Packet::new_checked(&b[..]).unwrap();
        assert_eq!((p.version(), p.message_type(), p.length()), (1, 0xff, 2));
        assert!(p.is_gpdu() && !p.has_extension());
        assert_eq!(p.teid(), 0x12345678);
        assert_eq!((p.sequence(), p.npdu()), (None, None));
        assert_eq!(p.header_len(), 8);
        // Cut at the length field.
        assert_eq!(p.payload(), &[0x45, 0x00]);
        for n in 0..8 {
            assert_eq!(
                Packet::new_checked(&b[..n]).unwrap_err(),
                DecodeError::Truncated {
                    layer: Layer::Gtp,
                    needed: 8,
                    got: n
                }
            );
        }
    }

    #[test]
    fn optional_fields_and_extensions() {
        // Zeek's gtp_ext_header.pcap: E and S set, a PDCP PDU number extension (0xC0) of
        // one 4-byte unit, then IPv4.
        let b = [
            0x36, 0xff, 0x00, 0x09, 0x00, 0x10, 0x06, 0x57, 0x00, 0x05, 0x00, 0xc0, 0x01, 0x09,
            0x04, 0x00, 0x45,
        ];
        let p = Packet::new_checked(&b[..]).unwrap();
        assert!(p.has_extension() && p.has_sequence() && !p.has_npdu());
        assert_eq!(p.sequence(), Some(5));
        assert_eq!(p.header_len(), 16);
        assert_eq!(p.payload(), &[0x45]);
        for n in 0..16 {
            assert!(
                matches!(
                    Packet::new_checked(&b[..n]),
                    Err(DecodeError::Truncated {
                        layer: Layer::Gtp,
                        ..
                    })
                ),
                "{n}"
            );
        }
        // Two chained extensions: 4 + 8 bytes.
        let b = [
            0x34, 0xff, 0x00, 0x11, 0, 0, 0, 1, 0, 0, 0, 0x85, 0x01, 0xaa, 0xbb, 0x85, 0x02, 1, 2,
            3, 4, 5, 6, 0x00, 0x60,
        ];
        let p = Packet::new_checked(&b[..]).unwrap();
        assert_eq!(p.header_len(), 24);
        assert_eq!(p.payload(), &[0x60]);
        // Only S set: the optional fields, no extension even if the byte is not zero.
        let b = [0x32, 0xff, 0x00, 0x05, 0, 0, 0, 1, 0, 7, 0, 0x85, 0x45];
        let p = Packet::new_checked(&b[..]).unwrap();
        assert_eq!((p.header_len(), p.sequence()), (12, Some(7)));
    }

    #[test]
    fn rejected_headers() {
        // Version 2 (GTPv2-C) and GTP' (PT = 0).
        let b = [0x48, 0x20, 0, 4, 0, 0, 0, 0];
        assert_eq!(
            Packet::new_checked(&b[..]).unwrap_err(),
            DecodeError::BadVersion {
                layer: Layer::Gtp,
                version: 2
            }
        );
        let b = [0x20, 0xff, 0, 0, 0, 0, 0, 0];
        assert!(matches!(
            Packet::new_checked(&b[..]),
            Err(DecodeError::Unsupported {
                layer: Layer::Gtp,
                ..
            })
        ));
        // An extension of length 0.
        let b = [0x34, 0xff, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0x85, 0x00, 0, 0, 0];
        assert_eq!(
            Packet::new_checked(&b[..]).unwrap_err(),
            DecodeError::BadHeaderLength {
                layer: Layer::Gtp,
                len: 0
            }
        );
        // A length field shorter than the optional fields.
        let b = [0x32, 0xff, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(
            Packet::new_checked(&b[..]).unwrap_err(),
            DecodeError::BadLength {
                layer: Layer::Gtp,
                len: 2
            }
        );
    }
}

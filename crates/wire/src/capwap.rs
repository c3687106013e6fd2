//! CAPWAP data channel (RFC 5415), over UDP port 5247: how wireless access points tunnel
//! their stations' frames to a controller.
//!
//! A preamble byte (version 0, type 0; type 1 means a DTLS-encrypted packet follows) and a
//! header whose length HLEN is given in 4-byte words, optional radio MAC address and
//! wireless-specific information included. Flag T says the payload is in the native
//! format of the wireless binding WBID (1: an IEEE 802.11 frame, RFC 5416); without it
//! the payload is an 802.3 (Ethernet) frame. Flag F marks fragments, flag K keep-alives.
//!
//! The control channel (port 5246) is DTLS and not decoded.

use crate::bytes::{be16, be24};
use crate::error::{DecodeError, Layer, need};

/// The IANA UDP port of the CAPWAP data channel.
pub const DATA_PORT: u16 = 5247;

/// Length of the header without radio MAC address and wireless information.
pub const MIN_HEADER_LEN: usize = 8;

/// The wireless binding id of IEEE 802.11.
pub const WBID_IEEE80211: u8 = 1;

mod field {
    use core::ops::Range;
    pub const PREAMBLE: usize = 0;
    /// HLEN, RID, WBID and the flags, 24 bits.
    pub const BITS: Range<usize> = 1..4;
    pub const FRAGMENT_ID: Range<usize> = 4..6;
    pub const FRAGMENT_OFFSET: Range<usize> = 6..8;
}

const FLAG_T: u32 = 1 << 8;
const FLAG_F: u32 = 1 << 7;
const FLAG_L: u32 = 1 << 6;
const FLAG_W: u32 = 1 << 5;
const FLAG_M: u32 = 1 << 4;
const FLAG_K: u32 = 1 << 3;

/// A CAPWAP header.
#[derive(Debug, Clone, Copy)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps `buffer` without checking it.
    pub const fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    /// Wraps `buffer`, checking the preamble (version 0; type 0, or
    /// [`DecodeError::Unsupported`] for DTLS and reserved types), that HLEN covers at least
    /// the fixed 8 bytes, and that the whole header is there.
    pub fn new_checked(buffer: T) -> Result<Packet<T>, DecodeError> {
        let b = buffer.as_ref();
        need(Layer::Capwap, b, field::PREAMBLE + 1)?;
        let version = b[field::PREAMBLE] >> 4;
        if version != 0 {
            return Err(DecodeError::BadVersion {
                layer: Layer::Capwap,
                version,
            });
        }
        match b[field::PREAMBLE] & 0x0f {
            0 => {}
            1 => {
                return Err(DecodeError::Unsupported {
                    layer: Layer::Capwap,
                    what: "DTLS-encrypted packet",
                });
            }
            _ => {
                return Err(DecodeError::Unsupported {
                    layer: Layer::Capwap,
                    what: "reserved preamble type",
                });
            }
        }
        need(Layer::Capwap, b, MIN_HEADER_LEN)?;
        let p = Packet { buffer };
        let len = p.header_len();
        if len < MIN_HEADER_LEN {
            return Err(DecodeError::BadHeaderLength {
                layer: Layer::Capwap,
                len,
            });
        }
        need(Layer::Capwap, p.buffer.as_ref(), len)?;
        Ok(p)
    }

    /// Returns the wrapped buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    fn bits(&self) -> u32 {
        be24(self.buffer.as_ref(), field::BITS.start)
    }

    /// The header length in bytes (HLEN times 4).
    pub fn header_len(&self) -> usize {
        (self.bits() >> 19) as usize * 4
    }

    /// The radio id.
    pub fn radio_id(&self) -> u8 {
        ((self.bits() >> 14) & 0x1f) as u8
    }

    /// The wireless binding id ([`WBID_IEEE80211`] for 802.11).
    pub fn wbid(&self) -> u8 {
        ((self.bits() >> 9) & 0x1f) as u8
    }

    /// Flag T: the payload is in the binding's native format (else an 802.3 frame).
    pub fn is_native(&self) -> bool {
        self.bits() & FLAG_T != 0
    }

    /// Flag F: this packet is a fragment.
    pub fn is_fragment(&self) -> bool {
        self.bits() & FLAG_F != 0
    }

    /// Flag L: the last fragment.
    pub fn is_last_fragment(&self) -> bool {
        self.bits() & FLAG_L != 0
    }

    /// Flag W: wireless-specific information is in the header.
    pub fn has_wireless_info(&self) -> bool {
        self.bits() & FLAG_W != 0
    }

    /// Flag M: the radio MAC address is in the header.
    pub fn has_radio_mac(&self) -> bool {
        self.bits() & FLAG_M != 0
    }

    /// Flag K: a keep-alive, no payload.
    pub fn is_keep_alive(&self) -> bool {
        self.bits() & FLAG_K != 0
    }

    /// The fragment id.
    pub fn fragment_id(&self) -> u16 {
        be16(self.buffer.as_ref(), field::FRAGMENT_ID.start)
    }

    /// The fragment offset, in 8-byte units.
    pub fn fragment_offset(&self) -> u16 {
        be16(self.buffer.as_ref(), field::FRAGMENT_OFFSET.start) >> 3
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
        // nDPI's capwap.pcap: HLEN 4, radio 1, WBID 1, T and W, wireless information.
        let b = [
            0x00, 0x20, 0x43, 0x20, 0x00, 0x00, 0x00, 0x00, 0x01, 0x04, 0xed, 0x4d, 0, 0, 0, 0,
            0x01, 0x08,
        ];
        let p = Packet::new_checked(&b[..]).unwrap();
        assert_eq!(p.header_len(), 16);
        assert_eq!((p.radio_id(), p.wbid()), (1, WBID_IEEE80211));
        assert!(p.is_native() && p.has_wireless_info());
        assert!(!p.is_fragment() && !p.is_last_fragment() && !p.has_radio_mac());
        assert!(!p.is_keep_alive());
        assert_eq!((p.fragment_id(), p.fragment_offset()), (0, 0));
        assert_eq!(p.payload(), &[0x01, 0x08]);
        for n in 0..16 {
            assert_eq!(
                Packet::new_checked(&b[..n]).unwrap_err(),
                DecodeError::Truncated {
                    layer: Layer::Capwap,
                    needed: match n {
                        0 => 1,
                        1..8 => 8,
                        _ => 16,
                    },
                    got: n
                }
            );
        }
        // An 802.3 payload, a fragment at offset 3 (24 bytes), keep-alive.
        let b = [0x00, 0x10, 0x00, 0x88, 0x12, 0x34, 0x00, 0x18];
        let p = Packet::new_checked(&b[..]).unwrap();
        assert!(!p.is_native() && p.is_fragment() && p.is_keep_alive());
        assert_eq!((p.fragment_id(), p.fragment_offset()), (0x1234, 3));
    }

    #[test]
    fn rejected_headers() {
        let dtls = [0x01, 0, 0, 0, 0x17, 0xfe, 0xfd];
        assert!(matches!(
            Packet::new_checked(&dtls[..]),
            Err(DecodeError::Unsupported {
                layer: Layer::Capwap,
                ..
            })
        ));
        assert_eq!(
            Packet::new_checked(&[0x10u8, 0x10, 0, 0, 0, 0, 0, 0][..]).unwrap_err(),
            DecodeError::BadVersion {
                layer: Layer::Capwap,
                version: 1
            }
        );
        // HLEN 1: shorter than the fixed header.
        assert_eq!(
            Packet::new_checked(&[0x00u8, 0x08, 0, 0, 0, 0, 0, 0][..]).unwrap_err(),
            DecodeError::BadHeaderLength {
                layer: Layer::Capwap,
                len: 4
            }
        );
    }
}

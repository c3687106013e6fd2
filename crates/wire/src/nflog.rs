//! Linux NFLOG captures (LINKTYPE_NFLOG, 239): what `iptables -j NFLOG` / nftables `log
//! group` hand to libpcap.
//!
//! A 4-byte header (address family, version, resource id in network byte order) is
//! followed by TLVs: a 16-bit length (which counts the 4-byte TLV header, not the padding)
//! and a 16-bit type, both in the capturing machine's byte order, then the value, padded
//! to a multiple of 4 bytes. libpcap and Wireshark read them as little-endian, which is
//! what every NFLOG capture in practice is, and so does this module. The top bit of the
//! type (netlink's nested flag) is ignored, as Wireshark does.
//!
//! The NFULA_PAYLOAD TLV (type 9) holds the packet, an IPv4 or IPv6 datagram as the
//! family says (2 or 10).

use crate::bytes::{be16, le16};
use crate::error::{DecodeError, Layer, need};
use core::ops::Range;

/// Length of the header before the TLVs.
pub const HEADER_LEN: usize = 4;

/// Length of a TLV's own header (length and type).
pub const TLV_HEADER_LEN: usize = 4;

/// The TLV type of the logged packet (NFULA_PAYLOAD).
pub const TLV_PAYLOAD: u16 = 9;

/// The Linux address family of IPv4 (AF_INET).
pub const AF_INET: u8 = 2;

/// The Linux address family of IPv6 (AF_INET6).
pub const AF_INET6: u8 = 10;

mod field {
    use core::ops::Range;
    pub const FAMILY: usize = 0;
    pub const VERSION: usize = 1;
    pub const RESOURCE_ID: Range<usize> = 2..4;
}

/// The netlink attribute flags in the top bits of a type; only the nested flag is
/// masked, as Wireshark does.
const TYPE_MASK: u16 = 0x7fff;

/// An NFLOG header and its TLVs.
#[derive(Debug, Clone, Copy)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps `buffer` without checking it.
    pub const fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    /// Wraps `buffer`, checking the header and every TLV up to the payload: a length below
    /// 4 is [`DecodeError::BadLength`], a TLV that runs past the capture is
    /// [`DecodeError::Truncated`] (except the payload, which a snap length may cut:
    /// [`Packet::payload`] is then what was captured). Running out of TLVs before the
    /// payload is [`DecodeError::Truncated`] too (Zeek's `nflog_no_pcap_payload`): a
    /// record without a packet is most likely a cut one.
    pub fn new_checked(buffer: T) -> Result<Packet<T>, DecodeError> {
        let b = buffer.as_ref();
        need(Layer::Nflog, b, HEADER_LEN)?;
        find_payload(b)?;
        Ok(Packet { buffer })
    }

    /// Returns the wrapped buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The address family (Linux numbering: [`AF_INET`], [`AF_INET6`]).
    pub fn family(&self) -> u8 {
        self.buffer.as_ref()[field::FAMILY]
    }

    /// The version (0).
    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[field::VERSION]
    }

    /// The resource id (the NFLOG group).
    pub fn resource_id(&self) -> u16 {
        be16(self.buffer.as_ref(), field::RESOURCE_ID.start)
    }

    /// Where the payload TLV's value lies in the buffer, cut at the end of the capture.
    pub fn payload_range(&self) -> Range<usize> {
        let b = self.buffer.as_ref();
        find_payload(b).unwrap_or(b.len()..b.len())
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Packet<&'a T> {
    /// The logged packet (the NFULA_PAYLOAD value).
    pub fn payload(&self) -> &'a [u8] {
        let b = self.buffer.as_ref();
        &b[Packet::new_unchecked(b).payload_range()]
    }
}

/// Walks the TLVs to the payload.
fn find_payload(b: &[u8]) -> Result<Range<usize>, DecodeError> {
    let mut at = HEADER_LEN;
    loop {
        need(Layer::Nflog, b, at + TLV_HEADER_LEN)?;
        let len = usize::from(le16(b, at));
        let kind = le16(b, at + 2) & TYPE_MASK;
        if len < TLV_HEADER_LEN {
            return Err(DecodeError::BadLength {
                layer: Layer::Nflog,
                len,
            });
        }
        if kind == TLV_PAYLOAD {
            return Ok(at + TLV_HEADER_LEN..b.len().min(at + len));
        }
        need(Layer::Nflog, b, at + len)?;
        at += len.next_multiple_of(4);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A header (IPv4, group 42), a 5-byte prefix TLV (padded to 8), a 4-byte mark TLV,
    /// then the payload TLV.
    fn sample(payload: &[u8]) -> Vec<u8> {
        let mut b = vec![AF_INET, 0, 0, 42];
        b.extend_from_slice(&[9, 0, 10, 0, b'a', b'b', b'c', b'd', b'e', 0, 0, 0]);
        b.extend_from_slice(&[8, 0, 2, 0, 0, 0, 0, 1]);
        b.extend_from_slice(&((4 + payload.len()) as u16).to_le_bytes());
        b.extend_from_slice(&TLV_PAYLOAD.to_le_bytes());
        b.extend_from_slice(payload);
        b
    }

    #[test]
    fn fields_and_payload() {
        let b = sample(&[0x45, 1, 2, 3, 4]);
        let p = Packet::new_checked(&b[..]).unwrap();
        assert_eq!((p.family(), p.version(), p.resource_id()), (AF_INET, 0, 42));
        assert_eq!(p.payload(), &[0x45, 1, 2, 3, 4]);
        assert_eq!(p.payload_range(), 28..33);
        // Cut by a snap length inside the payload: what was captured.
        let p = Packet::new_checked(&b[..30]).unwrap();
        assert_eq!(p.payload(), &[0x45, 1]);
        // The nested flag in the type is ignored.
        let mut nested = b.clone();
        nested[27] |= 0x80;
        assert_eq!(
            Packet::new_checked(&nested[..]).unwrap().payload(),
            &[0x45, 1, 2, 3, 4]
        );
    }

    #[test]
    fn cut_and_bad_tlvs() {
        let b = sample(&[0x45]);
        // Every cut before the payload TLV's header is complete: no packet.
        for n in 0..28 {
            let needed = match n {
                0..4 => 4,
                4..8 => 8,
                8..13 => 13,
                13..20 => 20,
                20..24 => 24,
                _ => 28,
            };
            assert_eq!(
                Packet::new_checked(&b[..n]).unwrap_err(),
                DecodeError::Truncated {
                    layer: Layer::Nflog,
                    needed,
                    got: n
                },
                "{n}"
            );
        }
        // An empty payload is still a payload.
        assert_eq!(Packet::new_checked(&b[..28]).unwrap().payload(), &[0u8; 0]);
        // A length below 4.
        let mut bad = b.clone();
        bad[4] = 3;
        assert_eq!(
            Packet::new_checked(&bad[..]).unwrap_err(),
            DecodeError::BadLength {
                layer: Layer::Nflog,
                len: 3
            }
        );
        // Zeek's nflog-bad-tlv-len.pcap: a 256-byte TLV in a 12-byte frame.
        let zeek = [2, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0];
        assert_eq!(
            Packet::new_checked(&zeek[..]).unwrap_err(),
            DecodeError::Truncated {
                layer: Layer::Nflog,
                needed: 260,
                got: 12
            }
        );
    }
}

//! IPv4 headers (RFC 791): options, fragments, header checksum.
//!
//! The total-length field decides where the packet ends: trailing bytes (Ethernet padding
//! of short frames) are cut off by [`Packet::payload`]. A buffer shorter than the total
//! length (a capture cut by its snap length) is accepted as long as the header is whole;
//! [`Packet::is_truncated`] says so and the payload is what was captured.
//!
//! A total length of 0 is what a capture taken before TCP segmentation offload shows
//! (the NIC fills the field in later); as tshark does, the datagram is then taken to be the
//! whole buffer ([`Packet::datagram_len`]).

use crate::bytes::{be16, be32};
use crate::checksum;
use crate::error::{DecodeError, Layer, need};
use crate::ip::IpProtocol;
use std::net::Ipv4Addr;

mod field {
    use core::ops::Range;
    pub const VER_IHL: usize = 0;
    pub const DSCP_ECN: usize = 1;
    pub const LENGTH: Range<usize> = 2..4;
    pub const IDENT: Range<usize> = 4..6;
    pub const FLG_OFF: Range<usize> = 6..8;
    pub const TTL: usize = 8;
    pub const PROTOCOL: usize = 9;
    pub const CHECKSUM: Range<usize> = 10..12;
    pub const SRC_ADDR: Range<usize> = 12..16;
    pub const DST_ADDR: Range<usize> = 16..20;
    pub const OPTIONS: usize = 20;
}

/// Length of a header without options.
pub const MIN_HEADER_LEN: usize = field::OPTIONS;

/// An IPv4 packet.
#[derive(Debug, Clone, Copy)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps `buffer` without checking it.
    pub const fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    /// Wraps `buffer`, checking the version, that the header (with options) is whole, and
    /// that the total length covers the header.
    pub fn new_checked(buffer: T) -> Result<Packet<T>, DecodeError> {
        let b = buffer.as_ref();
        need(Layer::Ipv4, b, 1)?;
        let version = b[0] >> 4;
        if version != 4 {
            return Err(DecodeError::BadVersion {
                layer: Layer::Ipv4,
                version,
            });
        }
        need(Layer::Ipv4, b, MIN_HEADER_LEN)?;
        let header_len = usize::from(b[0] & 0x0f) * 4;
        if header_len < MIN_HEADER_LEN {
            return Err(DecodeError::BadHeaderLength {
                layer: Layer::Ipv4,
                len: header_len,
            });
        }
        need(Layer::Ipv4, b, header_len)?;
        let total = usize::from(be16(b, field::LENGTH.start));
        if total < header_len && total != 0 {
            return Err(DecodeError::BadLength {
                layer: Layer::Ipv4,
                len: total,
            });
        }
        Ok(Packet { buffer })
    }

    /// Returns the wrapped buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    fn b(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    /// The version field (4 once checked).
    pub fn version(&self) -> u8 {
        self.b()[field::VER_IHL] >> 4
    }

    /// The header length in bytes, options included.
    pub fn header_len(&self) -> usize {
        usize::from(self.b()[field::VER_IHL] & 0x0f) * 4
    }

    /// The type-of-service byte (DSCP and ECN).
    pub fn tos(&self) -> u8 {
        self.b()[field::DSCP_ECN]
    }

    /// The differentiated services code point (6 bits).
    pub fn dscp(&self) -> u8 {
        self.tos() >> 2
    }

    /// The explicit congestion notification bits.
    pub fn ecn(&self) -> u8 {
        self.tos() & 3
    }

    /// The total-length field: header and payload as sent.
    pub fn total_len(&self) -> u16 {
        be16(self.b(), field::LENGTH.start)
    }

    /// The datagram length: the total-length field, or the buffer length when the field
    /// is 0 (segmentation offload).
    pub fn datagram_len(&self) -> usize {
        match self.total_len() {
            0 => self.b().len(),
            n => usize::from(n),
        }
    }

    /// The identification field (shared by the fragments of one datagram).
    pub fn ident(&self) -> u16 {
        be16(self.b(), field::IDENT.start)
    }

    /// The reserved ("evil") flag bit.
    pub fn reserved_flag(&self) -> bool {
        self.b()[field::FLG_OFF.start] & 0x80 != 0
    }

    /// The don't-fragment flag.
    pub fn dont_frag(&self) -> bool {
        self.b()[field::FLG_OFF.start] & 0x40 != 0
    }

    /// The more-fragments flag.
    pub fn more_frags(&self) -> bool {
        self.b()[field::FLG_OFF.start] & 0x20 != 0
    }

    /// The fragment offset in bytes (the field counts 8-byte units).
    pub fn frag_offset(&self) -> u16 {
        (be16(self.b(), field::FLG_OFF.start) & 0x1fff) << 3
    }

    /// True when this packet is a fragment (more-fragments set or a non-zero offset).
    pub fn is_fragment(&self) -> bool {
        self.more_frags() || self.frag_offset() != 0
    }

    /// The time to live.
    pub fn ttl(&self) -> u8 {
        self.b()[field::TTL]
    }

    /// The protocol of the payload.
    pub fn protocol(&self) -> IpProtocol {
        IpProtocol::from(self.b()[field::PROTOCOL])
    }

    /// The protocol of the payload as its number (no [`IpProtocol`] built).
    pub fn protocol_number(&self) -> u8 {
        self.b()[field::PROTOCOL]
    }

    /// The header checksum field.
    pub fn checksum(&self) -> u16 {
        be16(self.b(), field::CHECKSUM.start)
    }

    /// The source address.
    pub fn src_addr(&self) -> Ipv4Addr {
        Ipv4Addr::from(be32(self.b(), field::SRC_ADDR.start))
    }

    /// The destination address.
    pub fn dst_addr(&self) -> Ipv4Addr {
        Ipv4Addr::from(be32(self.b(), field::DST_ADDR.start))
    }

    /// True when the header checksum is correct.
    pub fn verify_checksum(&self) -> bool {
        checksum::verify(&self.b()[..self.header_len()])
    }

    /// The raw options (between the fixed header and the payload).
    pub fn options(&self) -> &[u8] {
        &self.b()[field::OPTIONS..self.header_len()]
    }

    /// The options, one by one.
    pub fn option_iter(&self) -> OptionIter<'_> {
        OptionIter {
            rest: self.options(),
        }
    }

    /// True when the buffer holds fewer bytes than the total length announces.
    pub fn is_truncated(&self) -> bool {
        self.b().len() < self.datagram_len()
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Packet<&'a T> {
    /// The payload: up to the total length (trailing padding cut), or as much as was
    /// captured when the buffer is shorter.
    pub fn payload(&self) -> &'a [u8] {
        let b = self.buffer.as_ref();
        let end = Packet::new_unchecked(b).datagram_len().min(b.len());
        let start = usize::from(b[field::VER_IHL] & 0x0f) * 4;
        &b[start..end]
    }
}

/// One IPv4 option.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv4Option<'a> {
    /// The option type byte (copied flag, class and number).
    pub kind: u8,
    /// The option data after the type and length bytes (empty for NOP).
    pub data: &'a [u8],
}

/// The option type that ends the option list.
pub const OPT_END: u8 = 0;
/// The no-operation (padding) option type.
pub const OPT_NOP: u8 = 1;

/// Iterates over IPv4 options; stops at the end-of-list option. Yields an error (once) for
/// an option whose length is impossible.
#[derive(Debug, Clone)]
pub struct OptionIter<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for OptionIter<'a> {
    type Item = Result<Ipv4Option<'a>, DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        let (&kind, after) = self.rest.split_first()?;
        match kind {
            OPT_END => {
                self.rest = &[];
                None
            }
            OPT_NOP => {
                self.rest = after;
                Some(Ok(Ipv4Option { kind, data: &[] }))
            }
            _ => {
                let len = after.first().copied().unwrap_or(0);
                if len < 2 || usize::from(len) > self.rest.len() {
                    self.rest = &[];
                    return Some(Err(DecodeError::BadIpv4Option { kind, len }));
                }
                let data = &self.rest[2..usize::from(len)];
                self.rest = &self.rest[usize::from(len)..];
                Some(Ok(Ipv4Option { kind, data }))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // 192.168.0.1 -> 192.168.0.199, UDP, ident 0x1c46, DF, TTL 64, total length 24,
    // followed by 4 payload bytes and 2 bytes of Ethernet padding.
    const PACKET: [u8; 26] = [
        0x45, 0x00, 0x00, 0x18, 0x1c, 0x46, 0x40, 0x00, 0x40, 0x11, 0x9c, 0xf3, 0xc0, 0xa8, 0x00,
        0x01, 0xc0, 0xa8, 0x00, 0xc7, 0xaa, 0xbb, 0xcc, 0xdd, 0x00, 0x00,
    ];

    fn fixed(mut p: Vec<u8>) -> Vec<u8> {
        let hl = usize::from(p[0] & 15) * 4;
        p[10] = 0;
        p[11] = 0;
        let c = checksum::compute(&p[..hl]);
        p[10..12].copy_from_slice(&c.to_be_bytes());
        p
    }

    #[test]
    fn fields() {
        let bytes = fixed(PACKET.to_vec());
        let p = Packet::new_checked(&bytes[..]).unwrap();
        assert_eq!(p.version(), 4);
        assert_eq!(p.header_len(), 20);
        assert_eq!(p.total_len(), 24);
        assert_eq!(p.ident(), 0x1c46);
        assert!(p.dont_frag() && !p.more_frags() && !p.reserved_flag());
        assert_eq!(p.frag_offset(), 0);
        assert!(!p.is_fragment());
        assert_eq!(p.ttl(), 64);
        assert_eq!(p.protocol(), IpProtocol::Udp);
        assert_eq!(p.src_addr(), Ipv4Addr::new(192, 168, 0, 1));
        assert_eq!(p.dst_addr(), Ipv4Addr::new(192, 168, 0, 199));
        assert!(p.verify_checksum());
        // Padding cut off by the total length.
        assert_eq!(p.payload(), &[0xaa, 0xbb, 0xcc, 0xdd]);
        assert!(!p.is_truncated());
        assert!(p.options().is_empty());
    }

    #[test]
    fn bad_checksum_is_detected() {
        let mut bytes = fixed(PACKET.to_vec());
        bytes[11] ^= 0xff;
        assert!(!Packet::new_checked(&bytes[..]).unwrap().verify_checksum());
    }

    #[test]
    fn fragment_fields() {
        let mut bytes = PACKET.to_vec();
        // MF set, offset 185 units = 1480 bytes.
        bytes[6] = 0x20 | (185 >> 8) as u8;
        bytes[7] = (185 & 0xff) as u8;
        let p = Packet::new_checked(&bytes[..]).unwrap();
        assert!(p.more_frags() && p.is_fragment());
        assert_eq!(p.frag_offset(), 1480);
    }

    #[test]
    fn options_are_parsed() {
        // IHL 7: record-route-ish option (kind 7, len 7) + NOP + END.
        let mut bytes = vec![
            0x47, 0x00, 0x00, 0x1c, 0, 1, 0, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, 7, 7, 4, 0,
            0, 0, 0, 1,
        ];
        bytes = fixed(bytes);
        let p = Packet::new_checked(&bytes[..]).unwrap();
        assert_eq!(p.header_len(), 28);
        let opts: Vec<_> = p.option_iter().collect();
        assert_eq!(
            opts,
            vec![
                Ok(Ipv4Option {
                    kind: 7,
                    data: &[4, 0, 0, 0, 0]
                }),
                Ok(Ipv4Option {
                    kind: OPT_NOP,
                    data: &[]
                })
            ]
        );
        assert!(p.verify_checksum());
        assert!(p.payload().is_empty());

        let bad = [7u8, 9, 0, 0];
        let mut it = OptionIter { rest: &bad };
        assert_eq!(
            it.next(),
            Some(Err(DecodeError::BadIpv4Option { kind: 7, len: 9 }))
        );
        assert_eq!(it.next(), None);
    }

    #[test]
    fn errors_say_why() {
        let mut v6 = PACKET;
        v6[0] = 0x65;
        assert_eq!(
            Packet::new_checked(&v6[..]).unwrap_err(),
            DecodeError::BadVersion {
                layer: Layer::Ipv4,
                version: 6
            }
        );
        let mut short_ihl = PACKET;
        short_ihl[0] = 0x44;
        assert_eq!(
            Packet::new_checked(&short_ihl[..]).unwrap_err(),
            DecodeError::BadHeaderLength {
                layer: Layer::Ipv4,
                len: 16
            }
        );
        // Total length 0 (segmentation offload): the buffer is the datagram.
        let mut tso = PACKET;
        tso[3] = 0;
        let p = Packet::new_checked(&tso[..]).unwrap();
        assert_eq!(
            (p.total_len(), p.datagram_len(), p.payload().len()),
            (0, 26, 6)
        );
        assert!(!p.is_truncated());
        let mut short_total = PACKET;
        short_total[3] = 19;
        assert_eq!(
            Packet::new_checked(&short_total[..]).unwrap_err(),
            DecodeError::BadLength {
                layer: Layer::Ipv4,
                len: 19
            }
        );
        let mut long_ihl = PACKET;
        long_ihl[0] = 0x4f;
        long_ihl[3] = 60;
        assert_eq!(
            Packet::new_checked(&long_ihl[..]).unwrap_err(),
            DecodeError::Truncated {
                layer: Layer::Ipv4,
                needed: 60,
                got: 26
            }
        );
    }

    #[test]
    fn truncated_prefixes_are_errors_or_flagged() {
        for n in 0..PACKET.len() {
            match Packet::new_checked(&PACKET[..n]) {
                Err(DecodeError::Truncated {
                    layer: Layer::Ipv4, ..
                }) => assert!(n < 20),
                Err(e) => panic!("unexpected error {e}"),
                Ok(p) => {
                    assert!(n >= 20);
                    // A short capture is never a silent success.
                    assert_eq!(p.is_truncated(), n < 24);
                    assert_eq!(p.payload().len(), n.min(24) - 20);
                }
            }
        }
    }
}

//! IPv6 headers (RFC 8200) and the extension-header chain.
//!
//! [`Packet`] is the fixed 40-byte header. [`walk_extensions`] follows the next-header
//! chain (hop-by-hop, routing, fragment, destination options, AH, mobility, HIP, shim6)
//! to the upper-layer protocol, at most [`MAX_EXT_HEADERS`] deep. ESP stops the walk (what
//! follows is encrypted), as does a fragment header with a non-zero offset (what follows
//! is the middle of a datagram, with no upper-layer header).
//!
//! Like IPv4, a buffer shorter than the payload-length field announces is accepted when
//! the fixed header is whole; [`Packet::is_truncated`] says so.

use crate::bytes::{be16, be32};
use crate::error::{DecodeError, Layer, need};
use crate::ip::IpProtocol;
use std::net::Ipv6Addr;

mod field {
    use core::ops::Range;
    pub const VER_TC_FLOW: Range<usize> = 0..4;
    pub const LENGTH: Range<usize> = 4..6;
    pub const NXT_HDR: usize = 6;
    pub const HOP_LIMIT: usize = 7;
    pub const SRC_ADDR: Range<usize> = 8..24;
    pub const DST_ADDR: Range<usize> = 24..40;
    pub const PAYLOAD: usize = 40;
}

/// Length of the fixed header.
pub const HEADER_LEN: usize = field::PAYLOAD;

/// The most extension headers [`walk_extensions`] follows; a longer chain is rejected as
/// [`DecodeError::TooDeep`].
pub const MAX_EXT_HEADERS: usize = 16;

/// An IPv6 packet (fixed header).
#[derive(Debug, Clone, Copy)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps `buffer` without checking it.
    pub const fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    /// Wraps `buffer`, checking the version and that the fixed header is whole.
    pub fn new_checked(buffer: T) -> Result<Packet<T>, DecodeError> {
        let b = buffer.as_ref();
        need(Layer::Ipv6, b, 1)?;
        let version = b[0] >> 4;
        if version != 6 {
            return Err(DecodeError::BadVersion {
                layer: Layer::Ipv6,
                version,
            });
        }
        need(Layer::Ipv6, b, HEADER_LEN)?;
        Ok(Packet { buffer })
    }

    /// Returns the wrapped buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    fn b(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    /// The version field (6 once checked).
    pub fn version(&self) -> u8 {
        self.b()[0] >> 4
    }

    /// The traffic class (DSCP and ECN).
    pub fn traffic_class(&self) -> u8 {
        ((be16(self.b(), 0) >> 4) & 0xff) as u8
    }

    /// The flow label (20 bits).
    pub fn flow_label(&self) -> u32 {
        be32(self.b(), field::VER_TC_FLOW.start) & 0x000f_ffff
    }

    /// The payload-length field (extension headers included).
    pub fn payload_len(&self) -> u16 {
        be16(self.b(), field::LENGTH.start)
    }

    /// The first next-header value.
    pub fn next_header(&self) -> IpProtocol {
        IpProtocol::from(self.b()[field::NXT_HDR])
    }

    /// The next header as its number (no [`IpProtocol`] built).
    pub fn next_header_number(&self) -> u8 {
        self.b()[field::NXT_HDR]
    }

    /// The hop limit.
    pub fn hop_limit(&self) -> u8 {
        self.b()[field::HOP_LIMIT]
    }

    /// The source address.
    pub fn src_addr(&self) -> Ipv6Addr {
        let mut a = [0; 16];
        a.copy_from_slice(&self.b()[field::SRC_ADDR]);
        Ipv6Addr::from(a)
    }

    /// The destination address.
    pub fn dst_addr(&self) -> Ipv6Addr {
        let mut a = [0; 16];
        a.copy_from_slice(&self.b()[field::DST_ADDR]);
        Ipv6Addr::from(a)
    }

    /// True for a jumbogram: payload length 0 with a hop-by-hop header (RFC 2675). Its
    /// payload runs to the end of the buffer.
    pub fn is_jumbo(&self) -> bool {
        self.payload_len() == 0 && self.next_header() == IpProtocol::HopByHop
    }

    /// The payload length the header announces (the buffer length after the header for a
    /// jumbogram).
    pub fn announced_payload_len(&self) -> usize {
        if self.is_jumbo() {
            self.b().len() - HEADER_LEN
        } else {
            usize::from(self.payload_len())
        }
    }

    /// True when the buffer holds fewer bytes than the payload length announces.
    pub fn is_truncated(&self) -> bool {
        self.b().len() - HEADER_LEN < self.announced_payload_len()
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Packet<&'a T> {
    /// The payload (extension headers included): up to the payload length, or as much as
    /// was captured.
    pub fn payload(&self) -> &'a [u8] {
        let b = self.buffer.as_ref();
        let p = Packet::new_unchecked(b);
        let end = (HEADER_LEN + p.announced_payload_len()).min(b.len());
        &b[HEADER_LEN..end]
    }
}

/// The fields of an IPv6 fragment header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FragmentHeader {
    /// The identification shared by the fragments of one datagram.
    pub ident: u32,
    /// The offset of this fragment's data in bytes.
    pub offset: u16,
    /// The more-fragments flag.
    pub more: bool,
}

/// Where the extension-header chain ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Upper<'a> {
    /// The protocol after the last extension header walked.
    pub protocol: IpProtocol,
    /// Bytes of extension headers, from the start of the IPv6 payload.
    pub ext_len: usize,
    /// Number of extension headers walked.
    pub ext_count: usize,
    /// The fragment header, if there was one.
    pub fragment: Option<FragmentHeader>,
    /// What follows the extension headers (for a non-first fragment: fragment data).
    pub payload: &'a [u8],
}

impl Upper<'_> {
    /// True when this is a fragment other than the first: it carries no upper-layer header.
    pub fn is_later_fragment(&self) -> bool {
        self.fragment.is_some_and(|f| f.offset != 0)
    }
}

/// True for the next-header values walked as extension headers.
pub fn is_extension(p: IpProtocol) -> bool {
    matches!(
        p,
        IpProtocol::HopByHop
            | IpProtocol::Ipv6Route
            | IpProtocol::Ipv6Frag
            | IpProtocol::Ipv6Opts
            | IpProtocol::Ah
    ) || matches!(u8::from(p), 135 | 139 | 140)
}

/// Walks the extension headers of an IPv6 payload that starts with `next_header`.
pub fn walk_extensions(next_header: IpProtocol, payload: &[u8]) -> Result<Upper<'_>, DecodeError> {
    let mut proto = next_header;
    let mut off = 0usize;
    let mut count = 0usize;
    let mut fragment = None;
    while is_extension(proto) {
        if count == MAX_EXT_HEADERS {
            return Err(DecodeError::TooDeep {
                layer: Layer::Ipv6Ext,
                max: MAX_EXT_HEADERS,
            });
        }
        let rest = &payload[off..];
        need(Layer::Ipv6Ext, rest, 8)?;
        let next = IpProtocol::from(rest[0]);
        let len = match proto {
            IpProtocol::Ipv6Frag => 8,
            // AH counts 4-byte units, minus 2.
            IpProtocol::Ah => (usize::from(rest[1]) + 2) * 4,
            _ => (usize::from(rest[1]) + 1) * 8,
        };
        need(Layer::Ipv6Ext, rest, len)?;
        count += 1;
        off += len;
        if proto == IpProtocol::Ipv6Frag {
            let f = FragmentHeader {
                ident: be32(rest, 4),
                offset: be16(rest, 2) & 0xfff8,
                more: rest[3] & 1 != 0,
            };
            fragment = Some(f);
            if f.offset != 0 {
                // Later fragments hold the middle of the datagram: stop here.
                proto = next;
                break;
            }
        }
        proto = next;
    }
    Ok(Upper {
        protocol: proto,
        ext_len: off,
        ext_count: count,
        fragment,
        payload: &payload[off..],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(next: u8, payload_len: u16) -> Vec<u8> {
        let mut h = vec![0x6a, 0xb1, 0x23, 0x45];
        h.extend_from_slice(&payload_len.to_be_bytes());
        h.push(next);
        h.push(57);
        h.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
        h.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
        h
    }

    #[test]
    fn fields() {
        let mut b = header(17, 3);
        b.extend_from_slice(&[1, 2, 3, 0xee]);
        let p = Packet::new_checked(&b[..]).unwrap();
        assert_eq!(p.version(), 6);
        assert_eq!(p.traffic_class(), 0xab);
        assert_eq!(p.flow_label(), 0x12345);
        assert_eq!(p.payload_len(), 3);
        assert_eq!(p.next_header(), IpProtocol::Udp);
        assert_eq!(p.hop_limit(), 57);
        assert_eq!(p.src_addr(), "2001:db8::1".parse::<Ipv6Addr>().unwrap());
        assert_eq!(p.dst_addr(), "2001:db8::2".parse::<Ipv6Addr>().unwrap());
        assert_eq!(p.payload(), &[1, 2, 3]);
        assert!(!p.is_truncated());
    }

    #[test]
    fn extension_chain_to_tcp() {
        // hop-by-hop (8) -> destination options (16) -> routing (8) -> TCP.
        let mut pl = vec![60, 0, 1, 4, 0, 0, 0, 0];
        pl.extend_from_slice(&[43, 1, 1, 4, 0, 0, 0, 0, 1, 6, 0, 0, 0, 0, 0, 0]);
        pl.extend_from_slice(&[6, 0, 0, 0, 0, 0, 0, 0]);
        pl.extend_from_slice(&[0xab; 20]);
        let up = walk_extensions(IpProtocol::HopByHop, &pl).unwrap();
        assert_eq!(up.protocol, IpProtocol::Tcp);
        assert_eq!(up.ext_len, 32);
        assert_eq!(up.ext_count, 3);
        assert_eq!(up.fragment, None);
        assert_eq!(up.payload.len(), 20);
    }

    #[test]
    fn fragment_header() {
        // First fragment: offset 0, M set -> the walk continues to UDP.
        let mut first = vec![17, 0, 0x00, 0x01, 0xde, 0xad, 0xbe, 0xef];
        first.extend_from_slice(&[0; 8]);
        let up = walk_extensions(IpProtocol::Ipv6Frag, &first).unwrap();
        assert_eq!(up.protocol, IpProtocol::Udp);
        assert_eq!(
            up.fragment,
            Some(FragmentHeader {
                ident: 0xdeadbeef,
                offset: 0,
                more: true
            })
        );
        assert!(!up.is_later_fragment());
        // Later fragment: offset 1448 bytes, no M; next header is a hop-by-hop value but
        // must not be walked.
        let mut later = vec![0, 0, 0x05, 0xa8, 0, 0, 0, 7];
        later.extend_from_slice(&[0xff; 4]);
        let up = walk_extensions(IpProtocol::Ipv6Frag, &later).unwrap();
        assert!(up.is_later_fragment());
        assert_eq!(up.fragment.unwrap().offset, 1448);
        assert!(!up.fragment.unwrap().more);
        assert_eq!(up.payload, &[0xff; 4]);
    }

    #[test]
    fn ah_length_in_four_byte_units_and_esp_stops() {
        // AH with payload len 4 -> (4+2)*4 = 24 bytes, then ESP.
        let mut pl = vec![50, 4];
        pl.extend_from_slice(&[0; 22]);
        pl.extend_from_slice(&[1, 2, 3, 4]);
        let up = walk_extensions(IpProtocol::Ah, &pl).unwrap();
        assert_eq!(up.protocol, IpProtocol::Esp);
        assert_eq!(up.ext_len, 24);
        assert_eq!(up.payload, &[1, 2, 3, 4]);
    }

    #[test]
    fn chain_is_capped() {
        // 17 destination-options headers, each pointing at the next.
        let pl: Vec<u8> = (0..17).flat_map(|_| [60u8, 0, 0, 0, 0, 0, 0, 0]).collect();
        assert_eq!(
            walk_extensions(IpProtocol::Ipv6Opts, &pl).unwrap_err(),
            DecodeError::TooDeep {
                layer: Layer::Ipv6Ext,
                max: MAX_EXT_HEADERS
            }
        );
    }

    #[test]
    fn truncated_prefixes_are_errors_or_flagged() {
        let mut b = header(0, 24);
        b.extend_from_slice(&[6, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        b.extend_from_slice(&[9; 8]);
        for n in 0..b.len() {
            match Packet::new_checked(&b[..n]) {
                Err(DecodeError::Truncated {
                    layer: Layer::Ipv6, ..
                }) => assert!(n < 40),
                Err(e) => panic!("unexpected {e}"),
                Ok(p) => {
                    assert!(p.is_truncated());
                    match walk_extensions(p.next_header(), p.payload()) {
                        Err(DecodeError::Truncated {
                            layer: Layer::Ipv6Ext,
                            ..
                        }) => {
                            assert!(n < 56)
                        }
                        Err(e) => panic!("unexpected {e}"),
                        Ok(up) => {
                            assert!(n >= 56);
                            assert_eq!(up.protocol, IpProtocol::Tcp);
                        }
                    }
                }
            }
        }
        assert!(!Packet::new_checked(&b[..]).unwrap().is_truncated());
        let mut v4 = b.clone();
        v4[0] = 0x45;
        assert_eq!(
            Packet::new_checked(&v4[..]).unwrap_err(),
            DecodeError::BadVersion {
                layer: Layer::Ipv6,
                version: 4
            }
        );
    }
}

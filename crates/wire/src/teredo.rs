//! Teredo (RFC 4380): IPv6 carried in UDP, to or from port 3544.
//!
//! The IPv6 packet may be preceded by an authentication indicator (0x0001, client id
//! length, authentication value length, client id, authentication value, 8-byte nonce,
//! confirmation byte), then by an origin indication (0x0000, then the obfuscated origin
//! port and IPv4 address), in that order, at most one of each.
//!
//! Port 3544 also carries things that are not IPv6 packets, so [`Packet::new_checked`]
//! accepts a datagram only when an IPv6 header follows those indicators and its payload
//! length accounts for exactly the rest of the UDP payload — or it is a bubble (no next
//! header, no payload), which Zeek accepts with trailing bytes too.
//!
//! Only the qualification with the server uses port 3544: a client's traffic with a relay
//! or a peer flows between any ports (a relay's NAT-mapped port, for one), where Zeek finds
//! it by its content. [`relayed`] recognizes it there, more strictly.

use crate::bytes::{be16, be32};
use crate::error::{DecodeError, Layer, need};
use crate::ipv6;
use std::net::Ipv4Addr;

/// The IANA UDP port of Teredo servers.
pub const PORT: u16 = 3544;

/// Length of the origin indication.
pub const ORIGIN_LEN: usize = 8;

/// Length of the authentication indicator without client id and authentication value.
pub const MIN_AUTH_LEN: usize = 13;

/// The first 32 bits of every Teredo client's address (RFC 4380: 2001:0000::/32).
const PREFIX: [u8; 4] = [0x20, 0x01, 0x00, 0x00];

/// The IPv6 "no next header" value that bubbles carry.
const NO_NEXT_HEADER: u8 = 59;

mod field {
    use core::ops::Range;
    pub const AUTH_ID_LEN: usize = 2;
    pub const AUTH_VALUE_LEN: usize = 3;
    pub const ORIGIN_PORT: Range<usize> = 2..4;
    pub const ORIGIN_ADDR: Range<usize> = 4..8;
    /// In the IPv6 header.
    pub const IPV6_PAYLOAD_LEN: usize = 4;
    pub const IPV6_NEXT_HEADER: usize = 6;
}

const INDICATOR_AUTH: u16 = 0x0001;
const INDICATOR_ORIGIN: u16 = 0x0000;

/// The indicators before the IPv6 header: where each starts and where the IPv6 header
/// starts.
#[derive(Debug, Clone, Copy)]
struct Layout {
    auth: Option<usize>,
    origin: Option<usize>,
    ipv6: usize,
}

fn layout(b: &[u8]) -> Result<Layout, DecodeError> {
    let mut l = Layout {
        auth: None,
        origin: None,
        ipv6: 0,
    };
    let indicator = |at: usize| (b.len() >= at + 2).then(|| be16(b, at));
    if indicator(0) == Some(INDICATOR_AUTH) {
        need(Layer::Teredo, b, field::AUTH_VALUE_LEN + 1)?;
        let len = MIN_AUTH_LEN
            + usize::from(b[field::AUTH_ID_LEN])
            + usize::from(b[field::AUTH_VALUE_LEN]);
        need(Layer::Teredo, b, len)?;
        l.auth = Some(0);
        l.ipv6 = len;
    }
    if indicator(l.ipv6) == Some(INDICATOR_ORIGIN) {
        need(Layer::Teredo, b, l.ipv6 + ORIGIN_LEN)?;
        l.origin = Some(l.ipv6);
        l.ipv6 += ORIGIN_LEN;
    }
    Ok(l)
}

/// The Teredo indicators and the IPv6 header after them.
#[derive(Debug, Clone, Copy)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps `buffer` without checking it.
    pub const fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    /// Wraps `buffer`, the whole UDP payload, checking that the indicators are complete,
    /// that an IPv6 header follows (40 bytes, version 6) and that its payload length
    /// matches the rest of the buffer (bubbles excepted, see the module docs):
    /// [`DecodeError::Truncated`], [`DecodeError::BadVersion`] or
    /// [`DecodeError::BadLength`] (with the IPv6 packet length announced) otherwise.
    pub fn new_checked(buffer: T) -> Result<Packet<T>, DecodeError> {
        check(buffer.as_ref(), false)?;
        Ok(Packet { buffer })
    }

    /// Like [`Packet::new_checked`], for a UDP payload cut short by the capture's snap
    /// length: the IPv6 packet may also be longer than the buffer.
    pub fn new_checked_cut(buffer: T) -> Result<Packet<T>, DecodeError> {
        check(buffer.as_ref(), true)?;
        Ok(Packet { buffer })
    }

    /// Returns the wrapped buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    fn layout(&self) -> Layout {
        layout(self.buffer.as_ref()).unwrap_or(Layout {
            auth: None,
            origin: None,
            ipv6: 0,
        })
    }

    /// True when an authentication indicator is present.
    pub fn has_authentication(&self) -> bool {
        self.layout().auth.is_some()
    }

    /// The client id of the authentication indicator.
    pub fn client_id(&self) -> Option<&[u8]> {
        let b = self.buffer.as_ref();
        self.layout().auth.map(|at| {
            let start = at + 4;
            &b[start..start + usize::from(b[at + field::AUTH_ID_LEN])]
        })
    }

    /// The origin indication's port and IPv4 address, de-obfuscated (the wire holds them
    /// with every bit inverted).
    pub fn origin(&self) -> Option<(u16, Ipv4Addr)> {
        let b = self.buffer.as_ref();
        self.layout().origin.map(|at| {
            (
                !be16(b, at + field::ORIGIN_PORT.start),
                Ipv4Addr::from(!be32(b, at + field::ORIGIN_ADDR.start)),
            )
        })
    }

    /// The length of the indicators: where the IPv6 header starts.
    pub fn header_len(&self) -> usize {
        self.layout().ipv6
    }

    /// True for a bubble: an IPv6 header with no next header and no payload.
    pub fn is_bubble(&self) -> bool {
        let b = self.buffer.as_ref();
        let at = self.header_len();
        b[at + field::IPV6_NEXT_HEADER] == NO_NEXT_HEADER
            && be16(b, at + field::IPV6_PAYLOAD_LEN) == 0
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Packet<&'a T> {
    /// The IPv6 packet.
    pub fn payload(&self) -> &'a [u8] {
        let b = self.buffer.as_ref();
        &b[Packet::new_unchecked(b).header_len()..]
    }
}

/// Whether a UDP payload on a port other than [`PORT`] is Teredo: it passes
/// [`Packet::new_checked`] (the IPv6 packet fills the datagram, or is a bubble, which Zeek
/// takes with bytes after it too) and one of its addresses is a Teredo client's (a relay or
/// a peer always talks to one), so that no other protocol is taken for it. A datagram cut
/// by the capture's snap length is not unwrapped here.
pub fn relayed(payload: &[u8]) -> bool {
    // The usual UDP payload starts with neither an indicator nor an IPv6 header.
    if !may_be_relayed(payload) || check(payload, false).is_err() {
        return false;
    }
    let Ok(l) = layout(payload) else {
        return false;
    };
    let ip = &payload[l.ipv6..];
    ip.get(8..12) == Some(&PREFIX) || ip.get(24..28) == Some(&PREFIX)
}

/// Whether [`relayed`] could hold for `payload` or a prefix of it, from its first byte and
/// length alone (an indicator, 0x00, or an IPv6 header, 0x6_): what a caller that cannot
/// afford the whole check asks first.
#[inline]
pub fn may_be_relayed(payload: &[u8]) -> bool {
    payload.len() >= ipv6::HEADER_LEN && matches!(payload[0], 0x00 | 0x60..=0x6f)
}

fn check(b: &[u8], cut: bool) -> Result<(), DecodeError> {
    let at = layout(b)?.ipv6;
    need(Layer::Teredo, b, at + ipv6::HEADER_LEN)?;
    let version = b[at] >> 4;
    if version != 6 {
        return Err(DecodeError::BadVersion {
            layer: Layer::Teredo,
            version,
        });
    }
    let announced = ipv6::HEADER_LEN + usize::from(be16(b, at + field::IPV6_PAYLOAD_LEN));
    let rest = b.len() - at;
    let bubble = announced == ipv6::HEADER_LEN && b[at + field::IPV6_NEXT_HEADER] == NO_NEXT_HEADER;
    if announced == rest || bubble || (cut && announced > rest) {
        Ok(())
    } else {
        Err(DecodeError::BadLength {
            layer: Layer::Teredo,
            len: announced,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relayed_needs_a_whole_ipv6_packet_with_a_teredo_address() {
        let mut p = ipv6(&[1, 2, 3]);
        assert!(!relayed(&p), "no Teredo address");
        p[8..12].copy_from_slice(&PREFIX);
        assert!(relayed(&p));
        let mut o = vec![0, 0, 0x12, 0x34, 1, 2, 3, 4];
        o.extend_from_slice(&p);
        assert!(relayed(&o), "after an origin indication");
        assert!(!relayed(&p[..p.len() - 1]), "cut");
        let mut longer = p.clone();
        longer.push(0);
        assert!(!relayed(&longer), "a byte more than the IPv6 length says");
        let mut dst = ipv6(&[]);
        dst[24..28].copy_from_slice(&PREFIX);
        assert!(relayed(&dst), "a bubble to a client");
        let mut trailing = dst.clone();
        trailing.extend_from_slice(&[0, 0]);
        assert!(
            relayed(&trailing),
            "a bubble with bytes after it, as Zeek takes it"
        );
        // DNS, QUIC and other UDP payloads are refused at the first byte.
        assert!(!relayed(b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x07example\x03com\x00\x00\x01\x00\x01"));
        assert!(!may_be_relayed(&[0xc3; 64]));
    }

    /// An IPv6 header with `payload` (next header 58), or a bubble when it is empty.
    fn ipv6(payload: &[u8]) -> Vec<u8> {
        let next = if payload.is_empty() { 59 } else { 58 };
        let mut b = vec![0x60, 0, 0, 0];
        b.extend_from_slice(&(payload.len() as u16).to_be_bytes());
        b.extend_from_slice(&[next, 255]);
        b.extend_from_slice(&[0; 32]);
        b.extend_from_slice(payload);
        b
    }

    #[test]
    fn bare_ipv6() {
        let b = ipv6(&[1, 2, 3]);
        let p = Packet::new_checked(&b[..]).unwrap();
        assert_eq!(p.header_len(), 0);
        assert!(!p.has_authentication() && p.origin().is_none() && !p.is_bubble());
        assert_eq!(p.payload(), &b[..]);
        // Every shorter buffer: a cut header, or a payload length that does not match.
        for n in 0..b.len() {
            let e = Packet::new_checked(&b[..n]).unwrap_err();
            assert_eq!(e.layer(), Layer::Teredo, "{n}");
            if n < 40 {
                assert!(matches!(e, DecodeError::Truncated { .. }), "{n}");
            } else {
                assert_eq!(
                    e,
                    DecodeError::BadLength {
                        layer: Layer::Teredo,
                        len: 43
                    }
                );
                // Unless the capture was cut.
                assert!(Packet::new_checked_cut(&b[..n]).is_ok());
            }
        }
        // Trailing bytes are not accepted, except after a bubble.
        let mut long = b.clone();
        long.push(0);
        assert!(Packet::new_checked(&long[..]).is_err());
        let mut bubble = ipv6(&[]);
        let p = Packet::new_checked(&bubble[..]).unwrap();
        assert!(p.is_bubble());
        bubble.extend_from_slice(b"trailing");
        assert!(Packet::new_checked(&bubble[..]).is_ok());
    }

    #[test]
    fn indicators() {
        // Zeek's Teredo.pcap frame 7: authentication (no id, no value), origin, a packet.
        let mut b = vec![0x00, 0x01, 0x00, 0x00];
        b.extend_from_slice(&[0xcd, 0x56, 0x69, 0x40, 0x0b, 0x22, 0xdf, 0x88, 0x00]);
        b.extend_from_slice(&[0x00, 0x00, 0xf1, 0x2a, 0xb9, 0xc8, 0x28, 0x15]);
        let inner = ipv6(&[9; 8]);
        b.extend_from_slice(&inner);
        let p = Packet::new_checked(&b[..]).unwrap();
        assert!(p.has_authentication());
        assert_eq!(p.client_id(), Some(&[][..]));
        assert_eq!(
            p.origin(),
            Some((0x0ed5, Ipv4Addr::new(0x46, 0x37, 0xd7, 0xea)))
        );
        assert_eq!(p.header_len(), 21);
        assert_eq!(p.payload(), &inner[..]);
        for n in 0..b.len() {
            assert!(Packet::new_checked(&b[..n]).is_err(), "{n}");
            assert!(
                Packet::new_checked_cut(&b[..n]).is_err() || n >= 21 + 40,
                "{n}"
            );
        }
        // An authentication indicator with a 2-byte client id and a 3-byte value.
        let mut a = vec![0x00, 0x01, 2, 3, b'i', b'd', 7, 7, 7];
        a.extend_from_slice(&[0; 9]);
        a.extend_from_slice(&inner);
        let p = Packet::new_checked(&a[..]).unwrap();
        assert_eq!(p.client_id(), Some(&b"id"[..]));
        assert_eq!((p.header_len(), p.origin()), (18, None));
        // Something else on port 3544: a version error.
        assert_eq!(
            Packet::new_checked(&[0x12u8; 60][..]).unwrap_err(),
            DecodeError::BadVersion {
                layer: Layer::Teredo,
                version: 1
            }
        );
    }
}

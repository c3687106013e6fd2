//! The long header (RFC 9000 §17.2): the packets of the handshake, before 1-RTT keys.
//!
//! ```text
//! first byte: 1 (long form) | fixed bit | type (2) | type-specific (4, protected)
//! version (4) | DCID len (1) | DCID | SCID len (1) | SCID
//! Initial only: token length (varint) | token
//! all but Retry: length (varint: packet number + protected payload) | packet number (1-4)
//! ```

use super::{QuicError, Version, truncated, varint};
use crate::bytes::be32;

/// The longest connection ID of versions 1 and 2 (RFC 9000 §17.2).
pub const MAX_CID_LEN: usize = 20;

/// A long-header packet type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PacketType {
    /// Initial: the first flight, under keys every observer can derive.
    Initial,
    /// 0-RTT: early data under the resumption keys.
    ZeroRtt,
    /// Handshake: under the handshake keys.
    Handshake,
    /// Retry: the server asks the client to start over with a token.
    Retry,
}

impl PacketType {
    /// The type of the two type bits of a long header's first byte in `version` (version 2
    /// shifts the codes, RFC 9369 §3.2).
    pub fn from_bits(bits: u8, version: Version) -> PacketType {
        let bits = if version.is_v2() {
            (bits & 3).wrapping_sub(1) & 3
        } else {
            bits & 3
        };
        match bits {
            0 => PacketType::Initial,
            1 => PacketType::ZeroRtt,
            2 => PacketType::Handshake,
            _ => PacketType::Retry,
        }
    }

    /// The two type bits of this type in `version`.
    pub fn to_bits(self, version: Version) -> u8 {
        let bits = match self {
            PacketType::Initial => 0,
            PacketType::ZeroRtt => 1,
            PacketType::Handshake => 2,
            PacketType::Retry => 3,
        };
        if version.is_v2() {
            (bits + 1) & 3
        } else {
            bits
        }
    }
}

/// A long-header packet, checked: its connection IDs, token and Length are within the
/// buffer. Header protection is still on (the first byte's low bits and the packet
/// number are masked): [`super::InitialKeys::open`] removes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LongHeader<'a> {
    /// The version.
    pub version: Version,
    /// The packet type.
    pub packet_type: PacketType,
    /// The Destination Connection ID.
    pub dcid: &'a [u8],
    /// The Source Connection ID.
    pub scid: &'a [u8],
    /// The token (Initial packets; empty otherwise).
    pub token: &'a [u8],
    /// Offset of the (protected) packet number from the start of the packet; for a Retry,
    /// the packet's length.
    pub pn_offset: usize,
    /// The whole packet: header, packet number and protected payload (up to the end of the
    /// Length field's span; the datagram's bytes after it are the next coalesced packet).
    pub packet: &'a [u8],
}

impl<'a> LongHeader<'a> {
    /// Parses the long-header packet at the start of `buf` (a datagram, or what follows a
    /// coalesced packet). Returns the packet and the bytes it used.
    pub fn parse(buf: &'a [u8]) -> Result<(LongHeader<'a>, usize), QuicError> {
        let first = *buf.first().ok_or(truncated("first byte", 1, 0))?;
        if first & 0x80 == 0 {
            return Err(QuicError::ShortHeader);
        }
        if buf.len() < 6 {
            return Err(truncated("version and DCID length", 6, buf.len()));
        }
        let raw_version = be32(buf, 1);
        let version =
            Version::from_wire(raw_version).ok_or(QuicError::UnsupportedVersion(raw_version))?;
        let packet_type = PacketType::from_bits(first >> 4, version);
        let mut at = 5;
        let dcid = cid(buf, &mut at, "DCID")?;
        let scid = cid(buf, &mut at, "SCID")?;
        if packet_type == PacketType::Retry {
            // No Length: a Retry takes the rest of the datagram.
            let h = LongHeader {
                version,
                packet_type,
                dcid,
                scid,
                token: &[],
                pn_offset: buf.len(),
                packet: buf,
            };
            return Ok((h, buf.len()));
        }
        let token = if packet_type == PacketType::Initial {
            let (len, n) =
                varint(&buf[at..]).ok_or(truncated("token length", at + 1, buf.len()))?;
            at += n;
            let token = usize::try_from(len)
                .ok()
                .and_then(|len| buf.get(at..at.checked_add(len)?))
                .ok_or(truncated(
                    "token",
                    at.saturating_add(len as usize),
                    buf.len(),
                ))?;
            at += token.len();
            token
        } else {
            &[]
        };
        let (len, n) = varint(&buf[at..]).ok_or(truncated("length", at + 1, buf.len()))?;
        at += n;
        let end = usize::try_from(len)
            .ok()
            .and_then(|len| at.checked_add(len))
            .filter(|&end| end <= buf.len())
            .ok_or(truncated(
                "payload",
                at.saturating_add(len as usize),
                buf.len(),
            ))?;
        let h = LongHeader {
            version,
            packet_type,
            dcid,
            scid,
            token,
            pn_offset: at,
            packet: &buf[..end],
        };
        Ok((h, end))
    }

    /// True when `buf` starts like a long-header Initial packet of a known version: the
    /// cheap test a protocol detector needs (nothing decrypted).
    pub fn is_initial(buf: &[u8]) -> bool {
        matches!(
            LongHeader::parse(buf),
            Ok((h, _)) if h.packet_type == PacketType::Initial
        )
    }
}

/// Reads a connection ID with its one-byte length at `*at`.
fn cid<'a>(buf: &'a [u8], at: &mut usize, what: &'static str) -> Result<&'a [u8], QuicError> {
    let len = usize::from(*buf.get(*at).ok_or(truncated(what, *at + 1, buf.len()))?);
    if len > MAX_CID_LEN {
        return Err(QuicError::ConnectionIdTooLong(len));
    }
    let start = *at + 1;
    let id = buf
        .get(start..start + len)
        .ok_or(truncated(what, start + len, buf.len()))?;
    *at = start + len;
    Ok(id)
}

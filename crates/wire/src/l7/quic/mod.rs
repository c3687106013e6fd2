//! QUIC client and server Initial packets (RFC 9000 §17.2, RFC 9001 §5, RFC 9369): what a
//! monitor can read of a QUIC connection without its keys, which is the TLS ClientHello (and
//! ServerHello) carried in CRYPTO frames under keys every observer can derive.
//!
//! Three steps, one file each:
//! * [`header`]: the long header ([`LongHeader::parse`]), zero-copy, one packet at a time
//!   (a datagram may hold several, coalesced);
//! * [`keys`]: the Initial secrets from the client's Destination Connection ID and the
//!   version's salt (HKDF-SHA256), header protection removal (AES-128-ECB mask) and the
//!   payload's AES-128-GCM decryption ([`InitialKeys::open`]); the plaintext is the one
//!   thing here that allocates;
//! * [`frames`]: the frames of a decrypted Initial payload ([`Frames`]), of which only
//!   CRYPTO frames carry what is logged.
//!
//! Reassembling the CRYPTO stream across packets (a ClientHello with a post-quantum key
//! share spans two or more) is the caller's: it holds per-connection state.
//!
//! Versions: 1 (RFC 9000), 2 (RFC 9369, other salt, labels and packet type codes), and
//! those still found in captures: the IETF drafts 22 to 34, mvfst's and Google's T050/T051
//! ([`Version`]).

pub mod frames;
pub mod header;
pub mod keys;

pub use frames::{Frame, Frames};
pub use header::{LongHeader, PacketType};
pub use keys::{InitialKeys, Opened};

/// Why bytes could not be read as a QUIC Initial packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum QuicError {
    /// The first byte has the header form bit clear: a short-header (1-RTT) packet, which
    /// carries nothing readable.
    #[error("quic: short header")]
    ShortHeader,
    /// A version this crate has no Initial keys for (0 is version negotiation).
    #[error("quic: unsupported version {0:#010x}")]
    UnsupportedVersion(u32),
    /// A packet or frame ended before one of its fields.
    #[error("quic: truncated {what}: needed {needed} bytes, got {got}")]
    Truncated {
        /// What was being read.
        what: &'static str,
        /// Bytes needed from the start of the packet (or frame payload).
        needed: usize,
        /// Bytes there were.
        got: usize,
    },
    /// A connection ID longer than the 20 bytes versions 1 and 2 allow.
    #[error("quic: connection id of {0} bytes")]
    ConnectionIdTooLong(usize),
    /// A packet of another type than the one asked for (not an Initial).
    #[error("quic: not an Initial packet ({0:?})")]
    NotInitial(PacketType),
    /// The Length field leaves no room for the packet number and the 16-byte header
    /// protection sample.
    #[error("quic: packet too short for header protection ({0} bytes)")]
    TooShortForSample(usize),
    /// The AEAD tag did not verify: other keys (a Retry's new connection ID, or a packet
    /// that is not the client's), or damaged bytes.
    #[error("quic: decryption failed")]
    Decryption,
    /// A frame type that may not appear in an Initial packet, or that this parser does not
    /// read: the rest of the payload cannot be delimited.
    #[error("quic: unexpected frame type {0:#x}")]
    UnexpectedFrame(u64),
    /// A frame field with an impossible value (an ACK range count or a CRYPTO offset past
    /// 2^62).
    #[error("quic: bad {0}")]
    BadFrame(&'static str),
}

/// A QUIC version with Initial keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Version {
    /// QUIC version 1 (RFC 9000), `0x00000001`.
    V1,
    /// QUIC version 2 (RFC 9369), `0x6b3343cf`.
    V2,
    /// IETF draft `n` (22 to 34), `0xff0000nn`.
    Draft(u8),
    /// Facebook's mvfst versions that follow a draft: `0xfaceb001` (draft 22),
    /// `0xfaceb002` and the experimental `0xfaceb00e` (draft 27).
    Mvfst(u32),
    /// Google's QUIC with TLS, `T050` or `T051` (`0x5430353x`): IETF long headers under
    /// Google's own salts.
    Google(u32),
    /// A reserved version (`0x?a?a?a?a`, RFC 9000 §15) that a client sends to force
    /// version negotiation; the packet is protected as in draft 29 (as Wireshark reads it).
    Reserved(u32),
}

/// The salts of the Initial secret: RFC 9001 §5.2, RFC 9369 §3.3.1, the drafts
/// (draft-ietf-quic-tls-22, -23 and -29; drafts 33 and 34 already have version 1's) and
/// Google's T050/T051 (as Wireshark's QUIC dissector has them).
mod salt {
    pub const V1: [u8; 20] = [
        0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17, 0x9a, 0xe6, 0xa4, 0xc8, 0x0c,
        0xad, 0xcc, 0xbb, 0x7f, 0x0a,
    ];
    pub const V2: [u8; 20] = [
        0x0d, 0xed, 0xe3, 0xde, 0xf7, 0x00, 0xa6, 0xdb, 0x81, 0x93, 0x81, 0xbe, 0x6e, 0x26, 0x9d,
        0xcb, 0xf9, 0xbd, 0x2e, 0xd9,
    ];
    pub const DRAFT_22: [u8; 20] = [
        0x7f, 0xbc, 0xdb, 0x0e, 0x7c, 0x66, 0xbb, 0xe9, 0x19, 0x3a, 0x96, 0xcd, 0x21, 0x51, 0x9e,
        0xbd, 0x7a, 0x02, 0x64, 0x4a,
    ];
    pub const DRAFT_23: [u8; 20] = [
        0xc3, 0xee, 0xf7, 0x12, 0xc7, 0x2e, 0xbb, 0x5a, 0x11, 0xa7, 0xd2, 0x43, 0x2b, 0xb4, 0x63,
        0x65, 0xbe, 0xf9, 0xf5, 0x02,
    ];
    pub const DRAFT_29: [u8; 20] = [
        0xaf, 0xbf, 0xec, 0x28, 0x99, 0x93, 0xd2, 0x4c, 0x9e, 0x97, 0x86, 0xf1, 0x9c, 0x61, 0x11,
        0xe0, 0x43, 0x90, 0xa8, 0x99,
    ];
    pub const T050: [u8; 20] = [
        0x7f, 0xf5, 0x79, 0xe5, 0xac, 0xd0, 0x72, 0x91, 0x55, 0x80, 0x30, 0x4c, 0x43, 0xa2, 0x36,
        0x7c, 0x60, 0x48, 0x83, 0x10,
    ];
    pub const T051: [u8; 20] = [
        0x7a, 0x4e, 0xde, 0xf4, 0xe7, 0xcc, 0xee, 0x5f, 0xa4, 0x50, 0x6c, 0x19, 0x12, 0x4f, 0xc8,
        0xcc, 0xda, 0x6e, 0x03, 0x3d,
    ];
}

impl Version {
    /// The version of a version field, `None` for versions without known Initial keys
    /// (version negotiation, Google's Q0xx with their own handshake, unknown ones).
    pub fn from_wire(v: u32) -> Option<Version> {
        match v {
            0x0000_0001 => Some(Version::V1),
            0x6b33_43cf => Some(Version::V2),
            0xff00_0016..=0xff00_0022 => Some(Version::Draft((v & 0xff) as u8)),
            0xface_b001 | 0xface_b002 | 0xface_b00e => Some(Version::Mvfst(v)),
            0x5430_3530 | 0x5430_3531 => Some(Version::Google(v)),
            _ if v & 0x0f0f_0f0f == 0x0a0a_0a0a => Some(Version::Reserved(v)),
            _ => None,
        }
    }

    /// The version field's value.
    pub fn to_wire(self) -> u32 {
        match self {
            Version::V1 => 1,
            Version::V2 => 0x6b33_43cf,
            Version::Draft(n) => 0xff00_0000 | u32::from(n),
            Version::Mvfst(v) | Version::Google(v) | Version::Reserved(v) => v,
        }
    }

    /// The salt of the Initial secret.
    pub(crate) fn initial_salt(self) -> &'static [u8; 20] {
        match self {
            Version::V1 | Version::Draft(33..) => &salt::V1,
            Version::V2 => &salt::V2,
            Version::Draft(29..) | Version::Reserved(_) => &salt::DRAFT_29,
            Version::Draft(23..) => &salt::DRAFT_23,
            Version::Draft(_) | Version::Mvfst(0xface_b001) => &salt::DRAFT_22,
            Version::Mvfst(_) => &salt::DRAFT_23,
            Version::Google(0x5430_3530) => &salt::T050,
            Version::Google(_) => &salt::T051,
        }
    }

    /// True for version 2, whose labels and packet type codes differ.
    pub(crate) fn is_v2(self) -> bool {
        self == Version::V2
    }
}

/// Reads a variable-length integer (RFC 9000 §16) at the start of `buf`: the value and
/// its encoded length, `None` when `buf` is too short.
pub(crate) fn varint(buf: &[u8]) -> Option<(u64, usize)> {
    let first = *buf.first()?;
    let len = 1usize << (first >> 6);
    let bytes = buf.get(..len)?;
    let mut v = u64::from(first & 0x3f);
    for &b in &bytes[1..] {
        v = v << 8 | u64::from(b);
    }
    Some((v, len))
}

/// Maps a short read to [`QuicError::Truncated`].
fn truncated(what: &'static str, needed: usize, got: usize) -> QuicError {
    QuicError::Truncated { what, needed, got }
}

#[cfg(test)]
mod tests;

//! TLS (and DTLS) record layer and the hello messages: what flowsight reads before the
//! connection goes dark — SNI, ALPN, versions, cipher suites — and what the JA3/JA4
//! fingerprints ([`crate::l7::fingerprint`]) are made of.
//!
//! A ClientHello can span several records and TCP segments. Two ways in:
//! * [`Handshake::parse`] takes handshake bytes already concatenated by the caller, or
//!   [`first_handshake`] the common case of a hello inside the first record (no copy);
//! * [`HandshakeCollector`] takes the raw stream of one direction and gathers handshake
//!   fragments across records, up to a cap.

mod ciphers;
mod client_hello;
mod collector;
mod extensions;
mod record;
mod server_hello;

pub use ciphers::cipher_name;
pub use client_hello::ClientHello;
pub use collector::{DEFAULT_MAX_HANDSHAKE, HandshakeCollector};
pub use extensions::{Extension, ExtensionType, Extensions};
pub use record::{
    ContentType, DtlsRecord, Handshake, HandshakeType, MAX_RECORD_LEN, Record, first_handshake,
    parse_dtls_handshake, parse_dtls_record, parse_record,
};
pub use server_hello::ServerHello;

/// Why bytes could not be parsed as TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TlsError {
    /// The first byte is not a TLS record content type (20..=24): not TLS, or the stream
    /// was joined in the middle.
    #[error("tls: not a record (content type {0})")]
    NotTls(u8),
    /// A record version whose major byte is not 3 (DTLS: not 0xfe).
    #[error("tls: bad record version {0:#06x}")]
    BadVersion(u16),
    /// A record longer than [`MAX_RECORD_LEN`].
    #[error("tls: record of {len} bytes")]
    RecordTooLong {
        /// The length announced.
        len: usize,
    },
    /// A handshake message longer than the cap that applies.
    #[error("tls: handshake message of {len} bytes (cap {max})")]
    HandshakeTooLong {
        /// The length announced.
        len: usize,
        /// The cap.
        max: usize,
    },
    /// A message ended before one of its fields.
    #[error("tls: truncated {what}: needed {needed} bytes, got {got}")]
    Truncated {
        /// What was being read.
        what: &'static str,
        /// Bytes needed from the start of the message.
        needed: usize,
        /// Bytes the message had.
        got: usize,
    },
    /// A field with an impossible length (odd cipher-suite list, session id over 32,
    /// bytes after the extensions).
    #[error("tls: bad length of {what}")]
    BadLength {
        /// Which field.
        what: &'static str,
    },
    /// An extension this crate reads whose content does not match its format.
    #[error("tls: bad extension {ext_type:#06x}: {reason}")]
    BadExtension {
        /// The extension type.
        ext_type: u16,
        /// What is wrong.
        reason: &'static str,
    },
    /// A handshake message of another type than the one asked for.
    #[error("tls: expected handshake type {expected}, got {got}")]
    UnexpectedHandshake {
        /// The type wanted.
        expected: u8,
        /// The type found.
        got: u8,
    },
    /// A fragmented DTLS handshake message (not reassembled here).
    #[error("tls: fragmented DTLS handshake message")]
    FragmentedDtls,
}

/// True for the GREASE values of RFC 8701 (`0x0a0a`, `0x1a1a`, ... `0xfafa`), used in
/// cipher suites, extensions, groups, versions and signature algorithms.
pub fn is_grease(v: u16) -> bool {
    v & 0x0f0f == 0x0a0a && v >> 8 == v & 0xff
}

/// Zeek's `ssl.log` name for a protocol version (`TLSv12`, `TLSv13`, `SSLv3`,
/// `DTLSv12`), `None` for unknown values.
pub fn version_name(v: u16) -> Option<&'static str> {
    Some(match v {
        0x0002 | 0x0200 => "SSLv2",
        0x0300 => "SSLv3",
        0x0301 => "TLSv10",
        0x0302 => "TLSv11",
        0x0303 => "TLSv12",
        0x0304 => "TLSv13",
        0xfeff => "DTLSv10",
        0xfefd => "DTLSv12",
        0xfefc => "DTLSv13",
        _ => return None,
    })
}

/// True when `buf` starts with an SSLv2-compatible ClientHello (2-byte record header
/// with the high bit set, message type 1, version 2.0 or 3.x), which old clients send to
/// negotiate SSLv3/TLS. Only detected: [`ClientHello`] does not parse it.
pub fn is_sslv2_client_hello(buf: &[u8]) -> bool {
    match buf {
        [len_hi, len_lo, 1, major, minor, ..] if len_hi & 0x80 != 0 => {
            let len = usize::from(len_hi & 0x7f) << 8 | usize::from(*len_lo);
            len >= 9 && matches!((major, minor), (0, 2) | (3, 0..=4))
        }
        _ => false,
    }
}

/// Maps a reader failure to [`TlsError::Truncated`].
fn truncated(what: &'static str, needed: usize, got: usize) -> TlsError {
    TlsError::Truncated { what, needed, got }
}

#[cfg(test)]
mod tests;

//! The ServerHello (RFC 8446 §4.1.3), HelloRetryRequest included.

use super::extensions::{self, Extensions, Side, code};
use super::record::Handshake;
use super::{HandshakeType, TlsError, truncated};
use crate::bytes::Reader;

/// The random value that marks a HelloRetryRequest (RFC 8446 §4.1.3).
const HELLO_RETRY_RANDOM: [u8; 32] = [
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
];

/// A ServerHello body, checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerHello<'a> {
    /// The legacy_version field.
    pub legacy_version: u16,
    /// The 32 random bytes.
    pub random: &'a [u8],
    /// The session id echoed.
    pub session_id: &'a [u8],
    /// The cipher suite chosen.
    pub cipher_suite: u16,
    /// The compression method chosen.
    pub compression_method: u8,
    extensions: Option<&'a [u8]>,
}

impl<'a> ServerHello<'a> {
    /// Parses a ServerHello body (after the handshake header).
    pub fn parse(body: &'a [u8]) -> Result<ServerHello<'a>, TlsError> {
        let mut r = Reader::new(body);
        let short = |what, r: &Reader<'_>, n: usize| truncated(what, r.pos() + n, body.len());
        let legacy_version = r.u16().ok_or(short("version", &r, 2))?;
        let random = r.take(32).ok_or(short("random", &r, 32))?;
        let session_id = r.vec8().ok_or(short("session id", &r, 1))?;
        if session_id.len() > 32 {
            return Err(TlsError::BadLength { what: "session id" });
        }
        let cipher_suite = r.u16().ok_or(short("cipher suite", &r, 2))?;
        let compression_method = r.u8().ok_or(short("compression method", &r, 1))?;
        let extensions = if r.is_empty() {
            None
        } else {
            let raw = r.vec16().ok_or(short("extensions", &r, 2))?;
            if !r.is_empty() {
                return Err(TlsError::BadLength {
                    what: "bytes after the extensions",
                });
            }
            extensions::check(raw, Side::Server)?;
            Some(raw)
        };
        Ok(ServerHello {
            legacy_version,
            random,
            session_id,
            cipher_suite,
            compression_method,
            extensions,
        })
    }

    /// Parses a handshake message that must be a ServerHello.
    pub fn from_handshake(h: &Handshake<'a>) -> Result<ServerHello<'a>, TlsError> {
        if h.msg_type != HandshakeType::ServerHello {
            return Err(TlsError::UnexpectedHandshake {
                expected: 2,
                got: u8::from(h.msg_type),
            });
        }
        Self::parse(h.body)
    }

    /// True for a HelloRetryRequest (a ServerHello with the special random).
    pub fn is_hello_retry_request(&self) -> bool {
        self.random == HELLO_RETRY_RANDOM
    }

    /// The extensions in order.
    pub fn extensions(&self) -> Extensions<'a> {
        Extensions::new(self.extensions.unwrap_or_default())
    }

    /// The data of the first extension of type `ext_type`.
    pub fn extension(&self, ext_type: u16) -> Option<&'a [u8]> {
        extensions::find(self.extensions?, ext_type)
    }

    /// The version selected by the supported_versions extension (TLS 1.3), if any.
    pub fn selected_version(&self) -> Option<u16> {
        Reader::new(self.extension(code::SUPPORTED_VERSIONS)?).u16()
    }

    /// The negotiated version: the supported_versions selection, else the legacy field.
    pub fn version(&self) -> u16 {
        self.selected_version().unwrap_or(self.legacy_version)
    }

    /// The ALPN protocol selected, if any.
    pub fn alpn(&self) -> Option<&'a [u8]> {
        extensions::alpn_list(self.extension(code::ALPN)?).next()
    }
}

//! The ClientHello (RFC 8446 §4.1.2; DTLS adds a cookie, RFC 6347 §4.2.1).

use super::extensions::{self, Extensions, Side, code};
use super::record::Handshake;
use super::{HandshakeType, TlsError, truncated};
use crate::bytes::Reader;

/// A ClientHello body, checked: every accessor reads bytes proven well formed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientHello<'a> {
    /// The legacy_version field (0x0303 for TLS 1.2 and 1.3).
    pub legacy_version: u16,
    /// The 32 random bytes.
    pub random: &'a [u8],
    /// The legacy session id (at most 32 bytes).
    pub session_id: &'a [u8],
    /// The DTLS cookie (empty for TLS).
    pub cookie: &'a [u8],
    cipher_suites: &'a [u8],
    /// The compression methods.
    pub compression_methods: &'a [u8],
    extensions: Option<&'a [u8]>,
}

impl<'a> ClientHello<'a> {
    /// Parses a TLS ClientHello body (after the handshake header).
    pub fn parse(body: &'a [u8]) -> Result<ClientHello<'a>, TlsError> {
        Self::parse_inner(body, false)
    }

    /// Parses a DTLS ClientHello body (which has a cookie after the session id).
    pub fn parse_dtls(body: &'a [u8]) -> Result<ClientHello<'a>, TlsError> {
        Self::parse_inner(body, true)
    }

    /// Parses a handshake message that must be a ClientHello.
    pub fn from_handshake(h: &Handshake<'a>) -> Result<ClientHello<'a>, TlsError> {
        if h.msg_type != HandshakeType::ClientHello {
            return Err(TlsError::UnexpectedHandshake {
                expected: 1,
                got: u8::from(h.msg_type),
            });
        }
        Self::parse(h.body)
    }

    fn parse_inner(body: &'a [u8], dtls: bool) -> Result<ClientHello<'a>, TlsError> {
        let mut r = Reader::new(body);
        let short = |what, r: &Reader<'_>, n: usize| truncated(what, r.pos() + n, body.len());
        let legacy_version = r.u16().ok_or(short("version", &r, 2))?;
        let random = r.take(32).ok_or(short("random", &r, 32))?;
        let session_id = r.vec8().ok_or(short("session id", &r, 1))?;
        if session_id.len() > 32 {
            return Err(TlsError::BadLength { what: "session id" });
        }
        let cookie = if dtls {
            r.vec8().ok_or(short("cookie", &r, 1))?
        } else {
            &[]
        };
        let cipher_suites = r.vec16().ok_or(short("cipher suites", &r, 2))?;
        if !cipher_suites.len().is_multiple_of(2) {
            return Err(TlsError::BadLength {
                what: "cipher suites",
            });
        }
        let compression_methods = r.vec8().ok_or(short("compression methods", &r, 1))?;
        // Extensions are optional (SSLv3-era hellos end here).
        let extensions = if r.is_empty() {
            None
        } else {
            let raw = r.vec16().ok_or(short("extensions", &r, 2))?;
            if !r.is_empty() {
                return Err(TlsError::BadLength {
                    what: "bytes after the extensions",
                });
            }
            extensions::check(raw, Side::Client)?;
            Some(raw)
        };
        Ok(ClientHello {
            legacy_version,
            random,
            session_id,
            cookie,
            cipher_suites,
            compression_methods,
            extensions,
        })
    }

    /// The cipher suites in order (GREASE included).
    pub fn cipher_suites(&self) -> impl Iterator<Item = u16> + 'a {
        self.cipher_suites
            .chunks_exact(2)
            .map(|c| u16::from_be_bytes([c[0], c[1]]))
    }

    /// True when the hello has an extensions block (even an empty one).
    pub fn has_extensions(&self) -> bool {
        self.extensions.is_some()
    }

    /// The extensions in order (GREASE included).
    pub fn extensions(&self) -> Extensions<'a> {
        Extensions::new(self.extensions.unwrap_or_default())
    }

    /// The data of the first extension of type `ext_type`.
    pub fn extension(&self, ext_type: u16) -> Option<&'a [u8]> {
        extensions::find(self.extensions?, ext_type)
    }

    /// The first host name of the server_name extension, raw.
    pub fn sni(&self) -> Option<&'a [u8]> {
        let data = self.extension(code::SERVER_NAME)?;
        let mut list = Reader::new(Reader::new(data).vec16()?);
        while !list.is_empty() {
            let kind = list.u8()?;
            let name = list.vec16()?;
            if kind == 0 {
                return Some(name);
            }
        }
        None
    }

    /// True when the ALPN extension is present.
    pub fn has_alpn(&self) -> bool {
        self.extension(code::ALPN).is_some()
    }

    /// The ALPN protocol names offered, in order (empty without the extension).
    pub fn alpn(&self) -> impl Iterator<Item = &'a [u8]> + 'a {
        extensions::alpn_list(self.extension(code::ALPN).unwrap_or_default())
    }

    /// True when the supported_versions extension is present.
    pub fn has_supported_versions(&self) -> bool {
        self.extension(code::SUPPORTED_VERSIONS).is_some()
    }

    /// The versions of the supported_versions extension, in order (GREASE included).
    pub fn supported_versions(&self) -> impl Iterator<Item = u16> + 'a {
        let data = self.extension(code::SUPPORTED_VERSIONS).unwrap_or_default();
        let list = Reader::new(data).vec8().unwrap_or_default();
        list.chunks_exact(2)
            .map(|c| u16::from_be_bytes([c[0], c[1]]))
    }

    /// The supported_groups (elliptic curves), in order (GREASE included).
    pub fn supported_groups(&self) -> impl Iterator<Item = u16> + 'a {
        extensions::u16_list_16(self.extension(code::SUPPORTED_GROUPS).unwrap_or_default())
    }

    /// The ec_point_formats, in order.
    pub fn ec_point_formats(&self) -> &'a [u8] {
        let data = self.extension(code::EC_POINT_FORMATS).unwrap_or_default();
        Reader::new(data).vec8().unwrap_or_default()
    }

    /// The signature_algorithms, in order (GREASE included).
    pub fn signature_algorithms(&self) -> impl Iterator<Item = u16> + 'a {
        extensions::u16_list_16(
            self.extension(code::SIGNATURE_ALGORITHMS)
                .unwrap_or_default(),
        )
    }

    /// True when a key_share extension is present (a TLS 1.3 client).
    pub fn has_key_share(&self) -> bool {
        self.extension(code::KEY_SHARE).is_some()
    }
}

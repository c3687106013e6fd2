//! Hello extensions: the list framing, and the content of the ones flowsight reads.

use super::TlsError;
use crate::bytes::Reader;

/// An extension type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExtensionType {
    /// server_name, SNI (0).
    ServerName,
    /// status_request, OCSP stapling (5).
    StatusRequest,
    /// supported_groups, formerly elliptic_curves (10).
    SupportedGroups,
    /// ec_point_formats (11).
    EcPointFormats,
    /// signature_algorithms (13).
    SignatureAlgorithms,
    /// application_layer_protocol_negotiation (16).
    Alpn,
    /// signed_certificate_timestamp (18).
    SignedCertificateTimestamp,
    /// padding (21).
    Padding,
    /// extended_master_secret (23).
    ExtendedMasterSecret,
    /// compress_certificate (27).
    CompressCertificate,
    /// session_ticket (35).
    SessionTicket,
    /// pre_shared_key (41).
    PreSharedKey,
    /// early_data (42).
    EarlyData,
    /// supported_versions (43).
    SupportedVersions,
    /// psk_key_exchange_modes (45).
    PskKeyExchangeModes,
    /// key_share (51).
    KeyShare,
    /// quic_transport_parameters (57).
    QuicTransportParameters,
    /// encrypted_client_hello (0xfe0d).
    EncryptedClientHello,
    /// renegotiation_info (0xff01).
    RenegotiationInfo,
    /// Any other value (GREASE included).
    Unknown(u16),
}

impl From<u16> for ExtensionType {
    fn from(v: u16) -> ExtensionType {
        match v {
            0 => ExtensionType::ServerName,
            5 => ExtensionType::StatusRequest,
            10 => ExtensionType::SupportedGroups,
            11 => ExtensionType::EcPointFormats,
            13 => ExtensionType::SignatureAlgorithms,
            16 => ExtensionType::Alpn,
            18 => ExtensionType::SignedCertificateTimestamp,
            21 => ExtensionType::Padding,
            23 => ExtensionType::ExtendedMasterSecret,
            27 => ExtensionType::CompressCertificate,
            35 => ExtensionType::SessionTicket,
            41 => ExtensionType::PreSharedKey,
            42 => ExtensionType::EarlyData,
            43 => ExtensionType::SupportedVersions,
            45 => ExtensionType::PskKeyExchangeModes,
            51 => ExtensionType::KeyShare,
            57 => ExtensionType::QuicTransportParameters,
            0xfe0d => ExtensionType::EncryptedClientHello,
            0xff01 => ExtensionType::RenegotiationInfo,
            n => ExtensionType::Unknown(n),
        }
    }
}

impl From<ExtensionType> for u16 {
    fn from(t: ExtensionType) -> u16 {
        match t {
            ExtensionType::ServerName => 0,
            ExtensionType::StatusRequest => 5,
            ExtensionType::SupportedGroups => 10,
            ExtensionType::EcPointFormats => 11,
            ExtensionType::SignatureAlgorithms => 13,
            ExtensionType::Alpn => 16,
            ExtensionType::SignedCertificateTimestamp => 18,
            ExtensionType::Padding => 21,
            ExtensionType::ExtendedMasterSecret => 23,
            ExtensionType::CompressCertificate => 27,
            ExtensionType::SessionTicket => 35,
            ExtensionType::PreSharedKey => 41,
            ExtensionType::EarlyData => 42,
            ExtensionType::SupportedVersions => 43,
            ExtensionType::PskKeyExchangeModes => 45,
            ExtensionType::KeyShare => 51,
            ExtensionType::QuicTransportParameters => 57,
            ExtensionType::EncryptedClientHello => 0xfe0d,
            ExtensionType::RenegotiationInfo => 0xff01,
            ExtensionType::Unknown(n) => n,
        }
    }
}

/// Extension type numbers used by the parsers.
pub(crate) mod code {
    pub const SERVER_NAME: u16 = 0;
    pub const SUPPORTED_GROUPS: u16 = 10;
    pub const EC_POINT_FORMATS: u16 = 11;
    pub const SIGNATURE_ALGORITHMS: u16 = 13;
    pub const ALPN: u16 = 16;
    pub const SUPPORTED_VERSIONS: u16 = 43;
    pub const KEY_SHARE: u16 = 51;
}

/// One extension, raw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Extension<'a> {
    /// The type number.
    pub ext_type: u16,
    /// The extension data.
    pub data: &'a [u8],
}

impl Extension<'_> {
    /// The type.
    pub fn kind(&self) -> ExtensionType {
        ExtensionType::from(self.ext_type)
    }
}

/// The extensions of a hello, in order (framing checked).
#[derive(Debug, Clone)]
pub struct Extensions<'a> {
    r: Reader<'a>,
}

impl<'a> Extensions<'a> {
    pub(crate) fn new(raw: &'a [u8]) -> Extensions<'a> {
        Extensions {
            r: Reader::new(raw),
        }
    }
}

impl<'a> Iterator for Extensions<'a> {
    type Item = Extension<'a>;

    fn next(&mut self) -> Option<Extension<'a>> {
        let ext_type = self.r.u16()?;
        let data = self.r.vec16()?;
        Some(Extension { ext_type, data })
    }
}

/// Which hello an extension is in: a few extensions have a different shape in each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    Client,
    Server,
}

/// Checks the framing of an extension block (the bytes inside its 2-byte length) and the
/// content of the extensions that accessors read, so the accessors cannot fail.
pub(crate) fn check(raw: &[u8], side: Side) -> Result<(), TlsError> {
    let mut r = Reader::new(raw);
    while !r.is_empty() {
        let (ext_type, data) = r
            .u16()
            .and_then(|t| Some((t, r.vec16()?)))
            .ok_or(TlsError::BadLength { what: "extensions" })?;
        check_one(ext_type, data, side)?;
    }
    Ok(())
}

fn check_one(ext_type: u16, data: &[u8], side: Side) -> Result<(), TlsError> {
    let bad = |reason| TlsError::BadExtension { ext_type, reason };
    let mut r = Reader::new(data);
    match (ext_type, side) {
        (code::SERVER_NAME, Side::Client) => {
            let mut list = Reader::new(r.vec16().ok_or(bad("server_name list length"))?);
            while !list.is_empty() {
                list.u8()
                    .and_then(|_| list.vec16())
                    .ok_or(bad("server_name entry length"))?;
            }
        }
        // The server's SNI acknowledgement is empty.
        (code::SERVER_NAME, Side::Server) => return Ok(()),
        (code::ALPN, _) => {
            let mut list = Reader::new(r.vec16().ok_or(bad("protocol list length"))?);
            while !list.is_empty() {
                list.vec8().ok_or(bad("protocol name length"))?;
            }
        }
        (code::SUPPORTED_VERSIONS, Side::Client) => {
            let list = r.vec8().ok_or(bad("version list length"))?;
            if !list.len().is_multiple_of(2) {
                return Err(bad("odd version list"));
            }
        }
        (code::SUPPORTED_VERSIONS, Side::Server) => {
            r.u16().ok_or(bad("selected version"))?;
        }
        (code::SUPPORTED_GROUPS | code::SIGNATURE_ALGORITHMS, _) => {
            let list = r.vec16().ok_or(bad("list length"))?;
            if !list.len().is_multiple_of(2) {
                return Err(bad("odd list length"));
            }
        }
        (code::EC_POINT_FORMATS, _) => {
            r.vec8().ok_or(bad("format list length"))?;
        }
        _ => return Ok(()),
    }
    if r.is_empty() {
        Ok(())
    } else {
        Err(bad("trailing bytes"))
    }
}

/// The first extension of type `t`.
pub(crate) fn find(raw: &[u8], t: u16) -> Option<&[u8]> {
    Extensions::new(raw)
        .find(|e| e.ext_type == t)
        .map(|e| e.data)
}

/// The u16 list inside a checked vec16 extension (groups, signature algorithms).
pub(crate) fn u16_list_16(data: &[u8]) -> impl Iterator<Item = u16> + '_ {
    let list = Reader::new(data).vec16().unwrap_or_default();
    list.chunks_exact(2)
        .map(|c| u16::from_be_bytes([c[0], c[1]]))
}

/// The entries of a checked ALPN extension.
pub(crate) fn alpn_list(data: &[u8]) -> impl Iterator<Item = &[u8]> + '_ {
    let mut list = Reader::new(Reader::new(data).vec16().unwrap_or_default());
    std::iter::from_fn(move || list.vec8())
}

//! The record layer (TLS and DTLS) and handshake message headers.

use super::{TlsError, truncated};
use crate::bytes::{be16, be24};

/// The longest record accepted: 2^14 plus the 2048 bytes of expansion TLS 1.2 allows.
pub const MAX_RECORD_LEN: usize = (1 << 14) + 2048;

/// A record content type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ContentType {
    /// change_cipher_spec (20).
    ChangeCipherSpec,
    /// alert (21).
    Alert,
    /// handshake (22).
    Handshake,
    /// application_data (23).
    ApplicationData,
    /// heartbeat (24).
    Heartbeat,
    /// Any other value.
    Unknown(u8),
}

impl From<u8> for ContentType {
    fn from(v: u8) -> ContentType {
        match v {
            20 => ContentType::ChangeCipherSpec,
            21 => ContentType::Alert,
            22 => ContentType::Handshake,
            23 => ContentType::ApplicationData,
            24 => ContentType::Heartbeat,
            n => ContentType::Unknown(n),
        }
    }
}

impl From<ContentType> for u8 {
    fn from(c: ContentType) -> u8 {
        match c {
            ContentType::ChangeCipherSpec => 20,
            ContentType::Alert => 21,
            ContentType::Handshake => 22,
            ContentType::ApplicationData => 23,
            ContentType::Heartbeat => 24,
            ContentType::Unknown(n) => n,
        }
    }
}

/// A handshake message type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HandshakeType {
    /// hello_request (0).
    HelloRequest,
    /// client_hello (1).
    ClientHello,
    /// server_hello (2).
    ServerHello,
    /// hello_verify_request, DTLS (3).
    HelloVerifyRequest,
    /// new_session_ticket (4).
    NewSessionTicket,
    /// encrypted_extensions (8).
    EncryptedExtensions,
    /// certificate (11).
    Certificate,
    /// server_key_exchange (12).
    ServerKeyExchange,
    /// certificate_request (13).
    CertificateRequest,
    /// server_hello_done (14).
    ServerHelloDone,
    /// certificate_verify (15).
    CertificateVerify,
    /// client_key_exchange (16).
    ClientKeyExchange,
    /// finished (20).
    Finished,
    /// Any other value.
    Unknown(u8),
}

impl From<u8> for HandshakeType {
    fn from(v: u8) -> HandshakeType {
        match v {
            0 => HandshakeType::HelloRequest,
            1 => HandshakeType::ClientHello,
            2 => HandshakeType::ServerHello,
            3 => HandshakeType::HelloVerifyRequest,
            4 => HandshakeType::NewSessionTicket,
            8 => HandshakeType::EncryptedExtensions,
            11 => HandshakeType::Certificate,
            12 => HandshakeType::ServerKeyExchange,
            13 => HandshakeType::CertificateRequest,
            14 => HandshakeType::ServerHelloDone,
            15 => HandshakeType::CertificateVerify,
            16 => HandshakeType::ClientKeyExchange,
            20 => HandshakeType::Finished,
            n => HandshakeType::Unknown(n),
        }
    }
}

impl From<HandshakeType> for u8 {
    fn from(t: HandshakeType) -> u8 {
        match t {
            HandshakeType::HelloRequest => 0,
            HandshakeType::ClientHello => 1,
            HandshakeType::ServerHello => 2,
            HandshakeType::HelloVerifyRequest => 3,
            HandshakeType::NewSessionTicket => 4,
            HandshakeType::EncryptedExtensions => 8,
            HandshakeType::Certificate => 11,
            HandshakeType::ServerKeyExchange => 12,
            HandshakeType::CertificateRequest => 13,
            HandshakeType::ServerHelloDone => 14,
            HandshakeType::CertificateVerify => 15,
            HandshakeType::ClientKeyExchange => 16,
            HandshakeType::Finished => 20,
            HandshakeType::Unknown(n) => n,
        }
    }
}

/// One TLS record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record<'a> {
    /// The content type.
    pub content_type: ContentType,
    /// The record-layer version (often 0x0301 even for TLS 1.3).
    pub version: u16,
    /// The record payload.
    pub fragment: &'a [u8],
}

/// The TLS record header length.
const RECORD_HEADER: usize = 5;

/// Parses the record at the start of `buf`: `Ok(Some((record, consumed)))`, or `Ok(None)`
/// when the record is not complete yet.
pub fn parse_record(buf: &[u8]) -> Result<Option<(Record<'_>, usize)>, TlsError> {
    let Some(&ct) = buf.first() else {
        return Ok(None);
    };
    if !(20..=24).contains(&ct) {
        return Err(TlsError::NotTls(ct));
    }
    if buf.len() < 3 {
        return Ok(None);
    }
    let version = be16(buf, 1);
    if version >> 8 != 3 {
        return Err(TlsError::BadVersion(version));
    }
    if buf.len() < RECORD_HEADER {
        return Ok(None);
    }
    let len = usize::from(be16(buf, 3));
    if len > MAX_RECORD_LEN {
        return Err(TlsError::RecordTooLong { len });
    }
    let Some(fragment) = buf.get(RECORD_HEADER..RECORD_HEADER + len) else {
        return Ok(None);
    };
    let r = Record {
        content_type: ContentType::from(ct),
        version,
        fragment,
    };
    Ok(Some((r, RECORD_HEADER + len)))
}

/// One DTLS record (RFC 6347 header: type, version, epoch, 48-bit sequence, length).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DtlsRecord<'a> {
    /// The content type.
    pub content_type: ContentType,
    /// The record version (0xfeff DTLS 1.0, 0xfefd DTLS 1.2, 0xfefc DTLS 1.3 hellos' own;
    /// 0x0100 Cisco's pre-standard DTLS).
    pub version: u16,
    /// The epoch.
    pub epoch: u16,
    /// The record payload.
    pub fragment: &'a [u8],
}

const DTLS_RECORD_HEADER: usize = 13;

/// Parses the DTLS record at the start of `buf` (a datagram may hold several):
/// `Ok(None)` when it is cut short.
pub fn parse_dtls_record(buf: &[u8]) -> Result<Option<(DtlsRecord<'_>, usize)>, TlsError> {
    let Some(&ct) = buf.first() else {
        return Ok(None);
    };
    if !(20..=24).contains(&ct) {
        return Err(TlsError::NotTls(ct));
    }
    if buf.len() < DTLS_RECORD_HEADER {
        return Ok(None);
    }
    let version = be16(buf, 1);
    // 0x0100: Cisco AnyConnect's DTLS from before RFC 4347 (OpenSSL's DTLS1_BAD_VER).
    if version >> 8 != 0xfe && version != 0x0100 {
        return Err(TlsError::BadVersion(version));
    }
    let len = usize::from(be16(buf, 11));
    if len > MAX_RECORD_LEN {
        return Err(TlsError::RecordTooLong { len });
    }
    let Some(fragment) = buf.get(DTLS_RECORD_HEADER..DTLS_RECORD_HEADER + len) else {
        return Ok(None);
    };
    let r = DtlsRecord {
        content_type: ContentType::from(ct),
        version,
        epoch: be16(buf, 3),
        fragment,
    };
    Ok(Some((r, DTLS_RECORD_HEADER + len)))
}

/// One handshake message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Handshake<'a> {
    /// The message type.
    pub msg_type: HandshakeType,
    /// The message body (after the 4-byte header).
    pub body: &'a [u8],
}

/// The handshake header length.
const HANDSHAKE_HEADER: usize = 4;

impl<'a> Handshake<'a> {
    /// Parses the handshake message at the start of concatenated handshake bytes:
    /// `Ok(Some((message, consumed)))`, `Ok(None)` when it is not complete yet, or
    /// [`TlsError::HandshakeTooLong`] when it announces more than `max` bytes.
    pub fn parse(buf: &'a [u8], max: usize) -> Result<Option<(Handshake<'a>, usize)>, TlsError> {
        if buf.len() < HANDSHAKE_HEADER {
            return Ok(None);
        }
        let len = be24(buf, 1) as usize;
        if len > max {
            return Err(TlsError::HandshakeTooLong { len, max });
        }
        let Some(body) = buf.get(HANDSHAKE_HEADER..HANDSHAKE_HEADER + len) else {
            return Ok(None);
        };
        let h = Handshake {
            msg_type: HandshakeType::from(buf[0]),
            body,
        };
        Ok(Some((h, HANDSHAKE_HEADER + len)))
    }
}

/// The first handshake message of a TLS stream, when the first record is a handshake
/// record that holds all of it (the usual case for a ClientHello; no copy). `Ok(None)`
/// when more bytes are needed or the message continues in later records: then use
/// [`super::HandshakeCollector`]. A first record that is not a handshake record is
/// [`TlsError::UnexpectedHandshake`] with `got` set to its content type.
pub fn first_handshake(stream: &[u8]) -> Result<Option<Handshake<'_>>, TlsError> {
    let Some((rec, _)) = parse_record(stream)? else {
        return Ok(None);
    };
    if rec.content_type != ContentType::Handshake {
        return Err(TlsError::UnexpectedHandshake {
            expected: 22,
            got: u8::from(rec.content_type),
        });
    }
    Ok(Handshake::parse(rec.fragment, MAX_RECORD_LEN)?.map(|(h, _)| h))
}

/// The DTLS handshake header length (type, length, message_seq, fragment offset and
/// length).
const DTLS_HANDSHAKE_HEADER: usize = 12;

/// Parses an unfragmented DTLS handshake message at the start of a record payload.
/// Fragmented messages are [`TlsError::FragmentedDtls`].
pub fn parse_dtls_handshake(buf: &[u8]) -> Result<(Handshake<'_>, usize), TlsError> {
    if buf.len() < DTLS_HANDSHAKE_HEADER {
        return Err(truncated(
            "DTLS handshake header",
            DTLS_HANDSHAKE_HEADER,
            buf.len(),
        ));
    }
    let len = be24(buf, 1) as usize;
    let frag_off = be24(buf, 6) as usize;
    let frag_len = be24(buf, 9) as usize;
    if frag_off != 0 || frag_len != len {
        return Err(TlsError::FragmentedDtls);
    }
    let end = DTLS_HANDSHAKE_HEADER + len;
    let body =
        buf.get(DTLS_HANDSHAKE_HEADER..end)
            .ok_or(truncated("DTLS handshake", end, buf.len()))?;
    Ok((
        Handshake {
            msg_type: HandshakeType::from(buf[0]),
            body,
        },
        end,
    ))
}

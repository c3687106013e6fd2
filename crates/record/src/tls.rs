//! The TLS record: one handshake's hellos.

use crate::{Conn, Timestamp};
use serde::Serialize;

/// One TLS (or DTLS, or QUIC) handshake (`type: "tls"`), from its ClientHello and, when seen,
/// ServerHello. Written when the ServerHello arrives, or when the connection ends without one.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TlsRecord {
    /// When the ClientHello was sent (the ServerHello, when no ClientHello was seen).
    #[serde(rename = "@timestamp")]
    pub timestamp: Timestamp,
    /// The connection.
    #[serde(flatten)]
    pub conn: Conn,
    /// `tls.*`.
    pub tls: Tls,
}

/// `tls.*`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Tls {
    /// Negotiated version number (`1.2`, `1.3`): the server's supported_versions choice, else
    /// its legacy version; the client's highest offer when there is no ServerHello.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// `tls`, `ssl` or `dtls`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version_protocol: Option<&'static str>,
    /// The cipher suite the server chose, IANA name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cipher: Option<String>,
    /// The ALPN protocol the server chose.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_protocol: Option<String>,
    /// What the client offered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client: Option<TlsClient>,
    /// What the server answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server: Option<TlsServer>,
}

/// `tls.client.*`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TlsClient {
    /// The SNI host name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_name: Option<String>,
    /// ALPN protocols offered, in order. flowsight field.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub alpn: Vec<String>,
    /// Versions offered in supported_versions (`1.3`, `1.2`), GREASE left out. flowsight field.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub supported_versions: Vec<String>,
    /// JA3 fingerprint (MD5 of `ja3_string`).
    pub ja3: String,
    /// The JA3 input string. flowsight field.
    pub ja3_string: String,
    /// JA4 fingerprint (TLS client; the JA4+ variants under a non-commercial licence are not
    /// computed). flowsight field.
    pub ja4: String,
}

/// `tls.server.*`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TlsServer {
    /// JA3S fingerprint (MD5 of `ja3s_string`).
    pub ja3s: String,
    /// The JA3S input string. flowsight field.
    pub ja3s_string: String,
}

impl TlsRecord {
    pub(crate) fn example() -> TlsRecord {
        TlsRecord {
            timestamp: Timestamp(1_795_333_025_000_000_000),
            conn: Conn::example("tls", crate::Transport::Tcp, 443),
            tls: Tls {
                version: Some("1.3".into()),
                version_protocol: Some("tls"),
                cipher: Some("TLS_AES_128_GCM_SHA256".into()),
                next_protocol: Some("h2".into()),
                client: Some(TlsClient {
                    server_name: Some("example.com".into()),
                    alpn: vec!["h2".into(), "http/1.1".into()],
                    supported_versions: vec!["1.3".into(), "1.2".into()],
                    ja3: "cd08e31494f9531f560d64c695473da9".into(),
                    ja3_string: "771,4865-4866,0-23-65281,29-23-24,0".into(),
                    ja4: "t13d1516h2_8daaf6152771_b0da82dd1658".into(),
                }),
                server: Some(TlsServer {
                    ja3s: "f4febc55ea12b31ae17cfb7e614afda8".into(),
                    ja3s_string: "771,4865,43-51".into(),
                }),
            },
        }
    }
}

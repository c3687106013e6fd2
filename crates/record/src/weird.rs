//! The weird record: an anomaly, logged as data (Zeek's weird.log) rather than an error.

use crate::{Conn, Timestamp};
use serde::Serialize;

/// Something malformed or unexpected (`type: "weird"`): a truncated header, a bad checksum, bad
/// HTTP framing, a DNS compression loop. The packet or message is skipped, the rest of the
/// flow and the capture go on. Flow context is present when the anomaly belongs to a flow.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WeirdRecord {
    /// When the anomalous packet was seen.
    #[serde(rename = "@timestamp")]
    pub timestamp: Timestamp,
    /// The connection, when the anomaly belongs to one.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub conn: Option<Conn>,
    /// `weird.*`. flowsight field set.
    pub weird: Weird,
}

/// `weird.*`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Weird {
    /// A stable snake_case name for the kind of anomaly (`dns_compression_loop`,
    /// `http_bad_request_line`, `ipv4_truncated_header`); the list is in docs/schema.md.
    pub name: &'static str,
    /// The layer or analyzer that found it (`ip`, `tcp`, `udp`, `http`, `dns`, `tls`,
    /// `quic`, `capture`).
    pub source: &'static str,
    /// The parser's own explanation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl WeirdRecord {
    pub(crate) fn example() -> WeirdRecord {
        WeirdRecord {
            timestamp: Timestamp(1_795_333_025_000_000_000),
            conn: Some(Conn::example("dns", crate::Transport::Udp, 53)),
            weird: Weird {
                name: "dns_compression_loop",
                source: "dns",
                detail: Some("more than 64 compression pointers".into()),
            },
        }
    }
}

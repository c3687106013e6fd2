//! The DNS record: one query and its response.

use crate::{Conn, ProtoEvent, Timestamp};
use serde::Serialize;
use std::borrow::Cow;
use std::net::IpAddr;

/// One DNS transaction (`type: "dns"`) over UDP or TCP: a query and the response with the same
/// id on the same flow. A query without a response (after the timeout) and a response without
/// a query are records too.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DnsRecord {
    /// When the query was sent (the response, when there was no query).
    #[serde(rename = "@timestamp")]
    pub timestamp: Timestamp,
    /// Timing: `event.duration` is query to response.
    pub event: ProtoEvent,
    /// The connection.
    #[serde(flatten)]
    pub conn: Conn,
    /// `dns.*`.
    pub dns: Dns,
}

/// `dns.*`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Dns {
    /// Message id.
    pub id: u16,
    /// `answer` when a response was seen, else `query` (ECS `dns.type`).
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Operation (`QUERY`, `NOTIFY`, `UPDATE`, or `opcode-N`).
    pub op_code: Cow<'static, str>,
    /// Header flags set, from the response when there is one: any of `AA`, `TC`, `RD`, `RA`,
    /// `AD`, `CD`, `DO` (EDNS DNSSEC OK).
    pub header_flags: Vec<&'static str>,
    /// Response code (`NOERROR`, `NXDOMAIN`, ...; EDNS-extended); absent without a response.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_code: Option<Cow<'static, str>>,
    /// The first question.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub question: Option<DnsQuestion>,
    /// The answer section.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub answers: Vec<DnsAnswer>,
    /// Every A and AAAA address in the answers (ECS `dns.resolved_ip`).
    #[serde(
        skip_serializing_if = "Vec::is_empty",
        serialize_with = "crate::ip::serialize_all"
    )]
    pub resolved_ip: Vec<IpAddr>,
}

/// `dns.question.*`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DnsQuestion {
    /// The name asked for, lower-case, without the trailing dot.
    pub name: String,
    /// Record type (`A`, `AAAA`, `HTTPS`, or `query-N` for unnamed types).
    #[serde(rename = "type")]
    pub kind: Cow<'static, str>,
    /// Class (`IN`).
    pub class: Cow<'static, str>,
}

/// One entry of `dns.answers`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DnsAnswer {
    /// Owner name, lower-case.
    pub name: String,
    /// Record type.
    #[serde(rename = "type")]
    pub kind: Cow<'static, str>,
    /// Class.
    pub class: Cow<'static, str>,
    /// Time to live, seconds.
    pub ttl: u32,
    /// The record data as text: an address, a name, `10 mail.example.com` for MX, the SVCB
    /// parameters in presentation form, and so on.
    pub data: String,
}

impl DnsRecord {
    pub(crate) fn example() -> DnsRecord {
        DnsRecord {
            timestamp: Timestamp(1_795_333_025_000_000_000),
            event: ProtoEvent {
                duration: Some(2_000_000),
            },
            conn: Conn::example("dns", crate::Transport::Udp, 53),
            dns: Dns {
                id: 4242,
                kind: "answer",
                op_code: "QUERY".into(),
                header_flags: vec!["RD", "RA"],
                response_code: Some("NOERROR".into()),
                question: Some(DnsQuestion {
                    name: "www.example.com".into(),
                    kind: "A".into(),
                    class: "IN".into(),
                }),
                answers: vec![DnsAnswer {
                    name: "www.example.com".into(),
                    kind: "A".into(),
                    class: "IN".into(),
                    ttl: 300,
                    data: "93.184.216.34".into(),
                }],
                resolved_ip: vec!["93.184.216.34".parse().unwrap()],
            },
        }
    }
}

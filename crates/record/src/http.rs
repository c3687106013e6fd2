//! The HTTP record: one request and its response.

use crate::{Conn, Timestamp};
use serde::Serialize;
use std::collections::BTreeMap;

/// One HTTP/1.x transaction (`type: "http"`): a request and the response to it, paired in
/// order on a connection (pipelined and keep-alive requests each get their own record). A
/// response whose request was not seen (the capture began mid-connection) has no `request`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HttpRecord {
    /// When the request began (the response, when there was no request).
    #[serde(rename = "@timestamp")]
    pub timestamp: Timestamp,
    /// Timing.
    pub event: ProtoEvent,
    /// The connection.
    #[serde(flatten)]
    pub conn: Conn,
    /// `http.*`.
    pub http: Http,
    /// The request target (absent without a request).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<Url>,
    /// The request's User-Agent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<UserAgent>,
}

/// `event.*` of a protocol record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProtoEvent {
    /// Nanoseconds from the request (query) to its response (answer); absent when one of them
    /// was not seen.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration: Option<u64>,
}

/// `http.*`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Http {
    /// Protocol version (`1.1`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request: Option<HttpRequest>,
    /// The response.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response: Option<HttpResponse>,
}

/// `http.request.*`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HttpRequest {
    /// Method, as sent (`GET`).
    pub method: String,
    /// The Referer header.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub referrer: Option<String>,
    /// The request body.
    pub body: HttpBody,
    /// Selected request headers (`--http-header`), by lower-case name; credentials redacted
    /// unless asked for.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
}

/// `http.response.*`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HttpResponse {
    /// Status code.
    pub status_code: u16,
    /// The reason phrase (`Not Found`). flowsight field.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_message: Option<String>,
    /// Content-Type without parameters, lower-case (`text/html`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<String>,
    /// The Server header. flowsight field.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    /// The response body.
    pub body: HttpBody,
    /// Selected response headers, by lower-case name; Set-Cookie redacted unless asked for.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
}

/// `http.*.body.*`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct HttpBody {
    /// Body length in bytes (after removing chunked framing), as far as it was seen.
    pub bytes: u64,
}

/// `url.*`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Url {
    /// The request target as sent (`/index.html?q=1`, or an absolute URL to a proxy).
    pub original: String,
    /// Host header (without the port), or the host of an absolute target.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    /// Path part of the target.
    pub path: String,
    /// Query string, without the `?`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
}

/// `user_agent.*`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserAgent {
    /// The User-Agent header as sent.
    pub original: String,
}

impl HttpRecord {
    pub(crate) fn example() -> HttpRecord {
        HttpRecord {
            timestamp: Timestamp(1_795_333_025_000_000_000),
            event: ProtoEvent {
                duration: Some(1_500_000),
            },
            conn: Conn::example("http", crate::Transport::Tcp, 80),
            http: Http {
                version: Some("1.1".into()),
                request: Some(HttpRequest {
                    method: "GET".into(),
                    referrer: Some("http://example.com/".into()),
                    body: HttpBody { bytes: 0 },
                    headers: BTreeMap::from([("accept".into(), "*/*".into())]),
                }),
                response: Some(HttpResponse {
                    status_code: 200,
                    status_message: Some("OK".into()),
                    mime_type: Some("text/html".into()),
                    server: Some("nginx".into()),
                    body: HttpBody { bytes: 612 },
                    headers: BTreeMap::from([("set-cookie".into(), "[REDACTED]".into())]),
                }),
            },
            url: Some(Url {
                original: "/index.html?q=1".into(),
                domain: Some("example.com".into()),
                path: "/index.html".into(),
                query: Some("q=1".into()),
            }),
            user_agent: Some(UserAgent {
                original: "curl/7.88.1".into(),
            }),
        }
    }
}

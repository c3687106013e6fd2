//! Run-time control of the capture through the API: which interfaces the TC programs are
//! attached to, and the protocol-analysis (header-logging) settings.
//!
//! The capture thread owns the BPF objects and the analysis engine, so the HTTP thread does
//! not touch them: it sends a [`Request`] through a channel, wakes the capture loop with an
//! eventfd (which the loop polls with its ring buffers), and awaits the answer (a oneshot, so
//! a waiting request holds no thread: the server's few blocking threads are the searches').
//! The capture loop answers between two batches of events, so a change takes effect at once.
//!
//! Writes are off unless flowsight was started with `--allow-control` (see docs/web.md for
//! why), need the bearer token whenever one is configured (the rule every route follows),
//! and are refused when they could come from a web page rather than a client: they must be
//! `application/json` (which a page of another origin cannot send without a CORS preflight,
//! and none is ever allowed), an `Origin` header must be this server's, and on loopback the
//! `Host` must be a loopback name (a DNS-rebinding page names its own host).

use super::Shared;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender};
use std::time::Duration;
use tokio::sync::oneshot;

/// How long a request waits for the capture thread's answer.
const ANSWER_WAIT: Duration = Duration::from_secs(10);
/// HTTP header names a run may log at most, and the longest name.
const MAX_HEADERS: usize = 64;
const MAX_HEADER_NAME: usize = 128;

/// The protocol-analysis settings that can change while capturing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// HTTP, DNS and TLS analysis of the kernel's payload samples (header logging).
    pub protocols: bool,
    /// Payload samples analyzed per flow and direction, at most [`Settings::max_sample_packets`].
    pub sample_packets: u32,
    /// The kernel's budget, fixed when the programs were loaded (`--sample-packets`); 0 when
    /// the capture started without protocol analysis, which then cannot be turned on.
    pub max_sample_packets: u32,
    /// HTTP header names (lower-case) whose values are logged.
    pub http_headers: Vec<String>,
    /// Log credential headers' values instead of `[REDACTED]`.
    pub log_credentials: bool,
}

impl Settings {
    /// As the API shows them.
    pub fn to_json(&self) -> Value {
        json!({
            "protocols": self.protocols,
            "sample_packets": self.sample_packets,
            "max_sample_packets": self.max_sample_packets,
            "http_headers": self.http_headers,
            "log_credentials": self.log_credentials,
        })
    }

    /// These settings with the fields of a `PUT /api/v1/settings` body applied (fields left
    /// out keep their value); a one-line reason when the body is not acceptable.
    pub fn apply(&self, body: &Value) -> Result<Settings, String> {
        let obj = body
            .as_object()
            .ok_or("the body must be a JSON object of settings")?;
        let mut s = self.clone();
        for (k, v) in obj {
            let want = |what: &str| format!("{k} must be {what}, got {v}");
            match k.as_str() {
                "protocols" => s.protocols = v.as_bool().ok_or_else(|| want("true or false"))?,
                "log_credentials" => {
                    s.log_credentials = v.as_bool().ok_or_else(|| want("true or false"))?
                }
                "sample_packets" => {
                    let n = v
                        .as_u64()
                        .filter(|n| (1..=u64::from(self.max_sample_packets)).contains(n))
                        .ok_or_else(|| {
                            want(&format!(
                                "an integer from 1 to {} (the kernel's budget, --sample-packets)",
                                self.max_sample_packets
                            ))
                        })?;
                    s.sample_packets = n as u32;
                }
                "http_headers" => {
                    let list =
                        v.as_array()
                            .filter(|l| l.len() <= MAX_HEADERS)
                            .ok_or_else(|| {
                                want(&format!("a list of at most {MAX_HEADERS} header names"))
                            })?;
                    let mut names = Vec::new();
                    for h in list {
                        let name = h
                            .as_str()
                            .filter(|n| valid_header_name(n))
                            .ok_or_else(|| format!("{h} is not an HTTP header name"))?
                            .to_ascii_lowercase();
                        if !names.contains(&name) {
                            names.push(name);
                        }
                    }
                    s.http_headers = names;
                }
                "max_sample_packets" if v.as_u64() == Some(u64::from(self.max_sample_packets)) => {}
                "max_sample_packets" => {
                    return Err(
                        "max_sample_packets is fixed when the BPF programs load (--sample-packets)"
                            .into(),
                    );
                }
                _ => return Err(format!("unknown setting {k:?}")),
            }
        }
        if s.protocols && self.max_sample_packets == 0 {
            return Err("protocol analysis cannot be turned on: flowsight started without it (--no-protocols or --sample-packets 0), so the kernel sends no payload".into());
        }
        Ok(s)
    }
}

/// An HTTP header name: a token of RFC 9110 (letters, digits and `!#$%&'*+-.^_|~`).
fn valid_header_name(n: &str) -> bool {
    !n.is_empty()
        && n.len() <= MAX_HEADER_NAME
        && n.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// What the API asks of the capture thread.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// The interfaces of the capture's network namespace and whether each is attached.
    Interfaces,
    /// Attach (true) or detach (false) the TC programs on the named interface.
    SetAttached(String, bool),
    /// The current settings.
    Settings,
    /// Change the settings: the fields of this JSON object (see [`Settings::apply`]).
    SetSettings(Value),
}

/// Why the capture thread refused a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The HTTP status to answer with.
    pub status: u16,
    /// One line saying why.
    pub message: String,
}

/// The capture thread's answer: the JSON to send, or why not.
pub type Answer = Result<Value, Refusal>;

/// One command and where its answer goes.
#[derive(Debug)]
pub struct Request {
    /// What is asked.
    pub command: Command,
    reply: oneshot::Sender<Answer>,
}

impl Request {
    /// Send the answer back to the waiting HTTP request.
    pub fn answer(self, answer: Answer) {
        // The request may have given up waiting: nothing to do then.
        let _ = self.reply.send(answer);
    }
}

/// The HTTP side: sends requests to the capture thread.
#[derive(Debug, Clone)]
pub struct Control {
    tx: Sender<Request>,
    wake: Arc<OwnedFd>,
    /// Writes are allowed (`--allow-control`).
    pub writes: bool,
}

/// The capture side: requests waiting to be answered.
#[derive(Debug)]
pub struct ControlPort {
    rx: Receiver<Request>,
    wake: Arc<OwnedFd>,
}

/// A connected [`Control`] and [`ControlPort`]. The server allows changes through it only
/// when started with `--allow-control` ([`super::start`] sets [`Control::writes`]).
pub fn channel() -> std::io::Result<(Control, ControlPort)> {
    // SAFETY: eventfd(2) with valid flags; the descriptor is owned at once.
    let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: a fresh descriptor nobody else owns.
    let wake = Arc::new(unsafe { OwnedFd::from_raw_fd(fd) });
    let (tx, rx) = std::sync::mpsc::channel();
    Ok((
        Control {
            tx,
            wake: Arc::clone(&wake),
            writes: false,
        },
        ControlPort { rx, wake },
    ))
}

impl ControlPort {
    /// Readable when a request is waiting (for poll(2)).
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.wake.as_fd()
    }

    /// The waiting requests; clears the wake-up.
    pub fn take(&self) -> Vec<Request> {
        let mut n = 0u64;
        // SAFETY: reads 8 bytes into a u64 from our non-blocking eventfd; EAGAIN when unset.
        unsafe { libc::read(self.wake.as_raw_fd(), (&raw mut n).cast(), 8) };
        self.rx.try_iter().collect()
    }
}

impl Control {
    /// Ask the capture thread and await its answer (no thread waits for it).
    async fn ask(&self, command: Command) -> Answer {
        let (reply, answer) = oneshot::channel();
        let gone = || Refusal {
            status: 503,
            message: "the capture is not running".into(),
        };
        self.tx
            .send(Request { command, reply })
            .map_err(|_| gone())?;
        let one = 1u64;
        // SAFETY: writes 8 bytes to our eventfd; it only fails when the counter would
        // overflow, and then the capture thread is awake anyway.
        unsafe { libc::write(self.wake.as_raw_fd(), (&raw const one).cast(), 8) };
        match tokio::time::timeout(ANSWER_WAIT, answer).await {
            Ok(Ok(answer)) => answer,
            // The capture dropped the request unanswered: it is stopping.
            Ok(Err(_)) => Err(gone()),
            Err(_) => Err(Refusal {
                status: 504,
                message: "the capture thread did not answer in time".into(),
            }),
        }
    }
}

/// A refusal with its status and one-line reason.
fn refuse(status: u16, message: impl Into<String>) -> Refusal {
    Refusal {
        status,
        message: message.into(),
    }
}

/// The HTTP answer: the JSON, or `{error}` with the refusal's status.
fn reply(answer: Answer) -> Response {
    match answer {
        Ok(v) => Json(v).into_response(),
        Err(r) => {
            let code = StatusCode::from_u16(r.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            (code, Json(json!({ "error": r.message }))).into_response()
        }
    }
}

/// The control handle, or the refusal saying there is none (a server without a capture).
fn control(s: &Shared) -> Result<&Control, Refusal> {
    s.control
        .as_ref()
        .ok_or_else(|| refuse(503, "no capture to control: this server only reads records"))
}

/// Whether a write may proceed: allowed by `--allow-control`, JSON, from this server's own
/// origin and host. The token, when configured, was already checked for every route.
fn write_allowed(s: &Shared, headers: &HeaderMap) -> Result<(), Refusal> {
    let c = control(s)?;
    if !c.writes {
        return Err(refuse(
            403,
            "run-time control is off: start flowsight with --allow-control to change the capture through the API",
        ));
    }
    let text = |h: header::HeaderName| headers.get(h).and_then(|v| v.to_str().ok());
    let json_body = text(header::CONTENT_TYPE)
        .and_then(|t| t.split(';').next())
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"));
    if !json_body {
        return Err(refuse(
            415,
            "a change must be sent as Content-Type: application/json",
        ));
    }
    let host = text(header::HOST).unwrap_or("");
    if s.loopback && !loopback_host(host) {
        return Err(refuse(
            403,
            format!(
                "Host {host:?} is not a loopback name: refused (a page that rebound its DNS name to this server?)"
            ),
        ));
    }
    if let Some(origin) = text(header::ORIGIN)
        && origin != format!("http://{host}")
    {
        return Err(refuse(
            403,
            format!("a change from the page of {origin:?} is refused"),
        ));
    }
    Ok(())
}

/// `localhost`, `127.x.y.z` or `[::1]`, with or without a port.
fn loopback_host(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or(""),
        None => host.rsplit_once(':').map_or(host, |(h, _)| h),
    };
    name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The JSON of a request body.
fn body_json(body: &Bytes) -> Result<Value, Refusal> {
    serde_json::from_slice::<Value>(body)
        .map_err(|e| refuse(400, format!("the body is not JSON: {e}")))
}

/// `GET /api/v1/interfaces`: `{interfaces: [{name, index, link, attached}]}`.
pub(super) async fn interfaces(State(s): State<Shared>) -> Response {
    reply(ask(&s, Command::Interfaces).await)
}

/// Ask the capture thread, when there is one.
async fn ask(s: &Shared, command: Command) -> Answer {
    control(s)?.ask(command).await
}

/// `PUT /api/v1/interfaces/{name}` with `{"attached": true|false}`: attach or detach the
/// flow-counting programs on the interface now; answers with the interface.
pub(super) async fn set_interface(
    State(s): State<Shared>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let checked = write_allowed(&s, &headers).and_then(|()| {
        match body_json(&body)?
            .as_object()
            .map(|o| (o.len(), o.get("attached")))
        {
            Some((1, Some(Value::Bool(b)))) => Ok(*b),
            _ => Err(refuse(
                400,
                "the body must be {\"attached\": true} or {\"attached\": false}",
            )),
        }
    });
    reply(match checked {
        Ok(attached) => ask(&s, Command::SetAttached(name, attached)).await,
        Err(r) => Err(r),
    })
}

/// `GET /api/v1/settings`: the protocol-analysis settings in force.
pub(super) async fn settings(State(s): State<Shared>) -> Response {
    reply(ask(&s, Command::Settings).await)
}

/// `PUT /api/v1/settings`: change some settings (fields left out keep their value); answers
/// with the settings now in force. Checked and applied by the capture thread, against the
/// settings in force there.
pub(super) async fn set_settings(
    State(s): State<Shared>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let checked = write_allowed(&s, &headers).and_then(|()| body_json(&body));
    reply(match checked {
        Ok(v) => ask(&s, Command::SetSettings(v)).await,
        Err(r) => Err(r),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> Settings {
        Settings {
            protocols: true,
            sample_packets: 8,
            max_sample_packets: 8,
            http_headers: vec![],
            log_credentials: false,
        }
    }

    #[test]
    fn settings_change_field_by_field_and_read_back() {
        let s = settings();
        let new = s
            .apply(
                &json!({"http_headers": ["User-Agent", "x-id", "user-agent"], "sample_packets": 2}),
            )
            .unwrap();
        assert_eq!(new.http_headers, ["user-agent", "x-id"]);
        assert_eq!(new.sample_packets, 2);
        assert!(new.protocols);
        // Every field shown can be sent back as it is.
        assert_eq!(new.apply(&new.to_json()), Ok(new.clone()));
    }

    #[test]
    fn bad_settings_are_one_line_errors() {
        let s = settings();
        for (body, needle) in [
            (json!([]), "JSON object"),
            (
                json!({"protocols": "yes"}),
                "protocols must be true or false",
            ),
            (json!({"sample_packets": 9}), "from 1 to 8"),
            (json!({"sample_packets": 0}), "from 1 to 8"),
            (json!({"http_headers": ["a b"]}), "not an HTTP header name"),
            (json!({"max_sample_packets": 16}), "fixed"),
            (json!({"snaplen": 1}), "unknown setting"),
        ] {
            let e = s.apply(&body).unwrap_err();
            assert!(e.contains(needle), "{body}: {e}");
            assert!(!e.contains('\n'), "{e}");
        }
        let off = Settings {
            protocols: false,
            max_sample_packets: 0,
            ..settings()
        };
        assert!(
            off.apply(&json!({"protocols": true}))
                .unwrap_err()
                .contains("--no-protocols")
        );
        assert!(off.apply(&json!({"protocols": false})).is_ok());
    }

    #[test]
    fn loopback_hosts() {
        for h in [
            "127.0.0.1:9464",
            "localhost:1",
            "LOCALHOST",
            "[::1]:80",
            "127.1.2.3",
        ] {
            assert!(loopback_host(h), "{h}");
        }
        for h in [
            "evil.example:9464",
            "",
            "10.0.0.1:80",
            "[::2]:80",
            "127.0.0.1.evil.example",
        ] {
            assert!(!loopback_host(h), "{h}");
        }
    }
}

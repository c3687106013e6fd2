//! Application-protocol analyzers and the one registry that picks them.
//!
//! As in Zeek, an analyzer has a narrow interface: it is given a flow's bytes side by side (in
//! order for TCP, one datagram at a time for UDP) and emits records through its context.
//! Which analyzer a flow gets is decided in one place, [`Registry::detect`], from the first
//! payload and the ports; adding a protocol means adding one entry there, not an `if` in the
//! packet path.

mod dns;
mod dtls;
mod fingerprints;
mod http;
mod pieces;
mod quic;
mod tls;

use crate::Clock;
use flowsight_record::{Conn, Record, Timestamp, Weird, WeirdRecord};

/// Which end of the connection sent some bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// The initiator.
    Client,
    /// The responder.
    Server,
}

impl Side {
    /// The other end.
    pub fn other(self) -> Side {
        match self {
            Side::Client => Side::Server,
            Side::Server => Side::Client,
        }
    }

    /// 0 for the client, 1 for the server.
    pub fn index(self) -> usize {
        match self {
            Side::Client => 0,
            Side::Server => 1,
        }
    }
}

/// Settings the analyzers share.
#[derive(Debug, Clone)]
pub struct AppConfig {
    /// HTTP header names (lower-case) whose values go into `http.*.headers`.
    pub http_headers: Vec<String>,
    /// Log the values of credential headers instead of `[REDACTED]`.
    pub log_credentials: bool,
    /// A DNS query unanswered after this long is written without an answer.
    pub dns_timeout_ns: u64,
}

impl Default for AppConfig {
    fn default() -> Self {
        AppConfig {
            http_headers: Vec::new(),
            log_credentials: false,
            dns_timeout_ns: 10_000_000_000,
        }
    }
}

/// What an analyzer may use and where it puts its records.
pub struct Cx<'a> {
    /// The flow, as protocol records show it.
    pub conn: &'a Conn,
    /// Turns packet times into wall-clock times.
    pub clock: &'a Clock,
    /// Shared settings.
    pub cfg: &'a AppConfig,
    /// Records written so far in this call.
    pub out: &'a mut Vec<Record>,
    /// Weird names already written for this flow: each is written once per flow.
    pub weirds_seen: &'a mut Vec<&'static str>,
}

impl Cx<'_> {
    /// Log an anomaly of this flow (once per flow and name).
    pub fn weird(&mut self, ts_ns: u64, name: &'static str, source: &'static str, detail: String) {
        if self.weirds_seen.contains(&name) {
            return;
        }
        self.weirds_seen.push(name);
        self.out.push(Record::Weird(WeirdRecord {
            timestamp: self.clock.wall(ts_ns),
            conn: Some(self.conn.clone()),
            weird: Weird {
                name,
                source,
                detail: Some(detail),
            },
        }));
    }

    /// Wall-clock time of a packet.
    pub fn at(&self, ts_ns: u64) -> Timestamp {
        self.clock.wall(ts_ns)
    }
}

/// One protocol's analysis of one flow.
pub trait Analyzer: Send {
    /// The protocol's name, as `network.protocol` writes it.
    fn protocol(&self) -> &'static str;
    /// Bytes from one side: the next bytes of the stream (TCP) or one datagram (UDP).
    fn data(&mut self, cx: &mut Cx<'_>, side: Side, ts_ns: u64, data: &[u8]);
    /// `len` bytes of a TCP stream were lost.
    fn gap(&mut self, cx: &mut Cx<'_>, side: Side, ts_ns: u64, len: u64);
    /// Time passed (for timeouts). Called once a second of capture time, but only while
    /// [`Analyzer::wants_tick`] says so.
    fn tick(&mut self, _cx: &mut Cx<'_>, _now_ns: u64) {}
    /// Whether [`Analyzer::tick`] has anything to do (a timeout running): asked after the
    /// analyzer is given data and after each tick. An analyzer that implements `tick` must
    /// implement this too; the engine looks only at the flows that say yes, not at every
    /// flow every second.
    fn wants_tick(&self) -> bool {
        false
    }
    /// True when the analyzer of a datagram flow holds nothing a later datagram needs (no
    /// message waiting for its answer, no side given up on). Asked after each datagram: the
    /// engine then lets the analysis go (unless the flow wrote a weird), and the flow's next
    /// datagram goes to a fresh analyzer of the same protocol. A DNS flow that made one query
    /// and got its answer would otherwise keep its analysis (~500 bytes) until the idle
    /// timeout, a minute, and a busy resolver's host opens thousands of them a second.
    fn idle(&self) -> bool {
        false
    }
    /// The flow ended, or flowsight stops: write what is pending.
    fn end(&mut self, cx: &mut Cx<'_>, ts_ns: u64);
    /// Whether more bytes from this side could still produce or complete a record. When both
    /// sides say no, the flow's bytes are no longer reassembled (or sampled, live).
    fn wants(&self, side: Side) -> bool;
    /// The peer has acknowledged the first `bytes` bytes of `side`'s stream (TCP, read from
    /// captures: live samples carry no ACK). Analyzers that pair messages across directions
    /// use it to tell which requests a response can answer.
    fn acked(&mut self, _side: Side, _bytes: u64) {}
    /// True when the connection became a tunnel (an HTTP CONNECT that succeeded): once the
    /// analyzer wants nothing more, the engine looks for a TLS handshake in what follows.
    fn tunnel(&self) -> bool {
        false
    }
}

/// Transport of a protocol entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// Over TCP.
    Tcp,
    /// Over UDP.
    Udp,
}

/// A detector's verdict on the first bytes of one side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// This protocol.
    Yes,
    /// Not this protocol, whatever follows.
    No,
    /// Too few bytes to tell.
    NeedMore,
}

impl Verdict {
    /// Yes or No from a test that needs `min` bytes to be meaningful.
    pub fn after(len: usize, min: usize, yes: bool) -> Verdict {
        match (yes, len >= min) {
            (true, _) => Verdict::Yes,
            (false, true) => Verdict::No,
            (false, false) => Verdict::NeedMore,
        }
    }
}

/// What the registry concluded about a flow.
pub enum Detected<'r> {
    /// Attach this protocol.
    Protocol(&'r Protocol),
    /// Nothing will claim this flow.
    Nothing,
    /// Some protocol could still claim it with more bytes.
    NeedMore,
}

/// One protocol the registry can attach.
pub struct Protocol {
    /// Its name.
    pub name: &'static str,
    /// Transport it runs on.
    pub transport: Transport,
    /// Server ports it is expected on; with `content_only`, only a hint.
    pub ports: &'static [u16],
    /// Recognise the protocol from the first payload bytes of either side (`side` says whose).
    pub detect: fn(first: &[u8], side: Side, port_match: bool) -> Verdict,
    /// A fresh analyzer.
    pub new: MakeAnalyzer,
    /// It may start part-way through a connection, after another protocol's exchange
    /// (TLS after STARTTLS, an HTTP CONNECT or a SOCKS handshake): looked for at the start
    /// of later segments of connections that no analyzer took.
    pub late: bool,
}

/// What makes a fresh analyzer of one protocol.
pub type MakeAnalyzer = fn(&AppConfig) -> Box<dyn Analyzer>;

/// The protocols flowsight analyzes, in the order they are tried.
pub struct Registry {
    protocols: Vec<Protocol>,
}

impl Registry {
    /// What makes a fresh analyzer of the protocol named `name` on `transport`.
    pub fn maker(&self, name: &str, transport: Transport) -> Option<MakeAnalyzer> {
        (self.protocols.iter())
            .find(|p| p.name == name && p.transport == transport)
            .map(|p| p.new)
    }

    /// HTTP, TLS, DNS, QUIC and DTLS.
    pub fn standard() -> Registry {
        Registry {
            protocols: vec![
                tls::PROTOCOL,
                http::PROTOCOL,
                dns::PROTOCOL_UDP,
                dns::PROTOCOL_TCP,
                quic::PROTOCOL,
                dtls::PROTOCOL,
            ],
        }
    }

    /// A protocol starting at the beginning of `chunk`, part-way through a connection: only
    /// protocols marked `late`, only a definite match.
    pub fn detect_late(&self, transport: Transport, chunk: &[u8], side: Side) -> Option<&Protocol> {
        self.protocols.iter().find(|p| {
            p.late && p.transport == transport && (p.detect)(chunk, side, false) == Verdict::Yes
        })
    }

    /// The protocol of a flow from its first payload bytes (sent by `side`) and its ports
    /// (the server's, then the client's). Every detector decides within a few bytes, so an unrecognised flow is given up
    /// on at once instead of being buffered.
    pub fn detect(
        &self,
        transport: Transport,
        ports: [u16; 2],
        first: &[u8],
        side: Side,
    ) -> Detected<'_> {
        let mut more = false;
        for p in self.protocols.iter().filter(|p| p.transport == transport) {
            // Either port may be the well-known one: a capture can start with a response, and
            // the first sender is then taken for the client.
            let port_match = ports.iter().any(|port| p.ports.contains(port));
            match (p.detect)(first, side, port_match) {
                Verdict::Yes => return Detected::Protocol(p),
                Verdict::NeedMore => more = true,
                Verdict::No => {}
            }
        }
        if more {
            Detected::NeedMore
        } else {
            Detected::Nothing
        }
    }

    /// Every protocol, by name (for the live sampler's configuration and for docs).
    pub fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.protocols.iter().map(|p| p.name)
    }
}

/// Text of header bytes for a log field: UTF-8, with invalid bytes replaced.
pub(crate) fn text(bytes: &[u8]) -> String {
    // from_utf8 checks ASCII a word at a time; the lossy decoder goes byte by byte even when
    // nothing needs replacing, which is nearly always.
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_owned(),
        Err(_) => String::from_utf8_lossy(bytes).into_owned(),
    }
}

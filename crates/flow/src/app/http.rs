//! HTTP/1.x: requests and responses paired in order, one record per transaction.

use super::{Analyzer, AppConfig, Cx, Protocol, Side, Transport, Verdict, text};
use flowsight_record::{
    Http, HttpBody, HttpRecord, HttpRequest, HttpResponse, ProtoEvent, Record, Url, UserAgent,
};
use flowsight_wire::l7::http::{
    BodyDecoder, BodyLength, Headers, RequestHead, ResponseHead, looks_like_request,
    looks_like_response, parse_request_head, parse_response_head,
};
use std::collections::{BTreeMap, VecDeque};

pub(super) const PROTOCOL: Protocol = Protocol {
    name: "http",
    transport: Transport::Tcp,
    ports: &[80, 8000, 8008, 8080, 8081, 8888, 3128],
    detect,
    new,
    late: true,
};

/// Bytes enough to see a method and a space, or `HTTP/1.x `.
const DETECT_LEN: usize = 16;

fn detect(first: &[u8], side: Side, _port_match: bool) -> Verdict {
    let yes = match side {
        Side::Client => looks_like_request(first),
        Side::Server => looks_like_response(first),
    };
    // A request starts with a letter (the method), a response with "HTTP/": anything else
    // is decided at once.
    let start_ok = match (side, first.first()) {
        (_, None) => true,
        (Side::Client, Some(b)) => b.is_ascii_alphabetic() || *b == b'\r' || *b == b'\n',
        (Side::Server, Some(b)) => *b == b'H',
    };
    // A whole first line that is not a start line decides too (`STLS`, `FEAT`).
    if !start_ok || (!yes && first.contains(&b'\n')) {
        Verdict::No
    } else {
        Verdict::after(first.len(), DETECT_LEN, yes)
    }
}

fn new(cfg: &AppConfig) -> Box<dyn Analyzer> {
    Box::new(HttpAnalyzer {
        sides: [SideState::default(), SideState::default()],
        waiting: VecDeque::new(),
        answering: None,
        response_lost: false,
        acked: [0; 2],
        tunnel: false,
        headers: cfg.http_headers.clone(),
        log_credentials: cfg.log_credentials,
    })
}

/// Bytes kept while resynchronizing, enough to hold the start of a start line.
const RESYNC_TAIL: usize = 64;

/// Where the first line that starts a message of `side` begins in `buf`: a line beginning
/// with `HTTP/1.` (responses) or with a method, a space and a target (requests), whose end is
/// in `buf`.
fn message_start(side: Side, buf: &[u8]) -> Option<usize> {
    let mut at = 0;
    loop {
        let line_end = at + buf[at..].iter().position(|&b| b == b'\n')?;
        if is_start_line(side, &buf[at..line_end]) {
            return Some(at);
        }
        at = line_end + 1;
    }
}

/// Whether `buf` begins with a whole line that starts a message of `side`.
fn begins_message(side: Side, buf: &[u8]) -> bool {
    buf.iter()
        .position(|&b| b == b'\n')
        .is_some_and(|end| is_start_line(side, &buf[..end]))
}

fn is_start_line(side: Side, line: &[u8]) -> bool {
    match side {
        Side::Server => looks_like_response(line),
        Side::Client => {
            looks_like_request(line) && line.windows(6).any(|w| w.eq_ignore_ascii_case(b" HTTP/"))
        }
    }
}

/// Heads longer than this are not HTTP we can log (the parser caps a head at 64 KiB too).
const MAX_HEAD: usize = 64 * 1024;
/// Requests kept waiting for their responses; more means the server is not answering in
/// order (or at all), and the oldest is written without a response.
const MAX_WAITING: usize = 64;

/// Headers whose values are credentials.
const CREDENTIALS: [&str; 4] = [
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
];

#[derive(Debug, Default)]
enum Phase {
    /// Reading a message head.
    #[default]
    Head,
    /// Reading a body.
    Body(BodyDecoder),
    /// After a gap outside a body, or bytes that are not a head where one should start:
    /// skipping bytes until a line that starts a message.
    Resync,
    /// Lost: a body that does not parse, a head too long, or not HTTP any more (after a
    /// 101 or a CONNECT). Nothing more is read on this side.
    Dead,
}

#[derive(Debug, Default)]
struct SideState {
    /// Bytes of a head not yet complete (and, after a head, what followed it in the same
    /// delivery).
    buf: Vec<u8>,
    phase: Phase,
    /// Stream offset of `buf[0]` (of the next bytes when `buf` is empty), gaps included.
    consumed: u64,
}

/// One request/response pair being assembled.
#[derive(Debug, Default)]
struct Txn {
    /// Client stream offset where the request's head starts.
    start: u64,
    request: Option<HttpRequest>,
    request_ts: Option<u64>,
    url: Option<Url>,
    user_agent: Option<UserAgent>,
    version: Option<String>,
    response: Option<HttpResponse>,
    response_ts: Option<u64>,
}

struct HttpAnalyzer {
    sides: [SideState; 2],
    /// Requests without a response yet, oldest first.
    waiting: VecDeque<Txn>,
    /// The transaction whose response body is being read.
    answering: Option<Txn>,
    /// A gap swallowed the start of a response: the oldest waiting request lost its answer.
    response_lost: bool,
    /// Bytes of each side's stream the peer has acknowledged (captures only).
    acked: [u64; 2],
    /// A CONNECT succeeded: the rest of the connection is a tunnel.
    tunnel: bool,
    headers: Vec<String>,
    log_credentials: bool,
}

fn version_text(v: flowsight_wire::l7::http::Version) -> String {
    // The common versions copied rather than formatted (~400 instructions a request).
    match v.numbers() {
        (1, 1) => "1.1".into(),
        (1, 0) => "1.0".into(),
        (major, minor) => format!("{major}.{minor}"),
    }
}

impl HttpAnalyzer {
    fn selected_headers(&self, headers: &Headers<'_>) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        for name in &self.headers {
            let mut values = headers.get_all(name).map(text).peekable();
            if values.peek().is_none() {
                continue;
            }
            let value = if !self.log_credentials && CREDENTIALS.contains(&name.as_str()) {
                "[REDACTED]".to_string()
            } else {
                values.collect::<Vec<_>>().join(", ")
            };
            out.insert(name.clone(), value);
        }
        out
    }

    fn request(&mut self, cx: &mut Cx<'_>, ts: u64, head: &RequestHead<'_>, start: u64) {
        if head.target.is_empty() {
            cx.weird(ts, "http_missing_uri", "http", text(head.method));
        }
        bad_header_lines(cx, ts, &head.headers);
        let host = head.host.map(text).map(|h| strip_port(&h));
        let target = text(head.target);
        let domain = host.or_else(|| absolute_host(&target));
        let txn = Txn {
            start,
            request: Some(HttpRequest {
                method: text(head.method),
                referrer: head.referer.map(text),
                body: HttpBody { bytes: 0 },
                headers: self.selected_headers(&head.headers),
            }),
            request_ts: Some(ts),
            url: Some(Url {
                original: target,
                domain,
                path: text(head.path()),
                query: head.query().map(text),
            }),
            user_agent: head.user_agent.map(|ua| UserAgent { original: text(ua) }),
            version: Some(version_text(head.version)),
            response: None,
            response_ts: None,
        };
        if self.waiting.len() >= MAX_WAITING
            && let Some(old) = self.waiting.pop_front()
        {
            self.emit(cx, old);
        }
        // Most connections have one request waiting at a time: room for one, not the four
        // a first push makes (a `Txn` is ~400 bytes, and fresh memory costs page faults).
        if self.waiting.capacity() == 0 {
            self.waiting.reserve_exact(1);
        }
        self.waiting.push_back(txn);
    }

    /// A response head: pair it with the oldest waiting request. Returns how its body is
    /// delimited.
    fn response(&mut self, cx: &mut Cx<'_>, ts: u64, head: &ResponseHead<'_>) -> BodyLength {
        // An interim (1xx) response belongs to the request but is not its answer.
        if head.is_informational() && head.status != 101 {
            return BodyLength::None;
        }
        // After lost responses, this one answers a later request. When the server's ACK
        // says it had received a later request's head before answering, the ones before it
        // were answered in the hole (non-pipelined traffic; any number of them). Without ACKs
        // (live samples), one lost response is assumed, and only when a later request waits.
        if std::mem::take(&mut self.response_lost) {
            let acked = self.acked[Side::Client.index()];
            let answered_in_hole = |w: &VecDeque<Txn>| {
                w.len() >= 2 && if acked > 0 { w[1].start < acked } else { true }
            };
            let mut dropped = 0;
            while answered_in_hole(&self.waiting) && (acked > 0 || dropped == 0) {
                let Some(orphan) = self.waiting.pop_front() else {
                    break;
                };
                self.emit(cx, orphan);
                dropped += 1;
            }
        }
        bad_header_lines(cx, ts, &head.headers);
        let mut txn = self.waiting.pop_front().unwrap_or_default();
        let method = txn.request.as_ref().map(|r| r.method.clone());
        let length = head.body_length(method.as_deref().map(str::as_bytes));
        txn.version
            .get_or_insert_with(|| version_text(head.version));
        txn.response = Some(HttpResponse {
            status_code: head.status,
            status_message: Some(text(head.reason)).filter(|r| !r.is_empty()),
            mime_type: head.content_type.and_then(mime_type),
            server: head.server.map(text),
            body: HttpBody { bytes: 0 },
            headers: self.selected_headers(&head.headers),
        });
        txn.response_ts = Some(ts);
        if let Some(prev) = self.answering.replace(txn) {
            self.emit(cx, prev);
        }
        let connected = method
            .as_deref()
            .is_some_and(|m| m.eq_ignore_ascii_case("CONNECT"))
            && (200..300).contains(&head.status);
        if head.status == 101 || connected {
            // Switching protocols, or a tunnel: what follows is not HTTP.
            for s in &mut self.sides {
                s.phase = Phase::Dead;
            }
            self.tunnel = connected;
        }
        length
    }

    /// The complete lines of a head whose end a gap swallowed, parsed as a whole head.
    /// Returns whether there was a start line to log.
    fn salvage_head(
        &mut self,
        cx: &mut Cx<'_>,
        side: Side,
        ts: u64,
        (held, hole): (u64, u64),
    ) -> bool {
        // `gap` has moved `consumed` past the held bytes and the hole.
        let start = self.sides[side.index()]
            .consumed
            .saturating_sub(held + hole);
        let buf = std::mem::take(&mut self.sides[side.index()].buf);
        let Some(end) = buf.iter().rposition(|&b| b == b'\n') else {
            return false;
        };
        let mut head = buf[..=end].to_vec();
        head.extend_from_slice(b"\r\n");
        match side {
            Side::Client => match parse_request_head(&head) {
                Ok(Some((h, _))) => {
                    self.request(cx, ts, &h, start);
                    true
                }
                _ => false,
            },
            Side::Server => match parse_response_head(&head) {
                Ok(Some((h, _))) => {
                    self.response(cx, ts, &h);
                    true
                }
                _ => false,
            },
        }
    }

    fn emit(&mut self, cx: &mut Cx<'_>, txn: Txn) {
        let ts = txn.request_ts.or(txn.response_ts).unwrap_or(0);
        let duration = match (txn.request_ts, txn.response_ts) {
            (Some(a), Some(b)) => Some(b.saturating_sub(a)),
            _ => None,
        };
        cx.out.push(Record::Http(HttpRecord {
            timestamp: cx.at(ts),
            event: ProtoEvent { duration },
            conn: cx.conn.clone(),
            http: Http {
                version: txn.version,
                request: txn.request,
                response: txn.response,
            },
            url: txn.url,
            user_agent: txn.user_agent,
        }));
    }

    /// Add body bytes to the message being read on `side`.
    fn body_done(&mut self, cx: &mut Cx<'_>, side: Side, total: u64, done: bool) {
        match side {
            Side::Client => {
                if let Some(req) = self.waiting.back_mut().and_then(|t| t.request.as_mut()) {
                    req.body.bytes = total;
                }
            }
            Side::Server => {
                if let Some(resp) = self.answering.as_mut().and_then(|t| t.response.as_mut()) {
                    resp.body.bytes = total;
                }
                if done && let Some(txn) = self.answering.take() {
                    self.emit(cx, txn);
                }
            }
        }
    }

    /// The next bytes of `side`. They are parsed in place; only what a later delivery must
    /// complete (a partial head, a partial chunk-size line) is kept, so body bytes are never
    /// copied.
    fn input(&mut self, cx: &mut Cx<'_>, side: Side, ts: u64, data: &[u8]) {
        let i = side.index();
        if matches!(self.sides[i].phase, Phase::Dead) {
            return;
        }
        // While resynchronizing, a delivery that begins with a start line begins a message
        // (a server writes a head as a segment of its own): the bytes held before it are the
        // end of a lost message, not the start of the line.
        let st = &mut self.sides[i];
        if matches!(st.phase, Phase::Resync) && !st.buf.is_empty() && begins_message(side, data) {
            st.consumed += st.buf.len() as u64;
            st.buf.clear();
        }
        let base = self.sides[i].consumed;
        let mut held = std::mem::take(&mut self.sides[i].buf);
        let owned = !held.is_empty();
        if owned {
            held.extend_from_slice(data);
        }
        let bytes: &[u8] = if owned { &held } else { data };
        let mut pos = 0;
        loop {
            let rest = &bytes[pos..];
            match &mut self.sides[i].phase {
                Phase::Dead => {
                    pos = bytes.len();
                    break;
                }
                Phase::Resync => match message_start(side, rest) {
                    Some(at) => {
                        pos += at;
                        self.sides[i].phase = Phase::Head;
                    }
                    None => {
                        // Keep a tail that may be the beginning of a start line.
                        pos = bytes.len() - rest.len().min(RESYNC_TAIL);
                        break;
                    }
                },
                Phase::Body(dec) => {
                    if rest.is_empty() {
                        break;
                    }
                    match dec.feed(rest) {
                        Ok(p) => {
                            let (total, done) = (dec.data_len(), p.done);
                            pos += p.consumed;
                            if done {
                                self.sides[i].phase = Phase::Head;
                            }
                            self.body_done(cx, side, total, done);
                            if !done {
                                break;
                            }
                        }
                        Err(e) => {
                            self.sides[i].phase = Phase::Dead;
                            cx.weird(ts, "http_bad_chunked_encoding", "http", e.to_string());
                        }
                    }
                }
                Phase::Head => {
                    if rest.is_empty() {
                        break;
                    }
                    let parsed = match side {
                        Side::Client => parse_request_head(rest).map(|r| {
                            r.map(|(head, used)| {
                                if head.bad_content_length {
                                    // Logged with no body, as Zeek does: the bytes after
                                    // the head are read as the next request.
                                    cx.weird(
                                        ts,
                                        "http_bad_content_length",
                                        "http",
                                        "a request's Content-Length is not a number, or several differ; its body is taken as empty".into(),
                                    );
                                }
                                self.request(cx, ts, &head, base + pos as u64);
                                (head.body_length(), used)
                            })
                        }),
                        Side::Server => parse_response_head(rest)
                            .map(|r| r.map(|(head, used)| (self.response(cx, ts, &head), used))),
                    };
                    match parsed {
                        Ok(Some((length, used))) => {
                            pos += used;
                            if !matches!(self.sides[i].phase, Phase::Dead) {
                                let dec = BodyDecoder::new(length);
                                if dec.is_done() {
                                    self.body_done(cx, side, 0, true);
                                } else {
                                    self.sides[i].phase = Phase::Body(dec);
                                }
                            }
                        }
                        Ok(None) => {
                            if rest.len() > MAX_HEAD {
                                self.sides[i].phase = Phase::Dead;
                                cx.weird(
                                    ts,
                                    "http_head_too_long",
                                    "http",
                                    format!("{} bytes without the end of a head", rest.len()),
                                );
                            }
                            break;
                        }
                        Err(e) => {
                            let name = match side {
                                Side::Client => "http_bad_request",
                                Side::Server => "http_bad_response",
                            };
                            cx.weird(ts, name, "http", e.to_string());
                            // Not a head where one should start (a connection picked up in
                            // the middle of a message, a capture that lost segments before
                            // its first): skip to the next line that starts a message, as
                            // after a gap. One byte on, so this line is not taken again.
                            if side == Side::Server {
                                self.response_lost = true;
                            }
                            self.sides[i].phase = Phase::Resync;
                            pos += 1;
                        }
                    }
                }
            }
        }
        // Keep the unconsumed tail, reusing the held allocation.
        if matches!(self.sides[i].phase, Phase::Dead) {
            return;
        }
        self.sides[i].consumed = base + pos as u64;
        if owned {
            held.drain(..pos);
            self.sides[i].buf = held;
        } else {
            self.sides[i].buf.extend_from_slice(&data[pos..]);
        }
    }
}

impl Analyzer for HttpAnalyzer {
    fn protocol(&self) -> &'static str {
        "http"
    }

    fn data(&mut self, cx: &mut Cx<'_>, side: Side, ts_ns: u64, data: &[u8]) {
        self.input(cx, side, ts_ns, data);
    }

    fn gap(&mut self, cx: &mut Cx<'_>, side: Side, ts_ns: u64, len: u64) {
        let st = &mut self.sides[side.index()];
        // Whatever is held and the hole itself are behind us after this.
        let held = st.buf.len() as u64;
        st.consumed += held + len;
        // A hole inside a Content-Length body only shortens what we saw of it; anywhere
        // else the message boundaries are lost.
        if let Phase::Body(dec) = &mut st.phase
            && st.buf.is_empty()
            && len <= 1 << 20
            && let Ok(p) = dec.feed(&vec![0u8; len as usize])
            && (p.consumed as u64 == len || p.done)
        {
            let (total, done) = (dec.data_len(), p.done);
            if done {
                st.phase = Phase::Head;
            }
            self.body_done(cx, side, total, done);
            return;
        }
        // A head cut by the gap (a capture with a short snap length cuts every packet) is
        // logged with the lines it has.
        let in_head = matches!(st.phase, Phase::Head);
        let salvaged =
            in_head && !st.buf.is_empty() && self.salvage_head(cx, side, ts_ns, (held, len));
        if side == Side::Server && in_head && !salvaged {
            // Between messages (or inside a head) a response was lost, with its start line.
            self.response_lost = true;
        }
        let st = &mut self.sides[side.index()];
        if !matches!(st.phase, Phase::Dead) {
            st.phase = Phase::Resync;
        }
        st.buf.clear();
        cx.weird(
            ts_ns,
            "http_content_gap",
            "http",
            format!("{len} bytes missing"),
        );
    }

    fn acked(&mut self, side: Side, bytes: u64) {
        let a = &mut self.acked[side.index()];
        *a = (*a).max(bytes);
    }

    fn end(&mut self, cx: &mut Cx<'_>, _ts_ns: u64) {
        // A body delimited by the close is complete now; anything else was cut short.
        if let Some(txn) = self.answering.take() {
            self.emit(cx, txn);
        }
        while let Some(txn) = self.waiting.pop_front() {
            self.emit(cx, txn);
        }
    }

    fn wants(&self, side: Side) -> bool {
        !matches!(self.sides[side.index()].phase, Phase::Dead)
    }

    fn tunnel(&self) -> bool {
        self.tunnel
    }
}

/// `example.com:8080` -> `example.com`; `[::1]:80` -> `::1`.
/// Header lines the parser skipped are reported (once per connection, as every weird).
fn bad_header_lines(cx: &mut Cx<'_>, ts: u64, headers: &Headers<'_>) {
    if headers.malformed() > 0 {
        let detail = format!(
            "{} header lines without a name and a colon",
            headers.malformed()
        );
        cx.weird(ts, "http_bad_header_line", "http", detail);
    }
}

fn strip_port(host: &str) -> String {
    let host = host.trim();
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest).to_string();
    }
    match host.rsplit_once(':') {
        Some((h, port)) if !h.contains(':') && port.bytes().all(|b| b.is_ascii_digit()) => {
            h.to_string()
        }
        _ => host.to_string(),
    }
}

/// The host of an absolute-form target (`http://host:port/path`, sent to proxies).
fn absolute_host(target: &str) -> Option<String> {
    let rest = target.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    let authority = authority.rsplit('@').next()?;
    (!authority.is_empty()).then(|| strip_port(authority))
}

/// `text/html; charset=utf-8` -> `text/html`.
fn mime_type(ct: &[u8]) -> Option<String> {
    let ct = text(ct);
    let m = ct.split(';').next()?.trim().to_ascii_lowercase();
    (!m.is_empty()).then_some(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_and_mime_types() {
        assert_eq!(strip_port("example.com:8080"), "example.com");
        assert_eq!(strip_port("[::1]:80"), "::1");
        assert_eq!(strip_port("example.com"), "example.com");
        assert_eq!(
            absolute_host("http://u@proxy.example:3128/x?y").as_deref(),
            Some("proxy.example")
        );
        assert_eq!(absolute_host("/index.html"), None);
        assert_eq!(
            mime_type(b"Text/HTML; charset=utf-8").as_deref(),
            Some("text/html")
        );
    }
}

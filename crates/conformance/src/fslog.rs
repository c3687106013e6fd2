//! flowsight's side: the JSON lines `flowsight read` writes (docs/schema.md), read into the
//! few fields the comparisons use.
//!
//! The reader is deliberately loose: it walks nested objects (`{"url":{"domain":..}}`, as the
//! schema says) and also accepts a literal dotted key (`{"url.domain":..}`), takes numbers
//! written as strings, and skips records it does not know. A line that is not JSON is
//! counted, not fatal: the conformance run reports it instead of stopping.

use crate::key::{ConnKey, Endpoint, FlowKey, proto};
use serde_json::Value;

/// A value at a dotted path of a record: nested objects first, then a literal dotted key.
pub fn get<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    let mut cur = v;
    let mut nested = true;
    for seg in path.split('.') {
        match cur.get(seg) {
            Some(next) => cur = next,
            None => {
                nested = false;
                break;
            }
        }
    }
    if nested {
        return Some(cur).filter(|v| !v.is_null());
    }
    v.get(path).filter(|v| !v.is_null())
}

/// A text value at `path`: strings as they are, numbers and booleans printed.
pub fn text(v: &Value, path: &str) -> Option<String> {
    match get(v, path)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A count at `path`, written as a number or a string of digits.
pub fn count(v: &Value, path: &str) -> Option<u64> {
    match get(v, path)? {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// A list of text values at `path` (a single value counts as a list of one).
pub fn list(v: &Value, path: &str) -> Vec<String> {
    match get(v, path) {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|x| match x {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
            .collect(),
        Some(Value::String(s)) => vec![s.clone()],
        _ => Vec::new(),
    }
}

/// Nanoseconds since the Unix epoch of an RFC 3339 UTC time (`2026-11-22T07:37:05.123Z`);
/// the schema writes every time this way. Used only to order records.
pub fn parse_time(s: &str) -> Option<i128> {
    let s = s.strip_suffix('Z').or_else(|| s.strip_suffix("+00:00"))?;
    let (date, time) = s.split_once(['T', ' '])?;
    let mut d = date.splitn(3, '-').map(|x| x.parse::<i64>().ok());
    let (y, m, day) = (d.next()??, d.next()??, d.next()??);
    let (hms, frac) = time.split_once('.').unwrap_or((time, ""));
    let mut t = hms.splitn(3, ':').map(|x| x.parse::<i64>().ok());
    let (hh, mm, ss) = (t.next()??, t.next()??, t.next()??);
    let mut nanos: i128 = 0;
    for (i, c) in frac.chars().take(9).enumerate() {
        nanos += i128::from(c.to_digit(10)?) * 10i128.pow(8 - i as u32);
    }
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + hh * 3600 + mm * 60 + ss;
    Some(i128::from(secs) * 1_000_000_000 + nanos)
}

/// The identity of the flow a record belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conn {
    /// IP protocol number (from `network.iana_number`, else `network.transport`).
    pub proto: u8,
    /// `source.*`: the initiator (flows) or client (protocol records).
    pub src: Endpoint,
    /// `destination.*`.
    pub dst: Endpoint,
    /// `network.vlan.id`.
    pub vlan: Option<u16>,
}

impl Conn {
    fn read(v: &Value) -> Option<Conn> {
        let proto = count(v, "network.iana_number")
            .and_then(|n| u8::try_from(n).ok())
            .or_else(|| {
                Some(match text(v, "network.transport")?.as_str() {
                    "tcp" => proto::TCP,
                    "udp" => proto::UDP,
                    "icmp" => proto::ICMP,
                    "ipv6-icmp" => proto::ICMPV6,
                    "sctp" => proto::SCTP,
                    _ => 0,
                })
            })
            .unwrap_or(0);
        let ep = |side: &str| {
            let ip = Endpoint::parse_ip(&text(v, &format!("{side}.ip"))?)?;
            let port = count(v, &format!("{side}.port")).unwrap_or(0);
            Some(Endpoint::new(ip, u16::try_from(port).unwrap_or(0)))
        };
        Some(Conn {
            proto,
            src: ep("source")?,
            dst: ep("destination")?,
            vlan: count(v, "network.vlan.id").and_then(|n| u16::try_from(n).ok()),
        })
    }

    /// The unordered endpoint pair.
    pub fn key(&self) -> ConnKey {
        ConnKey::new(self.src, self.dst)
    }

    /// The key nDPI would give this flow.
    pub fn flow_key(&self) -> FlowKey {
        FlowKey::new(self.proto, self.key(), self.vlan)
    }
}

/// A `type: "flow"` record.
#[derive(Debug, Clone)]
pub struct FsFlow {
    /// Flow identity.
    pub conn: Conn,
    /// `event.start`, as written.
    pub start: String,
    /// `source.packets`.
    pub src_packets: u64,
    /// `source.bytes`.
    pub src_bytes: u64,
    /// `destination.packets`.
    pub dst_packets: u64,
    /// `destination.bytes`.
    pub dst_bytes: u64,
}

/// A `type: "http"` record.
#[derive(Debug, Clone, Default)]
#[allow(missing_docs)] // each field is the schema field named in its comment
pub struct FsHttp {
    pub method: Option<String>,     // http.request.method
    pub version: Option<String>,    // http.version
    pub host: Option<String>,       // url.domain
    pub uri: Option<String>,        // url.original
    pub referrer: Option<String>,   // http.request.referrer
    pub user_agent: Option<String>, // user_agent.original
    pub request_body: Option<u64>,  // http.request.body.bytes
    pub response_body: Option<u64>, // http.response.body.bytes
    pub status_code: Option<u64>,   // http.response.status_code
    pub status_msg: Option<String>, // http.response.status_message
    pub mime_type: Option<String>,  // http.response.mime_type
    pub server: Option<String>,     // http.response.server
}

/// One answer of a `type: "dns"` record.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FsAnswer {
    /// `type`: `A`, `CNAME`, ...
    pub kind: String,
    /// `ttl`, seconds.
    pub ttl: Option<u64>,
    /// `data`, as Zeek prints it.
    pub data: String,
}

/// A `type: "dns"` record.
#[derive(Debug, Clone, Default)]
#[allow(missing_docs)]
pub struct FsDns {
    pub id: Option<u64>,        // dns.id
    pub answered: bool,         // dns.type == "answer"
    pub flags: Vec<String>,     // dns.header_flags
    pub rcode: Option<String>,  // dns.response_code
    pub qname: Option<String>,  // dns.question.name
    pub qtype: Option<String>,  // dns.question.type
    pub qclass: Option<String>, // dns.question.class
    pub answers: Vec<FsAnswer>, // dns.answers
}

/// A `type: "tls"` record.
#[derive(Debug, Clone, Default)]
#[allow(missing_docs)]
pub struct FsTls {
    pub version: Option<String>,          // tls.version
    pub version_protocol: Option<String>, // tls.version_protocol
    pub cipher: Option<String>,           // tls.cipher
    pub next_protocol: Option<String>,    // tls.next_protocol
    pub server_name: Option<String>,      // tls.client.server_name
    pub alpn: Vec<String>,                // tls.client.alpn
    pub ja3: Option<String>,              // tls.client.ja3
    pub ja3_string: Option<String>,       // tls.client.ja3_string
    pub ja4: Option<String>,              // tls.client.ja4
    pub ja3s: Option<String>,             // tls.server.ja3s
}

impl FsTls {
    /// Whether the record holds a ClientHello (flowsight writes `tls.client` from it).
    pub fn has_client_hello(&self) -> bool {
        self.ja3.is_some() || self.ja4.is_some()
    }

    /// Whether the record holds a ServerHello (`tls.server`, or a chosen cipher).
    pub fn has_server_hello(&self) -> bool {
        self.ja3s.is_some() || self.cipher.is_some()
    }
}

/// A protocol record with its flow identity and position.
#[derive(Debug, Clone)]
pub struct Rec<T> {
    /// Flow identity.
    pub conn: Conn,
    /// `@timestamp` in nanoseconds (0 when missing), for ordering within a connection.
    pub time: i128,
    /// Line number in the output, the tie-breaker for ordering.
    pub line: usize,
    /// The record's fields.
    pub body: T,
}

/// Everything flowsight wrote for one capture.
#[derive(Debug, Default)]
pub struct FsLog {
    /// Flow records, one per flow: of a flow's interim and final records the one with the
    /// most packets (counts are totals since the flow began).
    pub flows: Vec<FsFlow>,
    /// HTTP records.
    pub http: Vec<Rec<FsHttp>>,
    /// DNS records.
    pub dns: Vec<Rec<FsDns>>,
    /// TLS records.
    pub tls: Vec<Rec<FsTls>>,
    /// Weird records.
    pub weird: usize,
    /// Lines that were not JSON objects or lacked their flow identity.
    pub bad_lines: usize,
    /// The first such line's problem, for the report.
    pub first_bad: Option<String>,
    /// Whether the final stats record (`flowsight.final: true`) was written: flowsight
    /// writes it at every normal exit, so its absence means the run stopped short.
    pub final_stats: bool,
}

impl FsLog {
    /// Reads JSON lines.
    pub fn parse(text_in: &str) -> FsLog {
        let mut log = FsLog::default();
        let mut flows: std::collections::HashMap<(Endpoint, Endpoint, u8, String), FsFlow> =
            std::collections::HashMap::new();
        for (i, line) in text_in.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            let v: Value = match serde_json::from_str(line) {
                Ok(v) => v,
                Err(e) => {
                    log.bad(format!("line {}: {e}", i + 1));
                    continue;
                }
            };
            let kind = text(&v, "type").unwrap_or_default();
            if kind == "stats" {
                log.final_stats |=
                    get(&v, "flowsight.final").and_then(Value::as_bool) == Some(true);
                continue;
            }
            if kind.is_empty() {
                continue;
            }
            if kind == "weird" {
                log.weird += 1;
                continue;
            }
            let Some(conn) = Conn::read(&v) else {
                log.bad(format!(
                    "line {}: {kind} record without source/destination",
                    i + 1
                ));
                continue;
            };
            let time = text(&v, "@timestamp")
                .and_then(|t| parse_time(&t))
                .unwrap_or(0);
            match kind.as_str() {
                "flow" => {
                    let f = FsFlow {
                        start: text(&v, "event.start").unwrap_or_default(),
                        src_packets: count(&v, "source.packets").unwrap_or(0),
                        src_bytes: count(&v, "source.bytes").unwrap_or(0),
                        dst_packets: count(&v, "destination.packets").unwrap_or(0),
                        dst_bytes: count(&v, "destination.bytes").unwrap_or(0),
                        conn,
                    };
                    let id = (f.conn.src, f.conn.dst, f.conn.proto, f.start.clone());
                    let e = flows.entry(id).or_insert_with(|| f.clone());
                    if f.src_packets + f.dst_packets >= e.src_packets + e.dst_packets {
                        *e = f;
                    }
                }
                "http" => log.http.push(Rec {
                    conn,
                    time,
                    line: i,
                    body: read_http(&v),
                }),
                "dns" => log.dns.push(Rec {
                    conn,
                    time,
                    line: i,
                    body: read_dns(&v),
                }),
                "tls" => log.tls.push(Rec {
                    conn,
                    time,
                    line: i,
                    body: read_tls(&v),
                }),
                _ => {}
            }
        }
        log.flows = flows.into_values().collect();
        log.flows.sort_by(|a, b| {
            (a.start.as_str(), a.conn.src, a.conn.dst).cmp(&(
                b.start.as_str(),
                b.conn.src,
                b.conn.dst,
            ))
        });
        log
    }

    fn bad(&mut self, why: String) {
        self.bad_lines += 1;
        if self.first_bad.is_none() {
            self.first_bad = Some(why);
        }
    }
}

fn read_http(v: &Value) -> FsHttp {
    FsHttp {
        method: text(v, "http.request.method"),
        version: text(v, "http.version"),
        host: text(v, "url.domain"),
        uri: text(v, "url.original"),
        referrer: text(v, "http.request.referrer"),
        user_agent: text(v, "user_agent.original"),
        request_body: count(v, "http.request.body.bytes"),
        response_body: count(v, "http.response.body.bytes"),
        status_code: count(v, "http.response.status_code"),
        status_msg: text(v, "http.response.status_message"),
        mime_type: text(v, "http.response.mime_type"),
        server: text(v, "http.response.server"),
    }
}

fn read_dns(v: &Value) -> FsDns {
    let answers = match get(v, "dns.answers") {
        Some(Value::Array(a)) => a
            .iter()
            .map(|x| FsAnswer {
                kind: text(x, "type").unwrap_or_default(),
                ttl: count(x, "ttl"),
                data: text(x, "data").unwrap_or_default(),
            })
            .collect(),
        _ => Vec::new(),
    };
    FsDns {
        id: count(v, "dns.id"),
        answered: text(v, "dns.type").as_deref() == Some("answer"),
        flags: list(v, "dns.header_flags"),
        rcode: text(v, "dns.response_code"),
        qname: text(v, "dns.question.name"),
        qtype: text(v, "dns.question.type"),
        qclass: text(v, "dns.question.class"),
        answers,
    }
}

fn read_tls(v: &Value) -> FsTls {
    FsTls {
        version: text(v, "tls.version"),
        version_protocol: text(v, "tls.version_protocol"),
        cipher: text(v, "tls.cipher"),
        next_protocol: text(v, "tls.next_protocol"),
        server_name: text(v, "tls.client.server_name"),
        alpn: list(v, "tls.client.alpn"),
        ja3: text(v, "tls.client.ja3"),
        ja3_string: text(v, "tls.client.ja3_string"),
        ja4: text(v, "tls.client.ja4"),
        ja3s: text(v, "tls.server.ja3s"),
    }
}

/// Records grouped by connection, each group in the order the transactions began.
pub fn by_conn<T>(recs: &[Rec<T>]) -> std::collections::HashMap<ConnKey, Vec<&Rec<T>>> {
    let mut m: std::collections::HashMap<ConnKey, Vec<&Rec<T>>> = Default::default();
    for r in recs {
        m.entry(r.conn.key()).or_default().push(r);
    }
    for v in m.values_mut() {
        v.sort_by_key(|r| (r.time, r.line));
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINES: &str = r#"
{"type":"flow","@timestamp":"2024-01-01T00:00:02Z","event":{"start":"2024-01-01T00:00:00.5Z","reason":"active-timeout"},"network":{"transport":"tcp","iana_number":"6"},"source":{"ip":"10.0.0.1","port":1234,"bytes":100,"packets":2},"destination":{"ip":"10.0.0.2","port":80,"bytes":50,"packets":1}}
{"type":"flow","@timestamp":"2024-01-01T00:00:03Z","event":{"start":"2024-01-01T00:00:00.5Z","reason":"end"},"network":{"transport":"tcp","iana_number":"6","vlan":{"id":"7"}},"source":{"ip":"10.0.0.1","port":1234,"bytes":300,"packets":5},"destination":{"ip":"10.0.0.2","port":80,"bytes":900,"packets":4}}
{"type":"http","@timestamp":"2024-01-01T00:00:01.000000002Z","network":{"transport":"tcp"},"source":{"ip":"10.0.0.1","port":1234},"destination":{"ip":"10.0.0.2","port":80},"http":{"version":"1.1","request":{"method":"GET"},"response":{"status_code":200,"mime_type":"text/html","body":{"bytes":12}}},"url":{"domain":"example.com","original":"/b"}}
{"type":"http","@timestamp":"2024-01-01T00:00:01.000000001Z","network":{"transport":"tcp"},"source":{"ip":"10.0.0.1","port":1234},"destination":{"ip":"10.0.0.2","port":80},"url.original":"/a"}
{"type":"dns","@timestamp":"2024-01-01T00:00:00Z","network":{"transport":"udp"},"source":{"ip":"10.0.0.1","port":5353},"destination":{"ip":"10.0.0.53","port":53},"dns":{"id":7,"type":"answer","header_flags":["RD","RA"],"response_code":"NOERROR","question":{"name":"a.example","type":"A","class":"IN"},"answers":[{"name":"a.example","type":"A","class":"IN","ttl":60,"data":"1.2.3.4"}]}}
{"type":"tls","@timestamp":"2024-01-01T00:00:00Z","network":{"transport":"tcp"},"source":{"ip":"10.0.0.1","port":4000},"destination":{"ip":"10.0.0.2","port":443},"tls":{"version":"1.3","client":{"server_name":"x.example","alpn":["h2","http/1.1"],"ja3":"abc","ja3_string":"771,1","ja4":"t13d"},"server":{"ja3s":"def","ja3s_string":"771,2"}}}
{"type":"weird","@timestamp":"2024-01-01T00:00:00Z","weird":{"name":"x"}}
not json
{"type":"stats","flowsight":{"final":true}}
"#;

    #[test]
    fn reads_every_record_kind() {
        let log = FsLog::parse(LINES);
        assert_eq!(log.flows.len(), 1, "interim and final record are one flow");
        let f = &log.flows[0];
        assert_eq!((f.src_packets, f.dst_bytes), (5, 900));
        assert_eq!(f.conn.vlan, Some(7));
        assert_eq!(log.http.len(), 2);
        assert_eq!(log.http[0].body.host.as_deref(), Some("example.com"));
        assert_eq!(log.http[0].body.status_code, Some(200));
        assert_eq!(log.http[1].body.uri.as_deref(), Some("/a"), "dotted keys");
        assert_eq!(log.dns[0].body.answers[0].data, "1.2.3.4");
        assert!(log.dns[0].body.answered);
        assert_eq!(log.tls[0].body.alpn, vec!["h2", "http/1.1"]);
        assert!(log.tls[0].body.has_client_hello() && log.tls[0].body.has_server_hello());
        assert_eq!(log.weird, 1);
        assert_eq!(log.bad_lines, 1);
        assert!(log.final_stats);
        assert!(!FsLog::parse(r#"{"type":"stats","flowsight":{"final":false}}"#).final_stats);
    }

    #[test]
    fn orders_transactions_by_start() {
        let log = FsLog::parse(LINES);
        let g = by_conn(&log.http);
        let conn = g.values().next().unwrap();
        let uris: Vec<_> = conn
            .iter()
            .map(|r| r.body.uri.as_deref().unwrap())
            .collect();
        assert_eq!(uris, ["/a", "/b"]);
    }

    #[test]
    fn parses_rfc3339() {
        assert_eq!(parse_time("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_time("2026-11-22T07:37:05.123456789Z"),
            Some(1_795_333_025_123_456_789)
        );
        assert_eq!(parse_time("1970-01-01T00:00:01.5Z"), Some(1_500_000_000));
        assert_eq!(parse_time("garbage"), None);
    }
}

//! DNS over UDP and TCP: queries and responses paired by id, one record per transaction.

use super::{Analyzer, AppConfig, Cx, Protocol, Side, Transport, Verdict};
use flowsight_record::{Dns, DnsAnswer, DnsQuestion, DnsRecord, ProtoEvent, Record};
use flowsight_wire::l7::dns::{Class, DnsError, Message, Name, Opcode, RData, tcp_message};
use foldhash::HashMap;
use std::borrow::Cow;

/// DNS, LLMNR and mDNS ports. DNS is recognised by port and a successful parse, never by
/// content alone: too many UDP payloads parse as some DNS message.
const PORTS: &[u16] = &[53, 5353, 5355, 137];

pub(super) const PROTOCOL_UDP: Protocol = Protocol {
    name: "dns",
    transport: Transport::Udp,
    ports: PORTS,
    detect: detect_udp,
    new: new_udp,
    late: false,
};

pub(super) const PROTOCOL_TCP: Protocol = Protocol {
    name: "dns",
    transport: Transport::Tcp,
    ports: &[53],
    detect: detect_tcp,
    new: new_tcp,
    late: false,
};

fn detect_udp(first: &[u8], _side: Side, port_match: bool) -> Verdict {
    if port_match && parses_enough(first) {
        Verdict::Yes
    } else {
        Verdict::No
    }
}

/// A whole message, or one cut short after its question (a truncated capture, a lone first
/// fragment): enough to log it.
fn parses_enough(m: &[u8]) -> bool {
    match Message::parse_partial(m) {
        Ok((_, None)) => true,
        Ok((msg, Some(_))) => msg.header().qdcount > 0 && msg.question().is_some(),
        Err(_) => false,
    }
}

/// The beginning of a message: a header and a whole first question.
fn starts_with_question(m: &[u8]) -> bool {
    match Message::parse_partial(m) {
        Ok((msg, _)) => msg.header().qdcount > 0 && msg.question().is_some(),
        Err(_) => false,
    }
}

fn detect_tcp(first: &[u8], _side: Side, port_match: bool) -> Verdict {
    if !port_match {
        return Verdict::No;
    }
    match tcp_message(first) {
        Ok(Some((m, _))) if parses_enough(m) => Verdict::Yes,
        // A message longer than what detection holds (a TKEY or a zone transfer of a few
        // KiB): its header and first question decide; the analyzer reads it whole.
        Ok(None) if first.len() > 2 && starts_with_question(&first[2..]) => Verdict::Yes,
        Ok(None) => Verdict::NeedMore,
        _ => Verdict::No,
    }
}

fn new_udp(cfg: &AppConfig) -> Box<dyn Analyzer> {
    Box::new(DnsAnalyzer::new(cfg, false))
}

fn new_tcp(cfg: &AppConfig) -> Box<dyn Analyzer> {
    Box::new(DnsAnalyzer::new(cfg, true))
}

/// Queries kept waiting for an answer per flow (a resolver's flow to its server carries many).
const MAX_PENDING: usize = 4096;
/// Bytes of an unfinished TCP message kept per side (a DNS message is at most 64 KiB).
const MAX_TCP_BUF: usize = 65_537;

/// A query waiting for its response: its bytes, described only if they are written
/// without an answer (most queries get one, and the answer names the same question).
struct Pending {
    ts: u64,
    query: Box<[u8]>,
}

impl Pending {
    /// The record fields of the query, as when it was seen.
    fn describe(&self) -> Option<Dns> {
        Message::parse_partial(&self.query)
            .ok()
            .map(|(m, _)| describe(&m))
    }

    /// Writes the query's record, without an answer.
    fn emit_alone(self, cx: &mut Cx<'_>) {
        if let Some(dns) = self.describe() {
            emit(cx, self.ts, None, dns);
        }
    }
}

struct DnsAnalyzer {
    tcp: bool,
    bufs: [Vec<u8>; 2],
    dead: [bool; 2],
    pending: HashMap<u16, Pending>,
    timeout_ns: u64,
}

impl DnsAnalyzer {
    /// Writes without an answer the queries whose sending time `due` accepts, oldest first,
    /// ties by id: the map's order is its hasher's, seeded afresh by every run, and a capture
    /// read twice must give its records in one order.
    fn give_up(&mut self, cx: &mut Cx<'_>, due: impl Fn(u64) -> bool) {
        let mut expired: Vec<(u64, u16)> = self
            .pending
            .iter()
            .filter(|(_, p)| due(p.ts))
            .map(|(&id, p)| (p.ts, id))
            .collect();
        expired.sort_unstable();
        for (_, id) in expired {
            if let Some(p) = self.pending.remove(&id) {
                p.emit_alone(cx);
            }
        }
        if self.pending.is_empty() {
            self.pending = HashMap::default();
        }
    }

    fn new(cfg: &AppConfig, tcp: bool) -> DnsAnalyzer {
        DnsAnalyzer {
            tcp,
            bufs: [Vec::new(), Vec::new()],
            dead: [false; 2],
            pending: HashMap::default(),
            timeout_ns: cfg.dns_timeout_ns,
        }
    }

    fn message(&mut self, cx: &mut Cx<'_>, ts: u64, bytes: &[u8]) {
        // A message cut short is still logged with what it has (as tshark shows it), and
        // reported.
        let msg = match Message::parse_partial(bytes) {
            Ok((m, None)) => m,
            Ok((m, Some(e))) => {
                cx.weird(ts, weird_name(&e), "dns", e.to_string());
                m
            }
            Err(e) => {
                cx.weird(ts, weird_name(&e), "dns", e.to_string());
                return;
            }
        };
        if !msg.is_response() {
            if self.pending.len() >= MAX_PENDING {
                // Forget the oldest: its record is written without an answer.
                if let Some(&id) = self
                    .pending
                    .iter()
                    .min_by_key(|&(&id, p)| (p.ts, id))
                    .map(|(id, _)| id)
                {
                    let p = self.pending.remove(&id).unwrap();
                    p.emit_alone(cx);
                }
            }
            let query = Pending {
                ts,
                query: bytes.into(),
            };
            if let Some(old) = self.pending.insert(msg.id(), query) {
                // A new query with the id of one still waiting: the old one got no answer.
                old.emit_alone(cx);
            }
            return;
        }
        let dns = describe(&msg);
        let query = self.pending.remove(&msg.id());
        if self.pending.is_empty() {
            // Most flows carry one or two transactions, and the emptied table kept its
            // memory (about a kilobyte) for the rest of the flow's life: a minute of idle
            // timeout for every client socket, which was most of `flowsight read`'s peak.
            self.pending = HashMap::default();
        }
        match query {
            Some(q) => {
                let mut answer = dns;
                if answer.question.is_none() {
                    answer.question = q.describe().and_then(|d| d.question);
                }
                emit(cx, q.ts, Some(ts.saturating_sub(q.ts)), answer)
            }
            None => emit(cx, ts, None, dns),
        }
    }
}

fn weird_name(e: &DnsError) -> &'static str {
    match e {
        DnsError::Truncated { .. } => "dns_truncated",
        DnsError::LabelTooLong { .. } => "dns_label_too_long",
        DnsError::NameTooLong => "dns_name_too_long",
        DnsError::CompressionLoop => "dns_compression_loop",
        DnsError::BadPointer { .. } => "dns_bad_pointer",
        _ => "dns_unparsable",
    }
}

/// A class as ECS and zone files name it (`IN`), not Zeek's `C_INTERNET`.
fn class_name(c: Class) -> Cow<'static, str> {
    Cow::Borrowed(match c {
        Class::In => "IN",
        Class::Cs => "CS",
        Class::Ch => "CH",
        Class::Hs => "HS",
        Class::None => "NONE",
        Class::Any => "ANY",
        Class::Unknown(n) => return Cow::Owned(format!("CLASS{n}")),
    })
}

/// An opcode as ECS names it (`QUERY`).
fn opcode_name(o: Opcode) -> Cow<'static, str> {
    Cow::Borrowed(match o {
        Opcode::Query => "QUERY",
        Opcode::IQuery => "IQUERY",
        Opcode::Status => "STATUS",
        Opcode::Notify => "NOTIFY",
        Opcode::Update => "UPDATE",
        Opcode::Dso => "DSO",
        Opcode::Unknown(n) => return Cow::Owned(format!("opcode-{n}")),
    })
}

/// A value's name when it has one (`AAAA`, `NXDOMAIN`), else its text (`query-65280`),
/// formatting only the unnamed.
fn name_or_text(name: Option<&'static str>, value: impl std::fmt::Display) -> Cow<'static, str> {
    name.map_or_else(|| Cow::Owned(value.to_string()), Cow::Borrowed)
}

/// The record fields a message carries.
fn describe(msg: &Message<'_>) -> Dns {
    let h = msg.header();
    let mut flags = Vec::new();
    for (set, name) in [
        (h.aa(), "AA"),
        (h.tc(), "TC"),
        (h.rd(), "RD"),
        (h.ra(), "RA"),
        (h.ad(), "AD"),
        (h.cd(), "CD"),
        (msg.edns().is_some_and(|e| e.dnssec_ok), "DO"),
    ] {
        if set {
            flags.push(name);
        }
    }
    // Lower-cased names by where their first label is: an answer's name nearly always
    // points back at the question's (or at a CNAME's target), and reading and
    // lower-casing a name again cost ~700 instructions, a copy a tenth of that.
    // Only the first few names are kept: a message of thousands of distinct names must not
    // cost a search of all the others per name.
    const KEPT_NAMES: usize = 16;
    let mut names: Vec<(usize, String)> = Vec::new();
    let mut lower = |name: &Name<'_>| {
        let at = name.first_label_at();
        if let Some((_, text)) = names.iter().find(|(a, _)| *a == at) {
            return text.clone();
        }
        let text = name.to_ascii_lowercase();
        if names.len() < KEPT_NAMES {
            names.push((at, text.clone()));
        }
        text
    };
    let question = msg.question().map(|q| DnsQuestion {
        name: lower(&q.name),
        kind: name_or_text(q.qtype.name(), q.qtype),
        class: class_name(q.class()),
    });
    let mut answers = Vec::with_capacity(if msg.is_response() {
        usize::from(h.ancount).min(64)
    } else {
        0
    });
    let mut resolved_ip = Vec::new();
    if msg.is_response() {
        for r in msg.answers() {
            let rdata = r.rdata();
            match rdata {
                RData::A(a) => resolved_ip.push(a.into()),
                RData::Aaaa(a) => resolved_ip.push(a.into()),
                _ => {}
            }
            answers.push(DnsAnswer {
                name: lower(&r.name),
                kind: name_or_text(r.rtype.name(), r.rtype),
                class: class_name(r.class()),
                ttl: r.ttl,
                // Addresses (most answers) without `fmt`: the same text.
                data: match rdata {
                    RData::A(a) => flowsight_record::ip_string(&a.into()),
                    RData::Aaaa(a) => flowsight_record::ip_string(&a.into()),
                    _ => rdata.to_string(),
                },
            });
        }
    }
    Dns {
        id: msg.id(),
        kind: if msg.is_response() { "answer" } else { "query" },
        op_code: opcode_name(h.opcode()),
        header_flags: flags,
        response_code: msg.is_response().then(|| {
            let rcode = msg.rcode();
            name_or_text(rcode.name(), rcode)
        }),
        question,
        answers,
        resolved_ip,
    }
}

fn emit(cx: &mut Cx<'_>, ts: u64, duration: Option<u64>, dns: Dns) {
    cx.out.push(Record::Dns(DnsRecord {
        timestamp: cx.at(ts),
        event: ProtoEvent { duration },
        conn: cx.conn.clone(),
        dns,
    }));
}

impl Analyzer for DnsAnalyzer {
    fn protocol(&self) -> &'static str {
        "dns"
    }

    fn data(&mut self, cx: &mut Cx<'_>, side: Side, ts_ns: u64, data: &[u8]) {
        if !self.tcp {
            self.message(cx, ts_ns, data);
            return;
        }
        let i = side.index();
        if self.dead[i] {
            return;
        }
        self.bufs[i].extend_from_slice(data);
        loop {
            match tcp_message(&self.bufs[i]) {
                Ok(Some((m, used))) => {
                    let m = m.to_vec();
                    self.bufs[i].drain(..used);
                    self.message(cx, ts_ns, &m);
                }
                Ok(None) => {
                    if self.bufs[i].len() > MAX_TCP_BUF {
                        self.dead[i] = true;
                        self.bufs[i].clear();
                    }
                    return;
                }
                Err(e) => {
                    self.dead[i] = true;
                    self.bufs[i].clear();
                    cx.weird(ts_ns, weird_name(&e), "dns", e.to_string());
                    return;
                }
            }
        }
    }

    fn gap(&mut self, cx: &mut Cx<'_>, side: Side, ts_ns: u64, len: u64) {
        self.dead[side.index()] = true;
        self.bufs[side.index()].clear();
        cx.weird(
            ts_ns,
            "dns_content_gap",
            "dns",
            format!("{len} bytes missing"),
        );
    }

    fn wants_tick(&self) -> bool {
        // Queries waiting for their answer time out.
        !self.pending.is_empty()
    }

    fn tick(&mut self, cx: &mut Cx<'_>, now_ns: u64) {
        // Ticked only while `wants_tick` says so, but a tick with nothing pending stays a
        // no-op whoever calls it.
        if self.pending.is_empty() {
            return;
        }
        let timeout = self.timeout_ns;
        self.give_up(cx, |ts| now_ns.saturating_sub(ts) >= timeout);
    }

    fn idle(&self) -> bool {
        !self.tcp && self.pending.is_empty() && !self.dead.contains(&true)
    }

    fn end(&mut self, cx: &mut Cx<'_>, _ts_ns: u64) {
        self.give_up(cx, |_| true);
    }

    fn wants(&self, side: Side) -> bool {
        !self.dead[side.index()]
    }
}

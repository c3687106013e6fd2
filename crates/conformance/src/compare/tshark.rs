//! tshark 4.0.17's per-message rows against flowsight's http, dns and tls records.
//!
//! tshark writes one row per frame that completes a message, so messages are first put back
//! into flowsight's units, then paired by connection and order:
//! - HTTP: request rows against flowsight http records that have a request, response rows
//!   against those that have a response (a record holds both), each in order on the
//!   connection. Fields (tshark name: flowsight field): `http.request.method`:
//!   `http.request.method`; `http.host` (its port removed): `url.domain`;
//!   `http.request.uri`: `url.original`; `http.user_agent`: `user_agent.original`;
//!   `http.response.code`: `http.response.status_code`; `http.server`:
//!   `http.response.server`; `http.content_type` (parameters removed, lower-case):
//!   `http.response.mime_type` (interim 1xx responses other than 101 are excluded: flowsight
//!   logs the final one). Records: `http.request.record`, `http.response.record`.
//! - DNS: rows become transactions as flowsight defines them (a query and the response with
//!   the same id on the same connection); a query repeated before its response (same id and
//!   name) is a retransmission and is not a transaction of its own. Transactions are paired
//!   by connection, id and order, answered ones with flowsight's answered records and
//!   unanswered ones with unanswered records. Fields: `dns.qry.name` (compared without case):
//!   `dns.question.name`; `dns.qry.type` (a number; named as Zeek names types):
//!   `dns.question.type`; `dns.flags.rcode`: `dns.response_code`; `dns.a/aaaa/cname`: the
//!   A, AAAA and CNAME answers. tshark's `dns.a`, `dns.aaaa` and `dns.cname` columns also hold
//!   the authority and additional sections, so flowsight's answers (the answer section)
//!   agree when they are a subset of tshark's; a response whose answer section flowsight
//!   found empty (a referral, NODATA) is excluded, since the columns cannot tell.
//!   Record: `dns.record`.
//! - TLS: ClientHello rows against flowsight tls records with a ClientHello, ServerHello rows
//!   against those with a ServerHello, in order on the connection. Fields:
//!   `tls.client.sni`: `tls.client.server_name`; `tls.client.alpn` (tshark's list):
//!   `tls.client.alpn`; `tls.client.ja3`: `tls.client.ja3`; `tls.client.ja3_full`:
//!   `tls.client.ja3_string`; `tls.server.version` (supported_versions when present, else
//!   the hello's version): `tls.version`; `tls.server.ja3s`: `tls.server.ja3s`;
//!   `tls.server.alpn`: `tls.next_protocol`. Records: `tls.client.record`,
//!   `tls.server.record`.
//!
//! Text is compared in the lossy normal form ([`crate::text::lossy`]): tshark writes
//! invalid UTF-8 as U+FFFD. Excluded, each counted under its rule: HTTP over UDP (SSDP and
//! UPnP multicast, which tshark dissects as HTTP; flowsight's HTTP is over TCP); messages tshark dissected
//! inside an ICMP error's quoted packet; frames holding several HTTP or DNS messages (the
//! values of one column are joined with commas that also occur inside values, so they
//! cannot be split back). TLS hellos over UDP are QUIC's (tshark writes DTLS under other
//! column names), compared with flowsight's tls records of QUIC flows.

use super::pair_in_order;
use super::zeek::DnsKey;
use crate::dns_names;
use crate::fslog::{FsDns, FsHttp, FsLog, FsTls};
use crate::key::{ConnKey, proto};
use crate::reference::tshark::TsharkRow;
use crate::score::Scope;
use crate::text::{host_without_port, lossy, mime_type};
use std::collections::{BTreeSet, HashSet};
use std::net::IpAddr;

/// Compares one capture's tshark rows with flowsight's log.
pub fn compare(rows: &[TsharkRow], fs: &FsLog, s: &mut Scope) {
    let known: HashSet<ConnKey> = fs
        .flows
        .iter()
        .map(|f| f.conn.key())
        .chain(fs.http.iter().map(|r| r.conn.key()))
        .chain(fs.dns.iter().map(|r| r.conn.key()))
        .chain(fs.tls.iter().map(|r| r.conn.key()))
        .collect();
    let conn = |r: &TsharkRow| -> Option<ConnKey> {
        let c: Vec<ConnKey> = r
            .endpoints()
            .into_iter()
            .map(|(a, b)| ConnKey::new(a, b))
            .collect();
        c.iter().find(|k| known.contains(k)).or(c.first()).copied()
    };
    let mut quoted = 0;
    let rows: Vec<(&TsharkRow, ConnKey)> = rows
        .iter()
        .filter(|r| {
            let q = r.inside_icmp();
            quoted += u64::from(q);
            !q
        })
        .filter_map(|r| Some((r, conn(r)?)))
        .collect();
    s.exclude(
        "quoted",
        "message inside an ICMP error's quoted packet",
        quoted,
    );
    http(&rows, fs, s);
    dns(&rows, fs, s);
    tls(&rows, fs, s);
}

fn l(v: Option<&str>) -> Option<String> {
    v.map(lossy)
}

fn http(rows: &[(&TsharkRow, ConnKey)], fs: &FsLog, s: &mut Scope) {
    let mut req = Vec::new();
    let mut resp = Vec::new();
    for (r, k) in rows {
        let http = r.get("http.request.method").is_some() || r.get("http.response.code").is_some();
        if http && r.transport() == Some(proto::UDP) {
            s.exclude(
                "http.record",
                "HTTP over UDP (SSDP, UPnP): flowsight parses HTTP over TCP",
                1,
            );
            continue;
        }
        if let Some(m) = r.get("http.request.method") {
            if m.contains(',') {
                s.exclude(
                    "http.request.record",
                    "several HTTP messages in one frame",
                    1,
                );
            } else {
                req.push((*k, *r));
            }
        }
        if let Some(c) = r.get("http.response.code") {
            // A 1xx other than 101 is an interim response; flowsight's record holds the final
            // one (tshark has a row for each).
            if c.starts_with('1') && c != "101" && !c.contains(',') {
                s.exclude("http.response.record", "interim 1xx response", 1);
            } else if c.contains(',') {
                s.exclude(
                    "http.response.record",
                    "several HTTP messages in one frame",
                    1,
                );
            } else {
                resp.push((*k, *r));
            }
        }
    }
    let (pairs, extra) = pair_in_order(
        &req,
        &fs.http,
        |r| Some(r.conn.key()),
        |h: &FsHttp| h.method.is_some(),
    );
    s.extra("http.request.record", extra);
    for p in pairs {
        let (k, t) = (&p.key, *p.reference);
        s.present(k, "http.request.record", p.flowsight.is_some());
        let Some(f) = p.flowsight else { continue };
        s.check(
            k,
            "http.request.method",
            l(t.get("http.request.method")).as_deref(),
            l(f.method.as_deref()).as_deref(),
        );
        let host = t.get("http.host").map(host_without_port);
        s.check(
            k,
            "http.host",
            l(host).as_deref(),
            l(f.host.as_deref()).as_deref(),
        );
        s.check(
            k,
            "http.request.uri",
            l(t.get("http.request.uri")).as_deref(),
            l(f.uri.as_deref()).as_deref(),
        );
        s.check(
            k,
            "http.user_agent",
            l(t.get("http.user_agent")).as_deref(),
            l(f.user_agent.as_deref()).as_deref(),
        );
    }
    let (pairs, extra) = pair_in_order(
        &resp,
        &fs.http,
        |r| Some(r.conn.key()),
        |h: &FsHttp| h.status_code.is_some(),
    );
    s.extra("http.response.record", extra);
    for p in pairs {
        let (k, t) = (&p.key, *p.reference);
        s.present(k, "http.response.record", p.flowsight.is_some());
        let Some(f) = p.flowsight else { continue };
        s.check(
            k,
            "http.response.code",
            t.get("http.response.code"),
            f.status_code.map(|c| c.to_string()).as_deref(),
        );
        s.check(
            k,
            "http.server",
            l(t.get("http.server")).as_deref(),
            l(f.server.as_deref()).as_deref(),
        );
        let ct = t
            .get("http.content_type")
            .map(mime_type)
            .filter(|m| !m.is_empty());
        s.check(
            k,
            "http.content_type",
            ct.as_deref(),
            f.mime_type
                .as_deref()
                .map(str::to_ascii_lowercase)
                .as_deref(),
        );
    }
}

/// A DNS transaction rebuilt from tshark's message rows.
#[derive(Default)]
struct Txn<'a> {
    query: Option<&'a TsharkRow>,
    response: Option<&'a TsharkRow>,
}

fn dns_id(r: &TsharkRow) -> Option<u64> {
    let v = r.get("dns.id")?;
    u64::from_str_radix(v.trim_start_matches("0x"), 16).ok()
}

fn first<'a>(r: &'a TsharkRow, col: &str) -> Option<&'a str> {
    r.get(col).and_then(|v| v.split(',').next())
}

fn dns(rows: &[(&TsharkRow, ConnKey)], fs: &FsLog, s: &mut Scope) {
    let mut txns: Vec<(DnsKey, Txn)> = Vec::new();
    for (r, k) in rows {
        let Some(idv) = r.get("dns.id") else { continue };
        if idv.contains(',') {
            s.exclude("dns.record", "several DNS messages in one frame", 1);
            continue;
        }
        let Some(id) = dns_id(r) else { continue };
        let key = DnsKey(*k, id);
        let open = txns
            .iter_mut()
            .rev()
            .find(|(tk, t)| *tk == key && t.response.is_none());
        if r.get("dns.flags.response") == Some("1") {
            match open {
                Some((_, t)) => t.response = Some(r),
                None => txns.push((
                    key,
                    Txn {
                        query: None,
                        response: Some(r),
                    },
                )),
            }
        } else {
            let retransmit = open.is_some_and(|(_, t)| {
                t.query
                    .is_some_and(|q| q.get("dns.qry.name") == r.get("dns.qry.name"))
            });
            if retransmit {
                s.exclude("dns.record", "query retransmitted before its response", 1);
            } else {
                txns.push((
                    key,
                    Txn {
                        query: Some(r),
                        response: None,
                    },
                ));
            }
        }
    }
    // Answered transactions pair with flowsight's answered records, unanswered with
    // unanswered: a query sent twice makes flowsight write an unanswered record for one copy,
    // which must not shift the pairing of the answer (it counts as extra).
    let (answered, open): (Vec<_>, Vec<_>) =
        txns.into_iter().partition(|(_, t)| t.response.is_some());
    let key = |r: &crate::fslog::Rec<FsDns>| Some(DnsKey(r.conn.key(), r.body.id?));
    let (mut pairs, extra) = pair_in_order(&answered, &fs.dns, key, |d: &FsDns| d.answered);
    let (more, extra2) = pair_in_order(&open, &fs.dns, key, |d: &FsDns| !d.answered);
    pairs.extend(more);
    s.extra("dns.record", extra + extra2);
    for p in pairs {
        let (k, t) = (&p.key, p.reference);
        s.present(k, "dns.record", p.flowsight.is_some());
        let Some(f) = p.flowsight else { continue };
        let Some(msg) = t.query.or(t.response) else {
            continue;
        };
        // tshark writes the root name as `<Root>`; flowsight as an empty name (or `.`).
        let lower = |v: Option<&str>| {
            v.map(|x| match x {
                "<Root>" | "<root>" | "." => String::new(),
                x => lossy(x).to_lowercase(),
            })
        };
        s.check(
            k,
            "dns.qry.name",
            lower(first(msg, "dns.qry.name")).as_deref(),
            lower(f.qname.as_deref()).as_deref(),
        );
        let qtype = first(msg, "dns.qry.type")
            .and_then(|n| n.parse().ok())
            .map(dns_names::qtype);
        s.check(k, "dns.qry.type", qtype.as_deref(), f.qtype.as_deref());
        let Some(resp) = t.response else { continue };
        let rcode = resp
            .get("dns.flags.rcode")
            .and_then(|n| n.parse().ok())
            .map(dns_names::rcode);
        s.check(k, "dns.flags.rcode", rcode.as_deref(), f.rcode.as_deref());
        let ts: BTreeSet<String> = ["dns.a", "dns.aaaa", "dns.cname"]
            .iter()
            .flat_map(|c| resp.values(c))
            .map(norm_answer)
            .collect();
        let got: BTreeSet<String> = f
            .answers
            .iter()
            .filter(|a| matches!(a.kind.as_str(), "A" | "AAAA" | "CNAME"))
            .map(|a| norm_answer(&a.data))
            .collect();
        if ts.is_empty() && got.is_empty() {
            continue;
        }
        if got.is_empty() {
            // A referral or NODATA answer has an empty answer section and addresses in the
            // other sections, which tshark's columns mix in: nothing to compare.
            s.exclude(
                "dns.a/aaaa/cname",
                "no answer records; tshark's columns hold other sections",
                1,
            );
            continue;
        }
        let agreed = got.is_subset(&ts);
        let show = |v: &BTreeSet<String>| v.iter().cloned().collect::<Vec<_>>().join(",");
        s.count(k, "dns.a/aaaa/cname", agreed, &show(&ts), &show(&got));
    }
}

/// An answer value in one form: addresses canonical, names lower-case without a final dot.
fn norm_answer(v: &str) -> String {
    match v.parse::<IpAddr>() {
        Ok(ip) => ip.to_string(),
        Err(_) => lossy(v).trim_end_matches('.').to_lowercase(),
    }
}

/// flowsight's `tls.version` for a version number as tshark writes it (`0x0303`).
fn tls_version(hex: &str) -> String {
    match hex {
        "0x0300" => "3.0",
        "0x0301" => "1.0",
        "0x0302" => "1.1",
        "0x0303" => "1.2",
        "0x0304" => "1.3",
        other => other,
    }
    .to_string()
}

fn tls(rows: &[(&TsharkRow, ConnKey)], fs: &FsLog, s: &mut Scope) {
    let mut ch = Vec::new();
    let mut sh = Vec::new();
    for (r, k) in rows {
        let types = r.values("tls.handshake.type");
        let (c, h) = (types.contains(&"1"), types.contains(&"2"));
        if !(c || h) {
            continue;
        }
        if c {
            ch.push((*k, *r));
        }
        if h {
            sh.push((*k, *r));
        }
    }
    let (pairs, extra) = pair_in_order(
        &ch,
        &fs.tls,
        |r| Some(r.conn.key()),
        FsTls::has_client_hello,
    );
    s.extra("tls.client.record", extra);
    for p in pairs {
        let (k, t) = (&p.key, *p.reference);
        s.present(k, "tls.client.record", p.flowsight.is_some());
        let Some(f) = p.flowsight else { continue };
        s.check(
            k,
            "tls.client.sni",
            l(t.get("tls.handshake.extensions_server_name")).as_deref(),
            l(f.server_name.as_deref()).as_deref(),
        );
        let alpn = (!f.alpn.is_empty()).then(|| f.alpn.join(","));
        s.check(
            k,
            "tls.client.alpn",
            l(t.get("tls.handshake.extensions_alpn_str")).as_deref(),
            l(alpn.as_deref()).as_deref(),
        );
        s.check(
            k,
            "tls.client.ja3",
            t.get("tls.handshake.ja3"),
            f.ja3.as_deref(),
        );
        s.check(
            k,
            "tls.client.ja3_full",
            t.get("tls.handshake.ja3_full"),
            f.ja3_string.as_deref(),
        );
    }
    let (pairs, extra) = pair_in_order(
        &sh,
        &fs.tls,
        |r| Some(r.conn.key()),
        FsTls::has_server_hello,
    );
    s.extra("tls.server.record", extra);
    for p in pairs {
        let (k, t) = (&p.key, *p.reference);
        s.present(k, "tls.server.record", p.flowsight.is_some());
        let Some(f) = p.flowsight else { continue };
        let v = t
            .last("tls.handshake.extensions.supported_version")
            .or_else(|| t.last("tls.handshake.version"))
            .map(tls_version);
        s.check(k, "tls.server.version", v.as_deref(), f.version.as_deref());
        s.check(
            k,
            "tls.server.ja3s",
            t.get("tls.handshake.ja3s"),
            f.ja3s.as_deref(),
        );
        s.check(
            k,
            "tls.server.alpn",
            l(t.get("tls.handshake.extensions_alpn_str")).as_deref(),
            l(f.next_protocol.as_deref()).as_deref(),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reference::tshark::parse;
    use crate::reference::tshark::tests::{HEADER, line};
    use crate::score::Scoreboard;

    fn run(rows: &[&[(&str, &str)]], fs: &str) -> Scoreboard {
        let mut text = format!("{HEADER}\n");
        for r in rows {
            text.push_str(&line(r));
            text.push('\n');
        }
        let (rows, _) = parse(&text);
        let mut b = Scoreboard::default();
        compare(&rows, &FsLog::parse(fs), &mut b.scope("tshark", "x.pcap"));
        b
    }

    fn stat(b: &Scoreboard, f: &str) -> (u64, u64, u64) {
        b.fields
            .get(&("tshark".into(), f.into()))
            .map_or((0, 0, 0), |s| (s.compared, s.agreed, s.excluded))
    }

    const C: &[(&str, &str)] = &[
        ("ip.src", "10.0.0.1"),
        ("ip.dst", "10.0.0.2"),
        ("ip.proto", "6"),
        ("tcp.srcport", "4000"),
        ("tcp.dstport", "80"),
    ];
    const S: &[(&str, &str)] = &[
        ("ip.src", "10.0.0.2"),
        ("ip.dst", "10.0.0.1"),
        ("ip.proto", "6"),
        ("tcp.srcport", "80"),
        ("tcp.dstport", "4000"),
    ];

    fn with(
        base: &[(&'static str, &'static str)],
        more: &[(&'static str, &'static str)],
    ) -> Vec<(&'static str, &'static str)> {
        base.iter().chain(more).copied().collect()
    }

    #[test]
    fn http_requests_and_responses() {
        let req = with(
            C,
            &[
                ("http.request.method", "GET"),
                ("http.host", "ex.com:80"),
                ("http.request.uri", "/a"),
                ("http.user_agent", "Mozilla/5.0 (KHTML, like Gecko)"),
            ],
        );
        let resp = with(
            S,
            &[
                ("http.response.code", "200"),
                ("http.server", "nginx"),
                ("http.content_type", "text/html; charset=UTF-8"),
            ],
        );
        let multi = with(
            C,
            &[
                ("http.request.method", "GET,GET"),
                ("http.request.uri", "/b,/c"),
            ],
        );
        let fs = r#"{"type":"http","source":{"ip":"10.0.0.1","port":4000},"destination":{"ip":"10.0.0.2","port":80},"http":{"request":{"method":"GET"},"response":{"status_code":200,"server":"nginx","mime_type":"text/html"}},"url":{"domain":"ex.com","original":"/a"},"user_agent":{"original":"Mozilla/5.0 (KHTML, like Gecko)"}}"#;
        let b = run(&[&req, &resp, &multi], fs);
        assert_eq!(stat(&b, "http.request.record"), (1, 1, 1));
        assert_eq!(stat(&b, "http.host"), (1, 1, 0));
        assert_eq!(stat(&b, "http.user_agent"), (1, 1, 0));
        assert_eq!(stat(&b, "http.response.record"), (1, 1, 0));
        assert_eq!(stat(&b, "http.content_type"), (1, 1, 0));
        assert_eq!(stat(&b, "http.server"), (1, 1, 0));
    }

    #[test]
    fn dns_transactions_from_messages() {
        let q = |id: &'static str| {
            vec![
                ("ip.src", "10.0.0.1"),
                ("ip.dst", "8.8.8.8"),
                ("ip.proto", "17"),
                ("udp.srcport", "5000"),
                ("udp.dstport", "53"),
                ("dns.id", id),
                ("dns.flags.response", "0"),
                ("dns.qry.name", "WWW.example.com"),
                ("dns.qry.type", "1"),
            ]
        };
        let r = vec![
            ("ip.src", "8.8.8.8"),
            ("ip.dst", "10.0.0.1"),
            ("ip.proto", "17"),
            ("udp.srcport", "53"),
            ("udp.dstport", "5000"),
            ("dns.id", "0x0010"),
            ("dns.flags.response", "1"),
            ("dns.qry.name", "www.example.com"),
            ("dns.qry.type", "1"),
            ("dns.flags.rcode", "0"),
            ("dns.a", "1.2.3.4,5.6.7.8"),
            ("dns.cname", "a.example.com"),
        ];
        let fs = r#"{"type":"dns","source":{"ip":"10.0.0.1","port":5000},"destination":{"ip":"8.8.8.8","port":53},"dns":{"id":16,"type":"answer","header_flags":[],"response_code":"NOERROR","question":{"name":"www.example.com","type":"A","class":"IN"},"answers":[{"type":"CNAME","ttl":1,"data":"a.example.com"},{"type":"A","ttl":1,"data":"1.2.3.4"}]}}
{"type":"dns","source":{"ip":"10.0.0.1","port":5000},"destination":{"ip":"8.8.8.8","port":53},"dns":{"id":17,"type":"query","header_flags":[],"question":{"name":"www.example.com","type":"AAAA","class":"IN"}}}"#;
        let b = run(&[&q("0x0010"), &q("0x0010"), &r, &q("0x0011")], fs);
        assert_eq!(
            stat(&b, "dns.record"),
            (2, 2, 1),
            "the repeated query is one transaction"
        );
        assert_eq!(stat(&b, "dns.qry.name"), (2, 2, 0));
        assert_eq!(stat(&b, "dns.qry.type"), (2, 1, 0));
        assert_eq!(stat(&b, "dns.flags.rcode"), (1, 1, 0));
        assert_eq!(
            stat(&b, "dns.a/aaaa/cname"),
            (1, 1, 0),
            "a subset of tshark's (additional section)"
        );
    }

    #[test]
    fn tls_hellos() {
        let ch = vec![
            ("ip.src", "10.0.0.1"),
            ("ip.dst", "10.0.0.2"),
            ("ip.proto", "6"),
            ("tcp.srcport", "4000"),
            ("tcp.dstport", "443"),
            ("tls.handshake.type", "1"),
            ("tls.handshake.version", "0x0303"),
            ("tls.handshake.extensions_server_name", "ex.com"),
            ("tls.handshake.extensions_alpn_str", "h2,http/1.1"),
            ("tls.handshake.ja3", "aa"),
            ("tls.handshake.ja3_full", "771,1-2"),
        ];
        let sh = vec![
            ("ip.src", "10.0.0.2"),
            ("ip.dst", "10.0.0.1"),
            ("ip.proto", "6"),
            ("tcp.srcport", "443"),
            ("tcp.dstport", "4000"),
            ("tls.handshake.type", "2,11,14"),
            ("tls.handshake.version", "0x0303"),
            ("tls.handshake.extensions.supported_version", "0x0304"),
            ("tls.handshake.extensions_alpn_str", "h2"),
            ("tls.handshake.ja3s", "bb"),
        ];
        // A QUIC ClientHello: a UDP row, paired with the tls record of the QUIC flow.
        let quic = vec![
            ("ip.src", "10.0.0.1"),
            ("ip.dst", "10.0.0.2"),
            ("ip.proto", "17"),
            ("udp.srcport", "4001"),
            ("udp.dstport", "443"),
            ("tls.handshake.type", "1"),
            ("tls.handshake.extensions_server_name", "q.example"),
        ];
        let fs = r#"{"type":"tls","source":{"ip":"10.0.0.1","port":4000},"destination":{"ip":"10.0.0.2","port":443},"tls":{"version":"1.3","next_protocol":"h2","client":{"server_name":"ex.com","alpn":["h2","http/1.1"],"ja3":"aa","ja3_string":"771,1-2","ja4":"t"},"server":{"ja3s":"bb","ja3s_string":"x"}}}
{"type":"tls","network":{"transport":"udp","protocol":"quic"},"source":{"ip":"10.0.0.1","port":4001},"destination":{"ip":"10.0.0.2","port":443},"tls":{"version":"1.3","client":{"server_name":"q.example","ja3":"cc","ja3_string":"771,1","ja4":"q"}}}"#;
        let b = run(&[&ch, &sh], fs);
        for f in [
            "tls.client.record",
            "tls.client.sni",
            "tls.client.alpn",
            "tls.client.ja3",
            "tls.client.ja3_full",
            "tls.server.record",
            "tls.server.version",
            "tls.server.ja3s",
            "tls.server.alpn",
        ] {
            let (c, a, _) = stat(&b, f);
            assert_eq!((c, a), (1, 1), "{f}");
        }
        let b = run(&[&quic], fs);
        assert_eq!(stat(&b, "tls.client.record").0, 1, "QUIC compared");
        assert_eq!(stat(&b, "tls.client.sni"), (1, 1, 0));
    }
}

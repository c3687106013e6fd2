//! Zeek http.log, dns.log and ssl.log against flowsight's http, dns and tls records.
//!
//! Records are keyed by Zeek's `id.orig_h id.orig_p id.resp_h id.resp_p` (unordered) plus
//! order within the connection; dns.log also by `trans_id`, since one UDP flow carries many
//! transactions whose order of completion need not be their order of start. Text values are
//! compared in the exact normal form ([`crate::text::exact`]): Zeek writes bytes that are not
//! printable as `\xNN`, so both sides are unescaped and re-escaped the same way.
//! Field names in the report are `<log>.<Zeek column>`.

use super::pair_in_order;
use crate::fslog::{FsDns, FsHttp, FsLog, FsTls};
use crate::key::{ConnKey, Endpoint};
use crate::reference::zeek::{ZeekLog, ZeekRow};
use crate::score::Scope;
use crate::text::{exact, host_without_port, percent_decoded};

fn conn(row: &ZeekRow) -> Option<ConnKey> {
    let ep = |h: &str, p: &str| {
        Some(Endpoint::new(
            Endpoint::parse_ip(row.get(h)?)?,
            row.get(p)?.parse().ok()?,
        ))
    };
    Some(ConnKey::new(
        ep("id.orig_h", "id.orig_p")?,
        ep("id.resp_h", "id.resp_p")?,
    ))
}

fn ex(v: Option<&str>) -> Option<String> {
    v.map(exact)
}

/// Compares one selected baseline log (`http`, `dns` or `ssl` by `#path`).
pub fn compare(log: &ZeekLog, fs: &FsLog, scope: &mut Scope) {
    match log.path.as_str() {
        "http" => http(log, fs, scope),
        "dns" => dns(log, fs, scope),
        "ssl" => ssl(log, fs, scope),
        _ => {}
    }
}

/// http.log: every column named in the brief, mapped to the schema field in the comment.
fn http(log: &ZeekLog, fs: &FsLog, s: &mut Scope) {
    let refs: Vec<(ConnKey, &ZeekRow)> = log
        .rows
        .iter()
        .filter_map(|r| Some((conn(r)?, r)))
        .collect();
    let (pairs, extra) = pair_in_order(&refs, &fs.http, |r| Some(r.conn.key()), |_: &FsHttp| true);
    s.extra("http.record", extra);
    for p in pairs {
        let (k, z) = (&p.key, *p.reference);
        s.present(k, "http.record", p.flowsight.is_some());
        let Some(f) = p.flowsight else { continue };
        for (field, col, fv) in [
            ("http.method", "method", &f.method), // http.request.method
            ("http.referrer", "referrer", &f.referrer), // http.request.referrer
            ("http.user_agent", "user_agent", &f.user_agent), // user_agent.original
        ] {
            s.check(
                k,
                field,
                ex(z.get(col)).as_deref(),
                ex(fv.as_deref()).as_deref(),
            );
        }
        // Zeek logs the Host header as sent, port included; url.domain has no port.
        let host = z.get("host").map(|h| exact(host_without_port(h)));
        s.check(
            k,
            "http.host",
            host.as_deref(),
            ex(f.host.as_deref()).as_deref(),
        );
        // Zeek logs the URI percent-decoded; url.original is the target as sent.
        let uri = |v: Option<&str>| v.map(percent_decoded);
        s.check(
            k,
            "http.uri",
            uri(z.get("uri")).as_deref(),
            uri(f.uri.as_deref()).as_deref(),
        );
        // Zeek's `version` is the response's once a response was seen, flowsight's
        // http.version the request's: gated only for transactions without a response, the
        // rest reported outside the gate as `http.version(reply)`.
        let version_field = if z.get("status_code").is_some() {
            "http.version(reply)"
        } else {
            "http.version"
        };
        s.check(
            k,
            version_field,
            ex(z.get("version")).as_deref(),
            ex(f.version.as_deref()).as_deref(),
        );
        // Body lengths: Zeek writes 0 when there was no body; flowsight may leave the field
        // out, which means the same.
        let len = |v: Option<u64>| Some(v.unwrap_or(0).to_string());
        s.check_if_reference(
            k,
            "http.request_body_len",
            z.get("request_body_len"),
            len(f.request_body).as_deref(),
        );
        s.check_if_reference(
            k,
            "http.response_body_len",
            z.get("response_body_len"),
            len(f.response_body).as_deref(),
        );
        // An HTTP/0.9 reply has no status line; Zeek writes status 0 and `<empty>` for it.
        if z.get("status_code") == Some("0") {
            s.exclude(
                "http.status_code",
                "HTTP/0.9 reply (Zeek writes status 0)",
                1,
            );
        } else {
            s.check(
                k,
                "http.status_code",
                z.get("status_code"),
                f.status_code.map(|c| c.to_string()).as_deref(),
            );
            s.check(
                k,
                "http.status_msg",
                ex(z.get("status_msg")).as_deref(),
                ex(f.status_msg.as_deref()).as_deref(),
            );
        }
        // Zeek's MIME types come from sniffing the body, flowsight's from Content-Type: the
        // field is reported outside the gate (score::INFORMATIONAL).
        let first = z.list("resp_mime_types").first().map(|m| exact(m));
        s.check(
            k,
            "http.resp_mime_types",
            first.as_deref(),
            f.mime_type.as_deref(),
        );
    }
}

/// Zeek's class names for flowsight's (`IN`, `CH`, ...).
pub fn zeek_class(fs_class: &str) -> String {
    match fs_class {
        "IN" => "C_INTERNET",
        "CS" => "C_CSNET",
        "CH" => "C_CHAOS",
        "HS" => "C_HESIOD",
        "NONE" => "C_NONE",
        "ANY" | "*" => "C_ANY",
        other => other,
    }
    .to_string()
}

/// Answer renderings Zeek writes in its own summary form, which flowsight does not imitate:
/// DNSSEC records (`DNSKEY 5`, `RRSIG 48 upenn.edu`, `DS 5 1`, `NSEC3PARAM`), `SSHFP: ..`,
/// `LOC: ..` and BIND's private signing records. Such answers are dropped on both sides
/// (with their TTLs) and counted as excluded under `zeek-specific answer rendering`. So are
/// flowsight's `<unknown type=N>` answers: Zeek logs no answer of a type it cannot decode.
const ZEEK_ONLY_PREFIXES: &[&str] = &[
    "DNSKEY",
    "RRSIG",
    "DS ",
    "NSEC",
    "SSHFP:",
    "LOC:",
    "BIND9 signing signal",
];
const ZEEK_ONLY_TYPES: &[&str] = &[
    "DNSKEY",
    "RRSIG",
    "DS",
    "NSEC",
    "NSEC3",
    "NSEC3PARAM",
    "SSHFP",
    "LOC",
    "query-65534",
];

/// flowsight's answer as Zeek renders it: the data, MX without its preference (the schema
/// shows `10 mx.example.com`; Zeek logs only the exchange).
fn fs_answer(kind: &str, data: &str) -> String {
    let data = if kind == "MX" {
        match data.split_once(' ') {
            Some((pref, name)) if pref.bytes().all(|b| b.is_ascii_digit()) => name,
            _ => data,
        }
    } else {
        data
    };
    exact(data)
}

/// Answers in one case: names are case-insensitive (Zeek lower-cases them, flowsight keeps
/// the case sent); TXT and SPF strings keep theirs.
fn answer_case(a: String) -> String {
    if a.starts_with("TXT ") || a.starts_with("SPF ") {
        a
    } else {
        a.to_lowercase()
    }
}

fn sorted(mut v: Vec<String>) -> String {
    v.sort();
    v.join(",")
}

/// dns.log. Zeek's query is lower-case (flowsight's too); answers and TTLs are compared as
/// multisets (sorted lists), since the order of a record set carries no meaning.
fn dns(log: &ZeekLog, fs: &FsLog, s: &mut Scope) {
    let refs: Vec<((ConnKey, u64), &ZeekRow)> = log
        .rows
        .iter()
        .filter_map(|r| Some(((conn(r)?, r.get("trans_id")?.parse().ok()?), r)))
        .collect();
    let refs: Vec<(DnsKey, &ZeekRow)> = refs
        .into_iter()
        .map(|(k, r)| (DnsKey(k.0, k.1), r))
        .collect();
    // Rows with a reply pair with flowsight's answered records, the rest with unanswered
    // ones: a query sent twice must not shift which record the answer is compared with.
    let (answered, open): (Vec<_>, Vec<_>) = refs
        .into_iter()
        .partition(|(_, z)| z.get("rcode_name").is_some());
    let key = |r: &crate::fslog::Rec<FsDns>| Some(DnsKey(r.conn.key(), r.body.id?));
    let (mut pairs, extra) = pair_in_order(&answered, &fs.dns, key, |d: &FsDns| d.answered);
    let (more, extra2) = pair_in_order(&open, &fs.dns, key, |d: &FsDns| !d.answered);
    pairs.extend(more);
    s.extra("dns.record", extra + extra2);
    for p in pairs {
        let (k, z) = (&p.key, *p.reference);
        s.present(k, "dns.record", p.flowsight.is_some());
        let Some(f) = p.flowsight else { continue };
        // A dynamic update's "question" is the zone, and Zeek logs the updated name and the
        // update records in its own form (`add: A name addr`): not comparable.
        if z.get("opcode_name") == Some("dynamic-update") {
            s.exclude(
                "dns.query",
                "DNS UPDATE (Zeek logs the updated records its own way)",
                1,
            );
            continue;
        }
        let lower = |v: Option<&str>| v.map(|x| exact(x).to_lowercase());
        s.check(
            k,
            "dns.query",
            lower(z.get("query")).as_deref(),
            lower(f.qname.as_deref()).as_deref(),
        );
        // Zeek fills qtype, qclass and RD from the query only: for a response whose query it
        // did not see they are unset (RD false), where flowsight reads the response's
        // question and header. Compared only when Zeek saw the query.
        let saw_query = z.get("qtype_name").is_some();
        if saw_query {
            s.check(
                k,
                "dns.qclass_name",
                z.get("qclass_name"),
                f.qclass.as_deref().map(zeek_class).as_deref(),
            );
            s.check(k, "dns.qtype_name", z.get("qtype_name"), f.qtype.as_deref());
        } else {
            s.exclude(
                "dns.qtype_name",
                "response without the query in Zeek (qtype, qclass, RD unset)",
                1,
            );
        }
        // Zeek spells one rcode `NXRRSet`: compared without case.
        let upper = |v: Option<&str>| v.map(str::to_ascii_uppercase);
        s.check(
            k,
            "dns.rcode_name",
            upper(z.get("rcode_name")).as_deref(),
            upper(f.rcode.as_deref()).as_deref(),
        );
        // Zeek sets AA and RA from a reply's answer records only: for a reply without
        // answers (NXDOMAIN, NODATA) they stay F whatever the header says (tshark shows the
        // bits set). Such an F is not compared.
        let no_answers = z.get("answers").is_none();
        for flag in ["AA", "TC", "RD", "RA"] {
            if flag == "RD" && !saw_query {
                continue;
            }
            if matches!(flag, "AA" | "RA") && no_answers && z.get(flag) == Some("F") {
                s.exclude(
                    &format!("dns.{flag}"),
                    "Zeek leaves AA/RA F for a reply without answers",
                    1,
                );
                continue;
            }
            let fv = if f.flags.iter().any(|x| x == flag) {
                "T"
            } else {
                "F"
            };
            s.check_if_reference(k, &format!("dns.{flag}"), z.get(flag), Some(fv));
        }
        // Answers with their TTLs, Zeek-only renderings dropped on both sides.
        let ttls = z.list("TTLs");
        let mut dropped = 0;
        let (mut za, mut zt) = (Vec::new(), Vec::new());
        for (i, a) in z.list("answers").into_iter().enumerate() {
            if ZEEK_ONLY_PREFIXES.iter().any(|p| a.starts_with(p)) {
                dropped += 1;
                continue;
            }
            za.push(answer_case(exact(a)));
            if let Some(t) = ttls.get(i).and_then(|t| t.parse::<f64>().ok()) {
                zt.push(format!("{}", t.round() as u64));
            }
        }
        let (mut fa, mut ft) = (Vec::new(), Vec::new());
        for a in &f.answers {
            if ZEEK_ONLY_TYPES.contains(&a.kind.as_str()) || a.data.starts_with("<unknown type=") {
                dropped += 1;
                continue;
            }
            fa.push(answer_case(fs_answer(&a.kind, &a.data)));
            if let Some(t) = a.ttl {
                ft.push(t.to_string());
            }
        }
        s.exclude(
            "dns.answers",
            "zeek-specific answer rendering (DNSSEC, SSHFP, LOC, unknown types)",
            dropped,
        );
        let some = |v: Vec<String>| (!v.is_empty()).then(|| sorted(v));
        s.check(k, "dns.answers", some(za).as_deref(), some(fa).as_deref());
        s.check(k, "dns.TTLs", some(zt).as_deref(), some(ft).as_deref());
    }
}

/// A DNS transaction key: connection and message id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DnsKey(pub ConnKey, pub u64);

impl std::fmt::Display for DnsKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} id {}", self.0, self.1)
    }
}

/// Zeek's version string for flowsight's `tls.version_protocol` and `tls.version`.
pub fn zeek_version(protocol: Option<&str>, version: &str) -> String {
    // flowsight writes a version without a name as its number (`0x7f17`); Zeek names TLS 1.3
    // drafts `TLSv13-draftNN` and anything else `unknown-<decimal>`.
    if let Some(hex) = version.strip_prefix("0x")
        && let Ok(n) = u16::from_str_radix(hex, 16)
    {
        return match n >> 8 {
            0x7f => format!("TLSv13-draft{}", n & 0xff),
            _ => format!("unknown-{n}"),
        };
    }
    let digits: String = version.chars().filter(char::is_ascii_digit).collect();
    match (protocol.unwrap_or("tls"), version) {
        ("ssl", v) => format!("SSLv{}", v.split('.').next().unwrap_or(v)),
        ("dtls", _) => format!("DTLSv{digits}"),
        (_, _) => format!("TLSv{digits}"),
    }
}

/// ssl.log. `version` is compared only where Zeek has one: Zeek leaves it unset without a
/// ServerHello, where flowsight by definition logs the client's highest offer. `established`
/// is not compared: flowsight does not log whether the handshake finished.
fn ssl(log: &ZeekLog, fs: &FsLog, s: &mut Scope) {
    let refs: Vec<(ConnKey, &ZeekRow)> = log
        .rows
        .iter()
        .filter_map(|r| Some((conn(r)?, r)))
        .collect();
    let (pairs, extra) = pair_in_order(&refs, &fs.tls, |r| Some(r.conn.key()), |_: &FsTls| true);
    s.extra("ssl.record", extra);
    for p in pairs {
        let (k, z) = (&p.key, *p.reference);
        s.present(k, "ssl.record", p.flowsight.is_some());
        let Some(f) = p.flowsight else { continue };
        let v = f
            .version
            .as_deref()
            .map(|v| zeek_version(f.version_protocol.as_deref(), v));
        s.check_if_reference(k, "ssl.version", z.get("version"), v.as_deref());
        s.check(k, "ssl.cipher", z.get("cipher"), f.cipher.as_deref());
        s.check(
            k,
            "ssl.server_name",
            ex(z.get("server_name")).as_deref(),
            ex(f.server_name.as_deref()).as_deref(),
        );
        s.check(
            k,
            "ssl.next_protocol",
            ex(z.get("next_protocol")).as_deref(),
            ex(f.next_protocol.as_deref()).as_deref(),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reference::zeek::parse_log;
    use crate::score::Scoreboard;

    fn log(path: &str, fields: &str, rows: &[&str]) -> ZeekLog {
        let mut t = format!(
            "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\t{path}\n#fields\t{fields}\n"
        );
        for r in rows {
            t.push_str(r);
            t.push('\n');
        }
        parse_log(&t)
    }

    fn run(z: &ZeekLog, fs: &str) -> Scoreboard {
        let mut b = Scoreboard::default();
        compare(z, &FsLog::parse(fs), &mut b.scope("zeek", "t.pcap"));
        b
    }

    fn stat(b: &Scoreboard, f: &str) -> (u64, u64) {
        b.fields
            .get(&("zeek".into(), f.into()))
            .map_or((0, 0), |s| (s.compared, s.agreed))
    }

    const HTTP_FIELDS: &str = "id.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\ttrans_depth\tmethod\thost\turi\treferrer\tversion\tuser_agent\trequest_body_len\tresponse_body_len\tstatus_code\tstatus_msg\tresp_mime_types";

    #[test]
    fn http_fields_and_order() {
        let z = log(
            "http",
            HTTP_FIELDS,
            &[
                "10.0.0.1\t1234\t10.0.0.2\t80\t1\tGET\tex.com\t/a\\xfc\t-\t1.1\tcurl\t0\t10\t200\tOK\ttext/plain",
                "10.0.0.1\t1234\t10.0.0.2\t80\t2\tGET\tex.com\t/b\t-\t1.1\tcurl\t0\t0\t404\tNot Found\t-",
                "10.0.0.1\t1235\t10.0.0.2\t80\t1\tGET\tex.com\t/c\t-\t1.1\tcurl\t0\t0\t200\tOK\t-",
            ],
        );
        let fs = r#"
{"type":"http","@timestamp":"2024-01-01T00:00:02Z","source":{"ip":"10.0.0.1","port":1234},"destination":{"ip":"10.0.0.2","port":80},"http":{"version":"1.1","request":{"method":"GET"},"response":{"status_code":404,"status_message":"Not Found"}},"url":{"domain":"ex.com","original":"/b"},"user_agent":{"original":"curl"}}
{"type":"http","@timestamp":"2024-01-01T00:00:01Z","source":{"ip":"10.0.0.1","port":1234},"destination":{"ip":"10.0.0.2","port":80},"http":{"version":"1.1","request":{"method":"GET"},"response":{"status_code":200,"status_message":"OK","mime_type":"text/html","body":{"bytes":10}}},"url":{"domain":"ex.com","original":"/a\u00fc"},"user_agent":{"original":"curl"}}
{"type":"http","@timestamp":"2024-01-01T00:00:03Z","source":{"ip":"10.0.0.9","port":1},"destination":{"ip":"10.0.0.2","port":80},"http":{"request":{"method":"GET"}}}
"#;
        let b = run(&z, fs);
        assert_eq!(stat(&b, "http.record"), (3, 2));
        assert_eq!(b.fields[&("zeek".into(), "http.record".into())].extra, 1);
        assert_eq!(stat(&b, "http.method"), (2, 2));
        assert_eq!(stat(&b, "http.referrer"), (0, 0));
        // Zeek's \xfc is the byte 0xfc; flowsight's ü is two bytes: a real difference.
        assert_eq!(stat(&b, "http.uri"), (2, 1));
        assert_eq!(stat(&b, "http.response_body_len"), (2, 2));
        assert_eq!(stat(&b, "http.status_code"), (2, 2));
        assert_eq!(stat(&b, "http.resp_mime_types"), (1, 0));
    }

    const DNS_FIELDS: &str = "id.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\ttrans_id\tquery\tqclass_name\tqtype_name\trcode_name\tAA\tTC\tRD\tRA\tanswers\tTTLs";

    #[test]
    fn dns_fields_answers_and_flags() {
        let z = log(
            "dns",
            DNS_FIELDS,
            &[
                "10.0.0.1\t5000\t10.0.0.53\t53\tudp\t7\twww.example.com\tC_INTERNET\tA\tNOERROR\tF\tF\tT\tT\tcname.example.com,1.2.3.4,RRSIG 1 example.com\t60.000000,300.000000,300.000000",
                "10.0.0.1\t5000\t10.0.0.53\t53\tudp\t8\tmx.example.com\tC_INTERNET\tMX\tNXRRSet\tT\tF\tT\tT\tmail.example.com\t10.000000",
            ],
        );
        let fs = r#"
{"type":"dns","@timestamp":"2024-01-01T00:00:01Z","source":{"ip":"10.0.0.1","port":5000},"destination":{"ip":"10.0.0.53","port":53},"dns":{"id":8,"type":"answer","header_flags":["AA","RD","RA"],"response_code":"NXRRSET","question":{"name":"mx.example.com","type":"MX","class":"IN"},"answers":[{"type":"MX","ttl":10,"data":"10 mail.example.com"}]}}
{"type":"dns","@timestamp":"2024-01-01T00:00:00Z","source":{"ip":"10.0.0.1","port":5000},"destination":{"ip":"10.0.0.53","port":53},"dns":{"id":7,"type":"answer","header_flags":["RD"],"response_code":"NOERROR","question":{"name":"www.example.com","type":"A","class":"IN"},"answers":[{"type":"A","ttl":300,"data":"1.2.3.4"},{"type":"CNAME","ttl":60,"data":"cname.example.com"},{"type":"RRSIG","ttl":300,"data":"<unknown type=46>"}]}}
"#;
        let b = run(&z, fs);
        assert_eq!(stat(&b, "dns.record"), (2, 2));
        assert_eq!(stat(&b, "dns.query"), (2, 2));
        assert_eq!(stat(&b, "dns.qclass_name"), (2, 2));
        assert_eq!(stat(&b, "dns.rcode_name"), (2, 2));
        assert_eq!(stat(&b, "dns.RA"), (2, 1), "flowsight lost RA on id 7");
        assert_eq!(stat(&b, "dns.AA"), (2, 2));
        assert_eq!(stat(&b, "dns.answers"), (2, 2));
        assert_eq!(stat(&b, "dns.TTLs"), (2, 2));
        assert_eq!(b.fields[&("zeek".into(), "dns.answers".into())].excluded, 2);
        assert_eq!(b.disagreements.len(), 1);
        assert_eq!(b.disagreements[0].key, "10.0.0.1:5000 10.0.0.53:53 id 7 #1");
    }

    #[test]
    fn ssl_versions_and_unset_rules() {
        let z = log(
            "ssl",
            "id.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tversion\tcipher\tcurve\tserver_name\tresumed\tlast_alert\tnext_protocol\testablished",
            &[
                "10.0.0.1\t4000\t10.0.0.2\t443\tTLSv12\tTLS_RSA_WITH_RC4_128_MD5\t-\tex.com\tF\t-\th2\tT",
                "10.0.0.1\t4001\t10.0.0.2\t443\t-\t-\t-\tex.com\tF\t-\t-\tF",
            ],
        );
        let fs = r#"
{"type":"tls","@timestamp":"2024-01-01T00:00:00Z","source":{"ip":"10.0.0.1","port":4000},"destination":{"ip":"10.0.0.2","port":443},"tls":{"version":"1.2","version_protocol":"tls","cipher":"TLS_RSA_WITH_RC4_128_MD5","next_protocol":"h2","client":{"server_name":"ex.com","ja3":"a","ja3_string":"b","ja4":"c"}}}
{"type":"tls","@timestamp":"2024-01-01T00:00:00Z","source":{"ip":"10.0.0.1","port":4001},"destination":{"ip":"10.0.0.2","port":443},"tls":{"version":"1.3","client":{"server_name":"ex.com","ja3":"a","ja3_string":"b","ja4":"c"}}}
"#;
        let b = run(&z, fs);
        assert_eq!(
            stat(&b, "ssl.version"),
            (1, 1),
            "no ServerHello: not compared"
        );
        assert_eq!(stat(&b, "ssl.cipher"), (1, 1));
        assert_eq!(stat(&b, "ssl.server_name"), (2, 2));
        assert_eq!(stat(&b, "ssl.next_protocol"), (1, 1));
    }

    #[test]
    fn version_names() {
        assert_eq!(zeek_version(Some("tls"), "1.2"), "TLSv12");
        assert_eq!(zeek_version(None, "1.3"), "TLSv13");
        assert_eq!(zeek_version(Some("ssl"), "3.0"), "SSLv3");
        assert_eq!(zeek_version(Some("dtls"), "1.2"), "DTLSv12");
        assert_eq!(zeek_version(Some("tls"), "0x7f17"), "TLSv13-draft23");
        assert_eq!(zeek_version(Some("tls"), "0x7e01"), "unknown-32257");
        assert_eq!(zeek_class("IN"), "C_INTERNET");
    }
}

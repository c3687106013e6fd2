//! Checks against the shared corpora (`shared/corpora` beside the repository, or
//! `FLOWSIGHT_CORPORA`): real captures from Zeek, nDPI, tcpdump and FoxIO, with what those
//! tools say about them. Skipped, with a notice, when the corpora are not there.
//!
//! This file: DNS and HTTP fields against tshark, DNS answers against Zeek's `dns.log`.

mod common;

use common::{corpora, files_under, read_capture};
use flowsight_wire::l7::dns::{RData, RecordType};
use flowsight_wire::l7::{dns, http};
use flowsight_wire::{Decoded, L4, decode};
use std::collections::HashMap;

/// Frames where this crate reads the message differently from tshark on purpose.
const L7_KNOWN: &[(&str, usize, &str)] = &[
    (
        "ndpi/pcap/http-manipulated.pcap",
        14,
        "several spaces after the method: tshark reads an empty URI, this crate the target",
    ),
    (
        "zeek/Traces/dns/dns-edns-bad-length.pcap",
        1,
        "an EDNS option longer than its record: tshark drops the answers, this crate keeps \
         them (only the OPT record is RData::Invalid)",
    ),
    (
        "zeek/Traces/http/methods.pcap",
        14,
        "`OPTIONS HTTP/1.1`: tshark reads the version as the URI, this crate (as Zeek, \
         missing_HTTP_uri) an empty target and version 1.1",
    ),
    (
        "zeek/Traces/http/no-uri.pcap",
        4,
        "`GET HTTP/1.1`: tshark reads the version as the URI, this crate (as Zeek) an empty \
         target and version 1.1",
    ),
];

/// Parses the DNS message or HTTP head of a payload the way a caller would.
fn dns_of<'a>(d: &Decoded<'a>) -> Option<dns::Message<'a>> {
    let p = d.payload;
    let msg = if matches!(d.l4, L4::Tcp(_)) {
        dns::tcp_message(p).ok()??.0
    } else {
        p
    };
    dns::Message::parse(msg).ok()
}

/// For every DNS message and HTTP head tshark dissected in a single frame, the fields
/// parsed here must be tshark's: DNS id, response flag, first question name and type,
/// rcode, A/AAAA/CNAME answers; HTTP method, Host, URI, User-Agent, status, Server,
/// Content-Type. Frames whose message spans several segments (tshark reassembles, this
/// test does not) are counted as skipped.
#[test]
fn dns_and_http_fields_agree_with_tshark() {
    let Some(dir) = corpora("dns_and_http_fields_agree_with_tshark") else {
        return;
    };
    let base = dir.join("peer_baselines/tshark-4.0.17");
    let (mut dns_ok, mut http_ok, mut skipped, mut known) = (0usize, 0usize, 0usize, 0usize);
    let mut failures = Vec::new();
    for tsv in files_under(&base) {
        let rel = tsv
            .strip_prefix(&base)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let Some(cap_rel) = rel.strip_suffix(".tsv") else {
            continue;
        };
        let Ok(text) = std::fs::read_to_string(&tsv) else {
            continue;
        };
        let Some(frames) = read_capture(&dir.join(cap_rel)) else {
            continue;
        };
        let mut lines = text.lines();
        let Some(head) = lines.next() else { continue };
        let head: Vec<&str> = head.split('\t').collect();
        let col = |n: &str| head.iter().position(|h| *h == n).unwrap();
        for line in lines {
            let c: Vec<&str> = line.split('\t').collect();
            let get = |n: &str| c.get(col(n)).copied().unwrap_or_default();
            let Ok(number) = get("frame.number").parse::<usize>() else {
                continue;
            };
            let Some(frame) = frames.get(number - 1) else {
                continue;
            };
            let Ok(d) = decode(frame.link, &frame.data) else {
                continue;
            };
            let whr = format!("{cap_rel} frame {number}");
            if L7_KNOWN
                .iter()
                .any(|(c, n, _)| *c == cap_rel && *n == number)
            {
                known += 1;
                continue;
            }
            // One DNS message per frame only (tshark joins several with commas).
            if !get("dns.id").is_empty() && !get("dns.id").contains(',') {
                let Some(m) = dns_of(&d) else {
                    skipped += 1;
                    continue;
                };
                let q = m.question();
                // tshark lists the addresses of every section (glue records included).
                let join = |want: RecordType| {
                    m.answers()
                        .chain(m.authority())
                        .chain(m.additional())
                        .filter(|r| r.rtype == want)
                        .filter(|r| {
                            matches!(r.rdata(), RData::A(_) | RData::Aaaa(_) | RData::Cname(_))
                        })
                        .map(|r| r.rdata().to_string())
                        .collect::<Vec<_>>()
                        .join(",")
                };
                let ours = [
                    format!("{:#06x}", m.id()),
                    if m.is_response() { "1" } else { "0" }.to_owned(),
                    q.map(|q| q.name.to_string()).unwrap_or_default(),
                    q.map(|q| u16::from(q.qtype).to_string())
                        .unwrap_or_default(),
                    // tshark has an rcode for responses only.
                    if m.is_response() {
                        u16::from(m.header().rcode()).to_string()
                    } else {
                        String::new()
                    },
                    join(RecordType::A),
                    join(RecordType::Aaaa),
                    join(RecordType::Cname),
                ];
                let theirs = [
                    get("dns.id"),
                    get("dns.flags.response"),
                    get("dns.qry.name").split(',').next().unwrap_or_default(),
                    get("dns.qry.type").split(',').next().unwrap_or_default(),
                    get("dns.flags.rcode"),
                    get("dns.a"),
                    get("dns.aaaa"),
                    get("dns.cname"),
                ];
                // tshark prints the root as <Root> and escapes differently; compare names
                // only when they are plain.
                let plain = |s: &str| {
                    s.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"-._".contains(&b))
                };
                let mut same = true;
                for (i, (o, t)) in ours.iter().zip(theirs).enumerate() {
                    let name_field = i == 2 || i == 7;
                    if o != t && !(name_field && (!plain(t) || t.is_empty() || t == "<Root>")) {
                        same = false;
                    }
                }
                if same {
                    dns_ok += 1;
                } else {
                    failures.push(format!("{whr}: DNS ours {ours:?} tshark {theirs:?}"));
                }
            }
            let method = get("http.request.method");
            let code = get("http.response.code");
            if (!method.is_empty() || !code.is_empty())
                && !method.contains(',')
                && !code.contains(',')
            {
                let p = d.payload;
                let (ours, theirs) = if !method.is_empty() {
                    let Ok(Some((h, _))) = http::parse_request_head(p) else {
                        skipped += 1;
                        continue;
                    };
                    let s = |v: Option<&[u8]>| {
                        String::from_utf8_lossy(v.unwrap_or_default()).into_owned()
                    };
                    (
                        vec![
                            s(Some(h.method)),
                            s(h.host),
                            s(Some(h.target)),
                            s(h.user_agent),
                        ],
                        vec![
                            method,
                            get("http.host"),
                            get("http.request.uri"),
                            get("http.user_agent"),
                        ],
                    )
                } else {
                    let Ok(Some((h, _))) = http::parse_response_head(p) else {
                        skipped += 1;
                        continue;
                    };
                    let s = |v: Option<&[u8]>| {
                        String::from_utf8_lossy(v.unwrap_or_default()).into_owned()
                    };
                    (
                        vec![
                            h.status.to_string(),
                            s(h.server),
                            s(h.headers.get("content-type")),
                        ],
                        vec![code, get("http.server"), get("http.content_type")],
                    )
                };
                // tshark escapes non-ASCII and control bytes; compare printable fields.
                // A target with spaces: tshark stops at the first space, this crate (like
                // Zeek) takes everything up to the version.
                let same = ours.iter().zip(&theirs).all(|(o, t)| {
                    o == t
                        || !t.bytes().all(|b| (0x20..0x7f).contains(&b))
                        || t.contains('\\')
                        || o.strip_prefix(*t).is_some_and(|rest| rest.starts_with(' '))
                });
                if same {
                    http_ok += 1;
                } else {
                    failures.push(format!("{whr}: HTTP ours {ours:?} tshark {theirs:?}"));
                }
            }
        }
    }
    eprintln!(
        "tshark L7: {dns_ok} DNS messages and {http_ok} HTTP heads agree, {skipped} skipped \
         (spanning segments), {known} known differences, {} other differences",
        failures.len()
    );
    for f in failures.iter().take(60) {
        eprintln!("  {f}");
    }
    assert!(dns_ok > 1000 && http_ok > 1000);
    assert!(failures.is_empty());
}

/// The `answers` column of Zeek's `dns.log` baselines, rebuilt from each response's answer
/// section with [`RData`]'s `Display`, keyed by transaction id and query.
#[test]
fn dns_answers_print_like_zeek() {
    let Some(dir) = corpora("dns_answers_print_like_zeek") else {
        return;
    };
    let zeek = dir.join("zeek");
    let Ok(map) = std::fs::read_to_string(zeek.join("tests_map.json")) else {
        return;
    };
    let map: serde_json::Value = serde_json::from_str(&map).unwrap();
    let (mut agree, mut missing) = (0usize, 0usize);
    let mut failures = Vec::new();
    for t in map.as_array().unwrap() {
        let Some(baselines) = t["baselines"].as_object() else {
            continue;
        };
        for (name, files) in baselines {
            if !files.as_array().unwrap().iter().any(|f| f == "dns.log") {
                continue;
            }
            let Ok(log) = std::fs::read_to_string(zeek.join("Baseline").join(name).join("dns.log"))
            else {
                continue;
            };
            // Our answers per (id, query) over every trace the test reads.
            let mut ours: HashMap<(u16, String), Vec<String>> = HashMap::new();
            for trace in t["traces"].as_array().unwrap() {
                let Some(frames) = read_capture(&zeek.join("Traces").join(trace.as_str().unwrap()))
                else {
                    continue;
                };
                for f in &frames {
                    let Ok(d) = decode(f.link, &f.data) else {
                        continue;
                    };
                    let Some(m) = dns_of(&d) else { continue };
                    if !m.is_response() {
                        continue;
                    }
                    let Some(q) = m.question() else { continue };
                    let answers: Vec<String> = m
                        .answers()
                        .map(|r| r.rdata().to_string().replace(',', "\\x2c"))
                        .filter(|a| !a.is_empty())
                        .collect();
                    ours.entry((m.id(), q.name.to_ascii_lowercase()))
                        .or_insert(answers);
                }
            }
            let mut cols: Vec<&str> = Vec::new();
            for line in log.lines() {
                if let Some(f) = line.strip_prefix("#fields\t") {
                    cols = f.split('\t').collect();
                    continue;
                }
                if line.starts_with('#') || cols.is_empty() {
                    continue;
                }
                let c: Vec<&str> = line.split('\t').collect();
                let get = |n: &str| {
                    cols.iter()
                        .position(|h| *h == n)
                        .and_then(|i| c.get(i))
                        .copied()
                };
                let (Some(id), Some(query), Some(answers)) =
                    (get("trans_id"), get("query"), get("answers"))
                else {
                    continue;
                };
                let Ok(id) = id.parse::<u16>() else { continue };
                if answers == "-" || query == "-" {
                    continue;
                }
                let Some(got) = ours.get(&(id, query.to_ascii_lowercase())) else {
                    missing += 1;
                    continue;
                };
                // Compare the answers of the types both sides decode: Zeek also prints the
                // DNSSEC types (`NSEC3PARAM`, `RRSIG ...`), this crate `<unknown type=N>`.
                // Zeek lower-cases names by default; this crate keeps the wire's case, so
                // names compare without case.
                let comparable = |a: &&str| {
                    a.starts_with("TXT ")
                        || !(a.starts_with('<')
                            || a.contains(' ')
                            || a.bytes()
                                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()))
                };
                let theirs: Vec<String> = answers
                    .split(',')
                    .filter(comparable)
                    .map(str::to_ascii_lowercase)
                    .collect();
                let mine: Vec<String> = got
                    .iter()
                    .map(String::as_str)
                    .filter(comparable)
                    .map(str::to_ascii_lowercase)
                    .collect();
                if theirs == mine {
                    agree += 1;
                } else {
                    failures.push(format!(
                        "{name} id {id} {query}: ours {mine:?} zeek {theirs:?}"
                    ));
                }
            }
        }
    }
    // Not found: mDNS answers without a question, dynamic updates, and responses that only
    // exist after IPv6 reassembly or inside GRE-over-UDP.
    eprintln!(
        "zeek dns.log: {agree} answer lists agree, {missing} not found, {} differ",
        failures.len()
    );
    for f in failures.iter().take(40) {
        eprintln!("  {f}");
    }
    assert!(agree > 20);
    assert!(failures.is_empty());
}

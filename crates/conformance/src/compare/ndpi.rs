//! nDPI 4.11 `.out` flow lines against flowsight's flow, http, tls and dns records.
//!
//! # Flows and counters
//! nDPI keys a flow by its unordered 5-tuple and VLAN, with port 0 for protocols without
//! ports (all ICMP between two hosts is one nDPI flow). flowsight splits what nDPI keeps as
//! one flow (a reused port after FIN, ICMP by type and code), so every flowsight flow with
//! the same nDPI key is added up; nDPI lines with the same key (a flow nDPI timed out and
//! opened again) are added up too. A flowsight flow with another VLAN id matches only when
//! no flow with the same VLAN does.
//!
//! nDPI's `[a pkts/bytes <-> b pkts/bytes]` counts what the first-seen endpoint `a` sent, then
//! `b`; flowsight's counters are mapped to `a` and `b` by endpoint, not by its own
//! orientation. Bytes: ndpiReader adds the pcap header's *captured* length (`caplen`) of each
//! frame, link-layer header included; flowsight counts whole frames too, so they agree except
//! on frames a snap length cut short (nDPI counts fewer bytes there) and on tunnelled flows,
//! where nDPI reports the inner flow with the outer frame's length.
//! Report fields: `src2dst_packets`, `src2dst_bytes`, `dst2src_packets`, `dst2src_bytes`
//! (nDPI's names, `src` being `a`), and `flow.record` for a flow flowsight does not have.
//!
//! # Protocol fields
//! By nDPI's master protocol: `HTTP` flows against the flow's flowsight http records, `DNS`,
//! `MDNS`, `LLMNR` against its dns records (nDPI dissects a flow's first packets, which may
//! hold several requests or queries, and shows one of them: its value agrees with any record
//! of the flow), `TLS`/`DTLS` against its first tls record (the first ClientHello).
//! Text is compared as ndpiReader prints it, every byte outside printable ASCII as `?`. A protocol record is expected (counted in
//! `http.record`, `tls.record`, `dns.record`) only when nDPI shows a value from the
//! protocol (a host name, URL, user agent, JA3C, JA4 or ALPN), not for a flow nDPI only
//! guessed by port. Mappings:
//! - `Hostname/SNI` (`host`): `url.domain`, `tls.client.server_name` or `dns.question.name`;
//!   compared without case (nDPI lower-cases host names) and, for HTTP, without a port.
//! - `URL` (`url`): nDPI writes the Host header and the target; compared with
//!   `url.domain` + `url.original`, the Host's port removed; an absolute or authority-form
//!   target (proxy requests, CONNECT) alone. ndpiReader cuts the URL at 255 characters, so a
//!   URL that long is compared as a prefix.
//! - `User-Agent` (`user_agent`): `user_agent.original`, which must begin with nDPI's (nDPI
//!   reads the headers of one packet, so a header split over two segments is cut short).
//! - `JA3C` (`ja3c`): `tls.client.ja3`; `JA4` (`ja4`): `tls.client.ja4`.
//! - `(Advertised) ALPNs` (`alpn_advertised`): `tls.client.alpn` joined with `;`;
//!   `(Negotiated) ALPN` (`alpn_negotiated`): `tls.next_protocol`.
//!
//! nDPI leaves out a tag it did not reach (it stops dissecting a flow after its first packets,
//! and some flows are classified too late), so a value is compared only where nDPI shows one;
//! a flowsight value without an nDPI tag is not a disagreement.
//!
//! `QUIC` flows whose ClientHello nDPI read (it shows a JA3C or JA4) are compared as TLS
//! flows, with flowsight's tls record of the QUIC Initial packets.
//!
//! Excluded: host names of Google QUIC flows without TLS (Q0xx versions: a CHLO) and of
//! other protocols (NetBIOS, DHCP, SSDP, ...: no flowsight record holds them), counted under
//! their rule.

use crate::fslog::{FsFlow, FsHttp, FsLog, Rec};
use crate::key::{ConnKey, FlowKey};
use crate::reference::ndpi::NdpiFlow;
use crate::score::Scope;
use crate::text::{host_without_port, lossy};
use std::collections::{BTreeMap, HashMap};

/// Length at which ndpiReader cuts the URL it prints.
pub const URL_CUT: usize = 255;

#[derive(Default)]
struct Counts {
    a_packets: u64,
    a_bytes: u64,
    b_packets: u64,
    b_bytes: u64,
}

/// Compares one capture's nDPI flows with flowsight's log.
pub fn compare(ndpi: &[NdpiFlow], fs: &FsLog, s: &mut Scope) {
    counters(ndpi, fs, s);
    let mut seen = std::collections::HashSet::new();
    for f in ndpi {
        let Some(k) = f.key() else { continue };
        // Protocol values: the first line of a key (nDPI dissects a flow's first packets).
        if seen.insert(k) {
            protocol(f, k.conn, fs, s);
        }
    }
}

fn counters(ndpi: &[NdpiFlow], fs: &FsLog, s: &mut Scope) {
    // nDPI side, added up by key; orientation from the first line.
    let mut reference: BTreeMap<FlowKey, (crate::key::Endpoint, Counts)> = BTreeMap::new();
    for f in ndpi {
        let (Some(k), Some(a)) = (f.key(), f.a) else {
            continue;
        };
        let e = reference.entry(k).or_insert_with(|| (a, Counts::default()));
        let same = endpoint_match(e.0, a, k.proto);
        let (ap, ab, bp, bb) = if same {
            (f.a_packets, f.a_bytes, f.b_packets, f.b_bytes)
        } else {
            (f.b_packets, f.b_bytes, f.a_packets, f.a_bytes)
        };
        e.1.a_packets += ap;
        e.1.a_bytes += ab;
        e.1.b_packets += bp;
        e.1.b_bytes += bb;
    }
    let mut by_key: HashMap<FlowKey, Vec<&FsFlow>> = HashMap::new();
    let mut by_key_any_vlan: HashMap<(u8, ConnKey), Vec<&FsFlow>> = HashMap::new();
    for f in &fs.flows {
        let k = f.conn.flow_key();
        by_key.entry(k).or_default().push(f);
        by_key_any_vlan
            .entry((k.proto, k.conn))
            .or_default()
            .push(f);
    }
    let mut matched = 0u64;
    for (k, (a, want)) in &reference {
        let flows = by_key
            .get(k)
            .or_else(|| by_key_any_vlan.get(&(k.proto, k.conn)));
        let key = k.to_string();
        s.present(&key, "flow.record", flows.is_some());
        let Some(flows) = flows else { continue };
        matched += flows.len() as u64;
        let mut got = Counts::default();
        for f in flows {
            let (ap, ab, bp, bb) = if endpoint_match(*a, f.conn.src, k.proto) {
                (f.src_packets, f.src_bytes, f.dst_packets, f.dst_bytes)
            } else {
                (f.dst_packets, f.dst_bytes, f.src_packets, f.src_bytes)
            };
            got.a_packets += ap;
            got.a_bytes += ab;
            got.b_packets += bp;
            got.b_bytes += bb;
        }
        for (field, r, g) in [
            ("src2dst_packets", want.a_packets, got.a_packets),
            ("src2dst_bytes", want.a_bytes, got.a_bytes),
            ("dst2src_packets", want.b_packets, got.b_packets),
            ("dst2src_bytes", want.b_bytes, got.b_bytes),
        ] {
            s.count(&key, field, r == g, &r.to_string(), &g.to_string());
        }
    }
    s.extra(
        "flow.record",
        (fs.flows.len() as u64).saturating_sub(matched),
    );
}

/// Whether two endpoints are the same end of a flow (addresses only for portless protocols).
fn endpoint_match(a: crate::key::Endpoint, b: crate::key::Endpoint, proto: u8) -> bool {
    if crate::key::proto::has_ports(proto) {
        a == b
    } else {
        a.ip == b.ip
    }
}

fn first<T>(recs: &[Rec<T>], conn: ConnKey) -> Option<&T> {
    recs.iter()
        .filter(|r| r.conn.key() == conn)
        .min_by_key(|r| (r.time, r.line))
        .map(|r| &r.body)
}

/// Every record of a kind on a connection, in order.
fn all<T>(recs: &[Rec<T>], conn: ConnKey) -> Vec<&T> {
    let mut v: Vec<&Rec<T>> = recs.iter().filter(|r| r.conn.key() == conn).collect();
    v.sort_by_key(|r| (r.time, r.line));
    v.into_iter().map(|r| &r.body).collect()
}

/// Compares nDPI's value with the connection's records: nDPI keeps dissecting the first
/// packets of a flow and may show a later transaction of a keep-alive connection (or a later
/// query on a DNS flow), so it agrees with any of them; a disagreement shows the first.
fn any_of<T>(
    s: &mut Scope,
    key: &str,
    field: &str,
    want: Option<&str>,
    recs: &[&T],
    get: impl Fn(&T) -> Option<String>,
    same: impl Fn(&str, &str) -> bool,
) {
    let got: Vec<Option<String>> = recs.iter().map(|r| get(r)).collect();
    let Some(w) = want else { return };
    let agreed = got.iter().flatten().any(|g| same(w, g));
    let first = got.first().cloned().flatten();
    s.count(key, field, agreed, w, first.as_deref().unwrap_or("-"));
}

/// Text as ndpiReader prints it: every byte outside printable ASCII becomes `?`.
pub fn ndpi_text(s: &str) -> String {
    crate::text::unescape_x(s)
        .iter()
        .map(|&b| {
            if (0x20..0x7f).contains(&b) {
                b as char
            } else {
                '?'
            }
        })
        .collect()
}

/// nDPI's URL as compared: lower-case host without port, then the target.
fn ndpi_url(url: &str) -> String {
    let url = lossy(url);
    if url.contains("://") {
        return url;
    }
    match url.split_once('/') {
        Some((h, p)) => format!("{}/{p}", host_without_port(h).to_lowercase()),
        None => url,
    }
}

/// flowsight's record as nDPI writes the URL: the Host followed by the target as sent; an
/// absolute-form target (a proxy request) or CONNECT's authority alone, as nDPI does.
fn fs_url(h: &FsHttp) -> Option<String> {
    let u = ndpi_text(h.uri.as_deref()?);
    if u.contains("://") || h.method.as_deref() == Some("CONNECT") {
        return Some(u);
    }
    Some(format!(
        "{}{u}",
        ndpi_text(h.host.as_deref().unwrap_or("")).to_lowercase()
    ))
}

fn lower(v: Option<&str>) -> Option<String> {
    v.map(|x| lossy(x).to_lowercase())
}

fn protocol(f: &NdpiFlow, conn: ConnKey, fs: &FsLog, s: &mut Scope) {
    let key = format!("{} {conn}", f.proto);
    let tags = [
        f.host.is_some(),
        f.url.is_some(),
        f.user_agent.is_some(),
        f.ja3c.is_some(),
        f.ja4.is_some(),
        f.alpn_advertised.is_some(),
        f.alpn_negotiated.is_some(),
    ]
    .iter()
    .filter(|t| **t)
    .count() as u64;
    if tags == 0 {
        return;
    }
    match f.master.as_str() {
        "HTTP" | "HTTP_Proxy" | "HTTP_Connect" => {
            let recs = all(&fs.http, conn);
            s.present(&key, "http.record", !recs.is_empty());
            if recs.is_empty() {
                return;
            }
            let host = |h: &FsHttp| h.host.as_deref().map(|d| ndpi_text(d).to_lowercase());
            let want = f
                .host
                .as_deref()
                .map(|h| lossy(host_without_port(h)).to_lowercase());
            any_of(s, &key, "host", want.as_deref(), &recs, host, |w, g| w == g);
            // Whether ndpiReader cut the URL is read from the URL as it printed it: with
            // the Host's port, which the comparison then removes.
            let cut = f.url.as_deref().is_some_and(|u| u.len() >= URL_CUT);
            let want = f.url.as_deref().map(ndpi_url);
            any_of(s, &key, "url", want.as_deref(), &recs, fs_url, |w, g| {
                w == g || (cut && g.starts_with(w))
            });
            // nDPI reads the headers of one packet: a User-Agent split over two segments is
            // cut where the first ends. flowsight's agrees when it begins with nDPI's.
            let ua = |h: &FsHttp| h.user_agent.as_deref().map(ndpi_text);
            let want = f.user_agent.as_deref().map(lossy);
            any_of(s, &key, "user_agent", want.as_deref(), &recs, ua, |w, g| {
                g.starts_with(w)
            });
        }
        // IETF QUIC (and Google's T05x): nDPI read the TLS ClientHello of the Initial
        // packets, as flowsight does; the fields are TLS's. Google's Q0xx carry a CHLO, no
        // TLS: nDPI shows its host name only.
        "TLS" | "DTLS" | "QUIC" if f.master != "QUIC" || f.ja3c.is_some() || f.ja4.is_some() => {
            let t = first(&fs.tls, conn);
            s.present(&key, "tls.record", t.is_some());
            let Some(t) = t else { return };
            s.check_if_reference(
                &key,
                "host",
                lower(f.host.as_deref()).as_deref(),
                lower(t.server_name.as_deref()).as_deref(),
            );
            s.check_if_reference(&key, "ja3c", f.ja3c.as_deref(), t.ja3.as_deref());
            s.check_if_reference(&key, "ja4", f.ja4.as_deref(), t.ja4.as_deref());
            let alpn = (!t.alpn.is_empty()).then(|| t.alpn.join(";"));
            s.check_if_reference(
                &key,
                "alpn_advertised",
                f.alpn_advertised.as_deref(),
                alpn.as_deref(),
            );
            s.check_if_reference(
                &key,
                "alpn_negotiated",
                f.alpn_negotiated.as_deref(),
                t.next_protocol.as_deref(),
            );
        }
        "DNS" | "MDNS" | "LLMNR" => {
            let recs = all(&fs.dns, conn);
            s.present(&key, "dns.record", !recs.is_empty());
            let name =
                |d: &crate::fslog::FsDns| d.qname.as_deref().map(|n| ndpi_text(n).to_lowercase());
            let want = lower(f.host.as_deref());
            any_of(s, &key, "host", want.as_deref(), &recs, name, |w, g| w == g);
        }
        "QUIC" => s.exclude(
            "quic",
            "gQUIC (Q0xx) flows: a CHLO, no TLS ClientHello; flowsight reads the TLS of IETF QUIC",
            tags,
        ),
        _ => s.exclude(
            "host",
            "host name of a protocol flowsight has no record for",
            tags,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reference::ndpi::parse;
    use crate::score::Scoreboard;

    fn run(out: &str, fs: &str) -> Scoreboard {
        let mut b = Scoreboard::default();
        compare(
            &parse(out.as_bytes()),
            &FsLog::parse(fs),
            &mut b.scope("ndpi", "x.pcap"),
        );
        b
    }

    fn stat(b: &Scoreboard, f: &str) -> (u64, u64) {
        b.fields
            .get(&("ndpi".into(), f.into()))
            .map_or((0, 0), |s| (s.compared, s.agreed))
    }

    const OUT: &str = "\t1\tTCP 192.168.1.13:55523 <-> 178.62.197.130:443 [proto: 91.26/TLS.ntop][51 pkts/4260 bytes <-> 58 pkts/69722 bytes][Hostname/SNI: www.ntop.org][(Advertised) ALPNs: h2;http/1.1][(Negotiated) ALPN: h2][JA3C: 2a26][JA4: t12d]
\t2\tTCP 10.0.0.1:4000 <-> 10.0.0.2:8080 [proto: 7/HTTP][3 pkts/300 bytes <-> 2 pkts/200 bytes][Hostname/SNI: www.example.com][URL: www.example.com:8080/index.html][User-Agent: curl/8]
\t3\tICMP 10.0.0.1:0 <-> 10.0.0.3:0 [proto: 81/ICMP][2 pkts/196 bytes <-> 2 pkts/196 bytes]
\t4\tUDP 10.0.0.1:5000 -> 10.0.0.9:443 [proto: 188/QUIC][1 pkts/1300 bytes -> 0 pkts/0 bytes][Hostname/SNI: q.example][JA4: q13d]
\t6\tUDP 10.0.0.1:5001 -> 10.0.0.9:443 [proto: 188/QUIC][1 pkts/1350 bytes -> 0 pkts/0 bytes][Hostname/SNI: g.example][QUIC ver: Q046]
\t5\tUDP 10.0.0.1:137 -> 10.0.0.255:137 [proto: 10/NetBIOS][1 pkts/92 bytes -> 0 pkts/0 bytes][Hostname/SNI: host1]
";

    const FS: &str = r#"
{"type":"flow","event":{"start":"2024-01-01T00:00:00Z"},"network":{"iana_number":"6"},"source":{"ip":"192.168.1.13","port":55523,"packets":51,"bytes":4260},"destination":{"ip":"178.62.197.130","port":443,"packets":58,"bytes":69722}}
{"type":"flow","event":{"start":"2024-01-01T00:00:00Z"},"network":{"iana_number":"6"},"source":{"ip":"10.0.0.2","port":8080,"packets":2,"bytes":200},"destination":{"ip":"10.0.0.1","port":4000,"packets":3,"bytes":300}}
{"type":"flow","event":{"start":"2024-01-01T00:00:00Z"},"network":{"iana_number":"1"},"source":{"ip":"10.0.0.1","port":8,"packets":1,"bytes":98},"destination":{"ip":"10.0.0.3","port":0,"packets":1,"bytes":98}}
{"type":"flow","event":{"start":"2024-01-01T00:00:05Z"},"network":{"iana_number":"1"},"source":{"ip":"10.0.0.1","port":8,"packets":1,"bytes":98},"destination":{"ip":"10.0.0.3","port":0,"packets":1,"bytes":97}}
{"type":"flow","event":{"start":"2024-01-01T00:00:00Z"},"network":{"iana_number":"17"},"source":{"ip":"10.0.0.1","port":5000,"packets":1,"bytes":1300},"destination":{"ip":"10.0.0.9","port":443,"packets":0,"bytes":0}}
{"type":"flow","event":{"start":"2024-01-01T00:00:00Z"},"network":{"iana_number":"17"},"source":{"ip":"10.0.0.1","port":5001,"packets":1,"bytes":1350},"destination":{"ip":"10.0.0.9","port":443,"packets":0,"bytes":0}}
{"type":"tls","source":{"ip":"10.0.0.1","port":5000},"destination":{"ip":"10.0.0.9","port":443},"tls":{"client":{"server_name":"q.example","ja3":"x","ja3_string":"x","ja4":"q13d"}}}
{"type":"tls","source":{"ip":"192.168.1.13","port":55523},"destination":{"ip":"178.62.197.130","port":443},"tls":{"next_protocol":"h2","client":{"server_name":"WWW.ntop.org","alpn":["h2","http/1.1"],"ja3":"2a26","ja3_string":"x","ja4":"t12d"}}}
{"type":"http","source":{"ip":"10.0.0.1","port":4000},"destination":{"ip":"10.0.0.2","port":8080},"http":{"request":{"method":"GET"}},"url":{"domain":"www.example.com","original":"/index.html"},"user_agent":{"original":"curl/8"}}
"#;

    #[test]
    fn counters_are_mapped_by_endpoint_and_added_up() {
        let b = run(OUT, FS);
        assert_eq!(
            stat(&b, "flow.record"),
            (6, 5),
            "the NetBIOS flow is missing"
        );
        assert_eq!(stat(&b, "src2dst_packets"), (5, 5));
        assert_eq!(
            stat(&b, "dst2src_bytes"),
            (5, 4),
            "ICMP replies: 196 against 195"
        );
    }

    #[test]
    fn protocol_fields() {
        let b = run(OUT, FS);
        assert_eq!(stat(&b, "tls.record"), (2, 2), "TLS, and QUIC with a JA4");
        assert_eq!(stat(&b, "host"), (3, 3), "case and port do not matter");
        assert_eq!(stat(&b, "alpn_advertised"), (1, 1));
        assert_eq!(stat(&b, "alpn_negotiated"), (1, 1));
        assert_eq!(stat(&b, "ja3c"), (1, 1));
        assert_eq!(stat(&b, "ja4"), (2, 2));
        assert_eq!(stat(&b, "url"), (1, 1));
        assert_eq!(stat(&b, "user_agent"), (1, 1));
        assert_eq!(
            b.fields[&("ndpi".into(), "quic".into())].excluded,
            1,
            "gQUIC's host name"
        );
        assert_eq!(b.fields[&("ndpi".into(), "host".into())].excluded, 1);
    }

    #[test]
    fn long_urls_compare_as_prefix() {
        let path = "a".repeat(300);
        let cut = format!("h.example/{}", &path[..URL_CUT - 10]);
        let out = format!(
            "\t1\tTCP 10.0.0.1:4000 <-> 10.0.0.2:80 [proto: 7/HTTP][1 pkts/1 bytes <-> 1 pkts/1 bytes][URL: {cut}]\n"
        );
        let fs = format!(
            r#"{{"type":"http","source":{{"ip":"10.0.0.1","port":4000}},"destination":{{"ip":"10.0.0.2","port":80}},"url":{{"domain":"h.example","original":"/{path}"}}}}"#
        );
        let b = run(&out, &fs);
        assert_eq!(stat(&b, "url"), (1, 1));
    }

    #[test]
    fn long_urls_with_a_port_compare_as_prefix() {
        // Cut at 255 characters with the port; 250 once the port is removed.
        let path = "a".repeat(300);
        let cut = format!("h.example:1234/{}", &path[..URL_CUT - 15]);
        let out = format!(
            "\t1\tTCP 10.0.0.1:4000 <-> 10.0.0.2:1234 [proto: 7/HTTP][1 pkts/1 bytes <-> 1 pkts/1 bytes][URL: {cut}]\n"
        );
        let fs = format!(
            r#"{{"type":"http","source":{{"ip":"10.0.0.1","port":4000}},"destination":{{"ip":"10.0.0.2","port":1234}},"url":{{"domain":"h.example","original":"/{path}"}}}}"#
        );
        let b = run(&out, &fs);
        assert_eq!(stat(&b, "url"), (1, 1));
    }
}

//! Checks against the shared corpora (`shared/corpora` beside the repository, or
//! `FLOWSIGHT_CORPORA`): real captures from Zeek, nDPI, tcpdump and FoxIO, with what those
//! tools say about them. Skipped, with a notice, when the corpora are not there.
//!
//! This file: JA4 against FoxIO's expected output, JA3 against tshark, and the
//! connections FoxIO saw (tunnels included) against what `decode` finds.

mod common;

use common::{Frame, corpora, files_under, read_capture};
use flowsight_wire::l7::fingerprint::{Transport, ja3, ja4};
use flowsight_wire::l7::tls;
use flowsight_wire::{L4, decode};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::IpAddr;

type Tuple = (IpAddr, u16, IpAddr, u16);

/// One direction of a TCP connection, followed in sequence order (enough for hellos).
struct Stream {
    next_seq: u32,
    collector: tls::HandshakeCollector,
    broken: bool,
}

/// The first ClientHello of every TCP connection in a capture, by 4-tuple, with the frame
/// number of the segment that completed it.
fn client_hellos(frames: &[Frame]) -> HashMap<Tuple, (usize, String, String, String)> {
    let mut streams: HashMap<Tuple, Stream> = HashMap::new();
    let mut out = HashMap::new();
    for f in frames {
        let Ok(d) = decode(f.link, &f.data) else {
            continue;
        };
        let (Some(ip), L4::Tcp(t)) = (d.ip, d.l4) else {
            continue;
        };
        if d.payload.is_empty() {
            continue;
        }
        let key = (ip.src, t.src_port, ip.dst, t.dst_port);
        if out.contains_key(&key) {
            continue;
        }
        let s = streams.entry(key).or_insert_with(|| Stream {
            next_seq: t.seq,
            collector: tls::HandshakeCollector::new(),
            broken: false,
        });
        if s.broken {
            continue;
        }
        // In-order bytes only: skip what was seen, give up on a gap.
        let skip = s.next_seq.wrapping_sub(t.seq) as usize;
        if t.seq != s.next_seq && skip >= d.payload.len() {
            if (t.seq.wrapping_sub(s.next_seq) as i32) > 0 {
                s.broken = true;
            }
            continue;
        }
        let fresh = &d.payload[if t.seq == s.next_seq { 0 } else { skip }..];
        s.next_seq = s.next_seq.wrapping_add(fresh.len() as u32);
        if s.collector.push(fresh).is_err() {
            // Not TLS (yet): a proxy handshake (SOCKS, HTTP CONNECT) comes first. Start
            // over at the next segment.
            s.collector = tls::HandshakeCollector::new();
            continue;
        }
        if let Some(Ok(ch)) = s.collector.client_hello() {
            let j4 = ja4(&ch, Transport::Tcp).fingerprint();
            let j3 = ja3(&ch);
            out.insert(key, (f.number, j4, j3.hash, j3.text));
        }
    }
    out
}

fn tuple(src: &str, sp: &str, dst: &str, dp: &str) -> Option<Tuple> {
    Some((
        src.parse().ok()?,
        sp.parse().ok()?,
        dst.parse().ok()?,
        dp.parse().ok()?,
    ))
}

/// The 4-tuples of TCP and UDP packets in a capture, keyed as FoxIO's ja4.py keys them:
/// the outermost IP addresses (tshark's first `ip.src`) with the innermost ports. For
/// tunnelled traffic this only matches when the tunnel was unwrapped.
fn seen_tuples(frames: &[Frame]) -> HashSet<Tuple> {
    let mut seen = HashSet::new();
    for f in frames {
        let Ok(d) = decode(f.link, &f.data) else {
            continue;
        };
        if let (Some(ip), Some((sp, dp))) = (d.outer_ip.or(d.ip), d.ports()) {
            seen.insert((ip.src, sp, ip.dst, dp));
        }
    }
    seen
}

#[test]
fn ja4_ja3_and_tunnels_agree_with_foxio_and_tshark() {
    let Some(dir) = corpora("ja4_ja3_and_tunnels_agree_with_foxio_and_tshark") else {
        return;
    };
    let ja4_dir = dir.join("ja4");
    let (mut ja4_ok, mut ja4_spec, mut ja3_ok, mut tuples_ok) = (0, 0, 0, 0);
    let mut failures = Vec::new();
    for pcap in files_under(&ja4_dir.join("pcap")) {
        let name = pcap.file_name().unwrap().to_string_lossy().into_owned();
        let Some(frames) = read_capture(&pcap) else {
            continue;
        };
        let hellos = client_hellos(&frames);
        let seen = seen_tuples(&frames);

        // FoxIO's expected JA4 per connection, and the connections it saw at all.
        let json = ja4_dir.join(format!("expected/python/{name}.json"));
        if let Ok(text) = std::fs::read_to_string(&json) {
            let v: serde_json::Value = serde_json::from_str(&text).unwrap();
            for e in v.as_array().unwrap() {
                let s = |k: &str| e[k].as_str().unwrap_or_default();
                let Some(key) = tuple(s("src"), s("srcport"), s("dst"), s("dstport")) else {
                    continue;
                };
                if seen.contains(&key) {
                    tuples_ok += 1;
                } else {
                    failures.push(format!("{name}: connection {key:?} not decoded"));
                }
                let want = e.get("JA4").or(e.get("JA4.1")).and_then(|j| j.as_str());
                let Some(want) = want.filter(|w| w.starts_with('t')) else {
                    continue;
                };
                match hellos.get(&key) {
                    Some((_, got, ..)) if got == want => ja4_ok += 1,
                    // JA4.md's hex rule for a non-alphanumeric ALPN (see fingerprints.rs).
                    Some((_, got, ..))
                        if want[8..10] == *"99"
                            && got[..8] == want[..8]
                            && got[10..] == want[10..] =>
                    {
                        ja4_spec += 1
                    }
                    other => failures.push(format!("{name}: {key:?} JA4 {other:?}, want {want}")),
                }
            }
        }

        // tshark's JA3 per ClientHello frame.
        let tsv = dir.join(format!("peer_baselines/tshark-4.0.17/ja4/pcap/{name}.tsv"));
        if let Ok(text) = std::fs::read_to_string(&tsv) {
            let mut lines = text.lines();
            let head: Vec<&str> = lines.next().unwrap().split('\t').collect();
            let col = |n: &str| head.iter().position(|h| *h == n).unwrap();
            let (ty, ja3c, tcp_sp) = (
                col("tls.handshake.type"),
                col("tls.handshake.ja3"),
                col("tcp.srcport"),
            );
            let mut wanted: BTreeMap<Tuple, String> = BTreeMap::new();
            for line in lines {
                let c: Vec<&str> = line.split('\t').collect();
                if c.get(ty).is_none_or(|t| !t.split(',').any(|t| t == "1")) || c[tcp_sp].is_empty()
                {
                    continue;
                }
                let last = |i: usize| c[i].rsplit(',').next().unwrap_or_default();
                let src = if c[col("ip.src")].is_empty() {
                    last(col("ipv6.src"))
                } else {
                    last(col("ip.src"))
                };
                let dst = if c[col("ip.dst")].is_empty() {
                    last(col("ipv6.dst"))
                } else {
                    last(col("ip.dst"))
                };
                let Some(key) = tuple(src, c[tcp_sp], dst, c[col("tcp.dstport")]) else {
                    continue;
                };
                wanted.entry(key).or_insert_with(|| c[ja3c].to_owned());
            }
            for (key, want) in wanted {
                match hellos.get(&key) {
                    Some((_, _, got, _)) if *got == want => ja3_ok += 1,
                    other => failures.push(format!("{name}: {key:?} JA3 {other:?}, want {want}")),
                }
            }
        }
    }
    eprintln!(
        "ja4 corpus: JA4 {ja4_ok} equal + {ja4_spec} spec ALPN rule, JA3 {ja3_ok} equal, \
         {tuples_ok} connections decoded, {} failures",
        failures.len()
    );
    assert!(failures.is_empty(), "{failures:#?}");
    assert!(ja4_ok > 100 && ja3_ok > 100 && tuples_ok > 100);
}

//! Checks against the shared corpora (`shared/corpora` beside the repository, or
//! `FLOWSIGHT_CORPORA`): real captures from Zeek, nDPI, tcpdump and FoxIO, with what those
//! tools say about them. Skipped, with a notice, when the corpora are not there.
//!
//! This file: every frame of every capture through `decode` and the L7 parsers (no
//! panics), and addresses, ports and VLANs against tshark.

mod common;

use common::{corpora, files_under, read_capture};
use flowsight_wire::l7::fingerprint::{Transport, ja3, ja4};
use flowsight_wire::l7::{dns, http, tls};
use flowsight_wire::{Decoded, L4, decode};
use std::collections::BTreeMap;
use std::net::IpAddr;

/// Runs the L7 parsers that a port suggests on a decoded payload (results ignored: the
/// point is that nothing panics on real, often malformed, traffic).
fn exercise_l7(d: &Decoded<'_>) {
    let Some((sp, dp)) = d.ports() else { return };
    let p = d.payload;
    let tcp = matches!(d.l4, L4::Tcp(_));
    if sp == 53 || dp == 53 || sp == 5353 || dp == 5353 {
        let msg = if tcp {
            dns::tcp_message(p).ok().flatten().map(|(m, _)| m)
        } else {
            Some(p)
        };
        if let Some(Ok(m)) = msg.map(dns::Message::parse) {
            for r in m.answers().chain(m.authority()).chain(m.additional()) {
                let _ = r.rdata().to_string();
            }
            let _ = m.question().map(|q| q.name.to_string());
        }
    }
    if tcp && (http::looks_like_request(p) || http::looks_like_response(p)) {
        if let Ok(Some((h, n))) = http::parse_request_head(p) {
            let _ = http::BodyDecoder::new(h.body_length()).feed(&p[n..]);
        }
        if let Ok(Some((h, n))) = http::parse_response_head(p) {
            let _ = http::BodyDecoder::new(h.body_length(None)).feed(&p[n..]);
        }
    }
    if tcp && let Ok(Some(h)) = tls::first_handshake(p) {
        if let Ok(ch) = tls::ClientHello::from_handshake(&h) {
            let _ = (ja3(&ch), ja4(&ch, Transport::Tcp), ch.sni());
        }
        if let Ok(sh) = tls::ServerHello::from_handshake(&h) {
            let _ = (sh.alpn(), sh.version());
        }
    }
}

#[test]
fn every_corpus_frame_decodes_without_panic() {
    let Some(dir) = corpora("every_corpus_frame_decodes_without_panic") else {
        return;
    };
    let (mut files, mut frames, mut ok, mut non_ip) = (0usize, 0usize, 0usize, 0usize);
    let mut errors: BTreeMap<String, usize> = BTreeMap::new();
    for sub in ["ja4/pcap", "zeek/Traces", "ndpi/pcap", "tcpdump/tests"] {
        for path in files_under(&dir.join(sub)) {
            let Some(caps) = read_capture(&path) else {
                continue;
            };
            files += 1;
            for f in &caps {
                frames += 1;
                match decode(f.link, &f.data) {
                    Ok(d) => {
                        ok += 1;
                        if d.ip.is_none() {
                            non_ip += 1;
                        }
                        let _ = d.verify_l4_checksum();
                        exercise_l7(&d);
                    }
                    Err(e) => {
                        *errors
                            .entry(format!("{e}").split(':').next().unwrap().to_owned())
                            .or_default() += 1
                    }
                }
            }
        }
    }
    eprintln!(
        "corpora: {files} captures, {frames} frames, {ok} decoded ({non_ip} not IP), errors: {errors:?}"
    );
    assert!(files > 500 && frames > 100_000);
    // Most frames in these corpora are well formed; the rest are the deliberately broken
    // captures and link types this crate does not decode.
    assert!(ok * 10 > frames * 9, "{ok} of {frames} decoded");
}

/// Why a frame may legitimately differ from tshark; `None` when it must agree.
fn known_difference(d: &Decoded<'_>) -> Option<&'static str> {
    use flowsight_wire::EtherType;
    use flowsight_wire::decode::IcmpKind;
    use flowsight_wire::icmp::{Message, Message6};
    match d.l4 {
        // tshark reports the reassembled datagram at its last fragment.
        L4::Fragment => return Some("fragment (reassembled by the flow table)"),
        L4::Icmp(i) => match i.kind {
            IcmpKind::V4(Message::EchoRequest | Message::EchoReply)
            | IcmpKind::V6(Message6::EchoRequest | Message6::EchoReply) => {}
            // tshark's last address columns are the packet quoted in the error.
            _ => return Some("ICMP error (tshark shows the quoted packet)"),
        },
        _ => {}
    }
    if let Some(EtherType::Unknown(n)) = d.ethertype
        && n < 0x0600
    {
        return Some("802.3 LLC/SNAP not decoded");
    }
    if let Some((sp, dp)) = d.ports()
        && (sp == 4754 || dp == 4754)
    {
        return Some("GRE over UDP");
    }
    if d.ip
        .is_some_and(|i| i.protocol == flowsight_wire::IpProtocol::Gre)
    {
        return Some("GRE payload not decoded (vendor protocol)");
    }
    None
}

/// For every frame tshark dissected as HTTP, DNS or TLS in the peer baselines, the
/// innermost addresses and ports and the outer VLAN decoded here must be tshark's, except
/// for the documented differences of [`known_difference`] and link types not decoded.
#[test]
fn addresses_ports_and_vlans_agree_with_tshark() {
    let Some(dir) = corpora("addresses_ports_and_vlans_agree_with_tshark") else {
        return;
    };
    let base = dir.join("peer_baselines/tshark-4.0.17");
    let (mut agree, mut captures) = (0usize, 0usize);
    let mut known: BTreeMap<String, usize> = BTreeMap::new();
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
        captures += 1;
        let mut lines = text.lines();
        let Some(head) = lines.next() else { continue };
        let head: Vec<&str> = head.split('\t').collect();
        let col = |n: &str| head.iter().position(|h| *h == n).unwrap();
        let cols = [
            col("frame.number"),
            col("vlan.id"),
            col("ip.src"),
            col("ipv6.src"),
            col("ip.dst"),
            col("ipv6.dst"),
            col("tcp.srcport"),
            col("tcp.dstport"),
            col("udp.srcport"),
            col("udp.dstport"),
        ];
        for line in lines {
            let c: Vec<&str> = line.split('\t').collect();
            let get = |i: usize| c.get(cols[i]).copied().unwrap_or_default();
            let last = |i: usize| get(i).rsplit(',').next().unwrap_or_default();
            let Ok(number) = get(0).parse::<usize>() else {
                continue;
            };
            let Some(frame) = frames.get(number - 1) else {
                continue;
            };
            // tshark lists IPv4 and IPv6 in separate columns; with both (6in4 and the
            // like) which one is innermost is not in these columns.
            let (src, dst) = match (last(2), last(3)) {
                (v4, "") if !v4.is_empty() => (v4, last(4)),
                ("", v6) if !v6.is_empty() => (v6, last(5)),
                _ => continue,
            };
            let (sp, dp) = if get(6).is_empty() {
                (last(8), last(9))
            } else {
                (last(6), last(7))
            };
            let (Ok(src), Ok(dst)) = (src.parse::<IpAddr>(), dst.parse::<IpAddr>()) else {
                continue;
            };
            let ports = sp.parse::<u16>().ok().zip(dp.parse::<u16>().ok());
            let vlan = get(1).split(',').next().and_then(|v| v.parse::<u16>().ok());
            let d = match decode(frame.link, &frame.data) {
                Ok(d) => d,
                Err(flowsight_wire::DecodeError::UnsupportedLinkType(_)) => {
                    *known.entry("link type not decoded".into()).or_default() += 1;
                    continue;
                }
                Err(e) => {
                    failures.push(format!("{cap_rel} frame {number}: {e}"));
                    continue;
                }
            };
            let ip = d.ip.map(|i| (i.src, i.dst));
            let ours_ports = if ports.is_some() { d.ports() } else { None };
            if ip == Some((src, dst)) && ours_ports == ports && d.vlan == vlan {
                agree += 1;
            } else if let Some(why) = known_difference(&d) {
                *known.entry(why.into()).or_default() += 1;
            } else {
                failures.push(format!(
                    "{cap_rel} frame {number}: ours {ip:?} {ours_ports:?} vlan {:?}, \
                     tshark {src} {dst} {ports:?} vlan {vlan:?}",
                    d.vlan
                ));
            }
        }
    }
    eprintln!(
        "tshark baselines: {captures} captures, {agree} frames agree, known differences \
         {known:?}, {} other differences",
        failures.len()
    );
    assert!(agree > 7000);
    assert!(failures.is_empty(), "{failures:#?}");
}

/// The 802.11 captures: bare (wlanmon), after radiotap (radiotap), and in Aruba's GRE
/// (gre-aruba; its encrypted and A-MSDU variants are reported as the GRE packet, with why).
#[test]
fn ieee80211_captures_decode_to_ip() {
    use flowsight_wire::{DecodeError, Encap, Layer, LinkType};
    let Some(dir) = corpora("ieee80211_captures_decode_to_ip") else {
        return;
    };
    let traces = dir.join("zeek/Traces");
    for (file, link, n) in [
        ("wlanmon.pcap", LinkType::Ieee80211, 3),
        ("radiotap.pcap", LinkType::Ieee80211Radiotap, 3),
        ("tunnels/gre-aruba.pcap", LinkType::Ethernet, 2407),
    ] {
        let frames = read_capture(&traces.join(file)).unwrap();
        assert_eq!(frames.len(), n, "{file}");
        for f in &frames {
            assert_eq!(f.link, link, "{file}");
            let d = decode(f.link, &f.data).unwrap_or_else(|e| panic!("{file} {}: {e}", f.number));
            let ip =
                d.ip.unwrap_or_else(|| panic!("{file} {}: not IP", f.number));
            assert!(d.ports().is_some() && !d.truncated, "{file} {}", f.number);
            if link == LinkType::Ethernet {
                assert_eq!(
                    d.encaps.as_slice()[2],
                    Encap::Ieee80211,
                    "{file} {}",
                    f.number
                );
                assert_ne!(Some(ip), d.outer_ip);
            }
        }
    }
    for (file, what) in [
        ("tunnels/gre-aruba-ccmp.pcap", "protected (encrypted) frame"),
        ("tunnels/gre-aruba-amsdu.pcap", "A-MSDU"),
    ] {
        let frames = read_capture(&traces.join(file)).unwrap();
        assert!(!frames.is_empty());
        for f in &frames {
            let d = decode(f.link, &f.data).unwrap();
            assert_eq!(d.ip.unwrap().protocol, flowsight_wire::IpProtocol::Gre);
            assert_eq!(
                d.inner_error,
                Some(DecodeError::Unsupported {
                    layer: Layer::Ieee80211,
                    what
                }),
                "{file} {}",
                f.number
            );
        }
    }
}

/// The PPP link types, PPPoE, NFLOG and the UDP tunnels (GTP-U, Teredo, AYIYA, CAPWAP) and
/// PPTP: as many frames reach IP through them as tshark dissects that way (counted with
/// `tshark -T fields -e frame.protocols`), and each of those frames has the encapsulation.
#[test]
fn ppp_nflog_and_udp_tunnel_captures_decode_to_ip() {
    use flowsight_wire::{DecodeError, Encap, Layer, LinkType};
    let Some(dir) = corpora("ppp_nflog_and_udp_tunnel_captures_decode_to_ip") else {
        return;
    };
    let pppoe = |e: &Encap| matches!(e, Encap::Pppoe { .. });
    let gtp = |e: &Encap| matches!(e, Encap::Gtp { .. });
    let gre = |e: &Encap| matches!(e, Encap::Gre { .. });
    let teredo = |e: &Encap| *e == Encap::Teredo;
    let ayiya = |e: &Encap| *e == Encap::Ayiya;
    let capwap = |e: &Encap| *e == Encap::Capwap;
    let mpls = |e: &Encap| matches!(e, Encap::Mpls { .. });
    type Has = dyn Fn(&Encap) -> bool;
    // (capture, link type, frames, frames reaching IP through the encapsulation `has`
    // names; `None`: right after the link header, with no encapsulation)
    let cases: [(&str, LinkType, usize, usize, Option<&Has>); 17] = [
        (
            "zeek/Traces/pppoe-over-qinq.pcap",
            LinkType::Ethernet,
            86,
            86,
            Some(&pppoe),
        ),
        // The rest: PPPoE discovery, LCP, PAP, IPCP and IPv6CP.
        (
            "zeek/Traces/pppoe.pcap",
            LinkType::Ethernet,
            65,
            25,
            Some(&pppoe),
        ),
        ("ndpi/pcap/dlt_ppp.pcap", LinkType::Ppp, 1, 1, None),
        (
            "zeek/Traces/ppp/quic-interop-retry.pcap",
            LinkType::Ppp,
            26,
            26,
            None,
        ),
        // The rest: ICMP errors quoting an MPLS packet, decoded here as ICMP.
        (
            "tcpdump/tests/mpls-traceroute.pcap",
            LinkType::Ppp,
            18,
            9,
            Some(&mpls),
        ),
        ("zeek/Traces/nflog-http.pcap", LinkType::Nflog, 13, 13, None),
        (
            "ndpi/pcap/ipv6_in_gtp.pcap",
            LinkType::Ethernet,
            2,
            2,
            Some(&gtp),
        ),
        (
            "ndpi/pcap/http_origin_different_than_host.pcap",
            LinkType::Ethernet,
            4,
            4,
            Some(&gtp),
        ),
        (
            "zeek/Traces/tunnels/gtp/gtp7_ipv6.pcap",
            LinkType::Ethernet,
            2,
            2,
            Some(&gtp),
        ),
        (
            "zeek/Traces/tunnels/gtp/gtp8_teredo.pcap",
            LinkType::Ethernet,
            10,
            10,
            Some(&teredo),
        ),
        // The rest: IPv4 traffic. Teredo is the 4 packets with the server on port 3544 and
        // the 25 between the client (port 3797) and its relay (port 32900), which Zeek
        // follows and tshark decodes only when told (`-d udp.port==32900,teredo`).
        (
            "zeek/Traces/tunnels/Teredo.pcap",
            LinkType::Ethernet,
            78,
            29,
            Some(&teredo),
        ),
        (
            "zeek/Traces/tunnels/teredo_bubble_with_payload.pcap",
            LinkType::Ethernet,
            29,
            29,
            Some(&teredo),
        ),
        // The rest: three heartbeats (opcode 0, no next header).
        (
            "zeek/Traces/tunnels/ayiya3.pcap",
            LinkType::Ethernet,
            35,
            32,
            Some(&ayiya),
        ),
        (
            "zeek/Traces/tunnels/ayiya-large-identity.pcap",
            LinkType::Ethernet,
            1,
            1,
            Some(&ayiya),
        ),
        (
            "ndpi/pcap/capwap_data.pcapng",
            LinkType::Ethernet,
            14,
            14,
            Some(&capwap),
        ),
        // The rest: the DTLS control channel, 802.11 management frames, ARP, CDP, WLCCP.
        (
            "ndpi/pcap/capwap.pcap",
            LinkType::Ethernet,
            422,
            11,
            Some(&capwap),
        ),
        (
            "zeek/Traces/tunnels/gre-pptp.pcap",
            LinkType::Ethernet,
            2,
            2,
            Some(&gre),
        ),
    ];
    for (file, link, total, through, has) in cases {
        let frames = read_capture(&dir.join(file)).unwrap();
        assert_eq!(frames.len(), total, "{file}");
        let mut n = 0;
        for f in &frames {
            assert_eq!(f.link, link, "{file}");
            let d = decode(f.link, &f.data).unwrap_or_else(|e| panic!("{file} {}: {e}", f.number));
            if d.ip.is_none() {
                continue;
            }
            let through_it = match has {
                None => d.encaps.is_empty(),
                Some(has) => d.encaps.iter().any(has),
            };
            if through_it {
                n += 1;
                assert!(!d.truncated, "{file} {}", f.number);
            }
        }
        assert_eq!(n, through, "{file}");
    }
    // Zeek's nflog-bad-tlv-len.pcap: a TLV longer than the frame.
    let frames = read_capture(&dir.join("zeek/Traces/nflog-bad-tlv-len.pcap")).unwrap();
    assert_eq!(
        decode(frames[0].link, &frames[0].data).unwrap_err(),
        DecodeError::Truncated {
            layer: Layer::Nflog,
            needed: 260,
            got: 12
        }
    );
}

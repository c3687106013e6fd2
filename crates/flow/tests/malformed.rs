//! Malformed input never panics: every truncated prefix of every frame of valid HTTP, TLS
//! and DNS sessions (as a capture with a small snap length would hold them), and every
//! truncated prefix of their application payloads in otherwise valid packets, fed to the
//! engine with the rest of the session. Every frame must still be accounted for exactly
//! once, and every record must serialize.

mod common;

use common::dns::*;
use common::tls::*;
use common::*;
use flowsight_flow::{Engine, EngineConfig};
use flowsight_record::Record;
use flowsight_wire::LinkType;

fn http_session() -> Vec<Vec<u8>> {
    let mut c = TcpConn::new("10.0.0.2:40000", "10.0.0.1:80");
    let mut f = c.handshake();
    f.push(c.client(
        b"POST /x?y=1 HTTP/1.1\r\nHost: a.example\r\nContent-Length: 3\r\nCookie: k=v\r\n\r\nabc",
    ));
    f.push(c.server(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: text/html\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
    ));
    f.push(c.client(b"GET / HTTP/1.1\r\nHost: a.example\r\n\r\n"));
    f.push(c.server(b"HTTP/1.1 304 Not Modified\r\n\r\n"));
    f.extend(c.close());
    f
}

fn tls_session() -> Vec<Vec<u8>> {
    let mut c = TcpConn::new("10.0.0.2:40001", "10.0.0.1:443");
    let ch = ClientHello {
        legacy_version: 0x0303,
        ciphers: vec![0x1a1a, 0x1301, 0xc02f],
        extensions: vec![
            sni("t.example"),
            alpn(&["h2", "http/1.1"]),
            supported_groups(&[29, 23]),
            ec_point_formats(&[0]),
            signature_algorithms(&[0x0403]),
            supported_versions(&[0x0304, 0x0303]),
        ],
    };
    let sh = ServerHello {
        legacy_version: 0x0303,
        cipher: 0x1301,
        extensions: vec![selected_version(0x0304), key_share_server()],
    };
    let hello = ch.record();
    let mut f = c.handshake();
    f.push(c.client(&hello[..50]));
    f.push(c.client(&hello[50..]));
    f.push(c.server(&sh.record()));
    f
}

fn dns_udp_session() -> Vec<Vec<u8>> {
    let (c, s) = (sa("[2001:db8::2]:5300"), sa("[2001:db8::53]:53"));
    let r = Msg::new(5, QR | RD | RA, 1, 2, 1, 0)
        .question("m.example.com", A)
        .record(&QNAME_PTR, CNAME, 60, &name("n.example.com"))
        .record(&name("n.example.com"), A, 60, &[1, 2, 3, 4])
        .record(&name("example.com"), SOA, 60, &soa("ns", "host", 1))
        .build();
    vec![
        udp_frame(c, s, &query(5, "m.example.com", A)),
        udp_frame(s, c, &r),
    ]
}

fn dns_tcp_session() -> Vec<Vec<u8>> {
    let mut c = TcpConn::new("10.0.0.2:40002", "10.0.0.53:53");
    let r = response(
        6,
        "t.example",
        AAAA,
        60,
        &[0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
    );
    let mut f = c.handshake();
    f.push(c.client(&tcp_framed(&query(6, "t.example", AAAA))));
    f.push(c.server(&tcp_framed(&r)));
    f
}

fn fragmented_session() -> Vec<Vec<u8>> {
    let (c, s) = (sa("10.0.0.2:5301"), sa("10.0.0.53:53"));
    let mut m = Msg::new(7, QR | RD | RA, 1, 20, 0, 0).question("f.example", A);
    for i in 0..20 {
        m = m.record(&QNAME_PTR, A, 60, &[10, 0, 0, i]);
    }
    let datagram = udp(s, c, &m.build());
    let mut f = vec![udp_frame(c, s, &query(7, "f.example", A))];
    for (off, end, more) in [(0, 160, true), (160, datagram.len(), false)] {
        let frag = Frag {
            ident: 77,
            more,
            offset: off as u16,
        };
        f.push(ethernet(&ipv4(
            s.ip(),
            c.ip(),
            PROTO_UDP,
            Some(frag),
            &datagram[off..end],
        )));
    }
    f
}

/// Feeds `frames` (each with its length on the wire) and checks what came out.
fn feed_and_check(frames: &[(&[u8], u32)], what: &str) {
    let mut e = Engine::new(EngineConfig::default());
    let mut records: Vec<Record> = Vec::new();
    for (i, (f, wire)) in frames.iter().enumerate() {
        e.frame(at(i), LinkType::Ethernet, f, *wire, 0);
        records.extend(e.drain());
    }
    e.finish();
    records.extend(e.drain());
    let st = e.stats();
    let counted: u64 = records
        .iter()
        .map(|r| match r {
            Record::Flow(f) => f.network.packets,
            _ => 0,
        })
        .sum();
    assert_eq!(st.frames, frames.len() as u64, "{what}");
    assert_eq!(
        counted + st.not_ip + st.undecodable,
        frames.len() as u64,
        "{what}: every frame in exactly one flow, or counted as not IP or undecodable: {st:?}"
    );
    for r in &records {
        serde_json::to_string(r).unwrap_or_else(|e| panic!("{what}: {e}"));
    }
}

/// Every prefix of every frame, in place of the whole frame, the rest of the session around
/// it: with its full length on the wire (a snap length cut) and with the cut length.
fn every_frame_prefix(session: &[Vec<u8>], name: &str) -> usize {
    let mut runs = 0;
    for k in 0..session.len() {
        for p in 0..session[k].len() {
            for wire in [session[k].len(), p] {
                let frames: Vec<(&[u8], u32)> = session
                    .iter()
                    .enumerate()
                    .map(|(i, f)| {
                        if i == k {
                            (&f[..p], wire as u32)
                        } else {
                            (f.as_slice(), f.len() as u32)
                        }
                    })
                    .collect();
                feed_and_check(&frames, &format!("{name}: frame {k} cut to {p} of {wire}"));
                runs += 1;
            }
        }
    }
    runs
}

/// Every prefix of every TCP/UDP payload, rebuilt into a valid packet (lengths and checksums
/// of the shorter payload): the analyzers see every truncated message.
fn every_payload_prefix(session: &[Vec<u8>], name: &str) -> usize {
    let mut runs = 0;
    for k in 0..session.len() {
        let f = &session[k];
        let Some(rebuild) = payload_rebuilder(f) else {
            continue;
        };
        for p in 0..rebuild.payload_len {
            let cut = (rebuild.build)(p);
            let frames: Vec<(&[u8], u32)> = session
                .iter()
                .enumerate()
                .map(|(i, f)| {
                    let b: &[u8] = if i == k { &cut } else { f };
                    (b, b.len() as u32)
                })
                .collect();
            feed_and_check(&frames, &format!("{name}: payload of frame {k} cut to {p}"));
            runs += 1;
        }
    }
    runs
}

struct Rebuilder {
    payload_len: usize,
    build: Box<dyn Fn(usize) -> Vec<u8>>,
}

/// For an unfragmented Ethernet/IP/TCP-or-UDP frame from the builder, a function that
/// rebuilds it with its payload cut to a length.
fn payload_rebuilder(frame: &[u8]) -> Option<Rebuilder> {
    let v6 = frame[12..14] == [0x86, 0xdd];
    let (ip_len, proto) = if v6 {
        (IPV6_LEN, frame[ETH_LEN + 6])
    } else {
        if frame[ETH_LEN + 6] & 0x3f != 0 || frame[ETH_LEN + 7] != 0 {
            return None; // a fragment
        }
        (IPV4_LEN, frame[ETH_LEN + 9])
    };
    let ipb = &frame[ETH_LEN..ETH_LEN + ip_len];
    let addr = |at: usize, n: usize| -> std::net::IpAddr {
        if n == 4 {
            <[u8; 4]>::try_from(&ipb[at..at + 4]).unwrap().into()
        } else {
            <[u8; 16]>::try_from(&ipb[at..at + 16]).unwrap().into()
        }
    };
    let (src, dst) = if v6 {
        (addr(8, 16), addr(24, 16))
    } else {
        (addr(12, 4), addr(16, 4))
    };
    let l4 = frame[ETH_LEN + ip_len..].to_vec();
    let ports = |b: &[u8]| {
        (
            u16::from_be_bytes([b[0], b[1]]),
            u16::from_be_bytes([b[2], b[3]]),
        )
    };
    let (sp, dp) = ports(&l4);
    let s = std::net::SocketAddr::new(src, sp);
    let d = std::net::SocketAddr::new(dst, dp);
    match proto {
        PROTO_TCP => {
            let payload = l4[TCP_LEN..].to_vec();
            if payload.is_empty() {
                return None;
            }
            let seq = u32::from_be_bytes(l4[4..8].try_into().unwrap());
            let ack = u32::from_be_bytes(l4[8..12].try_into().unwrap());
            let flags = l4[13];
            Some(Rebuilder {
                payload_len: payload.len(),
                build: Box::new(move |p| {
                    ethernet(&ip(
                        src,
                        dst,
                        PROTO_TCP,
                        &tcp(s, d, seq, ack, flags, &payload[..p]),
                    ))
                }),
            })
        }
        PROTO_UDP => {
            let payload = l4[UDP_LEN..].to_vec();
            Some(Rebuilder {
                payload_len: payload.len(),
                build: Box::new(move |p| {
                    ethernet(&ip(src, dst, PROTO_UDP, &udp(s, d, &payload[..p])))
                }),
            })
        }
        _ => None,
    }
}

fn sessions() -> Vec<(&'static str, Vec<Vec<u8>>)> {
    vec![
        ("http", http_session()),
        ("tls", tls_session()),
        ("dns-udp", dns_udp_session()),
        ("dns-tcp", dns_tcp_session()),
        ("fragments", fragmented_session()),
    ]
}

#[test]
fn whole_sessions_are_accounted_for() {
    // The checks below are only meaningful if the intact sessions pass them and produce
    // their protocol records.
    for (name, s) in sessions() {
        let frames: Vec<(&[u8], u32)> = s.iter().map(|f| (f.as_slice(), f.len() as u32)).collect();
        feed_and_check(&frames, name);
        let out = run(&s);
        let kinds = out.kinds();
        let want = match name {
            "http" => vec!["http", "http", "flow"],
            "tls" => vec!["tls", "flow"],
            _ => vec!["dns", "flow"],
        };
        assert_eq!(kinds, want, "{name}");
    }
}

#[test]
fn every_truncated_frame_prefix() {
    for (name, s) in sessions() {
        let runs = every_frame_prefix(&s, name);
        let bytes: usize = s.iter().map(Vec::len).sum();
        assert_eq!(runs, 2 * bytes, "{name}");
    }
}

#[test]
fn every_truncated_payload_prefix() {
    for (name, s) in sessions() {
        let runs = every_payload_prefix(&s, name);
        assert!(runs > 0, "{name}");
    }
}

/// A session as an input of the `engine_frames` fuzz target (see
/// `crates/flow/fuzz/fuzz_targets/engine_frames.rs`): a setup byte (the link type), then
/// each frame as its length (u16, big-endian), a time byte (1 ms later) and its bytes.
fn fuzz_input(setup: u8, frames: &[Vec<u8>]) -> Vec<u8> {
    let mut out = vec![setup];
    for f in frames {
        out.extend_from_slice(&(f.len() as u16).to_be_bytes());
        out.push(1);
        out.extend_from_slice(f);
    }
    out
}

/// The frames of a fuzz input, read back as the fuzz target reads them.
fn fuzz_frames(input: &[u8]) -> Vec<Vec<u8>> {
    let mut rest = &input[1..];
    let mut frames = Vec::new();
    while rest.len() >= 3 {
        let len = usize::from(u16::from_be_bytes([rest[0], rest[1]]) & 0x7fff).min(rest.len() - 3);
        frames.push(rest[3..3 + len].to_vec());
        rest = &rest[3 + len..];
    }
    frames
}

/// Writes the sessions as a seed corpus for the fuzz target when `FLOWSIGHT_FUZZ_SEEDS`
/// names a directory: over Ethernet, raw IP (setup 1) and Linux cooked (setup 2).
#[test]
fn sessions_as_fuzz_seeds() {
    let dir = std::env::var("FLOWSIGHT_FUZZ_SEEDS").ok();
    for (name, s) in sessions() {
        let raw: Vec<Vec<u8>> = s.iter().map(|f| f[ETH_LEN..].to_vec()).collect();
        let cooked: Vec<Vec<u8>> = raw.iter().map(|p| sll(p)).collect();
        for (setup, link, frames) in [(0u8, "eth", &s), (1, "raw", &raw), (2, "sll", &cooked)] {
            let input = fuzz_input(setup, frames);
            assert_eq!(&fuzz_frames(&input), frames, "{name} {link}");
            if let Some(dir) = &dir {
                std::fs::create_dir_all(dir).unwrap();
                std::fs::write(format!("{dir}/{name}-{link}"), &input).unwrap();
            }
        }
    }
}

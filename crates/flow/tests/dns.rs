//! DNS through the whole engine: UDP and TCP, answers of several types, errors, truncation.

mod common;

use common::dns::*;
use common::*;
use flowsight_record::{Dns, DnsAnswer, DnsQuestion, DnsRecord, EndReason, ProtoEvent, Timestamp};
use flowsight_wire::LinkType;
use std::net::SocketAddr;

const CLIENT: &str = "10.0.0.2:53000";
const SERVER: &str = "10.0.0.53:53";

fn question(name: &str, kind: &'static str) -> Option<DnsQuestion> {
    Some(DnsQuestion {
        name: name.into(),
        kind: kind.into(),
        class: "IN".into(),
    })
}

fn answer(name: &str, kind: &'static str, ttl: u32, data: &str) -> DnsAnswer {
    DnsAnswer {
        name: name.into(),
        kind: kind.into(),
        class: "IN".into(),
        ttl,
        data: data.into(),
    }
}

/// Each DNS record in order, as (id, kind, duration, timestamp).
fn summary(out: &Out) -> Vec<(u16, &'static str, Option<u64>, Timestamp)> {
    (out.dns().iter())
        .map(|r| (r.dns.id, r.dns.kind, r.event.duration, r.timestamp))
        .collect()
}

/// The record of a query and its response over UDP from [`CLIENT`] to [`SERVER`].
fn record(
    client: SocketAddr,
    server: SocketAddr,
    proto: u8,
    query_ts: u64,
    answer_ts: Option<u64>,
    dns: Dns,
) -> DnsRecord {
    DnsRecord {
        timestamp: Timestamp(query_ts),
        event: ProtoEvent {
            duration: answer_ts.map(|a| a - query_ts),
        },
        conn: conn(client, server, proto, "dns"),
        dns,
    }
}

#[test]
fn a_query_and_answer_over_udp_with_the_flow_record() {
    let (c, s) = (sa(CLIENT), sa(SERVER));
    // Mixed case in the question: the record's names are lower-cased.
    let q = query(0x1a2b, "WWW.Example.com", A);
    let r = response(0x1a2b, "WWW.Example.com", A, 300, &[93, 184, 216, 34]);
    let frames = vec![udp_frame(c, s, &q), udp_frame(s, c, &r)];
    let out = run(&frames);
    let expected = record(
        c,
        s,
        PROTO_UDP,
        at(0),
        Some(at(1)),
        Dns {
            id: 0x1a2b,
            kind: "answer",
            op_code: "QUERY".into(),
            header_flags: vec!["RD", "RA"],
            response_code: Some("NOERROR".into()),
            question: question("www.example.com", "A"),
            answers: vec![answer("www.example.com", "A", 300, "93.184.216.34")],
            resolved_ip: vec!["93.184.216.34".parse().unwrap()],
        },
    );
    assert_eq!(out.dns(), vec![&expected]);
    // 14 + 20 + 8 bytes of headers around each message.
    let client = Side {
        packets: 1,
        bytes: 42 + q.len() as u64,
        flags: 0,
    };
    let server = Side {
        packets: 1,
        bytes: 42 + r.len() as u64,
        flags: 0,
    };
    assert_eq!(
        out.flows(),
        vec![&flow_record(
            c,
            s,
            PROTO_UDP,
            (client, server),
            at(0),
            at(1),
            at(1),
            EndReason::Shutdown
        )]
    );
    assert_eq!(out.kinds(), vec!["dns", "flow"]);
}

#[test]
fn aaaa_over_ipv6() {
    let (c, s) = (sa("[2001:db8::2]:41000"), sa("[2001:db8::53]:53"));
    let q = query(7, "v6.example.org", AAAA);
    let addr: std::net::Ipv6Addr = "2001:db8:85a3::8a2e:370:7334".parse().unwrap();
    let r = Msg::new(7, QR | AA | RD, 1, 1, 0, 0)
        .question("v6.example.org", AAAA)
        .record(&QNAME_PTR, AAAA, 3600, &addr.octets())
        .build();
    let out = run(&[udp_frame(c, s, &q), udp_frame(s, c, &r)]);
    let expected = record(
        c,
        s,
        PROTO_UDP,
        at(0),
        Some(at(1)),
        Dns {
            id: 7,
            kind: "answer",
            op_code: "QUERY".into(),
            header_flags: vec!["AA", "RD"],
            response_code: Some("NOERROR".into()),
            question: question("v6.example.org", "AAAA"),
            answers: vec![answer(
                "v6.example.org",
                "AAAA",
                3600,
                "2001:db8:85a3::8a2e:370:7334",
            )],
            resolved_ip: vec![addr.into()],
        },
    );
    assert_eq!(out.dns(), vec![&expected]);
    let f = out.flows();
    // IPv6: 14 + 40 + 8 bytes of headers.
    assert_eq!(
        (f[0].source.bytes, f[0].destination.bytes),
        (62 + q.len() as u64, 62 + r.len() as u64)
    );
}

#[test]
fn cname_chain_with_compressed_names() {
    let (c, s) = (sa(CLIENT), sa(SERVER));
    let q = query(0xbeef, "www.example.com", A);
    // www.example.com CNAME www.example.com.cdn.example.net (the target written as
    // "www" + a pointer to the question's "example.com"... then "cdn.example.net").
    let m = Msg::new(0xbeef, QR | RD | RA, 1, 4, 0, 0).question("www.example.com", A);
    // First answer: owner = question name, target = labels "edge" + "cdn" + "example" +
    // "net" written out, so later records can point into them.
    let first_rdata_at = m.offset() + 2 + 2 + 2 + 4 + 2;
    let target = name("edge.cdn.example.net");
    let m = m.record(&QNAME_PTR, CNAME, 60, &target);
    // Second answer: edge.cdn.example.net (a pointer) CNAME lb.cdn.example.net ("lb" + a
    // pointer to "cdn.example.net" inside the first target).
    let cdn_at = first_rdata_at + 5; // after the "edge" label
    let mut lb = vec![2, b'l', b'b'];
    lb.extend(ptr(cdn_at));
    let second_rdata_at = m.offset() + 2 + 2 + 2 + 4 + 2;
    let m = m.record(&ptr(first_rdata_at), CNAME, 30, &lb);
    // Two addresses for lb.cdn.example.net.
    let m = m
        .record(&ptr(second_rdata_at), A, 20, &[192, 0, 2, 10])
        .record(&ptr(second_rdata_at), A, 20, &[192, 0, 2, 11]);
    let r = m.build();
    let out = run(&[udp_frame(c, s, &q), udp_frame(s, c, &r)]);
    let expected = record(
        c,
        s,
        PROTO_UDP,
        at(0),
        Some(at(1)),
        Dns {
            id: 0xbeef,
            kind: "answer",
            op_code: "QUERY".into(),
            header_flags: vec!["RD", "RA"],
            response_code: Some("NOERROR".into()),
            question: question("www.example.com", "A"),
            answers: vec![
                answer("www.example.com", "CNAME", 60, "edge.cdn.example.net"),
                answer("edge.cdn.example.net", "CNAME", 30, "lb.cdn.example.net"),
                answer("lb.cdn.example.net", "A", 20, "192.0.2.10"),
                answer("lb.cdn.example.net", "A", 20, "192.0.2.11"),
            ],
            resolved_ip: vec!["192.0.2.10".parse().unwrap(), "192.0.2.11".parse().unwrap()],
        },
    );
    assert_eq!(out.dns(), vec![&expected]);
}

#[test]
fn nxdomain_with_an_soa_in_the_authority_section() {
    let (c, s) = (sa(CLIENT), sa(SERVER));
    let q = query(0x0042, "nope.example.com", A);
    let r = Msg::new(0x0042, QR | RD | RA | NXDOMAIN, 1, 0, 1, 0)
        .question("nope.example.com", A)
        .record(
            &name("example.com"),
            SOA,
            900,
            &soa("ns1.example.com", "hostmaster.example.com", 2024010101),
        )
        .build();
    let out = run(&[udp_frame(c, s, &q), udp_frame(s, c, &r)]);
    let expected = record(
        c,
        s,
        PROTO_UDP,
        at(0),
        Some(at(1)),
        Dns {
            id: 0x42,
            kind: "answer",
            op_code: "QUERY".into(),
            header_flags: vec!["RD", "RA"],
            response_code: Some("NXDOMAIN".into()),
            question: question("nope.example.com", "A"),
            answers: vec![],
            resolved_ip: vec![],
        },
    );
    assert_eq!(out.dns(), vec![&expected]);
}

/// A response with the TC bit (the answer did not fit; the client should retry over TCP).
#[test]
fn truncated_bit_response() {
    let (c, s) = (sa(CLIENT), sa(SERVER));
    let q = query(9, "big.example.com", A);
    let r = Msg::new(9, QR | TC | RD | RA, 1, 0, 0, 0)
        .question("big.example.com", A)
        .build();
    let out = run(&[udp_frame(c, s, &q), udp_frame(s, c, &r)]);
    let d = out.dns();
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].dns.header_flags, vec!["TC", "RD", "RA"]);
    assert_eq!(
        (d[0].dns.kind, d[0].dns.answers.len(), d[0].event.duration),
        ("answer", 0, Some(MS))
    );
}

/// A response whose message is cut inside its second answer (the UDP and IP lengths agree
/// with the shorter message): it is logged with what it has (header, question, the complete
/// first answer), and a weird says it was cut.
#[test]
fn response_cut_inside_a_record() {
    let (c, s) = (sa(CLIENT), sa(SERVER));
    let q = query(11, "cut.example.com", A);
    let full = Msg::new(11, QR | RD | RA, 1, 2, 0, 0)
        .question("cut.example.com", A)
        .record(&QNAME_PTR, A, 300, &[10, 9, 8, 7])
        .record(&QNAME_PTR, A, 300, &[10, 9, 8, 6])
        .build();
    let r = &full[..full.len() - 2];
    let out = run(&[udp_frame(c, s, &q), udp_frame(s, c, r)]);
    let expected = record(
        c,
        s,
        PROTO_UDP,
        at(0),
        Some(at(1)),
        Dns {
            id: 11,
            kind: "answer",
            op_code: "QUERY".into(),
            header_flags: vec!["RD", "RA"],
            response_code: Some("NOERROR".into()),
            question: question("cut.example.com", "A"),
            answers: vec![answer("cut.example.com", "A", 300, "10.9.8.7")],
            resolved_ip: vec!["10.9.8.7".parse().unwrap()],
        },
    );
    assert_eq!(out.dns(), vec![&expected]);
    let w = out.weirds();
    assert_eq!(w.len(), 1);
    assert_eq!(
        (w[0].weird.name, w[0].weird.source),
        ("dns_truncated", "dns")
    );
    assert_eq!(w[0].timestamp, Timestamp(at(1)));
    assert_eq!(w[0].conn, Some(conn(c, s, PROTO_UDP, "dns")));
    assert!(
        w[0].weird
            .detail
            .as_deref()
            .is_some_and(|d| d.starts_with("dns: truncated")),
        "{w:?}"
    );
    assert_eq!(out.kinds(), vec!["weird", "dns", "flow"]);
}

/// A response shorter than a DNS header: nothing to log but the weird; the query is
/// written without an answer when the flow closes.
#[test]
fn response_shorter_than_a_header() {
    let (c, s) = (sa(CLIENT), sa(SERVER));
    let q = query(13, "short.example.com", A);
    let out = run(&[
        udp_frame(c, s, &q),
        udp_frame(s, c, &[0, 13, 0x81, 0x80, 0]),
    ]);
    let expected = record(
        c,
        s,
        PROTO_UDP,
        at(0),
        None,
        Dns {
            id: 13,
            kind: "query",
            op_code: "QUERY".into(),
            header_flags: vec!["RD"],
            response_code: None,
            question: question("short.example.com", "A"),
            answers: vec![],
            resolved_ip: vec![],
        },
    );
    assert_eq!(out.dns(), vec![&expected]);
    assert_eq!(
        out.weirds()
            .iter()
            .map(|w| (w.weird.name, w.weird.detail.as_deref()))
            .collect::<Vec<_>>(),
        vec![(
            "dns_truncated",
            Some("dns: truncated header: needed 12 bytes, got 5")
        )]
    );
}

/// A frame the capture cut short (snap length): the flow counts its length on the wire,
/// and the analyzer sees a message cut inside its answer.
#[test]
fn snaplen_cut_response_counts_the_wire_length() {
    let (c, s) = (sa(CLIENT), sa(SERVER));
    let q = query(12, "snap.example.com", A);
    let r = response(12, "snap.example.com", A, 300, &[10, 9, 8, 7]);
    let qf = udp_frame(c, s, &q);
    let rf = udp_frame(s, c, &r);
    let captured = &rf[..rf.len() - 3];
    let out = run_with(
        LinkType::Ethernet,
        [
            (qf.as_slice(), qf.len() as u32),
            (captured, rf.len() as u32),
        ],
    );
    let f = out.flows();
    assert_eq!(f.len(), 1);
    assert_eq!(
        (f[0].source.bytes, f[0].destination.bytes),
        (qf.len() as u64, rf.len() as u64)
    );
    // The 3 bytes missing are the end of the answer's address: the record has the header
    // and question, no answer.
    let d = out.dns();
    assert_eq!(d.len(), 1);
    assert_eq!(
        (d[0].dns.kind, d[0].event.duration, d[0].dns.answers.len()),
        ("answer", Some(MS), 0)
    );
    assert_eq!(
        out.weirds()
            .iter()
            .map(|w| w.weird.name)
            .collect::<Vec<_>>(),
        vec!["dns_truncated"]
    );
}

/// Two queries in one flow answered in the other order, and one never answered: it is
/// written after the DNS timeout (10 s), while the flow is still open.
#[test]
fn answers_out_of_order_and_an_unanswered_query_times_out() {
    let (c, s) = (sa(CLIENT), sa(SERVER));
    let q1 = query(1, "one.example", A);
    let q2 = query(2, "two.example", A);
    let q3 = query(3, "three.example", A);
    let r2 = response(2, "two.example", A, 5, &[2, 2, 2, 2]);
    let r1 = response(1, "one.example", A, 5, &[1, 1, 1, 1]);
    let sec = 1_000_000_000;
    let frames = vec![
        (T0, udp_frame(c, s, &q1)),
        (T0 + 1, udp_frame(c, s, &q2)),
        (T0 + 2, udp_frame(c, s, &q3)),
        (T0 + 10, udp_frame(s, c, &r2)),
        (T0 + 20, udp_frame(s, c, &r1)),
        // Something else, 11 s later, moves the clock past the DNS timeout.
        (
            T0 + 11 * sec,
            udp_frame(c, sa("10.0.0.54:53"), &query(4, "x", A)),
        ),
    ];
    let out = run_timed(&frames);
    let d = out.dns();
    assert_eq!(
        summary(&out),
        vec![
            (2, "answer", Some(9), Timestamp(T0 + 1)),
            (1, "answer", Some(20), Timestamp(T0)),
            // Timed out at the 11 s frame, before the flows are closed.
            (3, "query", None, Timestamp(T0 + 2)),
            // The last query, never answered, written when its flow is closed.
            (4, "query", None, Timestamp(T0 + 11 * sec)),
        ]
    );
    assert_eq!(
        d[1].dns.resolved_ip,
        vec!["1.1.1.1".parse::<std::net::IpAddr>().unwrap()]
    );
    assert_eq!(
        out.kinds(),
        vec!["dns", "dns", "dns", "flow", "dns", "flow"]
    );
}

/// Unanswered queries that time out at one tick, some sent at the same instant, and others
/// left when their flow closes: written oldest first, then by id, the same in every run
/// (each engine's maps are seeded afresh, as every run's are).
#[test]
fn queries_timed_out_together_come_out_in_one_order() {
    let (c, s) = (sa(CLIENT), sa(SERVER));
    let sec = 1_000_000_000;
    let mut frames: Vec<(u64, Vec<u8>)> = (0..12u16)
        .map(|i| {
            (
                T0 + u64::from(i / 3),
                udp_frame(c, s, &query(100 - i, "t.example", A)),
            )
        })
        .collect();
    // Moves the clock past the DNS timeout; its own queries are left for the end.
    for i in 0..6u16 {
        frames.push((
            T0 + 11 * sec,
            udp_frame(c, sa("10.0.0.54:53"), &query(200 - i, "x", A)),
        ));
    }
    let ids = |out: &Out| -> Vec<u16> { out.dns().iter().map(|r| r.dns.id).collect() };
    let first = run_timed(&frames);
    assert_eq!(
        ids(&first),
        [
            98, 99, 100, 95, 96, 97, 92, 93, 94, 89, 90, 91, 195, 196, 197, 198, 199, 200
        ]
    );
    for _ in 0..4 {
        assert_eq!(run_timed(&frames).all, first.all);
    }
}

/// DNS over TCP (IPv6): two queries in one segment, the answers' length prefixes split from
/// their messages across segments.
#[test]
fn dns_over_tcp_with_length_prefixes_split_across_segments() {
    let mut t = TcpConn::new("[2001:db8::2]:45000", "[2001:db8::53]:53");
    let q1 = query(0x0101, "tcp.example.net", A);
    let q2 = query(0x0202, "tcp.example.net", AAAA);
    let r1 = response(0x0101, "tcp.example.net", A, 120, &[198, 51, 100, 7]);
    let v6: std::net::Ipv6Addr = "2001:db8::7".parse().unwrap();
    let r2 = response(0x0202, "tcp.example.net", AAAA, 120, &v6.octets());
    let mut both = tcp_framed(&q1);
    both.extend(tcp_framed(&q2));
    let mut answers = tcp_framed(&r1);
    answers.extend(tcp_framed(&r2));
    let split1 = 1; // inside the first length prefix
    let split2 = 2 + r1.len() + 2; // right after the second prefix
    let mut frames = t.handshake(); // 0..=2
    frames.push(t.client(&both)); // 3
    frames.push(t.server(&answers[..split1])); // 4
    frames.push(t.server(&answers[split1..split2])); // 5: the first answer completes
    frames.push(t.server(&answers[split2..])); // 6: the second
    frames.extend(t.close()); // 7..=9
    let out = run(&frames);
    let rec = |id, ts, kind: &'static str, ans: DnsAnswer, ip: &str| {
        record(
            t.client,
            t.server,
            PROTO_TCP,
            at(3),
            Some(ts),
            Dns {
                id,
                kind: "answer",
                op_code: "QUERY".into(),
                header_flags: vec!["RD", "RA"],
                response_code: Some("NOERROR".into()),
                question: question("tcp.example.net", kind),
                answers: vec![ans],
                resolved_ip: vec![ip.parse().unwrap()],
            },
        )
    };
    assert_eq!(
        out.dns().into_iter().cloned().collect::<Vec<_>>(),
        vec![
            rec(
                0x0101,
                at(5),
                "A",
                answer("tcp.example.net", "A", 120, "198.51.100.7"),
                "198.51.100.7"
            ),
            rec(
                0x0202,
                at(6),
                "AAAA",
                answer("tcp.example.net", "AAAA", 120, "2001:db8::7"),
                "2001:db8::7"
            ),
        ]
    );
    let f = out.flows();
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].event.reason, EndReason::End);
    assert_eq!((f[0].source.packets, f[0].destination.packets), (5, 5));
    assert!(out.weirds().is_empty(), "{:?}", out.weirds());
}

/// A query longer than what protocol detection holds (2 KiB: a TKEY query with a GSS-API
/// token is 3 KiB), over three segments: its header and question are enough to recognise
/// DNS, and the analyzer reads the whole message.
#[test]
fn dns_over_tcp_query_longer_than_the_detection_buffer() {
    let mut t = TcpConn::new(CLIENT, SERVER);
    const NULL: u16 = 10;
    let q = Msg::new(0x0303, RD, 1, 0, 0, 1)
        .question("big.example.net", A)
        .record(&QNAME_PTR, NULL, 0, &[0x5a; 3000])
        .build();
    let r = response(0x0303, "big.example.net", A, 60, &[192, 0, 2, 9]);
    let framed = tcp_framed(&q);
    let mut frames = t.handshake(); // 0..=2
    for chunk in framed.chunks(1400) {
        frames.push(t.client(chunk)); // 3, 4, 5
    }
    frames.push(t.server(&tcp_framed(&r))); // 6
    frames.extend(t.close());
    let out = run(&frames);
    assert_eq!(
        out.dns().into_iter().cloned().collect::<Vec<_>>(),
        vec![record(
            t.client,
            t.server,
            PROTO_TCP,
            at(5),
            Some(at(6)),
            Dns {
                id: 0x0303,
                kind: "answer",
                op_code: "QUERY".into(),
                header_flags: vec!["RD", "RA"],
                response_code: Some("NOERROR".into()),
                question: question("big.example.net", "A"),
                answers: vec![answer("big.example.net", "A", 60, "192.0.2.9")],
                resolved_ip: vec!["192.0.2.9".parse().unwrap()],
            },
        )]
    );
    assert!(out.weirds().is_empty(), "{:?}", out.weirds());
}

/// A capture that starts with a response (its query came before): the response is logged
/// alone, and the flow's source is its first sender, the server.
#[test]
fn a_response_without_its_query() {
    let (c, s) = (sa(CLIENT), sa(SERVER));
    let r = response(0x7777, "late.example", A, 1, &[203, 0, 113, 1]);
    let out = run(&[udp_frame(s, c, &r)]);
    let expected = DnsRecord {
        timestamp: Timestamp(at(0)),
        event: ProtoEvent { duration: None },
        conn: conn(s, c, PROTO_UDP, "dns"),
        dns: Dns {
            id: 0x7777,
            kind: "answer",
            op_code: "QUERY".into(),
            header_flags: vec!["RD", "RA"],
            response_code: Some("NOERROR".into()),
            question: question("late.example", "A"),
            answers: vec![answer("late.example", "A", 1, "203.0.113.1")],
            resolved_ip: vec!["203.0.113.1".parse().unwrap()],
        },
    };
    assert_eq!(out.dns(), vec![&expected]);
}

/// Transactions one after another on one UDP flow, a duplicate answer between them: the
/// engine lets the analysis go whenever no query waits (`Analyzer::idle`) and starts it
/// again at the next datagram, and the records are those of one analysis kept throughout:
/// each answer paired with its query, the duplicate alone, every record with the client as
/// its source, one flow record counting every datagram.
#[test]
fn transactions_one_after_another_on_one_flow() {
    let (c, s) = (sa(CLIENT), sa(SERVER));
    let r1 = response(1, "one.example", A, 60, &[1, 1, 1, 1]);
    let r2 = response(2, "two.example", A, 60, &[2, 2, 2, 2]);
    let frames = vec![
        (T0, udp_frame(c, s, &query(1, "one.example", A))),
        (T0 + 10, udp_frame(s, c, &r1)),
        (T0 + 20, udp_frame(s, c, &r1)),
        (T0 + 30, udp_frame(c, s, &query(2, "two.example", A))),
        (T0 + 50, udp_frame(s, c, &r2)),
    ];
    let out = run_timed(&frames);
    let d = out.dns();
    assert_eq!(
        summary(&out),
        vec![
            (1, "answer", Some(10), Timestamp(T0)),
            (1, "answer", None, Timestamp(T0 + 20)),
            (2, "answer", Some(20), Timestamp(T0 + 30)),
        ]
    );
    for r in &d {
        assert_eq!(r.conn, conn(c, s, PROTO_UDP, "dns"));
    }
    assert_eq!(
        d[2].dns.resolved_ip,
        vec!["2.2.2.2".parse::<std::net::IpAddr>().unwrap()]
    );
    let f = out.flows();
    assert_eq!(f.len(), 1);
    assert_eq!(out.kinds(), vec!["dns", "dns", "dns", "flow"]);
}

/// A datagram that is no DNS message comes after an answered query, while the flow's
/// analysis is let go: it is a weird of the flow's DNS analysis, as it would be in one kept
/// throughout (not a flow the next datagram's detection gives up on), and the next query is
/// analyzed. Short answers after that write their weird once for the flow.
#[test]
fn garbage_and_short_answers_between_transactions() {
    let (c, s) = (sa(CLIENT), sa(SERVER));
    let r1 = response(1, "one.example", A, 60, &[9, 9, 9, 9]);
    let r2 = response(2, "two.example", A, 60, &[9, 9, 9, 9]);
    let r3 = response(3, "three.example", A, 60, &[9, 9, 9, 9]);
    let frames = vec![
        (T0, udp_frame(c, s, &query(1, "one.example", A))),
        (T0 + 10, udp_frame(s, c, &r1)),
        (T0 + 20, udp_frame(c, s, b"\x01\x02\x03")),
        (T0 + 30, udp_frame(c, s, &query(2, "two.example", A))),
        (T0 + 40, udp_frame(s, c, &r2[..r2.len() - 3])),
        (T0 + 50, udp_frame(c, s, &query(3, "three.example", A))),
        (T0 + 60, udp_frame(s, c, &r3[..r3.len() - 3])),
    ];
    let out = run_timed(&frames);
    let ids: Vec<_> = out.dns().iter().map(|r| (r.dns.id, r.dns.kind)).collect();
    assert_eq!(ids, vec![(1, "answer"), (2, "answer"), (3, "answer")]);
    let weirds: Vec<_> = out.weirds().iter().map(|w| w.weird.name).collect();
    // The short answers' truncation is the same weird: written once.
    assert_eq!(weirds, vec!["dns_truncated"]);
    assert_eq!(out.kinds(), vec!["dns", "weird", "dns", "dns", "flow"]);
    assert_eq!(out.flows().len(), 1);
}

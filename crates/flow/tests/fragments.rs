//! IP fragments: a DNS response too big for one packet, reassembled and analyzed, every
//! fragment counted in its flow.

mod common;

use common::dns::*;
use common::*;
use flowsight_flow::Duty;
use flowsight_record::{EndReason, Timestamp};
use std::net::{IpAddr, SocketAddr};

const CLIENT: &str = "10.0.0.2:53001";
const SERVER: &str = "10.0.0.53:53";
const ANSWERS: u8 = 40;

/// A response with 40 A records (674 bytes of DNS, a 682-byte UDP datagram).
fn big_response(id: u16) -> Vec<u8> {
    let mut m =
        Msg::new(id, QR | RD | RA, 1, u16::from(ANSWERS), 0, 0).question("frag.example.com", A);
    for i in 0..ANSWERS {
        m = m.record(&QNAME_PTR, A, 60, &[198, 18, 0, i]);
    }
    m.build()
}

/// The UDP datagram cut at `cuts` (byte offsets of the IP payload, multiples of 8), each
/// piece an IPv4 fragment of identification 0x4242 in an Ethernet frame.
fn fragments_v4(src: SocketAddr, dst: SocketAddr, datagram: &[u8], cuts: &[usize]) -> Vec<Vec<u8>> {
    fragments_of(src.ip(), dst.ip(), PROTO_UDP, datagram, cuts)
}

/// An IPv4 payload of protocol `proto` cut at `cuts` as [`fragments_v4`] cuts it.
fn fragments_of(
    src: IpAddr,
    dst: IpAddr,
    proto: u8,
    datagram: &[u8],
    cuts: &[usize],
) -> Vec<Vec<u8>> {
    let mut bounds = vec![0];
    bounds.extend_from_slice(cuts);
    bounds.push(datagram.len());
    bounds
        .windows(2)
        .map(|w| {
            let frag = Frag {
                ident: 0x4242,
                more: w[1] < datagram.len(),
                offset: w[0] as u16,
            };
            ethernet(&ipv4(src, dst, proto, Some(frag), &datagram[w[0]..w[1]]))
        })
        .collect()
}

fn check_big_answer(out: &Out, answers: u8) {
    let d = out.dns();
    assert_eq!(d.len(), 1, "{:?}", out.all);
    let d = &d[0].dns;
    assert_eq!(
        (d.id, d.kind, d.answers.len()),
        (0x5151, "answer", usize::from(answers))
    );
    let ips: Vec<IpAddr> = (0..answers)
        .map(|i| IpAddr::from([198, 18, 0, i]))
        .collect();
    assert_eq!(d.resolved_ip, ips);
    assert_eq!(
        d.answers.last().unwrap().data,
        format!("198.18.0.{}", answers - 1)
    );
}

#[test]
fn fragmented_udp_dns_response_is_reassembled_and_every_fragment_counted() {
    let (c, s) = (sa(CLIENT), sa(SERVER));
    let q = query(0x5151, "frag.example.com", A);
    let r = big_response(0x5151);
    assert_eq!(r.len(), 674);
    let datagram = udp(s, c, &r);
    let frags = fragments_v4(s, c, &datagram, &[296, 592]);
    let mut frames = vec![udp_frame(c, s, &q)];
    frames.extend(frags.clone());
    let out = run(&frames);

    check_big_answer(&out, ANSWERS);
    let d = out.dns();
    assert_eq!(d[0].timestamp, Timestamp(at(0)));
    // Complete with the last fragment.
    assert_eq!(d[0].event.duration, Some(at(3) - at(0)));
    assert_eq!(d[0].conn, conn(c, s, PROTO_UDP, "dns"));

    // One flow: the query, and the response's three fragments (34 + 296, 34 + 296, 34 + 90
    // bytes: Ethernet and IPv4 headers around each piece).
    let server = Side {
        packets: 3,
        bytes: 330 + 330 + 124,
        flags: 0,
    };
    assert_eq!(
        frags.iter().map(|f| f.len() as u64).sum::<u64>(),
        server.bytes
    );
    let client = Side {
        packets: 1,
        bytes: frames[0].len() as u64,
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
            at(3),
            at(3),
            EndReason::Shutdown
        )]
    );
    assert!(out.weirds().is_empty(), "{:?}", out.weirds());
    assert_eq!(out.stats.fragments_abandoned, 0);
}

/// Fragments in reverse order. The datagram is still rebuilt and analyzed; fragments seen
/// before the first one cannot be tied to the flow's ports yet and are counted under ports
/// 0/0 between the same addresses, as the kernel counts them live.
#[test]
fn fragments_in_reverse_order() {
    let (c, s) = (sa(CLIENT), sa(SERVER));
    let q = query(0x5151, "frag.example.com", A);
    let datagram = udp(s, c, &big_response(0x5151));
    let mut frags = fragments_v4(s, c, &datagram, &[296, 592]);
    frags.reverse();
    let mut frames = vec![udp_frame(c, s, &q)];
    frames.extend(frags.clone());
    let out = run(&frames);
    check_big_answer(&out, ANSWERS);
    let flows = out.flows();
    let total: u64 = flows.iter().map(|f| f.network.packets).sum();
    assert_eq!(total, 4, "every frame counted once: {flows:?}");
    let summary: Vec<_> = flows
        .iter()
        .map(|f| (f.source.port, f.destination.port, f.network.packets))
        .collect();
    assert_eq!(summary, vec![(53001, 53, 2), (0, 0, 2)]);
}

/// The middle fragment never comes: when the capture ends, the data before the hole (the
/// UDP header and the first 288 bytes of the message) is analyzed: the header, the question
/// and the 15 answers that fit whole, and a weird for the cut.
#[test]
fn a_datagram_that_never_completes_is_analyzed_up_to_its_hole() {
    let (c, s) = (sa(CLIENT), sa(SERVER));
    let q = query(0x5151, "frag.example.com", A);
    let datagram = udp(s, c, &big_response(0x5151));
    let frags = fragments_v4(s, c, &datagram, &[296, 592]);
    let frames = vec![udp_frame(c, s, &q), frags[0].clone(), frags[2].clone()];
    let out = run(&frames);
    check_big_answer(&out, 15);
    assert_eq!(
        out.weirds()
            .iter()
            .map(|w| w.weird.name)
            .collect::<Vec<_>>(),
        vec!["dns_truncated"]
    );
    assert_eq!(out.stats.fragments_abandoned, 1);
    let f = out.flows();
    assert_eq!(f.len(), 1);
    assert_eq!((f[0].source.packets, f[0].destination.packets), (1, 2));
}

/// The analysis of a datagram that never completes happens when it is given up on, but its
/// records must keep the capture's timeline: the response came with its fragments (at 1 and
/// 2 ms), not at the end of time.
#[test]
fn an_abandoned_datagram_at_the_end_keeps_the_time_of_its_fragments() {
    let (c, s) = (sa(CLIENT), sa(SERVER));
    let q = query(0x5151, "frag.example.com", A);
    let datagram = udp(s, c, &big_response(0x5151));
    let frags = fragments_v4(s, c, &datagram, &[296, 592]);
    let frames = vec![udp_frame(c, s, &q), frags[0].clone(), frags[2].clone()];
    let out = run(&frames);
    let d = out.dns();
    assert_eq!(d.len(), 1);
    let duration = d[0].event.duration.unwrap();
    assert!(
        (at(1) - at(0)..=at(2) - at(0)).contains(&duration),
        "the answer came 1-2 ms after the query, not {duration} ns"
    );
    let w = out.weirds();
    assert!(
        (Timestamp(at(1))..=Timestamp(at(2))).contains(&w[0].timestamp),
        "{}",
        w[0].timestamp
    );
}

/// The same when the datagram times out (30 s) in the middle of a capture: the records are
/// written then, but they describe the fragments that came, not the moment of the timeout.
#[test]
fn an_abandoned_datagram_timed_out_keeps_the_time_of_its_fragments() {
    let (c, s) = (sa(CLIENT), sa(SERVER));
    let q = query(0x5151, "frag.example.com", A);
    let datagram = udp(s, c, &big_response(0x5151));
    let frags = fragments_v4(s, c, &datagram, &[296, 592]);
    let sec = 1_000_000_000;
    let other = udp_frame(sa("10.9.9.9:1000"), sa("10.9.9.8:2000"), b"tick");
    let frames = vec![
        (T0, udp_frame(c, s, &q)),
        (T0 + MS, frags[0].clone()),
        (T0 + 2 * MS, frags[2].clone()),
        (T0 + 31 * sec, other),
    ];
    let out = run_timed(&frames);
    let d = out.dns();
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].dns.answers.len(), 15);
    let duration = d[0].event.duration.unwrap();
    assert!(
        (MS..=2 * MS).contains(&duration),
        "the answer came 1-2 ms after the query, not {duration} ns"
    );
}

/// Datagrams that never complete, timed out at one tick, their first fragments at the same
/// instant: analyzed in one order in every run (each engine's maps are seeded afresh, as
/// every run's are), by their fragments' time, then addresses.
#[test]
fn datagrams_timed_out_together_come_out_in_one_order() {
    let s = sa(SERVER);
    let sec = 1_000_000_000;
    let mut frames = Vec::new();
    for i in 0..12u8 {
        let c = SocketAddr::from(([10, 0, 1, 12 - i], 53001));
        let datagram = udp(s, c, &big_response(0x5151));
        let frags = fragments_v4(s, c, &datagram, &[296, 592]);
        frames.push((T0 + MS, frags[0].clone()));
        frames.push((T0 + MS, frags[2].clone()));
    }
    frames.push((
        T0 + 31 * sec,
        udp_frame(sa("10.9.9.9:1000"), sa("10.9.9.8:2000"), b"tick"),
    ));
    let first = run_timed(&frames);
    let to: Vec<IpAddr> = first.dns().iter().map(|r| r.conn.destination.ip).collect();
    let want: Vec<IpAddr> = (1..=12u8).map(|i| IpAddr::from([10, 0, 1, i])).collect();
    assert_eq!(to, want);
    for _ in 0..4 {
        assert_eq!(run_timed(&frames).all, first.all);
    }
}

#[test]
fn overlapping_fragments_are_reported() {
    let (c, s) = (sa(CLIENT), sa(SERVER));
    let q = query(0x5151, "frag.example.com", A);
    let datagram = udp(s, c, &big_response(0x5151));
    let piece = |off: usize, end: usize, more: bool| {
        let frag = Frag {
            ident: 0x4242,
            more,
            offset: off as u16,
        };
        ethernet(&ipv4(
            s.ip(),
            c.ip(),
            PROTO_UDP,
            Some(frag),
            &datagram[off..end],
        ))
    };
    // The third piece starts 8 bytes early, overlapping the second with the same bytes.
    let frames = vec![
        udp_frame(c, s, &q),
        piece(0, 296, true),
        piece(296, 400, true),
        piece(392, datagram.len(), false),
    ];
    let out = run(&frames);
    check_big_answer(&out, ANSWERS);
    let w = out.weirds();
    assert_eq!(w.len(), 1);
    assert_eq!(
        (
            w[0].weird.name,
            w[0].weird.source,
            w[0].weird.detail.as_deref(),
            &w[0].conn
        ),
        (
            "fragment_overlap",
            "ip",
            Some("10.0.0.53 -> 10.0.0.2"),
            &None
        )
    );
    assert_eq!(w[0].timestamp, Timestamp(at(3)));
    assert_eq!(out.flows()[0].destination.packets, 3);
}

#[test]
fn ipv6_fragments_are_reassembled() {
    let (c, s) = (sa("[2001:db8::2]:53002"), sa("[2001:db8::53]:53"));
    let q = query(0x5151, "frag.example.com", A);
    let datagram = udp(s, c, &big_response(0x5151));
    let mut frames = vec![udp_frame(c, s, &q)];
    for (off, end, more) in [
        (0, 296, true),
        (296, 592, true),
        (592, datagram.len(), false),
    ] {
        let frag = Frag {
            ident: 0,
            more,
            offset: off as u16,
        };
        frames.push(ethernet(&ipv6_fragment(
            s.ip(),
            c.ip(),
            PROTO_UDP,
            frag,
            0xdead_beef,
            &datagram[off..end],
        )));
    }
    let out = run(&frames);
    check_big_answer(&out, ANSWERS);
    let f = out.flows();
    assert_eq!(f.len(), 1);
    let (_, server) = tally(&frames, |fr| fr == frames[0].as_slice());
    assert_eq!(
        (f[0].destination.packets, f[0].destination.bytes),
        (3, server.bytes)
    );
    assert_eq!(f[0].source.port, 53002);
}

/// A tunnel's datagram (GTP-U) in fragments, as `read --threads` shares it between two
/// engines when the tunnel's pair and the inner flow's are two engines': one counts the
/// fragments in the tunnel's flow ([`Duty::Count`]), the other rebuilds the datagram and
/// analyzes the DNS answer in it ([`Duty::Reassemble`]), its query coming to it whole.
/// Together they write one engine's records, and count each frame once, duplicates too.
#[test]
fn a_tunnels_fragments_shared_by_two_engines_give_one_engines_records() {
    let (c, s) = (sa(CLIENT), sa(SERVER));
    let (near, far): (IpAddr, IpAddr) =
        ("192.0.2.1".parse().unwrap(), "192.0.2.2".parse().unwrap());
    let inner = ipv4(
        s.ip(),
        c.ip(),
        PROTO_UDP,
        None,
        &udp(s, c, &big_response(0x5151)),
    );
    let mut frames = vec![(
        at(0),
        udp_frame(c, s, &query(0x5151, "frag.example.com", A)),
    )];
    // Each fragment twice, as a mirror port may show it: the last one's copy comes after the
    // datagram is whole, and counts under ports 0/0 (no first fragment is waiting for it).
    let mut gtp = vec![0x30, 0xff, 0, 0, 0, 0, 0, 1]; // GTP-U, G-PDU, TEID 1
    gtp[2..4].copy_from_slice(&(inner.len() as u16).to_be_bytes());
    gtp.extend_from_slice(&inner);
    let (near_end, far_end) = (SocketAddr::new(near, 2152), SocketAddr::new(far, 2152));
    let outer = udp(near_end, far_end, &gtp);
    for (i, f) in fragments_of(near, far, PROTO_UDP, &outer, &[296, 592])
        .into_iter()
        .enumerate()
    {
        frames.push((at(1 + 2 * i), f.clone()));
        frames.push((at(2 + 2 * i), f));
    }
    let as_one: Vec<_> = frames
        .iter()
        .map(|(t, f)| (*t, f.clone(), Some(Duty::Whole)))
        .collect();
    let shared = |first: Option<Duty>, fragment: Duty| -> Vec<_> {
        frames
            .iter()
            .enumerate()
            .map(|(i, (t, f))| (*t, f.clone(), if i == 0 { first } else { Some(fragment) }))
            .collect()
    };
    let one = run_shared(&as_one);
    let counter = run_shared(&shared(None, Duty::Count));
    let rebuilder = run_shared(&shared(Some(Duty::Whole), Duty::Reassemble));

    // The tunnel's flow is the counter's alone, the DNS flow and answer the rebuilder's.
    check_big_answer(&rebuilder, ANSWERS);
    assert!(counter.dns().is_empty(), "{:?}", counter.all);
    let tunnel = |out: &Out| -> Vec<(u16, u64)> {
        out.flows()
            .iter()
            .filter(|f| f.source.ip == near)
            .map(|f| (f.source.port, f.network.packets))
            .collect()
    };
    assert_eq!(tunnel(&one), [(2152, 5), (0, 1)]);
    assert_eq!(tunnel(&counter), tunnel(&one));
    assert!(tunnel(&rebuilder).is_empty(), "{:?}", rebuilder.flows());
    let sorted = |outs: &[&Out]| {
        let mut v: Vec<String> = outs
            .iter()
            .flat_map(|o| o.all.iter().map(|r| format!("{r:?}")))
            .collect();
        v.sort();
        v
    };
    assert_eq!(sorted(&[&counter, &rebuilder]), sorted(&[&one]));
    assert_eq!(
        counter.stats.frames + rebuilder.stats.frames,
        one.stats.frames
    );
    assert_eq!(
        counter.stats.fragments_abandoned + rebuilder.stats.fragments_abandoned,
        one.stats.fragments_abandoned
    );
}

//! Flow records from the engine: exact counters per direction, direction (source = the
//! initiator), end reasons, link types, VLANs and frames that are not flows.

mod common;

use common::*;
use flowsight_record::{EndReason, Record, Vlan, Weird};
use flowsight_wire::LinkType;

/// The server's address sorts first, so the canonical key's endpoint 0 is the server.
const CLIENT: &str = "10.0.0.9:33333";
const SERVER: &str = "10.0.0.1:22";

fn client_of(c: &TcpConn) -> impl Fn(&[u8]) -> bool + '_ {
    move |f: &[u8]| {
        let std::net::IpAddr::V4(a) = c.client.ip() else {
            unreachable!()
        };
        f[ETH_LEN + 12..ETH_LEN + 16] == a.octets()
    }
}

#[test]
fn tcp_connection_closed_by_fin_exact_record() {
    let mut c = TcpConn::new(CLIENT, SERVER);
    let mut frames = c.handshake();
    frames.push(c.client(b"SSH-2.0-client\r\n"));
    frames.push(c.server(b"SSH-2.0-server\r\n"));
    frames.push(c.client_ack());
    frames.extend(c.close());
    let out = run(&frames);
    // The client: SYN 54, ACK 54, 16 bytes of data 70, ACK 54, FIN 54, ACK 54.
    // The server: SYN+ACK 54, 16 bytes of data 70, FIN+ACK 54.
    let expect = (
        Side {
            packets: 6,
            bytes: 54 * 5 + 70,
            flags: SYN | ACK | PSH | FIN,
        },
        Side {
            packets: 3,
            bytes: 54 * 2 + 70,
            flags: SYN | ACK | PSH | FIN,
        },
    );
    assert_eq!(tally(&frames, client_of(&c)), expect);
    assert_eq!(
        out.flows(),
        vec![&flow_record(
            c.client,
            c.server,
            PROTO_TCP,
            expect,
            at(0),
            at(8),
            at(8),
            EndReason::End
        )]
    );
    assert_eq!(out.kinds(), vec!["flow"], "SSH is not analyzed");
}

/// The SYN was not captured: the SYN+ACK still names its receiver as the initiator.
#[test]
fn syn_ack_first_still_names_the_client_as_source() {
    let mut c = TcpConn::new(CLIENT, SERVER);
    let _ = c.syn();
    let frames = vec![c.syn_ack(), c.client_ack(), c.client(b"x")];
    let out = run(&frames);
    let f = out.flows();
    assert_eq!(f.len(), 1);
    assert_eq!(
        (f[0].source.ip, f[0].source.port, f[0].source.packets),
        (c.client.ip(), 33333, 2)
    );
    assert_eq!((f[0].destination.port, f[0].destination.packets), (22, 1));
    assert_eq!(f[0].event.reason, EndReason::Shutdown);
}

/// A connection that predates the capture, first seen from the server: the low port is the
/// server's.
#[test]
fn mid_stream_connection_first_seen_from_the_server() {
    let mut c = TcpConn::new("10.0.0.9:45000", "10.0.0.1:443");
    let frames = vec![c.server(b"late"), c.client_ack()];
    let out = run(&frames);
    let f = out.flows();
    assert_eq!(
        (f[0].source.port, f[0].destination.port),
        (45000, 443),
        "{f:?}"
    );
    assert_eq!((f[0].source.packets, f[0].destination.packets), (1, 1));
    assert_eq!((f[0].source.bytes, f[0].destination.bytes), (54, 58));
}

/// UDP has no handshake: the first sender is the source, whatever the ports.
#[test]
fn udp_source_is_the_first_sender() {
    let (a, b) = (sa("10.0.0.9:6000"), sa("10.0.0.1:5000"));
    let frames = vec![
        udp_frame(a, b, b"ping"),
        udp_frame(b, a, b"pong!"),
        udp_frame(a, b, b"again"),
    ];
    let out = run(&frames);
    let expect = (
        Side {
            packets: 2,
            bytes: 46 + 47,
            flags: 0,
        },
        Side {
            packets: 1,
            bytes: 47,
            flags: 0,
        },
    );
    assert_eq!(
        out.flows(),
        vec![&flow_record(
            a,
            b,
            PROTO_UDP,
            expect,
            at(0),
            at(2),
            at(2),
            EndReason::Shutdown
        )]
    );
}

#[test]
fn rst_ends_a_connection() {
    let mut c = TcpConn::new(CLIENT, SERVER);
    let mut frames = c.handshake();
    let (s, d) = (c.server, c.client);
    frames.push(ethernet(&ip(
        s.ip(),
        d.ip(),
        PROTO_TCP,
        &tcp(s, d, c.sseq, c.cseq, RST | ACK, b""),
    )));
    let out = run(&frames);
    let f = out.flows();
    assert_eq!(f[0].event.reason, EndReason::End);
    assert_eq!(f[0].destination.tcp_flags.0, SYN | ACK | RST);
}

/// The same ports used again after the first connection ended: two flow records.
#[test]
fn a_new_syn_after_the_end_starts_a_new_flow() {
    let mut c = TcpConn::new(CLIENT, SERVER);
    let mut frames = c.handshake();
    frames.extend(c.close()); // 3..=5
    let mut again = TcpConn::with_isn(CLIENT, SERVER, 900_000, 700_000);
    frames.extend(again.handshake()); // 6..=8
    let out = run(&frames);
    let f = out.flows();
    let summary: Vec<_> = f
        .iter()
        .map(|r| {
            (
                r.event.start.0,
                r.event.end.0,
                r.event.reason,
                r.network.packets,
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (at(0), at(5), EndReason::End, 6),
            (at(6), at(8), EndReason::Shutdown, 3),
        ]
    );
    // The first is written when the new SYN replaces it.
    assert_eq!(f[0].timestamp.0, at(6));
}

/// A flow quiet for the idle timeout (60 s) is closed, and a packet after that starts a new
/// one; a flow still active after the active timeout (60 s) gets an interim record.
#[test]
fn idle_and_active_timeouts() {
    let sec = 1_000_000_000;
    let (a, b) = (sa("10.0.0.9:6000"), sa("10.0.0.1:5000"));
    let (x, y) = (sa("10.0.0.9:7000"), sa("10.0.0.1:5000"));
    let mut frames = vec![(T0, udp_frame(a, b, b"1"))];
    // The x-y flow sends every 20 s for 80 s; a-b sends once more at 70 s.
    for i in 0..=4 {
        frames.push((T0 + i * 20 * sec + 1, udp_frame(x, y, b"tick")));
    }
    frames.push((T0 + 70 * sec, udp_frame(a, b, b"2")));
    frames.sort_by_key(|f| f.0);
    let out = run_timed(&frames);
    let mut summary: Vec<_> = out
        .flows()
        .iter()
        .map(|r| {
            (
                r.timestamp.0 - T0,
                r.source.port,
                r.event.reason,
                r.network.packets,
            )
        })
        .collect();
    // Records due at the same instant come in no particular order.
    summary.sort_by_key(|r| (r.0, r.1));
    assert_eq!(
        summary,
        vec![
            // At 60 s, before the packet of that instant is counted: a-b idle since 0 s,
            // x-y active since 0 s (3 packets so far).
            (60 * sec + 1, 6000, EndReason::IdleTimeout, 1),
            (60 * sec + 1, 7000, EndReason::ActiveTimeout, 3),
            // At the end: a-b again (from 70 s), x-y (all 5 packets).
            (80 * sec + 1, 6000, EndReason::Shutdown, 1),
            (80 * sec + 1, 7000, EndReason::Shutdown, 5),
        ]
    );
}

#[test]
fn the_same_connection_over_raw_ip_and_linux_cooked_links() {
    let mut c = TcpConn::new(CLIENT, SERVER);
    let mut frames = c.handshake();
    frames.push(c.client(b"hello"));
    let is_client = client_of(&c);
    let ip_packets: Vec<Vec<u8>> = frames.iter().map(|f| f[ETH_LEN..].to_vec()).collect();
    let client_n = frames.iter().filter(|f| is_client(f)).count() as u64;
    for (link, framed, header) in [
        (LinkType::Raw, ip_packets.clone(), 0u64),
        (
            LinkType::LinuxSll,
            ip_packets.iter().map(|p| sll(p)).collect::<Vec<_>>(),
            16,
        ),
    ] {
        let out = run_with(link, framed.iter().map(|f| (f.as_slice(), f.len() as u32)));
        let f = out.flows();
        assert_eq!(f.len(), 1, "{link:?}");
        // 40 bytes of IPv4 and TCP headers per packet, 5 of data, plus the link header.
        assert_eq!(
            (f[0].source.packets, f[0].source.bytes),
            (client_n, client_n * (40 + header) + 5),
            "{link:?}"
        );
        assert_eq!(
            (f[0].destination.packets, f[0].destination.bytes),
            (1, 40 + header),
            "{link:?}"
        );
        assert_eq!(f[0].source.port, 33333);
    }
}

#[test]
fn vlan_tagged_frames_carry_the_vlan_into_flow_and_protocol_records() {
    let (c, s) = (sa("10.0.0.2:53000"), sa("10.0.0.53:53"));
    let q = common::dns::query(1, "vlan.example", common::dns::A);
    let packet = ip(c.ip(), s.ip(), PROTO_UDP, &udp(c, s, &q));
    let frame = ethernet_vlan(100, &packet);
    let out = run(std::slice::from_ref(&frame));
    let f = out.flows();
    assert_eq!(f[0].network.vlan, Some(Vlan { id: 100 }));
    assert_eq!(f[0].source.bytes, frame.len() as u64);
    let d = out.dns();
    assert_eq!(d[0].conn.network.vlan, Some(Vlan { id: 100 }));
    // The same packet untagged is another flow.
    let out = run(&[frame, ethernet(&packet)]);
    assert_eq!(out.flows().len(), 2);
}

#[test]
fn frames_that_are_not_flows_are_counted() {
    let arp = ethernet_typed(0x0806, &[0u8; 28]);
    let short = vec![0u8; 10];
    // IPv4 EtherType, an IP header cut after 12 bytes.
    let cut_ip = ethernet_typed(0x0800, &[0x45, 0, 0, 40, 0, 0, 0, 0, 64, 6, 0, 0]);
    let (a, b) = (sa("10.0.0.9:6000"), sa("10.0.0.1:5000"));
    let frames = vec![arp, short, cut_ip, udp_frame(a, b, b"x")];
    let out = run(&frames);
    assert_eq!(
        (
            out.stats.frames,
            out.stats.not_ip,
            out.stats.undecodable,
            out.flows().len()
        ),
        (4, 1, 2, 1)
    );
    let w: Vec<(&str, &str, u64)> = out
        .all
        .iter()
        .filter_map(|r| match r {
            Record::Weird(w) => Some((w.weird.name, w.weird.source, w.timestamp.0)),
            _ => None,
        })
        .collect();
    assert_eq!(
        w,
        vec![
            ("truncated_header", "capture", at(1)),
            ("truncated_header", "capture", at(2)),
        ]
    );
    assert!(out.weirds().iter().all(|w| w.conn.is_none()
        && matches!(
            w.weird,
            Weird {
                detail: Some(_),
                ..
            }
        )));
}

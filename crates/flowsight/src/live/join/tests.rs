//! Merging the members of one connection.

use super::*;
use flowsight_host::conntrack::Tuple;
use flowsight_record::{Interface, Record};

/// `IP:PORT` or `[IPV6]:PORT`.
fn ep(s: &str) -> (IpAddr, u16) {
    let (ip, port) = s.rsplit_once(':').unwrap();
    (
        ip.trim_matches(['[', ']']).parse().unwrap(),
        port.parse().unwrap(),
    )
}

/// A member seen on `iface` from `src` to `dst`, with `bytes` per side; `owners` says which
/// ends have the example owner.
fn member(
    iface: (&str, u32),
    src: &str,
    dst: &str,
    bytes: [u64; 2],
    owners: [bool; 2],
) -> FlowRecord {
    let Record::Flow(mut f) = Record::examples().remove(0) else {
        unreachable!("the first example is a flow")
    };
    let owner = f.source.owner.clone();
    f.observations.clear();
    f.source.nat = None;
    f.destination.nat = None;
    f.interface = Some(Interface {
        name: iface.0.into(),
        id: iface.1,
    });
    (f.source.ip, f.source.port) = ep(src);
    (f.destination.ip, f.destination.port) = ep(dst);
    f.source.bytes = bytes[0];
    f.destination.bytes = bytes[1];
    f.source.owner = owner.clone().filter(|_| owners[0]);
    f.destination.owner = owner.filter(|_| owners[1]);
    f
}

fn conn(orig: (&str, &str), reply: (&str, &str)) -> Connection {
    Connection {
        id: 9,
        status: 0,
        zone: 0,
        orig: Tuple {
            protocol: 6,
            src: ep(orig.0),
            dst: ep(orig.1),
        },
        reply: Tuple {
            protocol: 6,
            src: ep(reply.0),
            dst: ep(reply.1),
        },
    }
}

#[test]
fn masquerade_joins_the_veth_and_the_uplink() {
    let c = conn(
        ("172.17.0.2:40000", "198.51.100.1:80"),
        ("198.51.100.1:80", "192.0.2.10:61000"),
    );
    // The uplink member comes first and was turned around by its direction heuristics.
    let uplink = member(
        ("eth0", 2),
        "198.51.100.1:80",
        "192.0.2.10:61000",
        [900, 120],
        [false, false],
    );
    let veth = member(
        ("veth1", 7),
        "172.17.0.2:40000",
        "198.51.100.1:80",
        [100, 880],
        [true, false],
    );
    // The uplink saw the remote server's owner (a local namespace behind it): a tie that the
    // inside of the NAT wins.
    let mut uplink_owned = uplink.clone();
    uplink_owned.source.owner = veth.source.owner.clone();
    let r = merge(vec![uplink_owned, veth.clone()], Some(&c));
    assert_eq!(r.interface.as_ref().unwrap().name, "veth1");
    let r = merge(vec![uplink, veth], Some(&c));
    assert_eq!((r.source.ip, r.source.port), ep("172.17.0.2:40000"));
    assert_eq!(
        (r.destination.ip, r.destination.port),
        ep("198.51.100.1:80")
    );
    let nat = r.source.nat.unwrap();
    assert_eq!((nat.ip, nat.port), ep("192.0.2.10:61000"));
    assert!(r.destination.nat.is_none());
    assert!(r.source.owner.is_some());
    // The veth (the owner's side) is the primary: its interface and counts.
    assert_eq!(r.interface.as_ref().unwrap().name, "veth1");
    assert_eq!((r.source.bytes, r.destination.bytes), (100, 880));
    assert_eq!(r.observations.len(), 2);
    let up = &r.observations[1];
    assert_eq!(up.interface.as_ref().unwrap().name, "eth0");
    assert_eq!((up.source.ip, up.source.port), ep("192.0.2.10:61000"));
    assert_eq!((up.source.bytes, up.destination.bytes), (120, 900));
    assert_eq!(
        r.network.community_id,
        community_id(ep("172.17.0.2:40000"), ep("198.51.100.1:80"), 6, false)
    );
}

#[test]
fn a_port_forward_names_the_address_asked_for_and_the_one_reached() {
    let c = conn(
        ("203.0.113.5:50000", "192.0.2.10:8080"),
        ("172.17.0.3:80", "203.0.113.5:50000"),
    );
    let uplink = member(
        ("eth0", 2),
        "203.0.113.5:50000",
        "192.0.2.10:8080",
        [300, 5000],
        [false, false],
    );
    let veth = member(
        ("veth2", 8),
        "203.0.113.5:50000",
        "172.17.0.3:80",
        [300, 5000],
        [false, true],
    );
    let r = merge(vec![uplink, veth], Some(&c));
    assert_eq!(
        (r.destination.ip, r.destination.port),
        ep("192.0.2.10:8080")
    );
    let nat = r.destination.nat.unwrap();
    assert_eq!((nat.ip, nat.port), ep("172.17.0.3:80"));
    assert!(r.source.nat.is_none());
    assert!(r.destination.owner.is_some());
    assert_eq!(r.interface.as_ref().unwrap().name, "veth2");
}

#[test]
fn two_containers_on_a_bridge_are_one_flow_with_both_owners() {
    // Each veth saw the owner of the end on its own side.
    let a = member(
        ("vethA", 5),
        "172.17.0.2:40000",
        "172.17.0.3:80",
        [100, 200],
        [true, false],
    );
    let b = member(
        ("vethB", 6),
        "172.17.0.3:80",
        "172.17.0.2:40000",
        [200, 100],
        [true, false],
    );
    let r = merge(vec![a, b], None);
    assert_eq!((r.source.ip, r.source.port), ep("172.17.0.2:40000"));
    assert!(r.source.owner.is_some() && r.destination.owner.is_some());
    assert_eq!(r.observations.len(), 2);
    assert_eq!(
        r.observations[1].source.bytes, 100,
        "oriented like the record"
    );
    assert!(r.source.nat.is_none() && r.destination.nat.is_none());
}

#[test]
fn a_single_member_without_nat_is_unchanged() {
    let a = member(
        ("lo", 1),
        "127.0.0.1:1",
        "127.0.0.1:2",
        [1, 2],
        [true, true],
    );
    assert_eq!(merge(vec![a.clone()], None), a);
}

#[test]
fn finished_members_wait_for_the_open_ones() {
    use flowsight_flow::Timeouts;
    let mut j = Joiner::new(None, 0);
    let mut table: FlowTable = FlowTable::new(Timeouts::default());
    let a = ep("10.0.0.1:1000");
    let b = ep("10.0.0.2:80");
    let (k1, s1) = FlowKey::from_packet(a, b, 6, 5, 0);
    let (k2, s2) = FlowKey::from_packet(a, b, 6, 6, 0);
    table.packet(k1, s1, 1, 100, 0x02);
    table.packet(k2, s2, 1, 100, 0x02);
    j.index(&table);
    assert_eq!(j.join_key(&k1), j.join_key(&k2));
    let r1 = member(
        ("a", 5),
        "10.0.0.1:1000",
        "10.0.0.2:80",
        [1, 2],
        [true, false],
    );
    let r2 = member(
        ("b", 6),
        "10.0.0.1:1000",
        "10.0.0.2:80",
        [1, 2],
        [false, true],
    );
    table.remove(&k1);
    assert!(
        j.finished(r1, &k1, 1, &table, 0).is_empty(),
        "k2 is still open"
    );
    table.remove(&k2);
    let out = j.finished(r2, &k2, 1, &table, 1);
    assert_eq!(out.len(), 1);
    assert!(out[0].source.owner.is_some() && out[0].destination.owner.is_some());
    // A member whose partner never ends is written after the wait.
    let (k3, s3) = FlowKey::from_packet(ep("10.0.0.1:1001"), b, 6, 5, 0);
    let (k4, s4) = FlowKey::from_packet(ep("10.0.0.1:1001"), b, 6, 6, 0);
    table.packet(k3, s3, 1, 100, 0x02);
    table.packet(k4, s4, 1, 100, 0x02);
    j.index(&table);
    table.remove(&k3);
    let r3 = member(
        ("a", 5),
        "10.0.0.1:1001",
        "10.0.0.2:80",
        [1, 2],
        [true, false],
    );
    assert!(j.finished(r3, &k3, 1, &table, 0).is_empty());
    assert!(j.flush_expired(WAIT_NS - 1).is_empty());
    assert_eq!(j.flush_expired(WAIT_NS).len(), 1);
    // Interim records: one per connection per scan.
    assert_eq!(j.interim(&k4, 1, &table), Some(vec![]));
    assert_eq!(j.interim(&k4, 1, &table), None);
}

#[test]
fn a_later_connection_on_the_same_ports_is_not_joined() {
    use flowsight_flow::Timeouts;
    let mut j = Joiner::new(None, 0);
    let mut table: FlowTable = FlowTable::new(Timeouts::default());
    let a = ep("10.0.0.1:1000");
    let b = ep("10.0.0.2:80");
    let (k1, s1) = FlowKey::from_packet(a, b, 6, 5, 0);
    let (k2, s2) = FlowKey::from_packet(a, b, 6, 6, 0);
    // The old connection on interface 5 ended; a new one on the same ports is open on 6.
    table.packet(k1, s1, 1_000, 100, 0x02);
    table.packet(k2, s2, 5_000_000_000, 100, 0x02);
    j.index(&table);
    table.remove(&k1);
    let mut old = member(
        ("a", 5),
        "10.0.0.1:1000",
        "10.0.0.2:80",
        [1, 2],
        [true, false],
    );
    old.event.start = Timestamp(1_000);
    let out = j.finished(old, &k1, 1_000, &table, 0);
    assert_eq!(
        out.len(),
        1,
        "written at once, not held for the new connection"
    );
    // A member held from an old connection is written alone when a new one's member ends.
    let mut held = member(
        ("a", 5),
        "10.0.0.1:1000",
        "10.0.0.2:80",
        [1, 2],
        [true, false],
    );
    (held.event.start, held.event.end) = (Timestamp(1_000), Timestamp(2_000));
    j.hold_all();
    assert!(j.finished(held, &k1, 1_000, &table, 0).is_empty());
    let mut new = member(
        ("b", 6),
        "10.0.0.1:1000",
        "10.0.0.2:80",
        [3, 4],
        [true, false],
    );
    (new.event.start, new.event.end) = (Timestamp(5_000_000_000), Timestamp(5_000_000_100));
    let out = j.finished(new, &k2, 5_000_000_000, &table, 0);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].source.bytes, 1);
    let rest = j.flush_all();
    assert_eq!(rest.len(), 1);
    assert_eq!(rest[0].source.bytes, 3);
}

/// An echo exchange as conntrack reports it: the message types and codes for ports.
fn echo(protocol: u8, orig: (&str, &str), reply: (&str, &str)) -> Connection {
    let t = |(src, dst): (&str, &str)| Tuple {
        protocol,
        src: ep(src),
        dst: ep(dst),
    };
    Connection {
        id: 11,
        status: 1 << 4,
        zone: 0,
        orig: t(orig),
        reply: t(reply),
    }
}

#[test]
fn a_ping_through_masquerade_joins_both_sides() {
    // conntrack: type 8 code 0 out, type 0 code 0 back (v4); 128 and 129 (v6).
    for (protocol, c, inner, outer, remote, [req, rep]) in [
        (
            1,
            echo(
                1,
                ("172.17.0.2:8", "198.51.100.1:0"),
                ("198.51.100.1:0", "192.0.2.10:0"),
            ),
            "172.17.0.2",
            "192.0.2.10",
            "198.51.100.1",
            [8, 0],
        ),
        (
            58,
            echo(
                58,
                ("[fd00:17::2]:128", "[2001:db8::1]:0"),
                ("[2001:db8::1]:129", "[fd00:1::10]:0"),
            ),
            "fd00:17::2",
            "fd00:1::10",
            "2001:db8::1",
            [128, 129],
        ),
    ] {
        let mut j = Joiner::new(None, 0);
        reload(&mut j.nat, vec![c], 0);
        let at = |ip: &str, port: u16| (ip.parse::<IpAddr>().unwrap(), port);
        // The flow keys' ports: the request's type and the reply's type.
        let (veth, _) = FlowKey::from_packet(at(inner, req), at(remote, rep), protocol, 7, 0);
        let (uplink, _) = FlowKey::from_packet(at(outer, req), at(remote, rep), protocol, 2, 0);
        let key = j.join_key(&veth);
        assert!(matches!(key, JoinKey::Nat(_, 11)), "{key:?}");
        assert_eq!(j.join_key(&uplink), key);
        let name = |ip: &str, port| {
            let (ip, port) = at(ip, port);
            match ip {
                IpAddr::V4(_) => format!("{ip}:{port}"),
                IpAddr::V6(_) => format!("[{ip}]:{port}"),
            }
        };
        let members = vec![
            member(
                ("eth0", 2),
                &name(outer, req),
                &name(remote, rep),
                [294, 294],
                [false, false],
            ),
            member(
                ("veth1", 7),
                &name(inner, req),
                &name(remote, rep),
                [294, 294],
                [true, false],
            ),
        ];
        let r = j.merge_group(members, &key);
        assert_eq!((r.source.ip, r.source.port), at(inner, req));
        assert_eq!((r.destination.ip, r.destination.port), at(remote, rep));
        let nat = r.source.nat.expect("the masquerade address");
        assert_eq!((nat.ip, nat.port), at(outer, req));
        assert!(r.destination.nat.is_none(), "{:?}", r.destination.nat);
        assert_eq!(r.interface.as_ref().unwrap().name, "veth1");
        assert_eq!(r.observations.len(), 2);
        assert_eq!(
            r.network.community_id,
            community_id(at(inner, req), at(remote, rep), protocol, false)
        );
    }
    // A ping conntrack saw without a translation is not kept.
    let mut j = Joiner::new(None, 0);
    let mut plain = echo(
        1,
        ("10.0.0.1:8", "10.0.0.2:0"),
        ("10.0.0.2:0", "10.0.0.1:0"),
    );
    plain.status = 0;
    reload(&mut j.nat, vec![plain], 0);
    assert!(j.nat.is_empty());
}

#[test]
fn a_member_that_started_late_still_joins_while_both_were_open() {
    use flowsight_flow::Timeouts;
    let mut j = Joiner::new(None, 0);
    let mut table: FlowTable = FlowTable::new(Timeouts::default());
    let a = ep("10.0.0.1:1000");
    let b = ep("10.0.0.2:80");
    // The first SYN crossed the uplink (5) at 0 and waited 1.5 s for a neighbour before it
    // reached the veth (6); the connection then went on on both until 2 s.
    let (up, s_up) = FlowKey::from_packet(a, b, 6, 5, 0);
    let (veth, s_veth) = FlowKey::from_packet(a, b, 6, 6, 0);
    table.packet(up, s_up, 0, 100, 0x02);
    table.packet(up, s_up, 2_000_000_000, 100, 0x10);
    table.packet(veth, s_veth, 1_500_000_000, 100, 0x02);
    j.index(&table);
    let member_at = |iface, start: u64, end: u64| {
        let mut m = member(iface, "10.0.0.1:1000", "10.0.0.2:80", [1, 2], [false; 2]);
        (m.event.start, m.event.end) = (Timestamp(start), Timestamp(end));
        m.event.duration = end - start;
        m
    };
    // The veth member ends first: the uplink's, open since before it started, is waited for.
    table.remove(&veth);
    let late = member_at(("veth", 6), 1_500_000_000, 2_000_000_000);
    assert!(
        j.finished(late, &veth, 1_500_000_000, &table, 0).is_empty(),
        "waits for the uplink"
    );
    table.remove(&up);
    let early = member_at(("up", 5), 0, 2_000_000_000);
    let out = j.finished(early, &up, 0, &table, 0);
    assert_eq!(out.len(), 1, "one record: {out:#?}");
    assert_eq!(out[0].observations.len(), 2);
    // Open at the same time is the test, not the start alone: a member that ended before the
    // other started is another connection.
    assert!(!same_connection((0, 2), (1_500_000_000, 1_600_000_000)));
    assert!(same_connection(
        (0, 2_000_000_000),
        (1_500_000_000, 1_600_000_000)
    ));
    assert!(same_connection((0, 2), (900_000_000, 900_000_000)));
}

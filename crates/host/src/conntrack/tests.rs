//! Decoding captured ctnetlink messages, and the NAT table.

use super::*;
use std::net::Ipv4Addr;

/// A dump of one UDP connection SNATed from 172.30.0.5:1234 to 10.77.0.1:40000 on its way to
/// 10.77.0.2:5353, captured on this kernel (6.18) from `nft ... snat to 10.77.0.1:40000`:
/// the connection message, then NLMSG_DONE.
const DUMP_SNAT_UDP: &str = "a400000000010200010000002924000002000000340001801400018008000100ac1e0005080002000a4d00021c00028005000100110000000600020004d200000600030014e900003400028014000180080001000a4d0002080002000a4d00011c00028005000100110000000600020014e90000060003009c4000000800030000000198080008000000000008000c0054f93d6b08000b0000000001080007000000001d1400000003000200010000002924000000000000";

/// Event messages of a TCP connect to 10.77.0.1:8080 that `dnat to 10.77.0.2:80` sent on
/// (from 10.77.0.1:45000): NEW (with NLM_F_CREATE | NLM_F_EXCL), then DESTROY.
const EVENT_NEW_DNAT_TCP: &str = "c4000000000100060000000000000000020000003400018014000180080001000a4d0001080002000a4d00011c000280050001000600000006000200afc80000060003001f9000003400028014000180080001000a4d0002080002000a4d00011c0002800500010006000000060002000050000006000300afc8000008000c002996013808000300000001a80800070000000078300004802c0001800500010001000000050002000a000000050003000000000006000400030000000600050000000000";
const EVENT_DESTROY_DNAT_TCP: &str = "a4000000020100000000000000000000020000003400018014000180080001000a4d0001080002000a4d00011c000280050001000600000006000200afc80000060003001f9000003400028014000180080001000a4d0002080002000a4d00011c0002800500010006000000060002000050000006000300afc8000008000c002996013808000300000003a80800070000000078100004800c0001800500010008000000";

/// A dump of one IPv6 UDP connection from [::1]:4321 to [::1]:9 that `dnat to [::1]:10` sent
/// on, captured on this kernel.
const DUMP_DNAT_UDP6: &str = "d40000000001020001000000672c00000a0000004c0001802c000180140003000000000000000000000000000000000114000400000000000000000000000000000000011c00028005000100110000000600020010e1000006000300000900004c0002802c000180140003000000000000000000000000000000000114000400000000000000000000000000000000011c000280050001001100000006000200000a00000600030010e1000008000300000001a8080008000000000008000c002b14b28908000b0000000001080007000000001d140000000300020001000000672c000000000000";

/// A dump of two echo requests SNATed from a second address to the first, captured on this
/// kernel (`snat to 10.77.0.1` and `snat to fd00:77::1`): 10.77.0.9 -> 10.77.0.2 (ICMP type 8,
/// identifier 0x1234) and fd00:77::9 -> fd00:77::2 (ICMPv6 type 128); both messages came in
/// one datagram, NLMSG_DONE in the next.
const DUMP_SNAT_ICMP: &str = "b40000000001020001000000e5420000020000003c00018014000180080001000a4d0009080002000a4d00022400028005000100010000000600040012340000050005000800000005000600000000003c00028014000180080001000a4d0002080002000a4d0001240002800500010001000000060004001234000005000500000000000500060000000000080003000000019a080008000000000008000c00920e5b1208000b0000000001080007000000001ee40000000001020001000000e54200000a000000540001802c00018014000300fd00007700000000000000000000000914000400fd00007700000000000000000000000224000280050001003a000000060007001234000005000800800000000500090000000000540002802c00018014000300fd00007700000000000000000000000214000400fd00007700000000000000000000000124000280050001003a000000060007001234000005000800810000000500090000000000080003000000019a080008000000000008000c00fd9a34d108000b0000000001080007000000001d140000000300020001000000e542000000000000";

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn v4(a: [u8; 4], port: u16) -> (IpAddr, u16) {
    (IpAddr::V4(Ipv4Addr::from(a)), port)
}

#[test]
fn decodes_a_captured_dump_of_a_snat_connection() {
    let buf = hex(DUMP_SNAT_UDP);
    let msgs: Vec<_> = wire::messages(&buf).collect::<Result<_, _>>().unwrap();
    assert_eq!(msgs.len(), 2);
    assert_eq!(
        msgs[0].kind,
        wire::NFNL_SUBSYS_CTNETLINK << 8 | wire::IPCTNL_MSG_CT_NEW
    );
    assert_eq!(msgs[1].kind, wire::NLMSG_DONE);
    let c = wire::connection(msgs[0].payload).unwrap();
    assert_eq!(c.orig.protocol, 17);
    assert_eq!(c.orig.src, v4([172, 30, 0, 5], 1234));
    assert_eq!(c.orig.dst, v4([10, 77, 0, 2], 5353));
    assert_eq!(c.reply.src, v4([10, 77, 0, 2], 5353));
    assert_eq!(c.reply.dst, v4([10, 77, 0, 1], 40000));
    assert_eq!(c.snat(), Some(v4([10, 77, 0, 1], 40000)));
    assert_eq!(c.dnat(), None);
    assert!(c.is_nat());
    assert_ne!(c.id, 0);
}

#[test]
fn decodes_captured_new_and_destroy_events_of_a_dnat_connection() {
    let mut events = Vec::new();
    for m in [EVENT_NEW_DNAT_TCP, EVENT_DESTROY_DNAT_TCP] {
        assert_eq!(parse_events(&hex(m), &mut |e| events.push(e)), 1);
    }
    let [Event::New(new), Event::Destroy(gone)] = &events[..] else {
        panic!("{events:?}")
    };
    assert_eq!(new.orig.protocol, 6);
    assert_eq!(new.orig.src, v4([10, 77, 0, 1], 45000));
    assert_eq!(new.orig.dst, v4([10, 77, 0, 1], 8080));
    assert_eq!(new.dnat(), Some(v4([10, 77, 0, 2], 80)));
    assert_eq!(new.snat(), None);
    assert_eq!(new.id, gone.id, "one entry");
    assert_eq!(new.orig, gone.orig);
}

#[test]
fn decodes_a_captured_ipv6_dnat_connection() {
    let buf = hex(DUMP_DNAT_UDP6);
    let msgs: Vec<_> = wire::messages(&buf).collect::<Result<_, _>>().unwrap();
    let c = wire::connection(msgs[0].payload).unwrap();
    let lo = IpAddr::V6(std::net::Ipv6Addr::LOCALHOST);
    assert_eq!(c.orig.src, (lo, 4321));
    assert_eq!(c.orig.dst, (lo, 9));
    assert_eq!(c.dnat(), Some((lo, 10)));
    assert_eq!(c.snat(), None);
    let mut t = NatTable::new(4, 0);
    t.insert(c);
    assert!(
        t.find(17, (lo, 10), (lo, 4321)).is_some(),
        "found from the reply side"
    );
}

#[test]
fn decodes_the_type_and_code_of_captured_icmp_connections() {
    let buf = hex(DUMP_SNAT_ICMP);
    let msgs: Vec<_> = wire::messages(&buf).collect::<Result<_, _>>().unwrap();
    assert_eq!(msgs.len(), 3);
    assert_eq!(msgs[2].kind, wire::NLMSG_DONE);
    let v4c = wire::connection(msgs[0].payload).unwrap();
    assert_eq!(v4c.orig.protocol, 1);
    // The message type and code stand for the ports; the identifier is not kept.
    assert_eq!(v4c.orig.src, v4([10, 77, 0, 9], 8));
    assert_eq!(v4c.orig.dst, v4([10, 77, 0, 2], 0));
    assert_eq!(v4c.reply.src, v4([10, 77, 0, 2], 0));
    assert_eq!(v4c.reply.dst, v4([10, 77, 0, 1], 0));
    assert!(
        v4c.status & IPS_NAT_MASK != 0,
        "the kernel says it is a NAT"
    );
    let v6c = wire::connection(msgs[1].payload).unwrap();
    let v6 = |s: &str, port| (s.parse::<IpAddr>().unwrap(), port);
    assert_eq!(v6c.orig.protocol, 58);
    assert_eq!(v6c.orig.src, v6("fd00:77::9", 128));
    assert_eq!(v6c.orig.dst, v6("fd00:77::2", 0));
    assert_eq!(v6c.reply.src, v6("fd00:77::2", 129));
    assert_eq!(v6c.reply.dst, v6("fd00:77::1", 0));
    assert!(v6c.is_nat());
}

#[test]
fn every_truncation_is_an_error_or_skipped_never_a_panic() {
    for m in [
        DUMP_SNAT_UDP,
        EVENT_NEW_DNAT_TCP,
        EVENT_DESTROY_DNAT_TCP,
        DUMP_DNAT_UDP6,
        DUMP_SNAT_ICMP,
    ] {
        let buf = hex(m);
        for cut in 0..buf.len() {
            let _ = parse_events(&buf[..cut], &mut |_| {});
            if cut >= wire::NLMSG_HDRLEN {
                let _ = wire::connection(&buf[wire::NLMSG_HDRLEN..cut]);
            }
        }
    }
}

#[test]
fn the_dump_request_asks_ctnetlink_for_everything() {
    let r = wire::dump_request(7);
    assert_eq!(u32::from_ne_bytes(r[0..4].try_into().unwrap()), 20);
    assert_eq!(u16::from_ne_bytes(r[4..6].try_into().unwrap()), 0x0101);
    assert_eq!(u16::from_ne_bytes(r[6..8].try_into().unwrap()), 0x0301);
    assert_eq!(u32::from_ne_bytes(r[8..12].try_into().unwrap()), 7);
    assert_eq!(&r[16..], &[0, 0, 0, 0]);
}

fn snat(id: u32, sport: u16) -> Connection {
    Connection {
        id,
        status: 1 << 4,
        zone: 0,
        orig: Tuple {
            protocol: 6,
            src: v4([172, 17, 0, 2], sport),
            dst: v4([198, 51, 100, 1], 80),
        },
        reply: Tuple {
            protocol: 6,
            src: v4([198, 51, 100, 1], 80),
            dst: v4([192, 0, 2, 10], sport + 1000),
        },
    }
}

#[test]
fn both_sides_of_a_nat_find_the_same_connection() {
    let mut t = NatTable::new(16, 1_000);
    t.insert(snat(1, 40000));
    let inner = t.find(6, v4([198, 51, 100, 1], 80), v4([172, 17, 0, 2], 40000));
    let outer = t.find(6, v4([192, 0, 2, 10], 41000), v4([198, 51, 100, 1], 80));
    assert!(Arc::ptr_eq(inner.unwrap(), outer.unwrap()));
    assert_eq!(t.len(), 1);
    // A connection no NAT touched is not kept.
    let mut plain = snat(2, 40001);
    plain.status = 0;
    plain.reply.dst = plain.orig.src;
    t.insert(plain);
    assert_eq!(t.len(), 1);
}

#[test]
fn destroyed_connections_stay_for_the_grace_period() {
    let mut t = NatTable::new(16, 1_000);
    t.apply(Event::New(snat(1, 40000)), 0);
    t.apply(Event::Destroy(snat(1, 40000)), 10);
    assert!(
        t.find(6, v4([198, 51, 100, 1], 80), v4([172, 17, 0, 2], 40000))
            .is_some()
    );
    t.expire(1_009);
    assert_eq!(t.len(), 1);
    t.expire(1_010);
    assert!(t.is_empty());
    // A destroy of another entry on the same tuples does not take the live one.
    t.apply(Event::New(snat(3, 40000)), 2_000);
    t.apply(Event::Destroy(snat(2, 40000)), 2_000);
    t.expire(10_000);
    assert_eq!(t.len(), 1);
}

#[test]
fn the_table_is_bounded_and_makes_room_from_the_dying_first() {
    let mut t = NatTable::new(2, 1_000_000);
    t.apply(Event::New(snat(1, 1)), 0);
    t.apply(Event::New(snat(2, 2)), 0);
    t.apply(Event::Destroy(snat(1, 1)), 0);
    t.apply(Event::New(snat(3, 3)), 0);
    assert_eq!(t.len(), 2);
    assert!(
        t.find(6, v4([198, 51, 100, 1], 80), v4([172, 17, 0, 2], 1))
            .is_none()
    );
    t.apply(Event::New(snat(4, 4)), 0);
    assert_eq!(t.len(), 2);
    assert_eq!(t.refused(), 1);
}

#[test]
fn a_connection_in_both_the_dump_and_the_events_takes_no_room() {
    let mut t = NatTable::new(2, 1_000_000);
    t.apply(Event::New(snat(1, 1)), 0);
    t.apply(Event::New(snat(2, 2)), 0);
    t.apply(Event::Destroy(snat(1, 1)), 0);
    // Full; connection 2 again (from the dump, then from its NEW event).
    t.insert(snat(2, 2));
    assert_eq!(t.refused(), 0);
    assert!(
        t.find(6, v4([198, 51, 100, 1], 80), v4([172, 17, 0, 2], 1))
            .is_some(),
        "the dying connection keeps its grace period"
    );
    assert_eq!(t.len(), 2);
}

#[test]
fn dying_entries_that_free_nothing_do_not_let_the_table_grow() {
    let mut t = NatTable::new(2, 1_000_000);
    t.apply(Event::New(snat(1, 1)), 0);
    t.apply(Event::Destroy(snat(1, 1)), 0);
    // A new connection on the same tuples replaces the dying one: its dying entry is stale.
    t.apply(Event::New(snat(5, 1)), 0);
    t.apply(Event::New(snat(2, 2)), 0);
    assert_eq!(t.len(), 2);
    // Full: popping the stale entry frees nothing, so the next connection is refused.
    t.apply(Event::New(snat(3, 3)), 0);
    assert_eq!(t.len(), 2);
    assert_eq!(t.refused(), 1);
    assert!(
        t.find(6, v4([198, 51, 100, 1], 80), v4([172, 17, 0, 2], 3))
            .is_none()
    );
}

#[test]
fn a_reused_tuple_replaces_the_old_connection_on_both_keys() {
    let mut t = NatTable::new(16, 1_000);
    t.insert(snat(1, 40000));
    let mut again = snat(2, 40000);
    again.reply.dst = v4([192, 0, 2, 10], 50000);
    t.insert(again);
    assert!(
        t.find(6, v4([192, 0, 2, 10], 41000), v4([198, 51, 100, 1], 80))
            .is_none()
    );
    assert_eq!(
        t.find(6, v4([192, 0, 2, 10], 50000), v4([198, 51, 100, 1], 80))
            .unwrap()
            .id,
        2
    );
}

/// Root: a dump and an event from this kernel, in a network namespace of the test's own.
#[test]
fn reads_the_kernels_conntrack_as_root() {
    if !crate::test_support::root_or_skip("reads_the_kernels_conntrack_as_root") {
        return;
    }
    // Run in a thread that enters a fresh network namespace, so nothing of the host's is
    // touched; the namespace goes with the thread's last reference.
    std::thread::spawn(|| {
        // SAFETY: unshare affects only this thread's network namespace.
        assert_eq!(unsafe { libc::unshare(libc::CLONE_NEWNET) }, 0);
        let sh = |c: &str| {
            let out = std::process::Command::new("sh").arg("-c").arg(c).output().unwrap();
            assert!(out.status.success(), "{c}: {}", String::from_utf8_lossy(&out.stderr));
        };
        // Commands run by this thread's children inherit its namespace.
        sh("ip link set lo up && nft 'add table ip fsct; add chain ip fsct out { type nat hook output priority -100; }; add rule ip fsct out udp dport 9 dnat to 127.0.0.2:10'");
        let mut ct = Conntrack::open().unwrap();
        let u = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        u.send_to(b"x", "127.0.0.1:9").unwrap();
        let dumped = Conntrack::dump().unwrap();
        let c = dumped.iter().find(|c| c.orig.dst.1 == 9).expect("the connection in a dump");
        assert_eq!(c.dnat(), Some((IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2)), 10)));
        let mut events = Vec::new();
        for _ in 0..100 {
            ct.poll(|e| events.push(e)).unwrap();
            if !events.is_empty() {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(
            matches!(&events[..], [Event::New(e)] if e.id == c.id),
            "{events:?}"
        );
    })
    .join()
    .unwrap();
}

/// Events were lost and a dump replaces them: a connection destroyed meanwhile (absent from the
/// dump) and one already destroyed before both stay for their grace period, while the dump's
/// live connections are all there.
#[test]
fn a_reload_keeps_the_destroyed_for_their_grace_period() {
    let mut t = NatTable::new(16, 1_000);
    let find = |t: &NatTable, sport| {
        t.find(6, v4([198, 51, 100, 1], 80), v4([172, 17, 0, 2], sport))
            .map(|c| c.id)
    };
    t.apply(Event::New(snat(1, 40001)), 0);
    t.apply(Event::New(snat(2, 40002)), 0);
    t.apply(Event::New(snat(3, 40003)), 0);
    t.apply(Event::Destroy(snat(1, 40001)), 500); // waiting until 1,500
    // Lost: the destroy of 2 and the new 4. The dump has 3 and 4.
    t.reload(vec![snat(3, 40003), snat(4, 40004)], 800);
    assert_eq!(find(&t, 40001), Some(1));
    assert_eq!(find(&t, 40002), Some(2), "destroyed while events were lost");
    assert_eq!(find(&t, 40003), Some(3));
    assert_eq!(find(&t, 40004), Some(4));
    t.expire(1_500);
    assert_eq!(find(&t, 40001), None);
    assert_eq!(find(&t, 40002), Some(2), "its grace counts from the reload");
    t.expire(1_800);
    assert_eq!(find(&t, 40002), None);
    assert_eq!(t.len(), 2);
}

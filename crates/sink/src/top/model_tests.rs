//! The model's tests, and the record builders the view's tests share.

use super::*;
use flowsight_record::{Container, ContainerRuntime, Process, User};
use std::sync::Arc;

/// A flow record from `src` (`ip:port`) to `dst`, with the given totals; `owner` names
/// the source's process as `(pid, name, user)`.
pub(crate) fn flow(
    src: &str,
    dst: &str,
    owner: Option<(u32, &str, &str)>,
    reason: EndReason,
    bytes: [u64; 2],
) -> Record {
    let Record::Flow(mut f) = Record::examples().remove(0) else {
        unreachable!("the first example is a flow record")
    };
    let (sip, sport) = src.rsplit_once(':').unwrap();
    let (dip, dport) = dst.rsplit_once(':').unwrap();
    f.source.ip = sip.parse().unwrap();
    f.source.port = sport.parse().unwrap();
    f.destination.ip = dip.parse().unwrap();
    f.destination.port = dport.parse().unwrap();
    f.network.community_id = format!("1:{src}-{dst}");
    f.interface = None;
    f.event.reason = reason;
    f.source.bytes = bytes[0];
    f.destination.bytes = bytes[1];
    let proto = f.source.owner.clone().unwrap();
    f.source.owner = owner.map(|(pid, name, user)| {
        Box::new(Owner {
            process: Arc::new(Process {
                pid,
                name: name.to_string(),
                ..(*proto.process).clone()
            }),
            user: User {
                id: "1000".into(),
                name: Some(user.to_string()),
            },
            container: Some(Arc::new(Container {
                id: format!("c0ffee{pid}"),
                runtime: ContainerRuntime::Docker,
                pod_uid: None,
                meta: None,
            })),
            ..(*proto).clone()
        })
    });
    f.destination.owner = None;
    Record::Flow(f)
}

fn only(m: &Model) -> &FlowEntry {
    assert_eq!(m.flows.len(), 1);
    m.flows.values().next().unwrap()
}

#[test]
fn interim_records_count_only_what_grew() {
    let mut m = Model::new(Limits::default());
    let owner = Some((7, "curl", "alice"));
    let (a, b) = ("10.0.0.1:4000", "10.0.0.2:80");
    m.tick(Timestamp(1_795_333_025_000_000_000));
    m.observe(&flow(a, b, owner, EndReason::ActiveTimeout, [100, 1000]));
    m.tick(Timestamp(1_795_333_026_000_000_000));
    assert_eq!(only(&m).bytes, [100, 1000]);
    assert_eq!(only(&m).rate, [100.0, 1000.0]);
    m.observe(&flow(a, b, owner, EndReason::ActiveTimeout, [150, 3000]));
    m.tick(Timestamp(1_795_333_028_000_000_000));
    // 50 and 2000 more bytes over a two-second window.
    assert_eq!(only(&m).rate, [25.0, 1000.0]);
    assert_eq!(m.window_secs(), 2.0);
    m.observe(&flow(a, b, owner, EndReason::End, [170, 3500]));
    m.tick(Timestamp(1_795_333_029_000_000_000));
    assert_eq!(only(&m).bytes, [170, 3500]);
    assert_eq!(only(&m).rate, [20.0, 500.0]);
    assert!(only(&m).finished());
    // Nothing more: the rate drops to zero, the totals stay.
    m.tick(Timestamp(1_795_333_030_000_000_000));
    assert_eq!(only(&m).rate, [0.0, 0.0]);
    assert_eq!(only(&m).bytes, [170, 3500]);
}

#[test]
fn a_flow_longer_than_the_window_counts_only_its_average() {
    let mut m = Model::new(Limits::default());
    // One-second windows; the flow began at t=0 and its first record (t=11 s) holds
    // 11,000 bytes: one second's worth of its average goes in the window.
    m.tick(Timestamp(9_000_000_000));
    m.tick(Timestamp(10_000_000_000));
    let Record::Flow(mut f) = flow("10.0.0.1:1", "10.0.0.2:2", None, EndReason::End, [0, 0]) else {
        unreachable!()
    };
    f.event.start = Timestamp(0);
    f.event.end = Timestamp(11_000_000_000);
    f.source.bytes = 11_000;
    m.observe(&Record::Flow(f));
    m.tick(Timestamp(11_000_000_000));
    assert_eq!(only(&m).rate, [1000.0, 0.0]);
    assert_eq!(only(&m).bytes, [11_000, 0]);
    // A short flow whose record comes after the window it ran in is credited in full.
    let Record::Flow(mut f) = flow("10.0.0.1:3", "10.0.0.2:4", None, EndReason::End, [0, 0]) else {
        unreachable!()
    };
    f.event.start = Timestamp(9_500_000_000);
    f.event.end = Timestamp(9_600_000_000);
    f.source.bytes = 500;
    m.observe(&Record::Flow(f));
    m.tick(Timestamp(12_000_000_000));
    let short = m.flows().find(|e| e.source.port == 3).unwrap();
    assert_eq!(short.rate, [500.0, 0.0]);
}

#[test]
fn without_a_tick_the_first_window_starts_at_the_earliest_flow() {
    let mut m = Model::new(Limits::default());
    m.observe(&flow(
        "10.0.0.1:1",
        "10.0.0.2:2",
        None,
        EndReason::End,
        [500, 1500],
    ));
    // The example flow lasts 0.5 s.
    m.tick(m.latest().unwrap());
    assert_eq!(m.window_secs(), 0.5);
    assert_eq!(only(&m).rate, [1000.0, 3000.0]);
}

#[test]
fn memory_is_bounded_and_forgotten_flows_still_add_up() {
    let limits = Limits {
        flows: 100,
        parties: 10,
        connections: 5,
        records_per_connection: 2,
    };
    let mut m = Model::new(limits);
    // One long flow stays open all along; 1,000 short ones end.
    let long = ("10.0.0.1:9", "10.9.9.9:443");
    for i in 0..1000u32 {
        m.observe(&flow(
            long.0,
            long.1,
            Some((1, "long", "bob")),
            EndReason::ActiveTimeout,
            [u64::from(i + 1), 0],
        ));
        let src = format!("10.0.{}.{}:{}", i / 250, i % 250, 1000 + i);
        m.observe(&flow(
            &src,
            "10.0.0.2:53",
            Some((100 + i % 20, "dig", "alice")),
            EndReason::End,
            [10, 20],
        ));
        assert!(m.flows.len() <= 100);
        assert!(m.retired.len() <= 11, "the cap plus other");
        assert!(m.open.len() + m.finished.len() <= 2 * m.flows.len() + 1024);
    }
    assert_eq!(m.flows.len(), 100);
    // The open flow was never evicted: finished ones went first.
    let l = m.flows.values().find(|e| e.source.port == 9).unwrap();
    assert_eq!(l.bytes, [1000, 0]);
    // Every byte of the short flows is somewhere.
    let kept: u64 = m
        .flows()
        .filter(|e| e.destination.port == 53)
        .map(|e| e.bytes[0] + e.bytes[1])
        .sum();
    let retired: u64 = m.retired().map(|(_, r)| r.bytes[0] + r.bytes[1]).sum();
    assert_eq!(kept + retired, 30 * 1000);
    let flows: u64 = m.retired().map(|(_, r)| r.flows).sum();
    assert_eq!(flows, 901);
    assert!(m.retired.contains_key(&Party::other()));
    // Protocol records are bounded too.
    for i in 0..20 {
        let Record::Dns(mut d) = Record::examples().remove(3) else {
            unreachable!()
        };
        d.conn.network.community_id = format!("1:{}", i % 7);
        m.observe(&Record::Dns(d));
    }
    assert!(m.protos.len() <= 5);
    assert!(m.protos.values().all(|l| l.len() <= 2));
    // And so is each one.
    let Record::Http(mut h) = Record::examples().remove(2) else {
        unreachable!()
    };
    h.url.as_mut().unwrap().original = format!("/{}", "a".repeat(10_000));
    m.observe(&Record::Http(h));
    let line = m
        .protocol_records("1:LQU9qZlK+B5F3KDmev6m5PMibrg=")
        .last()
        .unwrap();
    assert_eq!(line.summary.chars().count(), SUMMARY_CHARS + 1);
    assert!(line.summary.ends_with('\u{2026}'));
}

#[test]
fn when_every_flow_is_open_the_oldest_goes() {
    let mut m = Model::new(Limits {
        flows: 3,
        ..Limits::default()
    });
    for port in 1..=5 {
        m.observe(&flow(
            &format!("10.0.0.1:{port}"),
            "10.0.0.2:80",
            None,
            EndReason::ActiveTimeout,
            [1, 1],
        ));
    }
    let mut ports: Vec<u16> = m.flows().map(|e| e.source.port).collect();
    ports.sort();
    assert_eq!(ports, [3, 4, 5]);
}

#[test]
fn protocol_records_are_kept_by_community_id() {
    let mut m = Model::new(Limits::default());
    for r in Record::examples() {
        m.observe(&r);
    }
    let id = "1:LQU9qZlK+B5F3KDmev6m5PMibrg=";
    let lines: Vec<String> = m
        .protocol_records(id)
        .map(|l| format!("{} {}", l.kind, l.summary))
        .collect();
    assert_eq!(
        lines,
        [
            "http GET example.com/index.html?q=1 -> 200 text/html (612 B)",
            "dns www.example.com A -> NOERROR 93.184.216.34",
            "tls example.com tls 1.3 h2 TLS_AES_128_GCM_SHA256",
        ]
    );
}

#[test]
fn a_loopback_flow_belongs_to_both_processes() {
    let mut m = Model::new(Limits::default());
    let Record::Flow(f) = Record::examples().remove(0) else {
        unreachable!()
    };
    m.observe(&Record::Flow(f));
    let e = only(&m);
    let sides: Vec<(u32, [u64; 2], bool)> = e
        .sides()
        .map(|s| {
            (
                s.local().owner.as_ref().unwrap().pid,
                s.bytes(),
                s.primary(),
            )
        })
        .collect();
    assert_eq!(sides, [(1234, [400, 600], true), (1300, [600, 400], false)]);
    assert!(e.matches("curl") && e.matches("1300") && !e.matches(":80"));
    assert!(e.matches("10.0.0.2") && e.matches("alice") && e.matches("0123456789ab"));
}

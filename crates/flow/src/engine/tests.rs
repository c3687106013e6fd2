//! The engine's own unit tests (the behaviour through whole captures is in crates/flow/tests).

use super::*;

fn sample(payload: &[u8]) -> Sample<'_> {
    let (key, sender) = FlowKey::from_packet(
        ("10.0.0.2".parse().unwrap(), 40000),
        ("10.0.0.1".parse().unwrap(), 53),
        17,
        1,
        0,
    );
    Sample {
        key,
        sender,
        ts_ns: 1_000,
        tcp: None,
        payload,
        initiator: Initiator::FirstPacket(sender),
        sockets: [
            Some(SocketRef {
                cookie: 7,
                listener: false,
            }),
            None,
        ],
    }
}

/// A DNS query: id 0x1234, RD, one question for a.example A IN.
const QUERY: &[u8] =
    b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x01a\x07example\x00\x00\x01\x00\x01";

#[test]
fn analysis_only_engines_write_protocol_records_and_never_flow_records() {
    let cfg = EngineConfig {
        flow_records: false,
        ..EngineConfig::default()
    };
    let mut e = Engine::new(cfg);
    let s = sample(QUERY);
    e.sample(s, &mut NoAttribution);
    e.end_flow(&s.key, &s.sockets);
    e.finish();
    let kinds: Vec<&str> = e.drain().map(|r| r.kind()).collect();
    assert_eq!(
        kinds,
        vec!["dns"],
        "the unanswered query, and no flow record"
    );
}

/// The kernel's word that a connection ended comes after the first sample of the next
/// connection on the same 4-tuple (a `Connection: close` load reuses client ports within
/// milliseconds): the new connection's analysis goes on, and its request and response
/// make one record, not a request-only and a response-only one.
#[test]
fn the_old_connections_end_does_not_end_the_new_one() {
    let (key, client) = FlowKey::from_packet(
        ("10.0.0.2".parse().unwrap(), 40000),
        ("10.0.0.1".parse().unwrap(), 80),
        6,
        1,
        0,
    );
    let cfg = EngineConfig {
        flow_records: false,
        ..EngineConfig::default()
    };
    let mut e = Engine::new(cfg);
    let sockets = |cookie| {
        let mut s = [None, None];
        s[client] = Some(SocketRef {
            cookie,
            listener: false,
        });
        s
    };
    let req = b"GET /x HTTP/1.1\r\nHost: h\r\n\r\n";
    let resp = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
    let sample = |sender, seq, payload: &'static [u8], ts| Sample {
        key,
        sender,
        ts_ns: ts,
        tcp: Some((seq, false, false)),
        payload,
        initiator: Initiator::Syn(client),
        sockets: sockets(8),
    };
    e.sample(sample(client, 1000, req, 1_000), &mut NoAttribution);
    // The end of the previous connection (socket 7) on this 4-tuple.
    e.end_flow(&key, &sockets(7));
    e.sample(sample(client ^ 1, 50_000, resp, 2_000), &mut NoAttribution);
    e.end_flow(&key, &sockets(8));
    e.finish();
    let http: Vec<_> = e
        .drain()
        .filter_map(|r| match r {
            Record::Http(h) => Some(h),
            _ => None,
        })
        .collect();
    assert_eq!(http.len(), 1, "{http:#?}");
    assert!(http[0].http.request.is_some() && http[0].http.response.is_some());
}

/// A new connection on a reused 4-tuple (another client socket) whose samples come
/// before the kernel's word that the old connection ended: each is analyzed from its own
/// first bytes, so both transactions are whole and no gap is reported.
#[test]
fn a_reused_four_tuple_starts_a_fresh_analysis() {
    let (key, client) = FlowKey::from_packet(
        ("10.0.0.2".parse().unwrap(), 40000),
        ("10.0.0.1".parse().unwrap(), 80),
        6,
        1,
        0,
    );
    let cfg = EngineConfig {
        flow_records: false,
        ..EngineConfig::default()
    };
    let mut e = Engine::new(cfg);
    let req = b"GET /x HTTP/1.1\r\nHost: h\r\n\r\n";
    let resp = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
    for (cookie, isn, ts) in [(7u64, 1000u32, 1_000u64), (8, 900_000, 5_000)] {
        let sockets = |listener| {
            let mut s = [None, None];
            s[client] = Some(SocketRef { cookie, listener });
            s
        };
        for (sender, seq, payload, dt) in [
            (client, isn, &req[..], 0),
            (client ^ 1, 50_000 + isn, &resp[..], 10),
        ] {
            e.sample(
                Sample {
                    key,
                    sender,
                    ts_ns: ts + dt,
                    tcp: Some((seq, false, false)),
                    payload,
                    initiator: Initiator::Syn(client),
                    sockets: sockets(false),
                },
                &mut NoAttribution,
            );
        }
    }
    e.end_flow(&key, &[None, None]);
    e.finish();
    let records: Vec<Record> = e.drain().collect();
    let http: Vec<_> = records
        .iter()
        .filter_map(|r| match r {
            Record::Http(h) => Some(h),
            _ => None,
        })
        .collect();
    assert_eq!(http.len(), 2, "{records:#?}");
    for h in http {
        assert_eq!(
            h.http.request.as_ref().map(|r| r.method.as_str()),
            Some("GET")
        );
        assert_eq!(h.http.response.as_ref().map(|r| r.status_code), Some(200));
    }
    assert!(!records.iter().any(|r| r.kind() == "weird"), "{records:#?}");
}

#[test]
fn full_engines_write_both() {
    let mut e = Engine::new(EngineConfig::default());
    let s = sample(QUERY);
    e.sample(s, &mut NoAttribution);
    e.finish();
    let mut kinds: Vec<&str> = e.drain().map(|r| r.kind()).collect();
    kinds.sort();
    assert_eq!(kinds, vec!["dns", "flow"]);
}

/// `read --threads` ages engines at the instants an [`AgeingClock`] given every timestamp
/// says: it must tick exactly when an engine given the same timestamps does, out of order
/// ones included.
#[test]
fn an_ageing_clock_ticks_when_an_engine_ages() {
    let mut e = Engine::new(EngineConfig::default());
    let mut clock = AgeingClock::default();
    let mut ticks = 0;
    let mut ts = 0u64;
    for i in 0..5000u64 {
        // Forward in uneven steps, now and then back in time.
        ts = if i % 17 == 0 {
            ts.saturating_sub(700_000_000)
        } else {
            ts + (i * 7_919_000) % 400_000_000
        };
        let before = e.last_tick();
        e.advance(ts);
        let ticked = clock.advance(ts);
        assert_eq!(ticked, e.last_tick() != before, "frame {i} at {ts}");
        assert_eq!(clock.now(), e.now, "frame {i}");
        ticks += usize::from(ticked);
    }
    assert!(ticks > 100, "{ticks}");
}

/// A datagram flow's analysis is let go once its analyzer holds nothing (the query
/// answered), and taken up again by the next datagram; the flow's entry keeps its layout
/// (table.rs: a packet touches two of its cache lines).
#[test]
fn an_idle_datagram_analysis_is_let_go() {
    assert_eq!(std::mem::size_of::<Slot>(), 16);
    assert_eq!(std::mem::size_of::<Flow<Slot>>(), 192);
    const ANSWER: &[u8] =
        b"\x12\x34\x81\x80\x00\x01\x00\x00\x00\x00\x00\x00\x01a\x07example\x00\x00\x01\x00\x01";
    let mut e = Engine::new(EngineConfig::default());
    let q = sample(QUERY);
    let holds_app = |e: &Engine| matches!(e.table.get(&q.key).map(|f| &f.ext), Some(Slot::App(_)));
    e.sample(q, &mut NoAttribution);
    assert!(holds_app(&e), "a query waits for its answer");
    let a = Sample {
        sender: q.sender ^ 1,
        ts_ns: q.ts_ns + 10,
        payload: ANSWER,
        ..q
    };
    e.sample(a, &mut NoAttribution);
    let parked = matches!(e.table.get(&q.key).map(|f| &f.ext), Some(Slot::Parked(_)));
    assert!(parked, "answered: nothing held but the protocol");
    e.sample(
        Sample {
            ts_ns: q.ts_ns + 20,
            ..q
        },
        &mut NoAttribution,
    );
    assert!(holds_app(&e), "the next query");
    e.finish();
    let dns: Vec<_> = e
        .drain()
        .filter_map(|r| match r {
            Record::Dns(d) => Some((d.dns.kind, d.event.duration)),
            _ => None,
        })
        .collect();
    assert_eq!(dns, vec![("answer", Some(10)), ("query", None)]);
}

//! HTTP/1.1 through the whole engine: keep-alive, pipelining, chunked bodies, requests split
//! across segments, out-of-order segments, and lost segments.

mod common;

use common::*;
use flowsight_record::{
    Conn, EndReason, Http, HttpBody, HttpRecord, HttpRequest, HttpResponse, ProtoEvent, Timestamp,
    Url, UserAgent, Weird, WeirdRecord,
};

const CLIENT: &str = "10.0.0.2:40000";
/// The server sorts before the client, so the canonical flow key puts it first: the records
/// must still name the client as the source.
const SERVER: &str = "10.0.0.1:80";

fn get(target: &str) -> Vec<u8> {
    format!("GET {target} HTTP/1.1\r\nHost: example.com\r\nUser-Agent: flowsight-test\r\n\r\n")
        .into_bytes()
}

fn post(target: &str, body: &str) -> Vec<u8> {
    format!(
        "POST {target} HTTP/1.1\r\nHost: example.com:8080\r\nUser-Agent: flowsight-test\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// A 200 with a Content-Length body.
fn ok(body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 200 OK\r\nServer: testd/1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

fn not_found() -> Vec<u8> {
    b"HTTP/1.1 404 Not Found\r\nServer: testd/1.0\r\nContent-Type: text/html\r\nContent-Length: 9\r\n\r\nnot found"
        .to_vec()
}

/// What the record of a response should hold.
struct Resp {
    ts: u64,
    status: u16,
    message: &'static str,
    mime: &'static str,
    body: u64,
}

fn resp_ok(ts: u64, body: u64) -> Resp {
    Resp {
        ts,
        status: 200,
        message: "OK",
        mime: "text/plain",
        body,
    }
}

/// The record of one transaction, as the analyzer should write it.
fn txn(
    conn: &Conn,
    req_ts: u64,
    method: &str,
    target: &str,
    req_body: u64,
    resp: Option<Resp>,
) -> HttpRecord {
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p.to_string(), Some(q.to_string())),
        None => (target.to_string(), None),
    };
    HttpRecord {
        timestamp: Timestamp(req_ts),
        event: ProtoEvent {
            duration: resp.as_ref().map(|r| r.ts - req_ts),
        },
        conn: conn.clone(),
        http: Http {
            version: Some("1.1".into()),
            request: Some(HttpRequest {
                method: method.into(),
                referrer: None,
                body: HttpBody { bytes: req_body },
                headers: Default::default(),
            }),
            response: resp.map(|r| HttpResponse {
                status_code: r.status,
                status_message: Some(r.message.into()),
                mime_type: Some(r.mime.into()),
                server: Some("testd/1.0".into()),
                body: HttpBody { bytes: r.body },
                headers: Default::default(),
            }),
        },
        url: Some(Url {
            original: target.into(),
            domain: Some("example.com".into()),
            path,
            query,
        }),
        user_agent: Some(UserAgent {
            original: "flowsight-test".into(),
        }),
    }
}

fn owned(records: Vec<&HttpRecord>) -> Vec<HttpRecord> {
    records.into_iter().cloned().collect()
}

fn is_client(c: &TcpConn) -> impl Fn(&[u8]) -> bool + '_ {
    // The client's frames come from its IPv4 address (offset 14 + 12).
    move |f: &[u8]| {
        let std::net::IpAddr::V4(a) = c.client.ip() else {
            unreachable!()
        };
        f[ETH_LEN + 12..ETH_LEN + 16] == a.octets()
    }
}

#[test]
fn keep_alive_three_transactions_and_the_flow_record() {
    let mut c = TcpConn::new(CLIENT, SERVER);
    let mut frames = c.handshake(); // 0..=2
    frames.push(c.client(&get("/one"))); // 3
    frames.push(c.server(&ok("first"))); // 4
    frames.push(c.client(&post("/form?x=1&y=2", "a=1&b=22"))); // 5
    frames.push(c.server(&not_found())); // 6
    frames.push(c.client(&get("/three"))); // 7
    frames.push(c.server(&ok("third body"))); // 8
    frames.push(c.client_ack()); // 9
    frames.extend(c.close()); // 10..=12
    maybe_dump("http_keep_alive", &frames);
    let out = run(&frames);

    let conn = c.conn("http");
    assert_eq!(
        owned(out.http()),
        vec![
            txn(&conn, at(3), "GET", "/one", 0, Some(resp_ok(at(4), 5))),
            txn(
                &conn,
                at(5),
                "POST",
                "/form?x=1&y=2",
                8,
                Some(Resp {
                    ts: at(6),
                    status: 404,
                    message: "Not Found",
                    mime: "text/html",
                    body: 9,
                })
            ),
            txn(&conn, at(7), "GET", "/three", 0, Some(resp_ok(at(8), 10))),
        ]
    );
    assert_eq!(out.kinds(), vec!["http", "http", "http", "flow"]);

    // Hand-counted: the client sent SYN (54 bytes), the handshake ACK (54), three requests,
    // one ACK, FIN (54) and the last ACK (54); the server SYN+ACK, three responses, FIN.
    let req_bytes: u64 = [
        get("/one"),
        post("/form?x=1&y=2", "a=1&b=22"),
        get("/three"),
    ]
    .iter()
    .map(|r| r.len() as u64)
    .sum();
    let resp_bytes: u64 = [ok("first"), not_found(), ok("third body")]
        .iter()
        .map(|r| r.len() as u64)
        .sum();
    let client = Side {
        packets: 8,
        bytes: 8 * 54 + req_bytes,
        flags: SYN | FIN | PSH | ACK,
    };
    let server = Side {
        packets: 5,
        bytes: 5 * 54 + resp_bytes,
        flags: SYN | FIN | PSH | ACK,
    };
    assert_eq!(tally(&frames, is_client(&c)), (client, server));
    let flows = out.flows();
    assert_eq!(flows.len(), 1);
    assert_eq!(
        *flows[0],
        flow_record(
            c.client,
            c.server,
            PROTO_TCP,
            (client, server),
            at(0),
            at(12),
            at(12),
            EndReason::End,
        )
    );
    assert_eq!(out.stats.frames, 13);
}

#[test]
fn pipelined_requests_pair_in_order() {
    let mut c = TcpConn::new(CLIENT, SERVER);
    let mut frames = c.handshake();
    let mut reqs = get("/p1");
    reqs.extend(get("/p2?q"));
    reqs.extend(post("/p3", "xyz"));
    frames.push(c.client(&reqs)); // 3: three requests in one segment
    let mut two = ok("r1");
    two.extend(not_found());
    frames.push(c.server(&two)); // 4: two responses in one segment
    // 5, 6: the third response split inside its head, the split at "Content-"
    let third = ok("the third");
    frames.push(c.server(&third[..40]));
    frames.push(c.server(&third[40..]));
    frames.push(c.client_ack()); // 7
    let out = run(&frames);
    let conn = c.conn("http");
    assert_eq!(
        owned(out.http()),
        vec![
            txn(&conn, at(3), "GET", "/p1", 0, Some(resp_ok(at(4), 2))),
            txn(
                &conn,
                at(3),
                "GET",
                "/p2?q",
                0,
                Some(Resp {
                    ts: at(4),
                    status: 404,
                    message: "Not Found",
                    mime: "text/html",
                    body: 9,
                })
            ),
            txn(&conn, at(3), "POST", "/p3", 3, Some(resp_ok(at(6), 9))),
        ]
    );
    assert!(out.weirds().is_empty(), "{:?}", out.weirds());
}

#[test]
fn chunked_response_then_another_transaction() {
    let mut c = TcpConn::new(CLIENT, SERVER);
    let mut frames = c.handshake();
    frames.push(c.client(&get("/chunked"))); // 3
    let head = b"HTTP/1.1 200 OK\r\nServer: testd/1.0\r\nContent-Type: text/plain\r\n\
                 Transfer-Encoding: chunked\r\n\r\n";
    let mut resp = head.to_vec();
    resp.extend_from_slice(b"5\r\nhello\r\n");
    frames.push(c.server(&resp)); // 4: head and the first chunk
    // 5: the second chunk (with an extension) split in its data, 6: the rest, the last
    // chunk and a trailer.
    frames.push(c.server(b"b;ext=1\r\n, chu"));
    frames.push(c.server(b"nked!\r\n0\r\nX-Trailer: t\r\n\r\n"));
    frames.push(c.client(&get("/after"))); // 7
    frames.push(c.server(&ok("after"))); // 8
    let out = run(&frames);
    let conn = c.conn("http");
    assert_eq!(
        owned(out.http()),
        vec![
            txn(&conn, at(3), "GET", "/chunked", 0, Some(resp_ok(at(4), 16))),
            txn(&conn, at(7), "GET", "/after", 0, Some(resp_ok(at(8), 5))),
        ]
    );
    assert!(out.weirds().is_empty(), "{:?}", out.weirds());
}

#[test]
fn request_split_across_three_segments() {
    let mut c = TcpConn::new(CLIENT, SERVER);
    let mut frames = c.handshake();
    let req = get("/split/path?k=v");
    // "GET /spl" is too short to recognise HTTP by: detection must wait for more.
    frames.push(c.client(&req[..8])); // 3
    frames.push(c.client(&req[8..30])); // 4
    frames.push(c.client(&req[30..])); // 5: the head completes here
    frames.push(c.server(&ok("split"))); // 6
    let out = run(&frames);
    let conn = c.conn("http");
    assert_eq!(
        owned(out.http()),
        vec![txn(
            &conn,
            at(5),
            "GET",
            "/split/path?k=v",
            0,
            Some(resp_ok(at(6), 5))
        )]
    );
}

#[test]
fn out_of_order_segments_on_both_sides() {
    let mut c = TcpConn::new(CLIENT, SERVER);
    let hs = c.handshake();
    let req = get("/ooo");
    let r1 = c.client(&req[..20]);
    let r2 = c.client(&req[20..]);
    let resp = ok("out of order body");
    let s1 = c.server(&resp[..30]);
    let s2 = c.server(&resp[30..60]);
    let s3 = c.server(&resp[60..]);
    let ack = c.client_ack();
    let req2 = c.client(&get("/next"));
    let resp2 = c.server(&ok("n"));
    // Arrival order: the request's second half first; the response's last part, then its
    // first, then its middle; a retransmission of the first part after all that.
    let mut frames = hs; // 0..=2
    frames.extend([
        r2,         // 3
        r1,         // 4: fills the hole, the request is complete
        s3,         // 5
        s1.clone(), // 6
        s2,         // 7: fills the hole, the response is complete
        s1,         // 8: retransmission, ignored
        ack,        // 9
        req2,       // 10
        resp2,      // 11
    ]);
    let out = run(&frames);
    let conn = c.conn("http");
    assert_eq!(
        owned(out.http()),
        vec![
            txn(&conn, at(4), "GET", "/ooo", 0, Some(resp_ok(at(7), 17))),
            txn(&conn, at(10), "GET", "/next", 0, Some(resp_ok(at(11), 1))),
        ]
    );
    assert!(out.weirds().is_empty(), "{:?}", out.weirds());
    // Every frame counted, the retransmission included: the client sent SYN, ACK, two
    // request parts, an ACK and a request; the server SYN+ACK, four response parts and a
    // response.
    let f = out.flows();
    assert_eq!((f[0].source.packets, f[0].destination.packets), (6, 6));
    let (cl, sv) = tally(&frames, is_client(&c));
    assert_eq!(
        (f[0].source.bytes, f[0].destination.bytes),
        (cl.bytes, sv.bytes)
    );
}

/// A server segment holding a whole response (head and body) is lost; the client's next
/// segment acknowledges it, which proves it was sent. The hole is given up on when the next
/// server segment shows it (not when the connection ends: an ACK alone may have been
/// captured before its data), the lost transaction's request is written without a
/// response, and the transactions after it pair correctly (request N with response N).
#[test]
fn lost_response_acked_by_the_client_keeps_pairing_in_step() {
    let mut c = TcpConn::new(CLIENT, SERVER);
    let mut frames = c.handshake(); // 0..=2
    frames.push(c.client(&get("/1"))); // 3
    frames.push(c.server(&ok("one"))); // 4
    frames.push(c.client(&get("/2"))); // 5
    let lost = ok("two, lost");
    let _ = c.server(&lost); // never captured
    frames.push(c.client(&get("/3"))); // 6: acknowledges the lost response
    frames.push(c.server(&ok("three"))); // 7
    frames.push(c.client_ack()); // 8
    frames.push(c.client(&get("/4"))); // 9
    frames.push(c.server(&ok("four"))); // 10
    frames.extend(c.close()); // 11..=13
    let out = run(&frames);
    let conn = c.conn("http");
    assert_eq!(
        owned(out.http()),
        vec![
            txn(&conn, at(3), "GET", "/1", 0, Some(resp_ok(at(4), 3))),
            txn(&conn, at(5), "GET", "/2", 0, None),
            txn(&conn, at(6), "GET", "/3", 0, Some(resp_ok(at(7), 5))),
            txn(&conn, at(9), "GET", "/4", 0, Some(resp_ok(at(10), 4))),
        ]
    );
    let gap = WeirdRecord {
        timestamp: Timestamp(at(7)),
        conn: Some(conn.clone()),
        weird: Weird {
            name: "http_content_gap",
            source: "http",
            detail: Some(format!("{} bytes missing", lost.len())),
        },
    };
    assert_eq!(
        out.weirds().into_iter().cloned().collect::<Vec<_>>(),
        vec![gap]
    );
    assert_eq!(
        out.kinds(),
        vec!["http", "weird", "http", "http", "http", "flow"]
    );
    let f = out.flows();
    assert_eq!((f[0].source.packets, f[0].destination.packets), (9, 5));
}

/// The same loss with pipelined requests, so that no ACK covers the lost response (the
/// client sent both requests before it), and the capture ends right after the next
/// response: the hole is given up on when the flow is closed at the end of the input.
#[test]
fn lost_response_found_at_the_end_of_the_capture() {
    let mut c = TcpConn::new(CLIENT, SERVER);
    let mut frames = c.handshake();
    frames.push(c.client(&get("/1"))); // 3
    frames.push(c.client(&get("/2"))); // 4
    let lost = ok("lost");
    let _ = c.server(&lost); // never captured
    frames.push(c.server(&ok("two"))); // 5: held behind the hole until the end
    let out = run(&frames);
    let conn = c.conn("http");
    assert_eq!(
        owned(out.http()),
        vec![
            txn(&conn, at(3), "GET", "/1", 0, None),
            txn(&conn, at(4), "GET", "/2", 0, Some(resp_ok(at(5), 3))),
        ]
    );
    let w = out.weirds();
    assert_eq!(
        w.iter()
            .map(|w| (w.weird.name, w.weird.detail.clone(), w.timestamp))
            .collect::<Vec<_>>(),
        vec![(
            "http_content_gap",
            Some(format!("{} bytes missing", lost.len())),
            Timestamp(at(5))
        )]
    );
}

/// Captures merged from several queues (or a tap's two directions) can hold an ACK before
/// the data it acknowledges. A response captured one packet after the client's ACK of it is
/// not lost: it must be paired, with no gap reported.
#[test]
fn ack_captured_before_the_data_it_acknowledges() {
    let mut c = TcpConn::new(CLIENT, SERVER);
    let mut frames = c.handshake(); // 0..=2
    frames.push(c.client(&get("/1"))); // 3
    let resp = c.server(&ok("one"));
    let ack = c.client_ack();
    frames.push(ack); // 4: the ACK, captured first
    frames.push(resp); // 5: the response it acknowledges
    frames.push(c.client(&get("/2"))); // 6
    frames.push(c.server(&ok("two"))); // 7
    let out = run(&frames);
    let conn = c.conn("http");
    assert_eq!(
        owned(out.http()),
        vec![
            txn(&conn, at(3), "GET", "/1", 0, Some(resp_ok(at(5), 3))),
            txn(&conn, at(6), "GET", "/2", 0, Some(resp_ok(at(7), 3))),
        ]
    );
    assert!(out.weirds().is_empty(), "{:?}", out.weirds());
}

/// A segment lost inside a Content-Length body: the body's length is still known, so the
/// next response is read normally and nothing is lost but body bytes.
#[test]
fn lost_segment_inside_a_body_keeps_the_message_boundaries() {
    let mut c = TcpConn::new(CLIENT, SERVER);
    let mut frames = c.handshake();
    frames.push(c.client(&get("/big"))); // 3
    let body = "0123456789".repeat(30);
    let resp = ok(&body);
    let head_len = resp.len() - body.len();
    frames.push(c.server(&resp[..head_len + 100])); // 4
    let _ = c.server(&resp[head_len + 100..head_len + 200]); // lost
    frames.push(c.server(&resp[head_len + 200..])); // 5
    frames.push(c.client(&get("/next"))); // 6: acknowledges the whole body
    frames.push(c.server(&ok("n"))); // 7
    let out = run(&frames);
    let conn = c.conn("http");
    assert_eq!(
        owned(out.http()),
        vec![
            txn(&conn, at(3), "GET", "/big", 0, Some(resp_ok(at(4), 300))),
            txn(&conn, at(6), "GET", "/next", 0, Some(resp_ok(at(7), 1))),
        ]
    );
    assert!(out.weirds().is_empty(), "{:?}", out.weirds());
}

#[test]
fn http_over_ipv6_with_a_wrapped_sequence_space() {
    // Both initial sequence numbers close to 2^32: the streams wrap in mid-message.
    let mut c = TcpConn::with_isn(
        "[2001:db8::20]:50000",
        "[2001:db8::10]:8080",
        u32::MAX - 10,
        u32::MAX - 50,
    );
    let mut frames = c.handshake();
    frames.push(c.client(&get("/v6"))); // 3
    frames.push(c.server(&ok("over IPv6"))); // 4
    let out = run(&frames);
    let conn = c.conn("http");
    assert_eq!(
        owned(out.http()),
        vec![txn(&conn, at(3), "GET", "/v6", 0, Some(resp_ok(at(4), 9)))]
    );
    let f = out.flows();
    // IPv6 frames are 20 bytes longer than IPv4 ones: 74 for the handshake.
    let req = get("/v6").len() as u64;
    assert_eq!(
        (f[0].source.bytes, f[0].destination.bytes),
        (74 * 3 + req, 74 + 74 + ok("over IPv6").len() as u64)
    );
}

/// What real captures hold: TCP options on every segment (timestamps; MSS, SACK and window
/// scale on SYNs) and short frames padded to 60 bytes. Neither options nor padding are
/// payload, and the flow counts padded lengths.
#[test]
fn tcp_options_and_ethernet_padding_are_not_payload() {
    let mut c = TcpConn::new(CLIENT, SERVER);
    c.timestamps = true;
    c.pad = true;
    let mut frames = c.handshake(); // 0..=2
    frames.push(c.client(&get("/opts"))); // 3
    frames.push(c.server(&ok("padded"))); // 4
    frames.push(c.client_ack()); // 5
    frames.push(c.client(&get("/again"))); // 6
    frames.push(c.server(&ok("x"))); // 7
    frames.extend(c.close()); // 8..=10
    let out = run(&frames);
    let conn = c.conn("http");
    assert_eq!(
        owned(out.http()),
        vec![
            txn(&conn, at(3), "GET", "/opts", 0, Some(resp_ok(at(4), 6))),
            txn(&conn, at(6), "GET", "/again", 0, Some(resp_ok(at(7), 1))),
        ]
    );
    assert!(out.weirds().is_empty(), "{:?}", out.weirds());
    // SYN: 54 + 24 bytes of options; other pure ACKs: 54 + 12 = 66 (no padding needed).
    assert_eq!(frames[0].len(), 78);
    assert_eq!(frames[5].len(), 66);
    let (cl, sv) = tally(&frames, is_client(&c));
    let f = out.flows();
    assert_eq!(
        (f[0].source.bytes, f[0].destination.bytes),
        (cl.bytes, sv.bytes)
    );
}

/// Frames shorter than Ethernet's minimum arrive padded with zeros: the padding (after the
/// IP datagram's end) is not TCP payload.
#[test]
fn ethernet_padding_after_a_one_byte_segment_is_not_payload() {
    let mut c = TcpConn::new(CLIENT, SERVER);
    c.pad = true;
    let mut frames = c.handshake();
    let req = get("/tiny");
    // The request sent one byte at a time in its first segments, each frame padded.
    frames.push(c.client(&req[..1])); // 3
    frames.push(c.client(&req[1..2])); // 4
    frames.push(c.client(&req[2..])); // 5
    frames.push(c.server(&ok("t"))); // 6
    assert_eq!(frames[3].len(), 60);
    let out = run(&frames);
    let conn = c.conn("http");
    assert_eq!(
        owned(out.http()),
        vec![txn(
            &conn,
            at(5),
            "GET",
            "/tiny",
            0,
            Some(resp_ok(at(6), 1))
        )]
    );
}

/// nDPI's heuristic_tcp_ack_payload: every pure ACK's IP length (the SYN-ACK's too) counts
/// the frame's zero padding as 2 or 6 bytes of payload, at the sequence number where the
/// request and the response then start. The padding is not data: the exchange is logged as sent.
#[test]
fn ethernet_padding_counted_in_the_ip_length_of_acks_is_not_payload() {
    let mut c = TcpConn::new(CLIENT, SERVER);
    c.pad = true;
    let mut frames = vec![
        c.syn(),
        c.syn_ack_with_padding(2),
        c.ack_with_padding(true, 2),
    ];
    frames.push(c.client(&get("/padded"))); // 3
    frames.push(c.ack_with_padding(false, 6)); // 4
    frames.push(c.server(&ok("fine"))); // 5
    frames.push(c.ack_with_padding(true, 2)); // 6
    assert_eq!((frames[1].len(), frames[4].len()), (60, 60));
    let out = run(&frames);
    let conn = c.conn("http");
    assert_eq!(
        owned(out.http()),
        vec![txn(
            &conn,
            at(3),
            "GET",
            "/padded",
            0,
            Some(resp_ok(at(5), 4))
        )]
    );
    assert!(out.weirds().is_empty(), "{:?}", out.weirds());
    // The flow still counts every byte the IP headers announced.
    let (cl, sv) = tally(&frames, is_client(&c));
    let f = out.flows();
    assert_eq!(
        (f[0].source.bytes, f[0].destination.bytes),
        (cl.bytes, sv.bytes)
    );
}

/// A first segment longer than the 2 KiB recognition looks at (a POST with its body): the
/// bytes past the first 2 KiB reach the analyzer too.
#[test]
fn a_first_segment_longer_than_recognition_looks_at_is_analyzed_whole() {
    let mut c = TcpConn::new(CLIENT, SERVER);
    let mut frames = c.handshake(); // 0..=2
    let body = "z".repeat(3000);
    frames.push(c.client(&post("/big", &body))); // 3
    frames.push(c.server(&ok("stored"))); // 4
    frames.push(c.client(&get("/after"))); // 5
    frames.push(c.server(&ok("x"))); // 6
    assert!(frames[3].len() > 3000);
    let out = run(&frames);
    let conn = c.conn("http");
    let http = owned(out.http());
    assert_eq!(http.len(), 2, "{http:#?}");
    let post = &http[0];
    assert_eq!(post.http.request.as_ref().unwrap().body.bytes, 3000);
    assert_eq!(post.http.response.as_ref().unwrap().body.bytes, 6);
    assert_eq!(
        http[1],
        txn(&conn, at(5), "GET", "/after", 0, Some(resp_ok(at(6), 1)))
    );
    assert!(out.weirds().is_empty(), "{:?}", out.weirds());
}

/// A request with a bad Content-Length (Zeek's http/261 cl-negative: a GET smuggled behind
/// `Content-Length: -1`): logged with no body and an anomaly, and the bytes after its head
/// read as the next request, as Zeek logs them.
#[test]
fn a_request_with_a_bad_content_length_is_logged_and_the_next_one_too() {
    let mut c = TcpConn::new(CLIENT, SERVER);
    let mut frames = c.handshake(); // 0..=2
    frames.push(c.client(
        b"POST / HTTP/1.1\r\nHost: example.com\r\nContent-Length: -1\r\n\r\n\
          GET /smuggled HTTP/1.1\r\nHost: example.com\r\n\r\n",
    )); // 3
    frames.push(c.server(&ok("a"))); // 4
    frames.push(c.server(&ok("b"))); // 5
    let out = run(&frames);
    let http = owned(out.http());
    let methods: Vec<_> = http
        .iter()
        .map(|r| {
            let req = r.http.request.as_ref().unwrap();
            (
                req.method.clone(),
                req.body.bytes,
                r.http.response.as_ref().map(|x| x.body.bytes),
            )
        })
        .collect();
    assert_eq!(
        methods,
        vec![
            ("POST".to_string(), 0, Some(1)),
            ("GET".to_string(), 0, Some(1))
        ]
    );
    let weirds: Vec<_> = out.weirds().iter().map(|w| w.weird.name).collect();
    assert_eq!(weirds, vec!["http_bad_content_length"]);
}

/// HEAD: the response announces a length but has no body. 100 Continue: an interim
/// response, then the real one.
#[test]
fn head_and_expect_100_continue() {
    let mut c = TcpConn::new(CLIENT, SERVER);
    let mut frames = c.handshake();
    frames.push(
        c.client(b"HEAD /h HTTP/1.1\r\nHost: example.com\r\nUser-Agent: flowsight-test\r\n\r\n"),
    ); // 3
    frames.push(c.server(
        b"HTTP/1.1 200 OK\r\nServer: testd/1.0\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\n\r\n",
    )); // 4: no body follows
    frames.push(c.client(
        b"PUT /upload HTTP/1.1\r\nHost: example.com\r\nUser-Agent: flowsight-test\r\n\
          Expect: 100-continue\r\nContent-Length: 4\r\n\r\n",
    )); // 5
    frames.push(c.server(b"HTTP/1.1 100 Continue\r\n\r\n")); // 6
    frames.push(c.client(b"data")); // 7
    frames.push(c.server(&ok("stored"))); // 8
    let out = run(&frames);
    let conn = c.conn("http");
    assert_eq!(
        owned(out.http()),
        vec![
            txn(&conn, at(3), "HEAD", "/h", 0, Some(resp_ok(at(4), 0))),
            txn(&conn, at(5), "PUT", "/upload", 4, Some(resp_ok(at(8), 6))),
        ]
    );
    assert!(out.weirds().is_empty(), "{:?}", out.weirds());
}

/// An HTTP/1.0 response without a length: its body ends when the server closes.
#[test]
fn http10_body_delimited_by_the_close() {
    let mut c = TcpConn::new(CLIENT, SERVER);
    let mut frames = c.handshake();
    frames.push(
        c.client(b"GET /old HTTP/1.0\r\nHost: example.com\r\nUser-Agent: flowsight-test\r\n\r\n"),
    ); // 3
    frames.push(c.server(
        b"HTTP/1.0 200 OK\r\nServer: testd/1.0\r\nContent-Type: text/plain\r\n\r\nfirst part, ",
    )); // 4
    frames.push(c.server(b"second part")); // 5
    // The server closes: FIN+ACK from the server, then the client's FIN+ACK and ACK.
    let (s, d) = (c.server, c.client);
    frames.push(ethernet(&ip(
        s.ip(),
        d.ip(),
        PROTO_TCP,
        &tcp(s, d, c.sseq, c.cseq, FIN | ACK, b""),
    ))); // 6
    c.sseq += 1;
    frames.push(ethernet(&ip(
        d.ip(),
        s.ip(),
        PROTO_TCP,
        &tcp(d, s, c.cseq, c.sseq, FIN | ACK, b""),
    ))); // 7
    let out = run(&frames);
    let mut expected = txn(
        &c.conn("http"),
        at(3),
        "GET",
        "/old",
        0,
        Some(resp_ok(at(4), 23)),
    );
    expected.http.version = Some("1.0".into());
    assert_eq!(owned(out.http()), vec![expected]);
}

/// A client segment holding a whole request is lost (the server's ACK covers it): its
/// response is written without a request, and the next transaction pairs normally.
#[test]
fn lost_request_acked_by_the_server() {
    let mut c = TcpConn::new(CLIENT, SERVER);
    let mut frames = c.handshake();
    frames.push(c.client(&get("/1"))); // 3
    frames.push(c.server(&ok("one"))); // 4
    let _ = c.client(&get("/2")); // lost
    frames.push(c.server(&ok("two"))); // 5: acknowledges the lost request
    frames.push(c.client(&get("/3"))); // 6
    frames.push(c.server(&ok("three"))); // 7
    let out = run(&frames);
    let conn = c.conn("http");
    let mut orphan = txn(&conn, at(5), "GET", "/x", 0, Some(resp_ok(at(5), 3)));
    orphan.http.request = None;
    orphan.url = None;
    orphan.user_agent = None;
    orphan.event.duration = None;
    assert_eq!(
        owned(out.http()),
        vec![
            txn(&conn, at(3), "GET", "/1", 0, Some(resp_ok(at(4), 3))),
            orphan,
            txn(&conn, at(6), "GET", "/3", 0, Some(resp_ok(at(7), 5))),
        ]
    );
    let w = out.weirds();
    assert_eq!(
        w.iter()
            .map(|w| (w.weird.name, w.weird.detail.clone(), w.timestamp))
            .collect::<Vec<_>>(),
        vec![(
            "http_content_gap",
            Some(format!("{} bytes missing", get("/2").len())),
            Timestamp(at(6))
        )]
    );
}

/// Two responses in a row are lost (one hole in the server's stream, acknowledged by the
/// client). Each request that was sent before the client had received the whole hole (its
/// ACK number is below the hole's end) was answered inside it; the next response belongs to
/// the first request sent after.
#[test]
fn two_lost_responses_in_one_hole() {
    let mut c = TcpConn::new(CLIENT, SERVER);
    let mut frames = c.handshake(); // 0..=2
    frames.push(c.client(&get("/1"))); // 3
    frames.push(c.server(&ok("one"))); // 4
    frames.push(c.client(&get("/2"))); // 5
    let _ = c.server(&ok("two")); // lost
    frames.push(c.client(&get("/3"))); // 6: acknowledges the first lost response
    let _ = c.server(&ok("three")); // lost
    frames.push(c.client(&get("/4"))); // 7: acknowledges the second
    frames.push(c.server(&ok("four"))); // 8
    frames.push(c.client_ack()); // 9
    let out = run(&frames);
    let conn = c.conn("http");
    assert_eq!(
        owned(out.http()),
        vec![
            txn(&conn, at(3), "GET", "/1", 0, Some(resp_ok(at(4), 3))),
            txn(&conn, at(5), "GET", "/2", 0, None),
            txn(&conn, at(6), "GET", "/3", 0, None),
            txn(&conn, at(7), "GET", "/4", 0, Some(resp_ok(at(8), 4))),
        ]
    );
}

/// The last response of a connection is lost; the client's FIN acknowledges it and the
/// server's FIN comes after it in sequence space. Nothing follows the hole, but the hole is
/// certain: it must be reported like any other.
#[test]
fn lost_last_response_before_the_close_is_reported() {
    let mut c = TcpConn::new(CLIENT, SERVER);
    let mut frames = c.handshake();
    frames.push(c.client(&get("/1"))); // 3
    frames.push(c.server(&ok("one"))); // 4
    frames.push(c.client(&get("/2"))); // 5
    let lost = ok("two");
    let _ = c.server(&lost); // lost
    frames.push(c.client_ack()); // 6: acknowledges it
    frames.extend(c.close()); // 7..=9
    let out = run(&frames);
    let conn = c.conn("http");
    assert_eq!(
        owned(out.http()),
        vec![
            txn(&conn, at(3), "GET", "/1", 0, Some(resp_ok(at(4), 3))),
            txn(&conn, at(5), "GET", "/2", 0, None),
        ]
    );
    assert_eq!(
        out.weirds()
            .iter()
            .map(|w| (w.weird.name, w.weird.detail.clone()))
            .collect::<Vec<_>>(),
        vec![(
            "http_content_gap",
            Some(format!("{} bytes missing", lost.len()))
        )]
    );
}

/// A capture with a short snap length (100 bytes: 46 bytes of TCP payload per packet) cuts
/// every head. The peer's ACK tells how much is missing; the complete lines of each head are
/// logged, with the times of the packets that carried them.
#[test]
fn snap_length_cut_heads_are_logged_with_their_complete_lines() {
    let mut c = TcpConn::new(CLIENT, SERVER);
    let mut frames = c.handshake(); // 0..=2
    frames.push(c.client(&get("/snap"))); // 3: 39 bytes of it fit: the start line and Host
    frames.push(c.server(&ok("cut"))); // 4: the start line and Server fit
    frames.push(c.client_ack()); // 5
    frames.push(c.client(&get("/two"))); // 6
    frames.push(c.server(&ok("second"))); // 7
    frames.push(c.client_ack()); // 8
    const SNAPLEN: usize = 100;
    let out = run_with(
        flowsight_wire::LinkType::Ethernet,
        frames
            .iter()
            .map(|f| (&f[..f.len().min(SNAPLEN)], f.len() as u32)),
    );
    let conn = c.conn("http");
    let cut = |mut t: HttpRecord| {
        t.user_agent = None;
        if let Some(r) = t.http.response.as_mut() {
            r.mime_type = None;
            r.body.bytes = 0;
        }
        t
    };
    assert_eq!(
        owned(out.http()),
        vec![
            cut(txn(
                &conn,
                at(3),
                "GET",
                "/snap",
                0,
                Some(resp_ok(at(4), 0))
            )),
            cut(txn(&conn, at(6), "GET", "/two", 0, Some(resp_ok(at(7), 0)))),
        ]
    );
    // Each side's gaps are one weird per flow.
    assert_eq!(
        out.weirds()
            .iter()
            .map(|w| w.weird.name)
            .collect::<Vec<_>>(),
        vec!["http_content_gap"]
    );
    // The flow counts the lengths on the wire.
    let (cl, sv) = tally(&frames, is_client(&c));
    let f = out.flows();
    assert_eq!(
        (f[0].source.bytes, f[0].destination.bytes),
        (cl.bytes, sv.bytes)
    );
}

/// A connection picked up in the middle of a response (no handshake, the server's first
/// segments not captured): where a head should start there is the end of a body. The
/// analyzer skips to the next response, which begins a segment after body bytes that end
/// without a newline, and pairs it with the request the server had received when it
/// answered; the first request is written without a response.
#[test]
fn connection_picked_up_in_the_middle_of_a_response() {
    let mut c = TcpConn::new(CLIENT, SERVER);
    let mut frames = vec![c.client(&get("/1"))]; // 0
    let lost = ok(&"x".repeat(300));
    let _ = c.server(&lost[..200]); // never captured: the head and the body's start
    frames.push(c.server(&lost[200..])); // 1
    frames.push(c.client(&get("/2"))); // 2
    frames.push(c.server(&ok("two"))); // 3
    frames.push(c.client(&get("/3"))); // 4
    frames.push(c.server(&ok("three"))); // 5
    let out = run(&frames);
    let conn = c.conn("http");
    assert_eq!(
        owned(out.http()),
        vec![
            txn(&conn, at(0), "GET", "/1", 0, None),
            txn(&conn, at(2), "GET", "/2", 0, Some(resp_ok(at(3), 3))),
            txn(&conn, at(4), "GET", "/3", 0, Some(resp_ok(at(5), 5))),
        ]
    );
    assert_eq!(
        out.weirds()
            .iter()
            .map(|w| (w.weird.name, w.timestamp))
            .collect::<Vec<_>>(),
        vec![("http_bad_response", Timestamp(at(1)))]
    );
}

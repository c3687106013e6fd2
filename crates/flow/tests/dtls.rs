//! DTLS through the whole engine: hellos after STUN, a ClientHello in fragments that
//! arrive out of order, a HelloVerifyRequest and the ClientHello sent again with its
//! cookie, a handshake started by the flow's second sender, and malformed fragments.

mod common;

use common::tls::*;
use common::*;
use flowsight_record::{Timestamp, Tls, TlsClient, TlsRecord, TlsServer};

const PEER_A: &str = "192.168.12.169:49153";
const PEER_B: &str = "142.250.82.99:3478";

const HANDSHAKE: u8 = 22;
const CLIENT_HELLO: u8 = 1;
const SERVER_HELLO: u8 = 2;
const HELLO_VERIFY_REQUEST: u8 = 3;

/// A WebRTC-like DTLS 1.2 ClientHello (no SNI, `use_srtp`).
fn webrtc_hello() -> ClientHello {
    ClientHello {
        legacy_version: 0xfefd,
        ciphers: vec![0xc02b, 0xc02f, 0xcca9, 0xcca8, 0xc009, 0xc013],
        extensions: vec![
            ext(0x0017, vec![]),
            ext(0xff01, vec![0]),
            supported_groups(&[29, 23, 24]),
            ec_point_formats(&[0]),
            ext(0x000e, vec![0, 4, 0, 1, 0, 2, 0]), // use_srtp
            signature_algorithms(&[0x0403, 0x0804, 0x0401]),
        ],
    }
}

fn server_hello() -> ServerHello {
    ServerHello {
        legacy_version: 0xfefd,
        cipher: 0xc02f,
        extensions: vec![ext(0xff01, vec![0]), ec_point_formats(&[0])],
    }
}

/// A STUN binding request (RFC 5389: type 0x0001, no attributes, the magic cookie).
fn stun() -> Vec<u8> {
    let mut m = vec![0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42];
    m.extend_from_slice(&[7; 12]); // transaction id
    m
}

/// The record flowsight should write for `ch` answered by `sh`, the client's hello at `ts`.
fn expected(ts: u64, ch: &ClientHello, sh: Option<&ServerHello>) -> TlsRecord {
    // JA4 as for TCP but `d` for DTLS and `d2` for version 0xfefd (the helper writes `t00`).
    let ja4 = format!("dd2{}", &ch.ja4()[3..]);
    TlsRecord {
        timestamp: Timestamp(ts),
        conn: conn(sa(PEER_A), sa(PEER_B), PROTO_UDP, "dtls"),
        tls: Tls {
            version: Some("1.2".into()),
            version_protocol: Some("dtls"),
            cipher: sh.map(|_| "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256".into()),
            next_protocol: None,
            client: Some(TlsClient {
                server_name: None,
                alpn: vec![],
                supported_versions: vec![],
                ja3: ch.ja3_hash(),
                ja3_string: ch.ja3_string(),
                ja4,
            }),
            server: sh.map(|sh| TlsServer {
                ja3s: sh.ja3s_hash(),
                ja3s_string: sh.ja3s_string(),
            }),
        },
    }
}

fn whole(msg_type: u8, seq: u16, body: &[u8]) -> Vec<u8> {
    dtls_fragment(msg_type, seq, body, 0..body.len())
}

#[test]
fn hellos_after_stun_on_any_port() {
    let (a, b) = (sa(PEER_A), sa(PEER_B));
    let ch = webrtc_hello();
    let sh = server_hello();
    let frames = vec![
        udp_frame(a, b, &stun()), // 0
        udp_frame(b, a, &stun()), // 1
        udp_frame(
            a,
            b,
            &dtls_record(HANDSHAKE, 0, 0, &whole(CLIENT_HELLO, 0, &ch.dtls_body(&[]))),
        ), // 2
        udp_frame(
            b,
            a,
            &dtls_record(HANDSHAKE, 0, 0, &whole(SERVER_HELLO, 0, &sh.body())),
        ), // 3
        udp_frame(a, b, &dtls_record(23, 1, 1, &[9; 40])), // 4: application data
    ];
    let out = run(&frames);
    assert_eq!(out.tls(), vec![&expected(at(2), &ch, Some(&sh))]);
    assert!(out.weirds().is_empty(), "{:?}", out.weirds());
    // The JA3 string of a DTLS 1.2 hello starts with its version, 65277.
    assert!(
        out.tls()[0]
            .tls
            .client
            .as_ref()
            .unwrap()
            .ja3_string
            .starts_with("65277,")
    );
}

#[test]
fn fragments_out_of_order_and_a_cookie_exchange() {
    let (a, b) = (sa(PEER_A), sa(PEER_B));
    let ch = webrtc_hello();
    let sh = server_hello();
    let first = ch.dtls_body(&[]);
    let cookie = [0xc0; 20];
    let second = ch.dtls_body(&cookie);
    let mut hvr = vec![0xfe, 0xff];
    hvr.push(cookie.len() as u8);
    hvr.extend_from_slice(&cookie);
    let half = second.len() / 2;
    let frames = vec![
        udp_frame(
            a,
            b,
            &dtls_record(HANDSHAKE, 0, 0, &whole(CLIENT_HELLO, 0, &first)),
        ), // 0
        // The first hello again (a retransmission): not a second hello.
        udp_frame(
            a,
            b,
            &dtls_record(HANDSHAKE, 0, 1, &whole(CLIENT_HELLO, 0, &first)),
        ), // 1
        udp_frame(
            b,
            a,
            &dtls_record(HANDSHAKE, 0, 0, &whole(HELLO_VERIFY_REQUEST, 0, &hvr)),
        ), // 2
        // The hello with the cookie, its second half first.
        udp_frame(
            a,
            b,
            &dtls_record(
                HANDSHAKE,
                0,
                2,
                &dtls_fragment(CLIENT_HELLO, 1, &second, half..second.len()),
            ),
        ), // 3
        udp_frame(
            a,
            b,
            &dtls_record(
                HANDSHAKE,
                0,
                3,
                &dtls_fragment(CLIENT_HELLO, 1, &second, 0..half),
            ),
        ), // 4
        udp_frame(
            b,
            a,
            &dtls_record(HANDSHAKE, 0, 1, &whole(SERVER_HELLO, 1, &sh.body())),
        ), // 5
    ];
    let out = run(&frames);
    // Stamped with the datagram that completed the hello with the cookie.
    assert_eq!(out.tls(), vec![&expected(at(4), &ch, Some(&sh))]);
    assert!(out.weirds().is_empty(), "{:?}", out.weirds());
}

#[test]
fn a_handshake_started_by_the_flows_second_sender() {
    // B sends first (STUN), A sends the ClientHello: A is the DTLS client, but the flow's
    // source stays B, the first sender.
    let (a, b) = (sa(PEER_A), sa(PEER_B));
    let ch = webrtc_hello();
    let sh = server_hello();
    let frames = vec![
        udp_frame(b, a, &stun()),
        udp_frame(
            a,
            b,
            &dtls_record(HANDSHAKE, 0, 0, &whole(CLIENT_HELLO, 0, &ch.dtls_body(&[]))),
        ),
        udp_frame(
            b,
            a,
            &dtls_record(HANDSHAKE, 0, 0, &whole(SERVER_HELLO, 0, &sh.body())),
        ),
    ];
    let out = run(&frames);
    let mut want = expected(at(1), &ch, Some(&sh));
    want.conn = conn(b, a, PROTO_UDP, "dtls");
    assert_eq!(out.tls(), vec![&want]);
}

#[test]
fn malformed_fragments_are_weird_and_every_cut_of_a_hello_is_survived() {
    let (a, b) = (sa(PEER_A), sa(PEER_B));
    let body = webrtc_hello().dtls_body(&[]);
    // A fragment that claims to run past its message.
    let mut bad = whole(CLIENT_HELLO, 0, &body);
    bad[9..12].copy_from_slice(&((body.len() + 5) as u32).to_be_bytes()[1..]);
    let out = run(&[udp_frame(a, b, &dtls_record(HANDSHAKE, 0, 0, &bad))]);
    let names: Vec<_> = out.weirds().iter().map(|w| w.weird.name).collect();
    assert_eq!(names, ["dtls_bad_handshake"]);
    assert!(out.tls().is_empty());
    // Every prefix of a hello's datagram: no panic, at most a weird, no record (the
    // record layer's length no longer matches what is there).
    let datagram = dtls_record(HANDSHAKE, 0, 0, &whole(CLIENT_HELLO, 0, &body));
    for cut in 0..datagram.len() {
        let out = run(&[udp_frame(a, b, &datagram[..cut])]);
        assert!(out.tls().is_empty(), "cut at {cut}");
    }
}

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

/// A HelloVerifyRequest body (RFC 6347 §4.2.1): server version 0xfeff and the cookie.
fn hello_verify_request(cookie: &[u8]) -> Vec<u8> {
    let mut body = vec![0xfe, 0xff, cookie.len() as u8];
    body.extend_from_slice(cookie);
    body
}

fn whole(msg_type: u8, seq: u16, body: &[u8]) -> Vec<u8> {
    dtls_fragment(msg_type, seq, body, 0..body.len())
}

#[test]
fn hellos_after_stun_on_any_port() {
    let (a, b) = (sa(PEER_A), sa(PEER_B));
    let ch = webrtc_hello();
    let sh = server_hello();
    // ICE: eight STUN checks, four from each peer (as many datagrams as the live sampler
    // sends of a flow in one direction), then the handshake.
    let mut frames: Vec<Vec<u8>> = (0..8)
        .map(|k| match k % 2 {
            0 => udp_frame(a, b, &stun()),
            _ => udp_frame(b, a, &stun()),
        })
        .collect();
    frames.push(udp_frame(
        a,
        b,
        &dtls_record(HANDSHAKE, 0, 0, &whole(CLIENT_HELLO, 0, &ch.dtls_body(&[]))),
    )); // 8
    frames.push(udp_frame(
        b,
        a,
        &dtls_record(HANDSHAKE, 0, 0, &whole(SERVER_HELLO, 0, &sh.body())),
    ));
    frames.push(udp_frame(a, b, &dtls_record(23, 1, 1, &[9; 40]))); // application data
    let out = run(&frames);
    assert_eq!(out.tls(), vec![&expected(at(8), &ch, Some(&sh))]);
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
    let hvr = hello_verify_request(&cookie);
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

/// A datagram of one handshake record whose payload is `payload` (the record length always
/// matching it, so the fragments themselves are what is malformed).
fn hs_datagram(payload: &[u8]) -> Vec<u8> {
    dtls_record(HANDSHAKE, 0, 0, payload)
}

fn weird_names(out: &Out) -> Vec<&'static str> {
    out.weirds().iter().map(|w| w.weird.name).collect()
}

#[test]
fn malformed_fragments_are_weird_and_every_cut_of_a_hello_is_survived() {
    let (a, b) = (sa(PEER_A), sa(PEER_B));
    let body = webrtc_hello().dtls_body(&[]);
    // A fragment that claims to run past its message.
    let mut bad = whole(CLIENT_HELLO, 0, &body);
    bad[9..12].copy_from_slice(&((body.len() + 5) as u32).to_be_bytes()[1..]);
    let out = run(&[udp_frame(a, b, &hs_datagram(&bad))]);
    assert_eq!(weird_names(&out), ["dtls_bad_handshake"]);
    assert!(out.tls().is_empty());
    // Every cut of the hello's fragment inside a record that says so: a fragment header cut
    // short, then a fragment whose data runs past its record. Never a panic, never a record.
    let fragment = whole(CLIENT_HELLO, 0, &body);
    for cut in 1..fragment.len() {
        let out = run(&[udp_frame(a, b, &hs_datagram(&fragment[..cut]))]);
        assert!(out.tls().is_empty(), "cut at {cut}");
        if cut > 12 {
            // A whole fragment header (what the detector needs) and a cut body: reported.
            assert_eq!(weird_names(&out), ["dtls_bad_handshake"], "cut at {cut}");
        }
    }
    // Every cut of the whole datagram (the record's own length no longer matching): the
    // record layer waits for bytes that never come; nothing is written.
    let datagram = hs_datagram(&fragment);
    for cut in 0..datagram.len() {
        let out = run(&[udp_frame(a, b, &datagram[..cut])]);
        assert!(out.tls().is_empty(), "cut at {cut}");
    }
}

#[test]
fn a_hello_too_long_or_in_too_many_pieces_is_given_up() {
    let (a, b) = (sa(PEER_A), sa(PEER_B));
    // A fragment of a message said to be 20,000 bytes long (the cap is 16 KiB).
    let big = vec![0u8; 20_000];
    let out = run(&[udp_frame(
        a,
        b,
        &hs_datagram(&dtls_fragment(CLIENT_HELLO, 0, &big, 0..100)),
    )]);
    assert_eq!(weird_names(&out), ["dtls_handshake_too_long"]);
    // 300 one-byte pieces with holes between them, over a few datagrams.
    let body = vec![7u8; 1000];
    let mut frames = Vec::new();
    for chunk in (0..300).collect::<Vec<usize>>().chunks(60) {
        let mut payload = Vec::new();
        for &k in chunk {
            payload.extend(dtls_fragment(CLIENT_HELLO, 0, &body, 3 * k..3 * k + 1));
        }
        frames.push(udp_frame(a, b, &hs_datagram(&payload)));
    }
    let out = run(&frames);
    assert_eq!(weird_names(&out), ["dtls_handshake_too_long"]);
    assert!(out.tls().is_empty());
}

#[test]
fn a_newer_hello_replaces_one_whose_fragments_were_lost() {
    let (a, b) = (sa(PEER_A), sa(PEER_B));
    let ch = webrtc_hello();
    let sh = server_hello();
    let first = ch.dtls_body(&[]);
    let cookie = [0xc1; 16];
    let second = ch.dtls_body(&cookie);
    let hvr = hello_verify_request(&cookie);
    let frames = vec![
        // Only the first half of the first hello was captured.
        udp_frame(
            a,
            b,
            &hs_datagram(&dtls_fragment(CLIENT_HELLO, 0, &first, 0..first.len() / 2)),
        ),
        udp_frame(b, a, &hs_datagram(&whole(HELLO_VERIFY_REQUEST, 0, &hvr))),
        udp_frame(a, b, &hs_datagram(&whole(CLIENT_HELLO, 1, &second))), // 2
        udp_frame(b, a, &hs_datagram(&whole(SERVER_HELLO, 1, &sh.body()))),
    ];
    let out = run(&frames);
    assert_eq!(out.tls(), vec![&expected(at(2), &ch, Some(&sh))]);
}

#[test]
fn a_dtls13_hello_retry_request_gives_two_records_as_over_tcp() {
    let (a, b) = (sa(PEER_A), sa(PEER_B));
    let ch = ClientHello {
        legacy_version: 0xfefd,
        ciphers: vec![0x1301, 0x1302],
        extensions: vec![
            sni("media.example"),
            supported_groups(&[29]),
            signature_algorithms(&[0x0403]),
            key_share_client(),
            supported_versions(&[0xfefc]),
        ],
    };
    // The retried hello carries the server's cookie (extension 44).
    let mut ch2 = ch.clone();
    ch2.extensions.push(ext(44, vec![0, 4, 1, 2, 3, 4]));
    let hrr = {
        let sh = ServerHello {
            legacy_version: 0xfefd,
            cipher: 0x1301,
            extensions: vec![selected_version(0xfefc)],
        };
        let mut body = sh.body();
        // The HelloRetryRequest's fixed random: SHA-256 of "HelloRetryRequest" (RFC 8446).
        body[2..34].copy_from_slice(&[
            0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65,
            0xb8, 0x91, 0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2,
            0xc8, 0xa8, 0x33, 0x9c,
        ]);
        body
    };
    let sh = ServerHello {
        legacy_version: 0xfefd,
        cipher: 0x1301,
        extensions: vec![key_share_server(), selected_version(0xfefc)],
    };
    let frames = vec![
        udp_frame(
            a,
            b,
            &hs_datagram(&whole(CLIENT_HELLO, 0, &ch.dtls_body(&[]))),
        ),
        udp_frame(b, a, &hs_datagram(&whole(SERVER_HELLO, 0, &hrr))),
        udp_frame(
            a,
            b,
            &hs_datagram(&whole(CLIENT_HELLO, 1, &ch2.dtls_body(&[]))),
        ), // 2
        udp_frame(b, a, &hs_datagram(&whole(SERVER_HELLO, 1, &sh.body()))), // 3
        // DTLS 1.3 encrypted records (the unified header): not malformed DTLS.
        udp_frame(a, b, &[0x2c, 0, 1, 0, 4, 9, 9, 9, 9]),
        udp_frame(b, a, &[0x2c, 0, 1, 0, 4, 9, 9, 9, 9]),
    ];
    let out = run(&frames);
    assert!(out.weirds().is_empty(), "{:?}", out.weirds());
    let tls = out.tls();
    assert_eq!(tls.len(), 2, "{tls:#?}");
    // The first hellos: the ClientHello and the retry request.
    let (first, second) = (tls[0], tls[1]);
    assert_eq!(first.timestamp, Timestamp(at(0)));
    let first_client = first.tls.client.as_ref().unwrap();
    assert_eq!(first_client.ja3, ch.ja3_hash());
    assert!(
        first_client.ja4.starts_with("dd3d0205"),
        "{}",
        first_client.ja4
    );
    let hrr_ja3s = first.tls.server.as_ref().unwrap().ja3s.clone();
    // The second: the retried ClientHello (one extension more) and the real ServerHello.
    assert_eq!(second.timestamp, Timestamp(at(2)));
    assert_eq!(second.tls.version.as_deref(), Some("1.3"));
    assert_eq!(second.tls.version_protocol, Some("dtls"));
    assert_eq!(second.tls.cipher.as_deref(), Some("TLS_AES_128_GCM_SHA256"));
    let client = second.tls.client.as_ref().unwrap();
    assert_eq!(client.server_name.as_deref(), Some("media.example"));
    assert_eq!(client.ja3_string, ch2.ja3_string());
    assert_eq!(client.ja3, ch2.ja3_hash());
    assert!(client.ja4.starts_with("dd3d0206"), "{}", client.ja4);
    assert_eq!(second.tls.server.as_ref().unwrap().ja3s, sh.ja3s_hash());
    assert_ne!(hrr_ja3s, sh.ja3s_hash());
}

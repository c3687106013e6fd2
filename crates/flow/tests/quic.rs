//! QUIC through the whole engine: Initial packets built and protected here, a ClientHello
//! spread over two packets in out-of-order CRYPTO frames, the server's Initial with its
//! ServerHello, version 2 on another port, Retry-style key changes, the caps, and every
//! truncated prefix of a client datagram.
//!
//! Packets are protected with `flowsight_wire`'s `InitialKeys::seal`, which reproduces the
//! RFC 9001 and RFC 9369 example packets byte for byte (its unit tests); everything else
//! (frames, headers, hellos, fingerprints) is built here from the specifications.

mod common;

use common::tls::*;
use common::*;
use flowsight_record::{Timestamp, Tls, TlsClient, TlsRecord, TlsServer};
use flowsight_wire::l7::quic::{InitialKeys, Version};
use std::net::SocketAddr;

const CLIENT: &str = "192.168.1.20:51000";
const SERVER: &str = "142.250.74.100:443";

/// X25519MLKEM768 (draft-ietf-tls-ecdhe-mlkem): the group whose 1216-byte key share makes
/// browsers' ClientHellos span two Initial packets.
const X25519_MLKEM768: u16 = 0x11ec;

/// A QUIC variable-length integer (RFC 9000 §16), in the shortest form.
fn varint(v: u64) -> Vec<u8> {
    match v {
        0..=63 => vec![v as u8],
        64..=16_383 => (0x4000 | v as u16).to_be_bytes().to_vec(),
        _ => (0x8000_0000 | v as u32).to_be_bytes().to_vec(),
    }
}

/// A CRYPTO frame.
fn crypto(offset: usize, data: &[u8]) -> Vec<u8> {
    let mut f = vec![0x06];
    f.extend(varint(offset as u64));
    f.extend(varint(data.len() as u64));
    f.extend_from_slice(data);
    f
}

/// An ACK frame acknowledging packet `largest` alone.
fn ack(largest: u64) -> Vec<u8> {
    let mut f = vec![0x02];
    f.extend(varint(largest));
    f.extend([0, 0, 0]); // delay, no more ranges, first range 0
    f
}

/// One Initial packet of `version`, protected with `keys`: a 4-byte packet number and a
/// 2-byte Length, the payload padded with PADDING to `pad_to` bytes (RFC 9000 §14.1: a
/// client's Initial datagram is at least 1200 bytes).
fn initial(
    version: Version,
    keys: &InitialKeys,
    dcid: &[u8],
    scid: &[u8],
    pn: u32,
    frames: &[u8],
    pad_to: usize,
) -> Vec<u8> {
    let initial_bits: u8 = if version == Version::V2 { 1 } else { 0 };
    let mut header = vec![0xc0 | initial_bits << 4 | 3];
    header.extend(version.to_wire().to_be_bytes());
    header.push(dcid.len() as u8);
    header.extend_from_slice(dcid);
    header.push(scid.len() as u8);
    header.extend_from_slice(scid);
    header.push(0); // no token
    let fixed = header.len() + 2 + 4 + 16;
    let mut payload = frames.to_vec();
    if payload.len() + fixed < pad_to {
        payload.resize(pad_to - fixed, 0);
    }
    header.extend((0x4000u16 | (4 + payload.len() + 16) as u16).to_be_bytes());
    header.extend(pn.to_be_bytes());
    keys.seal(&header, u64::from(pn), &payload)
}

/// A Chrome-like ClientHello with a post-quantum key share: too big for one packet.
fn chrome_quic_hello() -> ClientHello {
    let mut key_share = Vec::new();
    let mut entries = Vec::new();
    for (group, len) in [(0x4a4a, 1usize), (X25519_MLKEM768, 1216), (29, 32)] {
        entries.extend(u16::to_be_bytes(group));
        entries.extend((len as u16).to_be_bytes());
        entries.extend(std::iter::repeat_n(0x5a, len));
    }
    key_share.extend((entries.len() as u16).to_be_bytes());
    key_share.extend(entries);
    ClientHello {
        legacy_version: 0x0303,
        ciphers: vec![0x1301, 0x1302, 0x1303],
        extensions: vec![
            ext(0x2a2a, vec![]),
            sni("www.google.com"),
            alpn(&["h3"]),
            supported_groups(&[0x3a3a, X25519_MLKEM768, 29, 23, 24]),
            signature_algorithms(&[0x0403, 0x0804, 0x0401]),
            ext(EXT_KEY_SHARE, key_share),
            ext(EXT_PSK_MODES, vec![1, 1]),
            supported_versions(&[0x0304]),
            ext(57, vec![0x01, 0x04, 0x80, 0x00, 0x75, 0x30]), // quic_transport_parameters
            ext(0x1a1a, vec![0]),
        ],
    }
}

/// The ServerHello of a TLS 1.3 server choosing TLS_AES_128_GCM_SHA256.
fn server_hello() -> ServerHello {
    ServerHello {
        legacy_version: 0x0303,
        cipher: 0x1301,
        extensions: vec![key_share_server(), selected_version(0x0304)],
    }
}

/// The handshake message of a hello (its TLS record without the 5-byte record header):
/// what QUIC's CRYPTO frames carry.
fn handshake(record: &[u8]) -> Vec<u8> {
    record[5..].to_vec()
}

/// JA4 of a hello over QUIC: the TCP fingerprint with `q` for its first character.
fn ja4_quic(ch: &ClientHello) -> String {
    format!("q{}", &ch.ja4()[1..])
}

const DCID: [u8; 8] = [0x83, 0x94, 0xc8, 0xf0, 0x3e, 0x51, 0x57, 0x08];
const CLIENT_SCID: [u8; 4] = [0xc1, 0xc2, 0xc3, 0xc4];
const SERVER_SCID: [u8; 8] = [0xf0, 0x67, 0xa5, 0x50, 0x2a, 0x42, 0x62, 0xb5];

/// The client's hello in two Initial packets, its CRYPTO frames shuffled the way Chrome
/// does: the second packet's frames first, and within the first packet out of order.
fn two_packet_hello(
    version: Version,
    ch: &[u8],
    client: SocketAddr,
    server: SocketAddr,
) -> Vec<Vec<u8>> {
    let keys = InitialKeys::client(version, &DCID);
    assert!(ch.len() > 1300, "the hello must need two packets");
    let split = 1000;
    let mut second = crypto(split, &ch[split..]);
    second.extend([0x01]); // PING
    let mut first = crypto(600, &ch[600..split]);
    first.extend([0x00, 0x00]); // PADDING between frames
    first.extend(crypto(0, &ch[..300]));
    first.extend(crypto(300, &ch[300..600]));
    vec![
        udp_frame(
            client,
            server,
            &initial(version, &keys, &DCID, &CLIENT_SCID, 1, &second, 1200),
        ),
        udp_frame(
            client,
            server,
            &initial(version, &keys, &DCID, &CLIENT_SCID, 0, &first, 1200),
        ),
    ]
}

#[test]
fn client_hello_over_two_initial_packets_and_the_server_hello() {
    let (client, server) = (sa(CLIENT), sa(SERVER));
    let ch = chrome_quic_hello();
    let sh = server_hello();
    let mut frames = two_packet_hello(Version::V1, &handshake(&ch.record()), client, server); // 0, 1
    // The server's Initial (keys from the client's DCID; its own DCID is the client's
    // SCID), coalesced with a Handshake packet it cannot be read past, then 1-RTT data.
    let skeys = InitialKeys::server(Version::V1, &DCID);
    let mut sframes = ack(1);
    sframes.extend(crypto(0, &handshake(&sh.record())));
    let mut datagram = initial(
        Version::V1,
        &skeys,
        &CLIENT_SCID,
        &SERVER_SCID,
        0,
        &sframes,
        0,
    );
    datagram.extend([
        0xe0, 0, 0, 0, 1, 4, 0xc1, 0xc2, 0xc3, 0xc4, 0, 0x05, 1, 2, 3, 4, 5,
    ]);
    frames.push(udp_frame(server, client, &datagram)); // 2
    frames.push(udp_frame(
        client,
        server,
        &[0x40, 0xf0, 0x67, 1, 2, 3, 4, 5],
    )); // 3: 1-RTT
    maybe_dump("quic_v1", &frames);
    let out = run(&frames);
    let expected = TlsRecord {
        timestamp: Timestamp(at(1)),
        conn: conn(client, server, PROTO_UDP, "quic"),
        tls: Tls {
            version: Some("1.3".into()),
            version_protocol: Some("tls"),
            cipher: Some("TLS_AES_128_GCM_SHA256".into()),
            next_protocol: None,
            client: Some(TlsClient {
                server_name: Some("www.google.com".into()),
                alpn: vec!["h3".into()],
                supported_versions: vec!["1.3".into()],
                ja3: ch.ja3_hash(),
                ja3_string: ch.ja3_string(),
                ja4: ja4_quic(&ch),
            }),
            server: Some(TlsServer {
                ja3s: sh.ja3s_hash(),
                ja3s_string: "771,4865,51-43".into(),
            }),
        },
    };
    assert_eq!(out.tls(), vec![&expected]);
    assert_eq!(&ja4_quic(&ch)[..10], "q13d0308h3");
    assert_eq!(out.kinds(), vec!["tls", "flow"]);
    assert!(out.weirds().is_empty(), "{:?}", out.weirds());
}

#[test]
fn version_2_on_another_port_without_a_server_answer() {
    let (client, server) = (sa("[2001:db8::20]:40000"), sa("[2001:db8::1]:4433"));
    let ch = chrome_quic_hello();
    let frames = two_packet_hello(Version::V2, &handshake(&ch.record()), client, server);
    let out = run(&frames);
    let tls = out.tls();
    assert_eq!(tls.len(), 1);
    assert_eq!(tls[0].conn, conn(client, server, PROTO_UDP, "quic"));
    assert_eq!(tls[0].tls.version.as_deref(), Some("1.3"));
    assert_eq!(tls[0].tls.cipher, None);
    let c = tls[0].tls.client.as_ref().unwrap();
    assert_eq!(c.server_name.as_deref(), Some("www.google.com"));
    assert_eq!(c.ja4, ja4_quic(&ch));
    assert!(out.weirds().is_empty(), "{:?}", out.weirds());
}

/// After a Retry both ends' Initial packets use keys from the Retry's connection ID: the
/// analyzer switches to them, and reads the client's hello again.
#[test]
fn keys_follow_a_retry_connection_id() {
    let (client, server) = (sa(CLIENT), sa(SERVER));
    let small = ClientHello {
        legacy_version: 0x0303,
        ciphers: vec![0x1301],
        extensions: vec![
            sni("retry.example"),
            alpn(&["h3"]),
            supported_versions(&[0x0304]),
        ],
    };
    let hello = handshake(&small.record());
    let keys = InitialKeys::client(Version::V1, &DCID);
    // The whole hello in the first Initial; the server's Retry sends the client to a new
    // connection ID, whose keys protect the hello sent again and the server's answer.
    let first = initial(
        Version::V1,
        &keys,
        &DCID,
        &CLIENT_SCID,
        0,
        &crypto(0, &hello),
        1200,
    );
    let mut retry = vec![0xf0, 0, 0, 0, 1, 4];
    retry.extend(CLIENT_SCID);
    retry.push(8);
    retry.extend(SERVER_SCID);
    retry.extend(b"token");
    retry.extend([0xaa; 16]); // integrity tag (not checked)
    let new_dcid = SERVER_SCID;
    let rkeys = InitialKeys::client(Version::V1, &new_dcid);
    let again = initial(
        Version::V1,
        &rkeys,
        &new_dcid,
        &CLIENT_SCID,
        1,
        &crypto(0, &hello),
        1200,
    );
    // The server's Initial is under keys from the Retry's connection ID too.
    let skeys = InitialKeys::server(Version::V1, &new_dcid);
    let answer = initial(
        Version::V1,
        &skeys,
        &CLIENT_SCID,
        &SERVER_SCID,
        0,
        &crypto(0, &handshake(&server_hello().record())),
        0,
    );
    let frames = vec![
        udp_frame(client, server, &first),
        udp_frame(server, client, &retry),
        udp_frame(client, server, &again),
        udp_frame(server, client, &answer),
    ];
    let out = run(&frames);
    let tls = out.tls();
    assert_eq!(tls.len(), 1, "{:?}", out.all);
    let c = tls[0].tls.client.as_ref().unwrap();
    assert_eq!(c.server_name.as_deref(), Some("retry.example"));
    // The record keeps the first hello's time.
    assert_eq!(tls[0].timestamp, Timestamp(at(0)));
    assert_eq!(tls[0].tls.cipher.as_deref(), Some("TLS_AES_128_GCM_SHA256"));
    assert!(out.weirds().is_empty(), "{:?}", out.weirds());
}

#[test]
fn every_prefix_of_a_client_datagram_is_handled() {
    let (client, server) = (sa(CLIENT), sa(SERVER));
    let small = ClientHello {
        legacy_version: 0x0303,
        ciphers: vec![0x1301, 0x1302],
        extensions: vec![
            sni("prefix.example"),
            alpn(&["h3"]),
            supported_versions(&[0x0304]),
        ],
    };
    let keys = InitialKeys::client(Version::V1, &DCID);
    let whole = initial(
        Version::V1,
        &keys,
        &DCID,
        &CLIENT_SCID,
        0,
        &crypto(0, &handshake(&small.record())),
        1200,
    );
    for n in 1..=whole.len() {
        let out = run(&[udp_frame(client, server, &whole[..n])]);
        assert_eq!(out.flows().len(), 1, "{n}");
        if n == whole.len() {
            assert_eq!(out.tls().len(), 1);
            assert!(out.weirds().is_empty());
        } else {
            // Cut short, the first packet's Length runs past the datagram: not taken for
            // QUIC at all (nothing to decrypt), so no record and no weird.
            assert!(out.tls().is_empty(), "{n}");
        }
    }
}

#[test]
fn a_hello_that_never_completes_is_given_up_with_a_weird() {
    let (client, server) = (sa(CLIENT), sa(SERVER));
    let keys = InitialKeys::client(Version::V1, &DCID);
    // A hole at the start of the stream that no packet fills.
    let frames: Vec<Vec<u8>> = (0..20u32)
        .map(|pn| {
            let f = crypto(100 + 50 * pn as usize, &[7; 50]);
            udp_frame(
                client,
                server,
                &initial(Version::V1, &keys, &DCID, &CLIENT_SCID, pn, &f, 1200),
            )
        })
        .collect();
    let out = run(&frames);
    assert!(out.tls().is_empty());
    let names: Vec<&str> = out.weirds().iter().map(|w| w.weird.name).collect();
    assert_eq!(names, ["quic_handshake_limit"]);
    // A CRYPTO frame beyond the byte cap.
    let f = crypto(1 << 20, &[7; 10]);
    let out = run(&[udp_frame(
        client,
        server,
        &initial(Version::V1, &keys, &DCID, &CLIENT_SCID, 0, &f, 1200),
    )]);
    let names: Vec<&str> = out.weirds().iter().map(|w| w.weird.name).collect();
    assert_eq!(names, ["quic_handshake_limit"]);
}

#[test]
fn an_initial_that_does_not_decrypt_and_unknown_frames_are_weirds() {
    let (client, server) = (sa(CLIENT), sa(SERVER));
    let keys = InitialKeys::client(Version::V1, &DCID);
    let mut bad = initial(Version::V1, &keys, &DCID, &CLIENT_SCID, 0, &[0x01], 1200);
    let last = bad.len() - 1;
    bad[last] ^= 1; // the tag
    let out = run(&[udp_frame(client, server, &bad)]);
    let names: Vec<&str> = out.weirds().iter().map(|w| w.weird.name).collect();
    assert_eq!(names, ["quic_bad_packet"]);
    assert!(out.tls().is_empty());
    // A STREAM frame (not allowed in Initial packets) after half a hello.
    let small = ClientHello {
        legacy_version: 0x0303,
        ciphers: vec![0x1301],
        extensions: vec![sni("frames.example")],
    };
    let hello = handshake(&small.record());
    let mut f = crypto(0, &hello);
    f.extend([0x08, 0x00, 0x01, 0xff]);
    let out = run(&[udp_frame(
        client,
        server,
        &initial(Version::V1, &keys, &DCID, &CLIENT_SCID, 0, &f, 1200),
    )]);
    let names: Vec<&str> = out.weirds().iter().map(|w| w.weird.name).collect();
    assert_eq!(names, ["quic_bad_frame"]);
    // What came before the bad frame still counts.
    assert_eq!(out.tls().len(), 1);
}

/// A HelloRetryRequest (RFC 8446 §4.1.4): a ServerHello with the special random, asking for
/// a key share of another group.
fn hello_retry_request(group: u16) -> Vec<u8> {
    // SHA-256("HelloRetryRequest").
    const HRR_RANDOM: [u8; 32] = [
        0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8,
        0x91, 0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8,
        0x33, 0x9c,
    ];
    let mut body = vec![0x03, 0x03];
    body.extend(HRR_RANDOM);
    body.push(0); // empty legacy session id
    body.extend([0x13, 0x01, 0x00]); // TLS_AES_128_GCM_SHA256, no compression
    let exts = [
        &[0x00, 0x2b, 0x00, 0x02, 0x03, 0x04][..], // supported_versions: TLS 1.3
        &[0x00, 0x33, 0x00, 0x02, (group >> 8) as u8, group as u8][..], // key_share: the group
    ]
    .concat();
    body.extend((exts.len() as u16).to_be_bytes());
    body.extend(exts);
    let mut msg = vec![2, 0, (body.len() >> 8) as u8, body.len() as u8];
    msg.extend(body);
    msg
}

/// A HelloRetryRequest: both hellos go on in the same CRYPTO streams, and the handshake gets
/// a second record, as over TCP.
#[test]
fn a_hello_retry_request_gives_a_second_record() {
    let (client, server) = (sa(CLIENT), sa(SERVER));
    let hello = |name: &str| ClientHello {
        legacy_version: 0x0303,
        ciphers: vec![0x1301],
        extensions: vec![sni(name), alpn(&["h3"]), supported_versions(&[0x0304])],
    };
    let (ch1, ch2) = (
        handshake(&hello("first.example").record()),
        handshake(&hello("second.example").record()),
    );
    let hrr = hello_retry_request(23);
    let sh = handshake(&server_hello().record());
    let ckeys = InitialKeys::client(Version::V1, &DCID);
    let skeys = InitialKeys::server(Version::V1, &DCID);
    let c = |pn, f: &[u8]| {
        udp_frame(
            client,
            server,
            &initial(Version::V1, &ckeys, &DCID, &CLIENT_SCID, pn, f, 1200),
        )
    };
    let s = |pn, f: &[u8]| {
        udp_frame(
            server,
            client,
            &initial(Version::V1, &skeys, &CLIENT_SCID, &SERVER_SCID, pn, f, 0),
        )
    };
    let frames = vec![
        c(0, &crypto(0, &ch1)),
        s(0, &crypto(0, &hrr)),
        c(1, &crypto(ch1.len(), &ch2)),
        s(1, &crypto(hrr.len(), &sh)),
    ];
    let out = run(&frames);
    let tls = out.tls();
    assert_eq!(tls.len(), 2, "{:?}", out.all);
    let name = |i: usize| tls[i].tls.client.as_ref().unwrap().server_name.clone();
    assert_eq!(name(0).as_deref(), Some("first.example"));
    assert_eq!(name(1).as_deref(), Some("second.example"));
    assert_eq!(
        (tls[0].timestamp, tls[1].timestamp),
        (Timestamp(at(0)), Timestamp(at(2)))
    );
    assert!(
        tls.iter()
            .all(|t| t.tls.cipher.as_deref() == Some("TLS_AES_128_GCM_SHA256"))
    );
    assert!(out.weirds().is_empty(), "{:?}", out.weirds());
}

/// A 0-RTT packet that overtook its Initial, and a version negotiation (a reserved version
/// the server refuses) before it: the flow waits for an Initial instead of being given up.
#[test]
fn zero_rtt_and_version_negotiation_before_the_initial() {
    let (client, server) = (sa(CLIENT), sa(SERVER));
    let small = ClientHello {
        legacy_version: 0x0303,
        ciphers: vec![0x1301],
        extensions: vec![sni("late.example"), supported_versions(&[0x0304])],
    };
    // A reserved version (0x?a?a?a?a): no keys anyone can rely on.
    let mut forced = vec![0xc3, 0x1a, 0x2a, 0x3a, 0x4a, 8];
    forced.extend(DCID);
    forced.extend([0, 0, 0x40, 0x20]);
    forced.extend([0x77; 0x20]);
    // The server's Version Negotiation: version 0, then the versions it speaks.
    let mut vn = vec![0x80, 0, 0, 0, 0, 0, 8];
    vn.extend(DCID);
    vn.extend([0, 0, 0, 1]);
    // 0-RTT (type 1 in version 1): a Length but no token.
    let mut zero_rtt = vec![0xd3, 0, 0, 0, 1, 8];
    zero_rtt.extend(DCID);
    zero_rtt.extend([0, 0x40, 0x30]);
    zero_rtt.extend([0x55; 0x30]);
    let keys = InitialKeys::client(Version::V1, &DCID);
    let frames = vec![
        udp_frame(client, server, &forced),
        udp_frame(server, client, &vn),
        udp_frame(client, server, &zero_rtt),
        udp_frame(
            client,
            server,
            &initial(
                Version::V1,
                &keys,
                &DCID,
                &CLIENT_SCID,
                0,
                &crypto(0, &handshake(&small.record())),
                1200,
            ),
        ),
    ];
    let out = run(&frames);
    let tls = out.tls();
    assert_eq!(tls.len(), 1, "{:?}", out.all);
    assert_eq!(
        tls[0].tls.client.as_ref().unwrap().server_name.as_deref(),
        Some("late.example")
    );
    assert!(out.weirds().is_empty(), "{:?}", out.weirds());
}

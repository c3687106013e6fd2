//! TLS through the whole engine: hellos split across segments and records, SNI, ALPN,
//! supported versions, JA3/JA3S/JA4 checked against values computed here from the spec.

mod common;

use common::tls::*;
use common::*;
use flowsight_record::{Timestamp, Tls, TlsClient, TlsRecord, TlsServer};

const CLIENT: &str = "192.168.1.20:51000";
const SERVER: &str = "93.184.216.34:443";

/// A browser-like TLS 1.3 ClientHello, GREASE included.
fn chrome_like() -> ClientHello {
    ClientHello {
        legacy_version: 0x0303,
        ciphers: vec![
            0x0a0a, 0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030,
        ],
        extensions: vec![
            ext(0x1a1a, vec![]),
            sni("www.example.com"),
            ext(EXT_EXTENDED_MASTER_SECRET, vec![]),
            ext(EXT_RENEGOTIATION_INFO, vec![0]),
            supported_groups(&[0x2a2a, 29, 23, 24]),
            ec_point_formats(&[0]),
            alpn(&["h2", "http/1.1"]),
            signature_algorithms(&[0x0403, 0x0804, 0x0401, 0x0503]),
            key_share_client(),
            ext(EXT_PSK_MODES, vec![1, 1]),
            supported_versions(&[0x3a3a, 0x0304, 0x0303]),
            ext(0x4a4a, vec![0]),
        ],
    }
}

fn tls13_server_hello() -> ServerHello {
    ServerHello {
        legacy_version: 0x0303,
        cipher: 0x1301,
        extensions: vec![key_share_server(), selected_version(0x0304)],
    }
}

#[test]
fn fingerprints_computed_here_match_the_published_values() {
    // The JA3 string and hash were checked with `tshark -T fields -e tls.handshake.ja3_full
    // -e tls.handshake.ja3` (Wireshark 4.0.17) on the capture of the next test; JA4 (not in
    // that tshark) by hand from the FoxIO spec: 7 ciphers and 10 extensions without GREASE,
    // the hashes with Python's hashlib over "1301,1302,1303,c02b,c02c,c02f,c030" and
    // "000a,000b,000d,0017,002b,002d,0033,ff01_0403,0804,0401,0503".
    let ch = chrome_like();
    assert_eq!(
        ch.ja3_string(),
        "771,4865-4866-4867-49195-49199-49196-49200,0-23-65281-10-11-16-13-51-45-43,29-23-24,0"
    );
    assert_eq!(ch.ja3_hash(), JA3_HASH);
    assert_eq!(ch.ja4(), JA4);
    // JA3S of the TLS 1.3 ServerHello, also checked with tshark.
    let sh = tls13_server_hello();
    assert_eq!(sh.ja3s_string(), "771,4865,51-43");
    assert_eq!(sh.ja3s_hash(), "eb1d94daa7e0344597e756a1fb6e7054");
}

const JA3_HASH: &str = "220f0cee74313a251b25a65ad1d5cae4";
const JA4: &str = "t13d0710h2_04ca88ad2b9b_723c724467bb";

#[test]
fn client_hello_split_across_two_segments_and_server_hello() {
    let mut c = TcpConn::new(CLIENT, SERVER);
    let ch = chrome_like();
    let sh = tls13_server_hello();
    let hello = ch.record();
    let mut frames = c.handshake(); // 0..=2
    frames.push(c.client(&hello[..100])); // 3: inside the extensions (the SNI)
    frames.push(c.client(&hello[100..])); // 4: the hello is complete here
    frames.push(c.server(&sh.record())); // 5
    frames.push(c.server(&[23, 3, 3, 0, 5, 1, 2, 3, 4, 5])); // 6: application data
    frames.push(c.client_ack()); // 7
    maybe_dump("tls13", &frames);
    let out = run(&frames);
    let expected = TlsRecord {
        timestamp: Timestamp(at(4)),
        conn: c.conn("tls"),
        tls: Tls {
            version: Some("1.3".into()),
            version_protocol: Some("tls"),
            cipher: Some("TLS_AES_128_GCM_SHA256".into()),
            next_protocol: None,
            client: Some(TlsClient {
                server_name: Some("www.example.com".into()),
                alpn: vec!["h2".into(), "http/1.1".into()],
                supported_versions: vec!["1.3".into(), "1.2".into()],
                ja3: JA3_HASH.into(),
                ja3_string: ch.ja3_string(),
                ja4: JA4.into(),
            }),
            server: Some(TlsServer {
                ja3s: "eb1d94daa7e0344597e756a1fb6e7054".into(),
                ja3s_string: "771,4865,51-43".into(),
            }),
        },
    };
    assert_eq!(out.tls(), vec![&expected]);
    assert_eq!(out.kinds(), vec!["tls", "flow"]);
    assert!(out.weirds().is_empty());
}

/// TLS 1.2 on a port no registry entry names: found by content. The server picks h2 in its
/// hello, which becomes `next_protocol`.
#[test]
fn tls12_on_an_unusual_port_with_alpn_chosen_by_the_server() {
    let mut c = TcpConn::new("10.1.0.2:40001", "10.1.0.1:4433");
    let ch = ClientHello {
        legacy_version: 0x0303,
        ciphers: vec![0xc02f, 0xc030, 0x009c],
        extensions: vec![
            sni("api.internal"),
            supported_groups(&[23, 24]),
            ec_point_formats(&[0, 1]),
            alpn(&["h2"]),
        ],
    };
    let sh = ServerHello {
        legacy_version: 0x0303,
        cipher: 0xc02f,
        extensions: vec![
            ext(EXT_RENEGOTIATION_INFO, vec![0]),
            alpn(&["h2"]),
            ec_point_formats(&[0]),
        ],
    };
    let mut frames = c.handshake();
    frames.push(c.client(&ch.record())); // 3
    frames.push(c.server(&sh.record())); // 4
    let out = run(&frames);
    let expected = TlsRecord {
        timestamp: Timestamp(at(3)),
        conn: c.conn("tls"),
        tls: Tls {
            version: Some("1.2".into()),
            version_protocol: Some("tls"),
            cipher: Some("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256".into()),
            next_protocol: Some("h2".into()),
            client: Some(TlsClient {
                server_name: Some("api.internal".into()),
                alpn: vec!["h2".into()],
                supported_versions: vec![],
                ja3: ch.ja3_hash(),
                ja3_string: "771,49199-49200-156,0-10-11-16,23-24,0-1".into(),
                ja4: ch.ja4(),
            }),
            server: Some(TlsServer {
                ja3s: sh.ja3s_hash(),
                ja3s_string: "771,49199,65281-16-11".into(),
            }),
        },
    };
    assert_eq!(out.tls(), vec![&expected]);
    assert_eq!(
        ch.ja3_string(),
        expected.tls.client.as_ref().unwrap().ja3_string
    );
    assert_eq!(sh.ja3s_string(), "771,49199,65281-16-11");
    // No signature algorithms: JA4's third part hashes the extensions alone.
    assert_eq!(&ch.ja4()[..10], "t12d0304h2");
}

/// The ClientHello handshake message spread over two TLS records, each in its own segment,
/// delivered out of order; the server never answers.
#[test]
fn client_hello_in_two_records_out_of_order_without_a_server_hello() {
    let mut c = TcpConn::new(CLIENT, SERVER);
    let ch = chrome_like();
    let rec = ch.record();
    // Split the handshake message (after the 5-byte record header) into two records.
    let hs = &rec[5..];
    let cut = 60;
    let mut r1 = vec![22, 3, 1];
    r1.extend_from_slice(&(cut as u16).to_be_bytes());
    r1.extend_from_slice(&hs[..cut]);
    let mut r2 = vec![22, 3, 1];
    r2.extend_from_slice(&((hs.len() - cut) as u16).to_be_bytes());
    r2.extend_from_slice(&hs[cut..]);
    let mut frames = c.handshake();
    let s1 = c.client(&r1);
    let s2 = c.client(&r2);
    frames.push(s2); // 3: ahead of a hole
    frames.push(s1); // 4: fills it
    frames.push(c.server_ack()); // 5
    let out = run(&frames);
    let t = out.tls();
    assert_eq!(t.len(), 1);
    let t = t[0];
    assert_eq!(t.timestamp, Timestamp(at(4)));
    // Without a ServerHello the version is the highest the client offered.
    assert_eq!(
        (
            t.tls.version.as_deref(),
            t.tls.cipher.as_deref(),
            &t.tls.server
        ),
        (Some("1.3"), None, &None)
    );
    let client = t.tls.client.as_ref().unwrap();
    assert_eq!(client.server_name.as_deref(), Some("www.example.com"));
    assert_eq!(client.ja3, ch.ja3_hash());
    assert_eq!(client.ja4, ch.ja4());
}

/// The ServerHello split across two segments, its second part followed by a Certificate
/// message in the same record stream.
#[test]
fn server_hello_split_and_followed_by_more_handshake() {
    let mut c = TcpConn::new(CLIENT, SERVER);
    let ch = chrome_like();
    let sh = ServerHello {
        legacy_version: 0x0303,
        cipher: 0xc02b,
        extensions: vec![
            ext(EXT_EXTENDED_MASTER_SECRET, vec![]),
            ext(EXT_RENEGOTIATION_INFO, vec![0]),
            alpn(&["http/1.1"]),
        ],
    };
    let mut server_bytes = sh.record();
    // A Certificate handshake message (type 11) with an empty list, in its own record.
    server_bytes.extend_from_slice(&[22, 3, 3, 0, 7, 11, 0, 0, 3, 0, 0, 0]);
    let mut frames = c.handshake();
    frames.push(c.client(&ch.record())); // 3
    frames.push(c.server(&server_bytes[..30])); // 4
    frames.push(c.server(&server_bytes[30..])); // 5
    let out = run(&frames);
    let t = out.tls();
    assert_eq!(t.len(), 1);
    assert_eq!(t[0].timestamp, Timestamp(at(3)));
    assert_eq!(
        (
            t[0].tls.version.as_deref(),
            t[0].tls.cipher.as_deref(),
            t[0].tls.next_protocol.as_deref()
        ),
        (
            Some("1.2"),
            Some("TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"),
            Some("http/1.1")
        )
    );
    assert_eq!(
        t[0].tls.server,
        Some(TlsServer {
            ja3s: sh.ja3s_hash(),
            ja3s_string: "771,49195,23-65281-16".into(),
        })
    );
    assert!(out.weirds().is_empty(), "{:?}", out.weirds());
}

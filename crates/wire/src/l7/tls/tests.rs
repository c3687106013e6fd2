use super::*;
use crate::testutil::XorShift;

fn ext(t: u16, body: &[u8]) -> Vec<u8> {
    let mut v = t.to_be_bytes().to_vec();
    v.extend_from_slice(&(body.len() as u16).to_be_bytes());
    v.extend_from_slice(body);
    v
}

fn vec16(body: &[u8]) -> Vec<u8> {
    let mut v = (body.len() as u16).to_be_bytes().to_vec();
    v.extend_from_slice(body);
    v
}

/// A Chrome-like ClientHello body with GREASE, SNI `example.com`, ALPN h2/http1.1.
pub(crate) fn client_hello_body() -> Vec<u8> {
    let mut b = vec![0x03, 0x03];
    b.extend_from_slice(&[0x11; 32]);
    b.push(32);
    b.extend_from_slice(&[0x22; 32]);
    let ciphers = [0x2a2a, 0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0x00ff];
    let cs: Vec<u8> = ciphers.iter().flat_map(|c: &u16| c.to_be_bytes()).collect();
    b.extend_from_slice(&vec16(&cs));
    b.extend_from_slice(&[1, 0]);
    let mut exts = Vec::new();
    exts.extend(ext(0x0a0a, &[]));
    let host = b"example.com";
    let mut sni = vec![0];
    sni.extend_from_slice(&vec16(host));
    exts.extend(ext(0, &vec16(&sni)));
    exts.extend(ext(0x0017, &[]));
    exts.extend(ext(0x000a, &vec16(&[0x3a, 0x3a, 0, 0x1d, 0, 0x17])));
    exts.extend(ext(0x000b, &[1, 0]));
    exts.extend(ext(0x0010, &vec16(b"\x02h2\x08http/1.1")));
    exts.extend(ext(0x000d, &vec16(&[4, 3, 8, 4, 4, 1])));
    exts.extend(ext(0x0033, &vec16(&[0, 0x1d, 0, 1, 9])));
    exts.extend(ext(0x002b, &[6, 0x5a, 0x5a, 3, 4, 3, 3]));
    exts.extend(ext(0x1a1a, &[0]));
    b.extend_from_slice(&vec16(&exts));
    b
}

pub(crate) fn record(ct: u8, payload: &[u8]) -> Vec<u8> {
    let mut r = vec![ct, 3, 1];
    r.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    r.extend_from_slice(payload);
    r
}

pub(crate) fn handshake(t: u8, body: &[u8]) -> Vec<u8> {
    let mut h = vec![t];
    h.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    h.extend_from_slice(body);
    h
}

fn server_hello_body() -> Vec<u8> {
    let mut b = vec![0x03, 0x03];
    b.extend_from_slice(&[0x33; 32]);
    b.push(0);
    b.extend_from_slice(&[0x13, 0x01, 0]);
    let mut exts = ext(0x002b, &[3, 4]);
    exts.extend(ext(0x0033, &[0, 0x1d, 0, 1, 7]));
    exts.extend(ext(0x0010, &vec16(b"\x02h2")));
    b.extend_from_slice(&vec16(&exts));
    b
}

#[test]
fn client_hello_fields() {
    let body = client_hello_body();
    let ch = ClientHello::parse(&body).unwrap();
    assert_eq!(ch.legacy_version, 0x0303);
    assert_eq!(ch.random, &[0x11; 32]);
    assert_eq!(ch.session_id.len(), 32);
    assert!(ch.cookie.is_empty());
    assert_eq!(
        ch.cipher_suites().collect::<Vec<_>>(),
        [0x2a2a, 0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0x00ff]
    );
    assert_eq!(ch.compression_methods, &[0]);
    assert_eq!(ch.sni(), Some(&b"example.com"[..]));
    assert_eq!(ch.alpn().collect::<Vec<_>>(), [&b"h2"[..], b"http/1.1"]);
    assert_eq!(
        ch.supported_versions().collect::<Vec<_>>(),
        [0x5a5a, 0x0304, 0x0303]
    );
    assert_eq!(
        ch.supported_groups().collect::<Vec<_>>(),
        [0x3a3a, 0x1d, 0x17]
    );
    assert_eq!(ch.ec_point_formats(), &[0]);
    assert_eq!(
        ch.signature_algorithms().collect::<Vec<_>>(),
        [0x0403, 0x0804, 0x0401]
    );
    assert!(ch.has_key_share() && ch.has_alpn() && ch.has_supported_versions());
    let types: Vec<_> = ch.extensions().map(|e| e.ext_type).collect();
    assert_eq!(
        types,
        [0x0a0a, 0, 0x17, 0x0a, 0x0b, 0x10, 0x0d, 0x33, 0x2b, 0x1a1a]
    );
    assert_eq!(
        ch.extensions().nth(1).unwrap().kind(),
        ExtensionType::ServerName
    );
    assert_eq!(ExtensionType::from(0x2b), ExtensionType::SupportedVersions);
}

#[test]
fn server_hello_fields() {
    let body = server_hello_body();
    let sh = ServerHello::parse(&body).unwrap();
    assert_eq!(sh.legacy_version, 0x0303);
    assert_eq!(sh.selected_version(), Some(0x0304));
    assert_eq!(sh.version(), 0x0304);
    assert_eq!(sh.cipher_suite, 0x1301);
    assert_eq!(sh.alpn(), Some(&b"h2"[..]));
    assert!(!sh.is_hello_retry_request());
    assert_eq!(version_name(sh.version()), Some("TLSv13"));
    let hs = handshake(2, &body);
    let (h, n) = Handshake::parse(&hs, 1 << 16).unwrap().unwrap();
    assert_eq!(n, hs.len());
    assert!(ServerHello::from_handshake(&h).is_ok());
    assert_eq!(
        ClientHello::from_handshake(&h).unwrap_err(),
        TlsError::UnexpectedHandshake {
            expected: 1,
            got: 2
        }
    );
}

#[test]
fn every_truncated_prefix_is_a_typed_error() {
    let ch = client_hello_body();
    for n in 0..ch.len() {
        // Ending right after the compression methods is a valid extension-less hello
        // (SSLv3 style); every other prefix is an error.
        if let Ok(hello) = ClientHello::parse(&ch[..n]) {
            assert_eq!(n, 85);
            assert!(!hello.has_extensions());
        }
    }
    let sh = server_hello_body();
    for n in 0..sh.len() {
        // A ServerHello that ends right after the compression method is a valid
        // extension-less hello; every other prefix is an error.
        if ServerHello::parse(&sh[..n]).is_ok() {
            assert_eq!(n, 38);
        }
    }
    // Records and handshake headers: incomplete, never a wrong success.
    let stream = record(22, &handshake(1, &ch));
    for n in 0..stream.len() {
        assert_eq!(parse_record(&stream[..n]), Ok(None), "record prefix {n}");
        assert_eq!(first_handshake(&stream[..n]), Ok(None));
    }
    let hs = handshake(1, &ch);
    for n in 0..hs.len() {
        assert_eq!(Handshake::parse(&hs[..n], 1 << 16), Ok(None));
    }
}

#[test]
fn errors_say_why() {
    let mut odd = client_hello_body();
    odd[35 + 32 + 1] = 0x0d; // cipher list length 13
    assert!(matches!(
        ClientHello::parse(&odd),
        Err(TlsError::BadLength { .. }) | Err(TlsError::Truncated { .. })
    ));
    let mut long_sid = client_hello_body();
    long_sid[34] = 33;
    assert_eq!(
        ClientHello::parse(&long_sid).unwrap_err(),
        TlsError::BadLength { what: "session id" }
    );
    let mut trailing = client_hello_body();
    trailing.push(0);
    assert_eq!(
        ClientHello::parse(&trailing).unwrap_err(),
        TlsError::BadLength {
            what: "bytes after the extensions"
        }
    );
    // An SNI extension whose list length lies.
    let mut b = client_hello_body()[..35 + 32].to_vec();
    b.extend_from_slice(&vec16(&[0x13, 0x01]));
    b.extend_from_slice(&[1, 0]);
    b.extend_from_slice(&vec16(&ext(0, &[0, 9, 0])));
    assert_eq!(
        ClientHello::parse(&b).unwrap_err(),
        TlsError::BadExtension {
            ext_type: 0,
            reason: "server_name list length"
        }
    );
    assert_eq!(parse_record(b"GET / HTTP/1.1"), Err(TlsError::NotTls(b'G')));
    assert_eq!(
        parse_record(&[22, 2, 0, 0, 5]),
        Err(TlsError::BadVersion(0x0200))
    );
    assert_eq!(
        parse_record(&[22, 3, 1, 0x48, 1]),
        Err(TlsError::RecordTooLong { len: 0x4801 })
    );
    assert_eq!(
        Handshake::parse(&[1, 1, 0, 0], 0xffff),
        Err(TlsError::HandshakeTooLong {
            len: 0x10000,
            max: 0xffff
        })
    );
    assert_eq!(
        first_handshake(&record(23, &[1, 2, 3])),
        Err(TlsError::UnexpectedHandshake {
            expected: 22,
            got: 23
        })
    );
}

#[test]
fn hello_without_extensions() {
    let mut b = vec![3, 0];
    b.extend_from_slice(&[0; 32]);
    b.push(0);
    b.extend_from_slice(&vec16(&[0, 0x0a, 0, 0x2f]));
    b.extend_from_slice(&[1, 0]);
    let ch = ClientHello::parse(&b).unwrap();
    assert!(!ch.has_extensions());
    assert_eq!(ch.sni(), None);
    assert_eq!(ch.alpn().count(), 0);
    assert_eq!(ch.extensions().count(), 0);
}

#[test]
fn grease_and_sslv2() {
    let grease: Vec<u16> = (0..=0xffffu16).filter(|&v| is_grease(v)).collect();
    assert_eq!(grease.len(), 16);
    assert_eq!(grease[0], 0x0a0a);
    assert_eq!(grease[15], 0xfafa);
    assert!(!is_grease(0x0a1a));
    // SSLv2-compatible hello: length 0x2e, type 1, version 3.1.
    assert!(is_sslv2_client_hello(&[0x80, 0x2e, 1, 3, 1, 0, 0x15]));
    assert!(is_sslv2_client_hello(&[0x80, 0x2e, 1, 0, 2]));
    assert!(!is_sslv2_client_hello(&[0x16, 3, 1, 0, 0x2e]));
    assert!(!is_sslv2_client_hello(&[0x80, 0x2e, 2, 3, 1]));
    assert!(!is_sslv2_client_hello(&[0x80]));
}

#[test]
fn first_handshake_in_place() {
    let body = client_hello_body();
    let stream = record(22, &handshake(1, &body));
    let h = first_handshake(&stream).unwrap().unwrap();
    assert_eq!(h.msg_type, HandshakeType::ClientHello);
    let ch = ClientHello::from_handshake(&h).unwrap();
    assert_eq!(ch.sni(), Some(&b"example.com"[..]));
}

#[test]
fn collector_across_records_and_segments() {
    let hs = handshake(1, &client_hello_body());
    // Split the handshake message over three records.
    let (a, rest) = hs.split_at(10);
    let (b, c) = rest.split_at(100);
    let mut stream = record(22, a);
    stream.extend(record(22, b));
    stream.extend(record(22, c));
    stream.extend(record(20, &[1]));
    stream.extend(record(22, &[0xde, 0xad])); // encrypted: ignored
    // Feed in every chunk size, including 1 byte at a time.
    for chunk in [1, 2, 3, 5, 7, 64, 4096] {
        let mut col = HandshakeCollector::new();
        for piece in stream.chunks(chunk) {
            col.push(piece).unwrap();
        }
        assert!(col.is_done());
        assert_eq!(col.handshake_bytes(), &hs[..], "chunk {chunk}");
        let ch = col.client_hello().unwrap().unwrap();
        assert_eq!(ch.sni(), Some(&b"example.com"[..]));
        assert_eq!(col.messages().count(), 1);
        assert!(matches!(
            col.server_hello(),
            Some(Err(TlsError::UnexpectedHandshake { .. }))
        ));
    }
    // Incomplete: nothing yet.
    let mut col = HandshakeCollector::new();
    col.push(&stream[..50]).unwrap();
    assert!(col.client_hello().is_none());
    // The cap.
    let mut col = HandshakeCollector::with_max(100);
    assert_eq!(
        col.push(&record(22, &hs)).unwrap_err(),
        TlsError::HandshakeTooLong {
            len: hs.len(),
            max: 100
        }
    );
    // Not TLS.
    assert_eq!(
        HandshakeCollector::new().push(b"SSH-2.0-x\r\n"),
        Err(TlsError::NotTls(b'S'))
    );
    // Server side: ServerHello then Certificate in one record.
    let mut both = handshake(2, &server_hello_body());
    both.extend(handshake(11, &[0, 0, 0]));
    let mut col = HandshakeCollector::new();
    col.push(&record(22, &both)).unwrap();
    assert_eq!(col.server_hello().unwrap().unwrap().cipher_suite, 0x1301);
    let types: Vec<_> = col.messages().map(|m| m.msg_type).collect();
    assert_eq!(
        types,
        [HandshakeType::ServerHello, HandshakeType::Certificate]
    );
}

#[test]
fn dtls_client_hello() {
    // DTLS 1.2 hello with a 4-byte cookie.
    let mut body = vec![0xfe, 0xfd];
    body.extend_from_slice(&[7; 32]);
    body.push(0);
    body.extend_from_slice(&[4, 1, 2, 3, 4]);
    body.extend_from_slice(&vec16(&[0xc0, 0x2b]));
    body.extend_from_slice(&[1, 0]);
    body.extend_from_slice(&vec16(&ext(0x002b, &[4, 0xfe, 0xfc, 0xfe, 0xfd])));
    let mut hs = vec![1];
    hs.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    hs.extend_from_slice(&[0, 0, 0, 0, 0]);
    hs.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    hs.extend_from_slice(&body);
    let mut rec = vec![22, 0xfe, 0xff, 0, 0, 0, 0, 0, 0, 0, 0];
    rec.extend_from_slice(&(hs.len() as u16).to_be_bytes());
    rec.extend_from_slice(&hs);
    let (r, used) = parse_dtls_record(&rec).unwrap().unwrap();
    assert_eq!((r.version, used), (0xfeff, rec.len()));
    let (h, _) = parse_dtls_handshake(r.fragment).unwrap();
    let ch = ClientHello::parse_dtls(h.body).unwrap();
    assert_eq!(ch.cookie, &[1, 2, 3, 4]);
    assert_eq!(ch.legacy_version, 0xfefd);
    for n in 0..rec.len() {
        assert_eq!(parse_dtls_record(&rec[..n]), Ok(None));
    }
    let mut frag = hs.clone();
    frag[11] = 1; // fragment length != length
    assert_eq!(
        parse_dtls_handshake(&frag).unwrap_err(),
        TlsError::FragmentedDtls
    );
}

#[test]
fn random_input_never_panics() {
    let ch = client_hello_body();
    let sh = server_hello_body();
    let stream = record(22, &handshake(1, &ch));
    let mut rng = XorShift(99);
    for i in 0..20_000 {
        let input = match i % 4 {
            0 => rng.bytes(300),
            1 => rng.mutate(&ch),
            2 => rng.mutate(&sh),
            _ => rng.mutate(&stream),
        };
        if let Ok(c) = ClientHello::parse(&input) {
            let _ = (c.sni(), c.alpn().count(), c.supported_versions().count());
            let _ = crate::l7::fingerprint::ja3(&c);
            let _ = crate::l7::fingerprint::ja4(&c, crate::l7::fingerprint::Transport::Tcp);
        }
        if let Ok(s) = ServerHello::parse(&input) {
            let _ = (s.alpn(), s.version(), crate::l7::fingerprint::ja3s(&s));
        }
        let _ = parse_record(&input);
        let _ = first_handshake(&input);
        let _ = is_sslv2_client_hello(&input);
        let mut col = HandshakeCollector::with_max(4096);
        for piece in input.chunks(7) {
            if col.push(piece).is_err() {
                break;
            }
        }
        if let Some(Ok(c)) = col.client_hello() {
            let _ = c.sni();
        }
        let _ = parse_dtls_record(&input);
        let _ = parse_dtls_handshake(&input);
    }
}

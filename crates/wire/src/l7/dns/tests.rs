use super::*;
use crate::testutil::XorShift;

fn name(dotted: &str) -> Vec<u8> {
    let mut v = Vec::new();
    for l in dotted.split('.').filter(|l| !l.is_empty()) {
        v.push(l.len() as u8);
        v.extend_from_slice(l.as_bytes());
    }
    v.push(0);
    v
}

fn rr(owner: &[u8], rtype: u16, class: u16, ttl: u32, data: &[u8]) -> Vec<u8> {
    let mut v = owner.to_vec();
    v.extend_from_slice(&rtype.to_be_bytes());
    v.extend_from_slice(&class.to_be_bytes());
    v.extend_from_slice(&ttl.to_be_bytes());
    v.extend_from_slice(&(data.len() as u16).to_be_bytes());
    v.extend_from_slice(data);
    v
}

fn header(id: u16, flags: u16, counts: [u16; 4]) -> Vec<u8> {
    let mut v = id.to_be_bytes().to_vec();
    v.extend_from_slice(&flags.to_be_bytes());
    for c in counts {
        v.extend_from_slice(&c.to_be_bytes());
    }
    v
}

/// Pointer to the question name at offset 12.
const PTR_Q: [u8; 2] = [0xc0, 0x0c];

/// A response to `www.Example.com A` with one record of every decoded type.
fn big_response() -> Vec<u8> {
    let mut m = header(0xbeef, 0x8580, [1, 12, 1, 1]);
    m.extend_from_slice(&name("www.Example.com"));
    m.extend_from_slice(&[0, 1, 0, 1]);
    // CNAME to "cdn" + pointer to "Example.com" (offset 16).
    m.extend_from_slice(&rr(&PTR_Q, 5, 1, 300, &[3, b'c', b'd', b'n', 0xc0, 16]));
    m.extend_from_slice(&rr(&PTR_Q, 1, 1, 60, &[93, 184, 216, 34]));
    let mut v6 = [0u8; 16];
    v6[..2].copy_from_slice(&[0x26, 0x06]);
    v6[15] = 1;
    m.extend_from_slice(&rr(&PTR_Q, 28, 1, 60, &v6));
    let mut mx = vec![0, 10];
    mx.extend_from_slice(&[4, b'm', b'a', b'i', b'l', 0xc0, 16]);
    m.extend_from_slice(&rr(&PTR_Q, 15, 1, 60, &mx));
    m.extend_from_slice(&rr(&PTR_Q, 16, 1, 60, b"\x05hello\x0bhello world"));
    let mut srv = vec![0, 1, 0, 5, 0x01, 0xbb];
    srv.extend_from_slice(&name("sip.example.com"));
    m.extend_from_slice(&rr(&PTR_Q, 33, 1, 60, &srv));
    m.extend_from_slice(&rr(&PTR_Q, 12, 1, 60, &[0xc0, 12]));
    let mut https = vec![0, 1, 0];
    https.extend_from_slice(&[0, 1, 0, 6, 2, b'h', b'3', 2, b'h', b'2']);
    https.extend_from_slice(&[0, 3, 0, 2, 0x01, 0xbb]);
    https.extend_from_slice(&[0, 4, 0, 8, 104, 16, 132, 229, 104, 16, 133, 229]);
    https.extend_from_slice(&[0, 6, 0, 16]);
    https.extend_from_slice(&v6);
    m.extend_from_slice(&rr(&PTR_Q, 65, 1, 60, &https));
    m.extend_from_slice(&rr(&PTR_Q, 257, 1, 60, b"\x00\x05issuea.ca"));
    m.extend_from_slice(&rr(&PTR_Q, 99, 1, 60, b"\x06v=spf1"));
    m.extend_from_slice(&rr(&PTR_Q, 1, 1, 60, &[1, 2, 3])); // bad A
    let mut svcb_bad_port = vec![0, 2, 0];
    svcb_bad_port.extend_from_slice(&[0, 3, 0, 3, 1, 0xbb, 0]);
    m.extend_from_slice(&rr(&PTR_Q, 64, 1, 60, &svcb_bad_port));
    // Authority: SOA.
    let mut soa = name("ns1.example.com");
    soa.extend_from_slice(&[
        10, b'h', b'o', b's', b't', b'm', b'a', b's', b't', b'e', b'r', 0xc0, 16,
    ]);
    for v in [2024010101u32, 7200, 3600, 1209600, 300] {
        soa.extend_from_slice(&v.to_be_bytes());
    }
    m.extend_from_slice(&rr(&PTR_Q, 6, 1, 900, &soa));
    // Additional: OPT, payload 1232, extended rcode 1 (-> 16 BADVERS with header rcode 0),
    // DO set, one cookie option.
    let mut opt = vec![0, 10, 0, 8];
    opt.extend_from_slice(&[1, 2, 3, 4, 5, 6, 7, 8]);
    m.extend_from_slice(&rr(&[0], 41, 1232, 0x0100_8000, &opt));
    m
}

#[test]
fn query_fields() {
    let mut q = header(0x1234, 0x0120, [1, 0, 0, 0]);
    q.extend_from_slice(&name("www.Example.COM"));
    q.extend_from_slice(&[0, 28, 0, 1]);
    let m = Message::parse(&q).unwrap();
    let h = m.header();
    assert_eq!(m.id(), 0x1234);
    assert!(!h.qr() && h.rd() && !h.aa() && !h.tc() && !h.ra() && h.ad() && !h.cd() && !h.z());
    assert_eq!(h.zeek_z(), 2);
    assert_eq!(h.opcode(), Opcode::Query);
    assert_eq!(m.rcode(), Rcode::NoError);
    let question = m.question().unwrap();
    assert_eq!(question.name.to_string(), "www.Example.COM");
    assert!(question.name.eq_ignore_ascii_case("www.example.com."));
    assert!(!question.name.eq_ignore_ascii_case("example.com"));
    assert_eq!(question.qtype, RecordType::Aaaa);
    assert_eq!(question.class(), Class::In);
    assert_eq!(question.name.wire_len(), 17);
    assert_eq!(m.answers().count(), 0);
    assert!(m.edns().is_none());
    assert!(m.trailing().is_empty());
}

#[test]
fn response_records_and_zeek_text() {
    let buf = big_response();
    let m = Message::parse(&buf).unwrap();
    assert!(m.is_response());
    assert!(m.header().aa() && m.header().ra());
    let answers: Vec<String> = m.answers().map(|r| r.rdata().to_string()).collect();
    assert_eq!(
        answers,
        [
            "cdn.Example.com",
            "93.184.216.34",
            "2606::1",
            "mail.Example.com",
            "TXT 5 hello TXT 11 hello world",
            "sip.example.com",
            "www.Example.com",
            "1 . alpn=h3,h2 port=443 ipv4hint=104.16.132.229,104.16.133.229 ipv6hint=2606::1",
            "<unknown type=257>",
            "SPF 6 v=spf1",
            "<invalid type=1>",
            "2 . port=<malformed>",
        ]
    );
    let recs: Vec<_> = m.answers().collect();
    assert_eq!(recs[0].rtype, RecordType::Cname);
    assert_eq!(recs[0].ttl, 300);
    assert_eq!(recs[0].name.to_string(), "www.Example.com");
    assert!(matches!(recs[3].rdata(), RData::Mx { preference: 10, .. }));
    assert!(matches!(
        recs[5].rdata(),
        RData::Srv {
            priority: 1,
            weight: 5,
            port: 443,
            ..
        }
    ));
    let RData::Svcb(s) = recs[7].rdata() else {
        panic!()
    };
    assert_eq!(s.priority, 1);
    assert!(s.target.is_root() && !s.is_alias());
    assert_eq!(
        s.alpn().unwrap().iter().collect::<Vec<_>>(),
        [&b"h3"[..], b"h2"]
    );
    assert_eq!(s.port(), Some(443));
    assert_eq!(s.ipv4hint().count(), 2);
    assert_eq!(s.ipv6hint().next(), Some("2606::1".parse().unwrap()));
    assert_eq!(
        recs[10].rdata(),
        RData::Invalid {
            rtype: 1,
            error: DnsError::BadRdata {
                rtype: 1,
                reason: "A is not 4 bytes"
            }
        }
    );
    let RData::Svcb(bad) = recs[11].rdata() else {
        panic!()
    };
    assert_eq!(bad.port(), None);
    assert_eq!(
        bad.params().next().unwrap().value(),
        SvcParamValue::Malformed("port length")
    );

    let soa: Vec<_> = m.authority().collect();
    let RData::Soa(s) = soa[0].rdata() else {
        panic!()
    };
    assert_eq!(s.mname.to_string(), "ns1.example.com");
    assert_eq!(s.rname.to_string(), "hostmaster.Example.com");
    assert_eq!(
        (s.serial, s.refresh, s.retry, s.expire, s.minimum),
        (2024010101, 7200, 3600, 1209600, 300)
    );
    assert_eq!(soa[0].rdata().to_string(), "ns1.example.com");

    let e = m.edns().unwrap();
    assert_eq!(
        (e.udp_payload_size, e.extended_rcode, e.version, e.dnssec_ok),
        (1232, 1, 0, true)
    );
    let opts: Vec<_> = e.options.unwrap().iter().collect();
    assert_eq!(opts, vec![(10u16, &[1u8, 2, 3, 4, 5, 6, 7, 8][..])]);
    assert_eq!(m.rcode(), Rcode::BadVers);
    assert_eq!(m.header().rcode(), Rcode::NoError);
}

#[test]
fn every_truncated_prefix_is_a_typed_error() {
    let buf = big_response();
    for n in 0..buf.len() {
        match Message::parse(&buf[..n]) {
            Err(DnsError::Truncated { .. }) => {}
            other => panic!("prefix {n}: {other:?}"),
        }
    }
}

#[test]
fn name_errors() {
    let q = |qname: &[u8]| {
        let mut m = header(1, 0, [1, 0, 0, 0]);
        m.extend_from_slice(qname);
        m.extend_from_slice(&[0, 1, 0, 1]);
        m
    };
    // Pointer to itself.
    assert_eq!(
        Message::parse(&q(&[0xc0, 12])).unwrap_err(),
        DnsError::CompressionLoop
    );
    // Two pointers pointing at each other.
    assert_eq!(
        Message::parse(&q(&[1, b'a', 0xc0, 14, 0xc0, 12])).unwrap_err(),
        DnsError::CompressionLoop
    );
    assert_eq!(
        Message::parse(&q(&[0xc0, 0xff])).unwrap_err(),
        DnsError::BadPointer { offset: 255 }
    );
    assert_eq!(
        Message::parse(&q(&[0x41, b'a', 0])).unwrap_err(),
        DnsError::LabelTooLong { len: 0x41 }
    );
    // 5 labels of 63 = 320 bytes > 255.
    let mut long = Vec::new();
    for _ in 0..5 {
        long.push(63);
        long.extend_from_slice(&[b'x'; 63]);
    }
    long.push(0);
    assert_eq!(
        Message::parse(&q(&long)).unwrap_err(),
        DnsError::NameTooLong
    );
    // Exactly 255 bytes is fine: 3 labels of 63, one of 61, root.
    let mut max = Vec::new();
    for len in [63u8, 63, 63, 61] {
        max.push(len);
        max.extend(std::iter::repeat_n(b'y', usize::from(len)));
    }
    max.push(0);
    assert_eq!(max.len(), 255);
    let m = q(&max);
    assert_eq!(
        Message::parse(&m)
            .unwrap()
            .question()
            .unwrap()
            .name
            .wire_len(),
        255
    );
    // A question name that is a chain of pointers: the name at offset 12 points at 18,
    // each entry there at the next, the last at a root label. `hops` pointers in all.
    let chain = |hops: usize| {
        let mut m = header(1, 0, [1, 0, 0, 0]);
        m.extend_from_slice(&[0xc0, 18, 0, 1, 0, 1]);
        for i in 0..hops - 1 {
            m.extend_from_slice(&(0xc000 | (18 + 2 * (i as u16 + 1))).to_be_bytes());
        }
        m.push(0);
        m
    };
    assert!(
        Message::parse(&chain(MAX_POINTERS))
            .unwrap()
            .question()
            .unwrap()
            .name
            .is_root()
    );
    assert_eq!(
        Message::parse(&chain(MAX_POINTERS + 1)).unwrap_err(),
        DnsError::CompressionLoop
    );
}

#[test]
fn root_and_escapes() {
    let mut m = header(1, 0x8000, [1, 1, 0, 0]);
    m.extend_from_slice(&[0, 0, 2, 0, 1]); // root, NS
    m.extend_from_slice(&rr(&[0], 16, 1, 1, b"\x03a\tb"));
    let msg = Message::parse(&m).unwrap();
    let q = msg.question().unwrap();
    assert!(q.name.is_root());
    assert_eq!(q.name.to_string(), "");
    assert!(q.name.eq_ignore_ascii_case("."));
    assert_eq!(
        msg.answers().next().unwrap().rdata().to_string(),
        "TXT 3 a\\x09b"
    );
}

#[test]
fn tcp_framing() {
    let mut q = header(7, 0x0100, [1, 0, 0, 0]);
    q.extend_from_slice(&name("a.b"));
    q.extend_from_slice(&[0, 1, 0, 1]);
    let mut stream = (q.len() as u16).to_be_bytes().to_vec();
    stream.extend_from_slice(&q);
    stream.extend_from_slice(&[0, 5]);
    let (msg, used) = tcp_message(&stream).unwrap().unwrap();
    assert_eq!((msg, used), (&q[..], q.len() + 2));
    assert_eq!(Message::parse(msg).unwrap().id(), 7);
    assert_eq!(tcp_message(&stream[used..]).unwrap(), None);
    assert_eq!(tcp_message(&[0]).unwrap(), None);
    for n in 0..stream.len() - 2 {
        if n < used {
            assert_eq!(tcp_message(&stream[..n]).unwrap(), None);
        }
    }
    assert!(tcp_message(&[0, 0, 1]).is_err());
}

#[test]
fn random_input_never_panics() {
    let base = big_response();
    let mut rng = XorShift(7);
    for i in 0..20_000usize {
        let input = if i.is_multiple_of(2) {
            rng.bytes(200)
        } else {
            rng.mutate(&base)
        };
        if let Ok(m) = Message::parse(&input) {
            let _ = m.rcode();
            for q in m.questions() {
                let _ = q.name.to_string();
            }
            for r in m.answers().chain(m.authority()).chain(m.additional()) {
                let _ = r.rdata().to_string();
                let _ = r.name.to_string();
            }
        }
        let _ = tcp_message(&input);
    }
}

#[test]
fn names_with_unprintable_bytes_are_escaped_in_both_cases() {
    // Labels `Ab\x00C` and `\xffZ` and `x`: runs of printable bytes and escapes mixed.
    let wire = [4, b'A', b'b', 0, b'C', 2, 0xff, b'Z', 1, b'x', 0];
    let (n, end) = name::parse(&wire, 0).unwrap();
    assert_eq!(end, wire.len());
    assert_eq!(n.to_string(), "Ab\\x00C.\\xffZ.x");
    assert_eq!(n.to_ascii_lowercase(), "ab\\x00c.\\xffz.x");
    let (root, _) = name::parse(&[0], 0).unwrap();
    assert_eq!(root.to_ascii_lowercase(), "");
}

#[test]
fn first_label_at_identifies_a_name_through_its_pointers() {
    // Question www.Example.com at 12; a CNAME answer owned by a pointer to it, whose target
    // "cdn" + pointer lands at 12 + 4 ("Example.com"); a second answer owned by a pointer
    // to a pointer (to the question).
    let mut m = header(1, 0x8180, [1, 2, 0, 0]);
    m.extend_from_slice(&name("www.Example.com"));
    m.extend_from_slice(&[0, 1, 0, 1]);
    let cname_at = m.len();
    m.extend_from_slice(&rr(&PTR_Q, 5, 1, 60, &[3, b'c', b'd', b'n', 0xc0, 16]));
    m.extend_from_slice(&rr(&[0xc0, cname_at as u8], 1, 1, 60, &[10, 0, 0, 1]));
    let msg = Message::parse(&m).unwrap();
    let q = msg.question().unwrap();
    assert_eq!(q.name.first_label_at(), 12);
    let answers: Vec<_> = msg.answers().collect();
    assert_eq!(answers.len(), 2);
    // Both answers' owners are the question's name, through one pointer or two.
    for a in &answers {
        assert_eq!(a.name.first_label_at(), 12);
        assert!(a.name == q.name);
    }
    // A name that starts with a label is its own start.
    let RData::Cname(target) = answers[0].rdata() else {
        panic!("not a CNAME: {:?}", answers[0].rdata());
    };
    assert_eq!(target.first_label_at(), cname_at + 12);
    assert_eq!(target.to_string(), "cdn.Example.com");
}

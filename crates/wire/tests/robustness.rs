//! Property tests: arbitrary bytes never make a parser panic, and what parses is
//! self-consistent.

use flowsight_wire::l7::fingerprint::{Transport, ja3, ja4};
use flowsight_wire::l7::{dns, http, tls};
use flowsight_wire::{L4, LinkType, decode};
use proptest::prelude::*;

const LINKS: [LinkType; 11] = [
    LinkType::Ethernet,
    LinkType::Raw,
    LinkType::LinuxSll,
    LinkType::LinuxSll2,
    LinkType::Null,
    LinkType::Loop,
    LinkType::Ieee80211,
    LinkType::Ieee80211Radiotap,
    LinkType::Ieee80211Prism,
    LinkType::Ieee80211Avs,
    LinkType::Unknown(147),
];

/// Bytes that start like an Ethernet/IPv4 or IPv6 frame, so the walk gets deep.
fn framed() -> impl Strategy<Value = Vec<u8>> {
    (
        any::<bool>(),
        proptest::collection::vec(any::<u8>(), 0..200),
    )
        .prop_map(|(v6, tail)| {
            let mut f = vec![0u8; 12];
            f.extend_from_slice(if v6 {
                &[0x86, 0xdd, 0x60]
            } else {
                &[0x08, 0x00, 0x45]
            });
            f.extend_from_slice(&tail);
            f
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn decode_never_panics(link in 0..LINKS.len(), bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        if let Ok(d) = decode(LINKS[link], &bytes) {
            prop_assert!(d.payload.len() <= d.segment.len().max(bytes.len()));
            let _ = d.verify_l4_checksum();
        }
    }

    #[test]
    fn decoded_frames_are_consistent(bytes in framed()) {
        if let Ok(d) = decode(LinkType::Ethernet, &bytes)
            && let Some(ip) = d.ip
        {
            prop_assert!(ip.offset < bytes.len());
            prop_assert!(d.l4_offset <= bytes.len());
            // The payload lies inside the frame, after the L4 offset.
            let start = d.payload.as_ptr() as usize - bytes.as_ptr() as usize;
            prop_assert!(start >= d.l4_offset || d.payload.is_empty());
            prop_assert!(start + d.payload.len() <= bytes.len());
            if d.l4 == L4::Fragment {
                prop_assert!(ip.fragment.is_some());
            }
        }
    }

    #[test]
    fn http_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        if let Ok(Some((h, n))) = http::parse_request_head(&bytes) {
            prop_assert!(n <= bytes.len());
            let _ = http::BodyDecoder::new(h.body_length()).feed(&bytes[n..]);
        }
        if let Ok(Some((h, n))) = http::parse_response_head(&bytes) {
            prop_assert!(n <= bytes.len());
            let _ = http::BodyDecoder::new(h.body_length(None)).feed(&bytes[n..]);
        }
        let _ = http::looks_like_request(&bytes);
    }

    #[test]
    fn http_request_text_never_panics(s in "[A-Z]{1,8} [ -~]{0,40}( HTTP/1\\.[01])?(\r?\n[A-Za-z-]{1,12}: ?[ -~]{0,30}){0,6}\r?\n\r?\n") {
        let _ = http::parse_request_head(s.as_bytes());
    }

    #[test]
    fn dns_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        if let Ok(m) = dns::Message::parse(&bytes) {
            for r in m.answers().chain(m.authority()).chain(m.additional()) {
                let _ = r.rdata().to_string();
            }
            for q in m.questions() {
                prop_assert!(q.name.wire_len() <= dns::MAX_NAME_LEN);
            }
            let _ = m.rcode();
        }
        let _ = dns::tcp_message(&bytes);
    }

    #[test]
    fn tls_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        if let Ok(ch) = tls::ClientHello::parse(&bytes) {
            let _ = (ja3(&ch), ja4(&ch, Transport::Tcp), ch.sni(), ch.alpn().count());
        }
        if let Ok(sh) = tls::ServerHello::parse(&bytes) {
            let _ = (sh.alpn(), sh.version());
        }
        let mut c = tls::HandshakeCollector::with_max(1024);
        for piece in bytes.chunks(13) {
            if c.push(piece).is_err() {
                break;
            }
        }
        let _ = c.client_hello();
        let _ = tls::is_sslv2_client_hello(&bytes);
    }
}

//! Property tests: arbitrary bytes never make a parser panic, and what parses is
//! self-consistent.

use flowsight_wire::l7::fingerprint::{Transport, ja3, ja4};
use flowsight_wire::l7::{dns, http, tls};
use flowsight_wire::{L4, LinkType, decode};
use proptest::prelude::*;

const LINKS: [LinkType; 16] = [
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
    LinkType::Ppp,
    LinkType::PppHdlc,
    LinkType::PppWithDir,
    LinkType::CiscoHdlc,
    LinkType::Nflog,
    LinkType::Unknown(147),
];

/// The UDP ports the decoder unwraps tunnels on (VXLAN, Geneve, GTP-U, Teredo, AYIYA,
/// CAPWAP data).
const TUNNEL_PORTS: [u16; 6] = [4789, 6081, 2152, 3544, 5072, 5247];

/// Ethernet, IPv4 and UDP to or from a tunnel port, then arbitrary bytes: the walk goes
/// into the tunnel parsers. Lengths match the bytes; checksums are left at 0.
fn udp_tunnel() -> impl Strategy<Value = Vec<u8>> {
    (
        0..TUNNEL_PORTS.len(),
        any::<bool>(),
        proptest::collection::vec(any::<u8>(), 0..200),
    )
        .prop_map(|(port, to, tail)| {
            let port = TUNNEL_PORTS[port];
            let (sport, dport) = if to { (40000, port) } else { (port, 40000) };
            let mut f = vec![0u8; 12];
            f.extend_from_slice(&[0x08, 0x00]);
            f.extend_from_slice(&[0x45, 0]);
            f.extend_from_slice(&((28 + tail.len()) as u16).to_be_bytes());
            f.extend_from_slice(&[0, 0, 0x40, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]);
            f.extend_from_slice(&sport.to_be_bytes());
            f.extend_from_slice(&dport.to_be_bytes());
            f.extend_from_slice(&((8 + tail.len()) as u16).to_be_bytes());
            f.extend_from_slice(&[0, 0]);
            f.extend_from_slice(&tail);
            f
        })
}

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
    fn udp_tunnels_never_panic(bytes in udp_tunnel()) {
        let d = decode(LinkType::Ethernet, &bytes).unwrap();
        let ip = d.ip.unwrap();
        prop_assert!(ip.offset < bytes.len() && d.l4_offset <= bytes.len());
        let start = d.payload.as_ptr() as usize - bytes.as_ptr() as usize;
        prop_assert!(start + d.payload.len() <= bytes.len());
        // Either the UDP packet itself or a tunnel was unwrapped.
        prop_assert_eq!(d.outer_ip.is_some(), !d.encaps.is_empty());
        let _ = d.verify_l4_checksum();
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

#![no_main]
//! ClientHello bodies (TLS and DTLS) and their fingerprints.

use flowsight_wire::l7::fingerprint::{Transport, ja3, ja4};
use flowsight_wire::l7::tls::ClientHello;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for parsed in [ClientHello::parse(data), ClientHello::parse_dtls(data)] {
        if let Ok(ch) = parsed {
            let _ = (ch.sni(), ch.alpn().count(), ch.supported_versions().count());
            let _ = (ja3(&ch), ja4(&ch, Transport::Tcp).raw());
        }
    }
});

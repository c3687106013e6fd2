#![no_main]
//! A TLS byte stream fed to the collector in pieces whose size the first byte picks, and
//! the record-layer parsers.

use flowsight_wire::l7::tls::{
    HandshakeCollector, first_handshake, parse_dtls_handshake, parse_dtls_record, parse_record,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, stream)) = data.split_first() else {
        return;
    };
    let _ = (parse_record(stream), first_handshake(stream));
    let _ = (parse_dtls_record(stream), parse_dtls_handshake(stream));
    let mut c = HandshakeCollector::with_max(8192);
    for piece in stream.chunks(usize::from(pick) + 1) {
        if c.push(piece).is_err() {
            return;
        }
    }
    let _ = c.messages().count();
    if let Some(Ok(ch)) = c.client_hello() {
        let _ = ch.sni();
    }
    if let Some(Ok(sh)) = c.server_hello() {
        let _ = sh.alpn();
    }
});

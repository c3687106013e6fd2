#![no_main]
//! ClientHello bodies (TLS and DTLS) and their fingerprints; and, for two hellos cut from one
//! input, that equal fingerprint inputs (`client_inputs`) mean equal JA3 and JA4 (what the
//! flow crate's memo relies on).

use flowsight_wire::l7::fingerprint::{Transport, client_inputs, ja3, ja4};
use flowsight_wire::l7::tls::ClientHello;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for parsed in [ClientHello::parse(data), ClientHello::parse_dtls(data)] {
        if let Ok(ch) = parsed {
            let _ = (ch.sni(), ch.alpn().count(), ch.supported_versions().count());
            let _ = (ja3(&ch), ja4(&ch, Transport::Tcp).raw());
            let mut key = Vec::new();
            client_inputs(&ch, Transport::Quic, &mut key);
        }
    }
    let Some((&cut, rest)) = data.split_first() else {
        return;
    };
    let at = usize::from(cut).min(rest.len());
    let (a, b) = rest.split_at(at);
    if let (Ok(x), Ok(y)) = (ClientHello::parse(a), ClientHello::parse(b)) {
        let (mut kx, mut ky) = (Vec::new(), Vec::new());
        client_inputs(&x, Transport::Tcp, &mut kx);
        client_inputs(&y, Transport::Tcp, &mut ky);
        if kx == ky {
            assert_eq!(ja3(&x), ja3(&y));
            assert_eq!(
                ja4(&x, Transport::Tcp).fingerprint(),
                ja4(&y, Transport::Tcp).fingerprint()
            );
        }
    }
});

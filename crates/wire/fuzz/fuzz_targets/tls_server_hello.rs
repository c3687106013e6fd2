#![no_main]
//! ServerHello bodies and JA3S.

use flowsight_wire::l7::fingerprint::ja3s;
use flowsight_wire::l7::tls::ServerHello;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(sh) = ServerHello::parse(data) {
        let _ = (
            sh.alpn(),
            sh.version(),
            sh.is_hello_retry_request(),
            ja3s(&sh),
        );
    }
});

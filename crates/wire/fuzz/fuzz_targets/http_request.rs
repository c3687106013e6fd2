#![no_main]
//! HTTP request heads.

use flowsight_wire::l7::http::{looks_like_request, parse_request_head};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = looks_like_request(data);
    if let Ok(Some((head, used))) = parse_request_head(data) {
        assert!(used <= data.len());
        let _ = (
            head.path(),
            head.query(),
            head.body_length(),
            head.wants_close(),
        );
    }
});

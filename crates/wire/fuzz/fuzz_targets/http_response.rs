#![no_main]
//! HTTP response heads.

use flowsight_wire::l7::http::parse_response_head;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(Some((head, used))) = parse_response_head(data) {
        assert!(used <= data.len());
        let _ = (
            head.body_length(Some(b"GET")),
            head.content_type,
            head.wants_close(),
        );
    }
});

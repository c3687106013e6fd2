#![no_main]
//! DNS messages, every record decoded and printed.

use flowsight_wire::l7::dns::{Message, tcp_message};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = tcp_message(data);
    if let Ok(m) = Message::parse(data) {
        let _ = (m.rcode(), m.edns().is_some(), m.trailing().len());
        for q in m.questions() {
            let _ = (q.name.to_string(), q.name.wire_len());
        }
        for r in m.answers().chain(m.authority()).chain(m.additional()) {
            let _ = (r.name.to_string(), r.rdata().to_string());
        }
    }
});

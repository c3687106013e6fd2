#![no_main]
//! A capture file's bytes (pcap, pcapng, or either compressed with gzip) read to the end as a
//! stream: every packet with its options, then what the file says about itself. No panic,
//! and the reader stops (after an error it gives nothing more).

use flowsight_pcapfile::CaptureReader;
use libfuzzer_sys::fuzz_target;
use std::io::Cursor;

fuzz_target!(|data: &[u8]| {
    let Ok(mut r) = CaptureReader::new(Cursor::new(data.to_vec())) else {
        return;
    };
    let mut failed = false;
    while let Some(p) = r.next_packet() {
        assert!(!failed, "a packet after an error");
        match p {
            Ok(p) => {
                let _ = (p.ts_ns, p.orig_len, p.link, p.interface, p.comment);
                for c in p.options.custom() {
                    let _ = (c.as_str(), c.key_value());
                }
            }
            Err(e) => {
                let _ = e.to_string();
                failed = true;
            }
        }
    }
    let info = r.info();
    let _ = (info.link_types(), info.snaplen(), info.interface_names());
    let _ = (r.format(), r.packets_read(), r.bytes_read(), r.progress());
});

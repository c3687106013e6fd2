#![no_main]
//! QUIC datagrams: the coalesced long-header packets, Initial decryption under the keys of
//! each packet's DCID (both directions' keys), and the frames of the input itself taken as a
//! decrypted payload (random bytes almost never pass the AEAD tag).

use flowsight_wire::l7::quic::{Frames, InitialKeys, LongHeader, PacketType};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for frame in Frames::new(data) {
        let _ = frame;
    }
    let mut rest = data;
    while !rest.is_empty() {
        let Ok((h, used)) = LongHeader::parse(rest) else {
            break;
        };
        if h.packet_type == PacketType::Initial {
            for keys in [
                InitialKeys::client(h.version, h.dcid),
                InitialKeys::server(h.version, h.dcid),
            ] {
                if let Ok(opened) = keys.open(&h, Some(u64::from(rest[0]))) {
                    Frames::new(&opened.payload).for_each(drop);
                }
            }
        }
        rest = &rest[used..];
    }
});

#![no_main]
//! Body framing, fed in pieces whose size the first byte picks.

use flowsight_wire::l7::http::{BodyDecoder, BodyLength};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, body)) = data.split_first() else {
        return;
    };
    let length = match pick % 3 {
        0 => BodyLength::Chunked,
        1 => BodyLength::Length(u64::from(pick)),
        _ => BodyLength::UntilClose,
    };
    let mut d = BodyDecoder::new(length);
    for piece in body.chunks(usize::from(pick % 16) + 1) {
        match d.feed(piece) {
            Ok(p) => assert!(p.consumed <= piece.len() && p.data <= p.consumed),
            Err(_) => break,
        }
    }
});

#![no_main]
//! The whole capture path: a sequence of frames fed to one engine, which is then finished.
//!
//! Input: one byte of setup, then frames, each as
//! `[len: u16 big-endian][time: u8][len & 0x7fff bytes]` (the last frame takes what is left
//! when fewer bytes remain):
//! - setup bits 0-3 pick the link type (Ethernet, raw IP, Linux SLL, SLL2, BSD null, OpenBSD
//!   loop, 802.11, 802.11 with Prism, radiotap or AVS headers; 10-15 wrap around), bit 4
//!   turns flow records off (live mode's analysis-only engine), bit 5 shortens the DNS
//!   timeout to 1 ms, bits 6-7 give every frame a duty (whole, count only, rebuild only, as
//!   `read --threads` gives an engine the fragments it shares with another; 3 is whole);
//! - the length's top bit marks a frame cut by the snap length: its length on the wire is
//!   100 bytes more than what was captured;
//! - the time byte moves the clock: its low 6 bits in milliseconds, plus, by its top two
//!   bits, nothing, 1.5 s (an ageing tick), 31 s (fragment and DNS timeouts) or 61 s (idle
//!   flows); 0xff steps back 2 s (merged captures are not always in order).
//!
//! The golden tests write their sessions in this format as a seed corpus (see
//! `tests/malformed.rs`).

use flowsight_flow::{Duty, Engine, EngineConfig};
use flowsight_wire::LinkType;
use libfuzzer_sys::fuzz_target;

const LINKS: [LinkType; 10] = [
    LinkType::Ethernet,
    LinkType::Raw,
    LinkType::LinuxSll,
    LinkType::LinuxSll2,
    LinkType::Null,
    LinkType::Loop,
    LinkType::Ieee80211,
    LinkType::Ieee80211Prism,
    LinkType::Ieee80211Radiotap,
    LinkType::Ieee80211Avs,
];

/// Frames per input: enough for a handshake, a few transactions and a close.
const MAX_FRAMES: usize = 256;

fuzz_target!(|data: &[u8]| {
    let Some((&setup, mut rest)) = data.split_first() else {
        return;
    };
    let link = LINKS[usize::from(setup & 15) % LINKS.len()];
    let mut cfg = EngineConfig {
        flow_records: setup & 16 == 0,
        ..EngineConfig::default()
    };
    if setup & 32 != 0 {
        cfg.app.dns_timeout_ns = 1_000_000;
    }
    let duty = [Duty::Whole, Duty::Count, Duty::Reassemble, Duty::Whole][usize::from(setup >> 6)];
    let mut e = Engine::new(cfg);
    let mut ts: u64 = 1_700_000_000_000_000_000;
    let mut records = 0usize;
    for _ in 0..MAX_FRAMES {
        if rest.len() < 3 {
            break;
        }
        let len_field = u16::from_be_bytes([rest[0], rest[1]]);
        let time = rest[2];
        rest = &rest[3..];
        let len = usize::from(len_field & 0x7fff).min(rest.len());
        let (frame, tail) = rest.split_at(len);
        rest = tail;
        ts = match time {
            0xff => ts.saturating_sub(2_000_000_000),
            t => {
                let jump = [0, 1_500_000_000, 31_000_000_000, 61_000_000_000][usize::from(t >> 6)];
                ts + u64::from(t & 0x3f) * 1_000_000 + jump
            }
        };
        let wire_len = frame.len() as u32 + if len_field & 0x8000 != 0 { 100 } else { 0 };
        e.frame_as(ts, link, frame, wire_len, 0, duty);
        records += e.drain().count();
    }
    while e.finish_step() {
        records += e.drain().count();
    }
    records += e.drain().count();
    assert_eq!(e.flows(), 0, "finish closes every flow");
    let _ = records;
});

#![no_main]
//! The whole-frame walk, for every link type: the first byte picks the link.

use flowsight_wire::{LinkType, decode};
use libfuzzer_sys::fuzz_target;

const LINKS: [LinkType; 15] = [
    LinkType::Ethernet,
    LinkType::Raw,
    LinkType::LinuxSll,
    LinkType::LinuxSll2,
    LinkType::Null,
    LinkType::Loop,
    LinkType::Ieee80211,
    LinkType::Ieee80211Radiotap,
    LinkType::Ieee80211Prism,
    LinkType::Ieee80211Avs,
    LinkType::Ppp,
    LinkType::PppHdlc,
    LinkType::PppWithDir,
    LinkType::CiscoHdlc,
    LinkType::Nflog,
];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, frame)) = data.split_first() else {
        return;
    };
    if let Ok(d) = decode(LINKS[usize::from(pick) % LINKS.len()], frame) {
        let _ = d.verify_l4_checksum();
        assert!(d.payload.len() <= frame.len());
    }
});

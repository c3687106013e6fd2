#![no_main]
//! The whole-frame walk, for every link type: the first byte picks the link. Also the pair
//! `read --threads` routes the frame by, which must be the walk's, and for a first
//! fragment the pair of the flow it carries.

use flowsight_wire::decode::{first_fragment_pair, frame_pair};
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
    let link = LINKS[usize::from(pick) % LINKS.len()];
    let pair = frame_pair(link, frame);
    match decode(link, frame) {
        Ok(d) => {
            let _ = d.verify_l4_checksum();
            assert!(d.payload.len() <= frame.len());
            let ip = d.ip.map(|ip| (ip.src, ip.dst, ip.protocol));
            assert_eq!(pair.map(|p| p.pair), ip);
        }
        Err(_) => assert_eq!(pair, None),
    }
    if let Some(f) = pair.and_then(|p| p.fragment).filter(|f| f.first) {
        let _ = first_fragment_pair(link, frame, &f);
    }
});

//! Readers sharing a walk of a mapped classic pcap file (`read --threads`): each walks some
//! chunks from where another stopped ([`CaptureReader::seek`]) and reads records found by
//! another again ([`CaptureReader::packet_at`]); every packet and error must be what one
//! reader walking the whole file gives, at every length the file could be cut to.

mod common;

use common::{Owned, TempDir, all_fixtures, drain, long_pcap};
use flowsight_pcapfile::{CaptureReader, Format, Position};

/// Walks `first` and a reader sharing its mapping by turns, `step` packets each, each going
/// on from where the other stopped; every record is read again by the reader that did not
/// walk it. Returns the packets, the error that ended the walk and its packet count.
fn walk_by_turns(mut first: CaptureReader, step: usize) -> (Vec<Owned>, Option<String>, u64) {
    let second = first.share().expect("a mapped pcap file can be shared");
    let mut readers = [first, second];
    let mut at: Position = readers[0].position();
    let mut packets = Vec::new();
    let mut turn = 0;
    loop {
        let (walker, other) = {
            let [a, b] = &mut readers;
            if turn % 2 == 0 { (a, b) } else { (b, a) }
        };
        assert!(walker.seek(at));
        assert_eq!(walker.position(), at);
        let mut offsets = Vec::new();
        for _ in 0..step {
            let before = walker.position();
            match walker.next_packet() {
                None => return (packets, None, walker.packets_read()),
                Some(Ok(p)) => {
                    offsets.push(before.offset);
                    packets.push(Owned::of(&p));
                }
                Some(Err(e)) => {
                    let n = walker.packets_read();
                    return (packets, Some(format!("{e:?}")), n);
                }
            }
        }
        at = walker.position();
        // The other reader finds every record of the chunk where the walk found it.
        let start = packets.len() - offsets.len();
        for (k, &o) in offsets.iter().enumerate() {
            let p = other.packet_at(o).expect("a walked record reads again");
            assert_eq!(Owned::of(&p), packets[start + k]);
        }
        other.release_before(at.offset);
        turn += 1;
    }
}

#[test]
fn a_walk_shared_by_turns_reads_exactly_as_one_reader_at_every_cut() {
    let dir = TempDir::new("revisit");
    let mut compared = 0;
    for f in all_fixtures() {
        for cut in 0..=f.bytes.len() {
            let path = dir.path("cut.pcap");
            std::fs::write(&path, &f.bytes[..cut]).unwrap();
            let (Ok(shared), Ok(alone)) = (CaptureReader::open(&path), CaptureReader::open(&path))
            else {
                continue;
            };
            let pcap = shared.info().format != Format::Pcapng;
            assert_eq!(shared.revisitable(), pcap, "{} cut at {cut}", f.name);
            let alone = drain(alone);
            if !pcap {
                continue;
            }
            for step in [1, 2] {
                let r = CaptureReader::open(&path).unwrap();
                let (packets, error, read) = walk_by_turns(r, step);
                assert_eq!(
                    packets, alone.packets,
                    "{} cut at {cut}, step {step}",
                    f.name
                );
                assert_eq!(
                    error,
                    alone.error.as_ref().map(|e| format!("{e:?}")),
                    "{} cut at {cut}, step {step}",
                    f.name
                );
                assert_eq!(read, packets.len() as u64);
                compared += 1;
            }
        }
    }
    assert!(compared > 500, "{compared}");
}

#[test]
fn streams_and_pcapng_files_cannot_be_revisited() {
    let dir = TempDir::new("no-revisit");
    for f in all_fixtures() {
        let path = dir.path("x");
        std::fs::write(&path, &f.bytes).unwrap();
        let mut read = CaptureReader::open_read(&path).unwrap();
        assert!(!read.revisitable());
        assert!(read.share().is_none());
        assert!(!read.seek(Position {
            offset: 24,
            packets: 0
        }));
        assert!(read.packet_at(24).is_none());
        let mut mapped = CaptureReader::open(&path).unwrap();
        if mapped.info().format == Format::Pcapng {
            assert!(!mapped.revisitable(), "{}", f.name);
            assert!(mapped.share().is_none());
            assert!(mapped.packet_at(28).is_none());
        } else {
            // No record starts past the end, nor one whose length runs past it.
            assert!(mapped.packet_at(f.bytes.len() as u64).is_none());
            assert!(mapped.packet_at(u64::MAX).is_none());
            assert!(!mapped.seek(Position {
                offset: f.bytes.len() as u64 + 1,
                packets: 0
            }));
        }
    }
}

/// A file longer than the step at which pages are given back: records read again through a
/// shared mapping whose pages behind were given back read exactly.
#[test]
fn a_long_shared_walk_reads_exactly_after_its_pages_are_given_back() {
    let dir = TempDir::new("revisit-long");
    let (bytes, i) = long_pcap(36 << 20);
    let path = dir.path("long.pcap");
    std::fs::write(&path, &bytes).unwrap();
    let alone = drain(CaptureReader::open_read(&path).unwrap());
    let (packets, error, read) = walk_by_turns(CaptureReader::open(&path).unwrap(), 3001);
    assert!(error.is_none());
    assert_eq!(read, i as u64);
    assert_eq!(packets.len(), alone.packets.len());
    assert!(packets == alone.packets);
}

#![no_main]
//! A classic pcap file's bytes, mapped and walked by two readers sharing the mapping by
//! turns (`read --threads` on a mapped file): each goes on from where the other stopped and
//! reads the other's records again by offset, and a record is also asked for at offsets no
//! walk found. No panic, and the shared walk gives exactly the packets and the error one
//! reader walking the file as a stream gives.
//!
//! The first byte sets how many packets a turn walks (1 to 8); the rest is the file.

use flowsight_pcapfile::CaptureReader;
use libfuzzer_sys::fuzz_target;
use std::io::Cursor;

/// What a test compares of a packet.
type Owned = (u64, u32, Vec<u8>, u32);

fn own(p: &flowsight_pcapfile::Packet<'_>) -> Owned {
    (p.ts_ns, p.orig_len, p.data.to_vec(), p.interface)
}

fuzz_target!(|input: &[u8]| {
    let Some((&step, data)) = input.split_first() else {
        return;
    };
    let step = usize::from(step % 8) + 1;
    // The stream's view: every packet, and whether an error ended the walk.
    let Ok(mut alone) = CaptureReader::new(Cursor::new(data.to_vec())) else {
        return;
    };
    let mut want = Vec::new();
    let mut want_error = false;
    while let Some(p) = alone.next_packet() {
        match p {
            Ok(p) => want.push(own(&p)),
            Err(_) => {
                want_error = true;
                break;
            }
        }
    }
    let path = std::env::temp_dir().join(format!("flowsight-fuzz-{}.pcap", std::process::id()));
    if std::fs::write(&path, data).is_err() {
        return;
    }
    let opened = CaptureReader::open(&path);
    let _ = std::fs::remove_file(&path); // the mapping keeps the bytes
    let Ok(mut first) = opened else {
        return;
    };
    if !first.revisitable() {
        return;
    }
    let second = first.share().expect("a revisitable reader shares");
    let mut readers = [first, second];
    let mut at = readers[0].position();
    let mut got = Vec::new();
    let mut got_error = false;
    let mut turn = 0;
    'walk: loop {
        let [a, b] = &mut readers;
        let (walker, other) = if turn % 2 == 0 { (a, b) } else { (b, a) };
        assert!(walker.seek(at));
        let mut offsets = Vec::new();
        for _ in 0..step {
            let before = walker.position().offset;
            match walker.next_packet() {
                None => break 'walk,
                Some(Ok(p)) => {
                    offsets.push(before);
                    got.push(own(&p));
                }
                Some(Err(_)) => {
                    got_error = true;
                    break 'walk;
                }
            }
        }
        at = walker.position();
        let start = got.len() - offsets.len();
        for (k, &o) in offsets.iter().enumerate() {
            let p = other.packet_at(o).expect("a walked record reads again");
            assert_eq!(own(&p), got[start + k]);
        }
        // Anywhere else: a record or none, never a panic.
        for o in [
            at.offset + 1,
            at.offset.wrapping_sub(3),
            u64::MAX,
            data.len() as u64,
        ] {
            let _ = other.packet_at(o).map(|p| own(&p));
            other.prefetch_at(o);
        }
        other.release_before(at.offset);
        turn += 1;
    }
    assert_eq!(got, want);
    assert_eq!(got_error, want_error);
});

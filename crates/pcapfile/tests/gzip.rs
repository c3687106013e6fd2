//! gzip-compressed captures: recognised by magic, read identically, progress counted in
//! compressed bytes.

mod common;

use common::{TempDir, all_fixtures, gzip, read_bytes};
use flowsight_pcapfile::{CaptureReader, Compression, ReadError};

#[test]
fn every_fixture_reads_identically_through_gzip() {
    for f in all_fixtures() {
        let plain = read_bytes(&f.bytes).unwrap();
        let gz = gzip(&f.bytes);
        let r = read_bytes(&gz).unwrap();
        assert!(r.error.is_none(), "{}: {:?}", f.name, r.error);
        assert_eq!(r.packets, plain.packets, "{}", f.name);
        assert_eq!(r.info.compression, Compression::Gzip);
        let mut info = r.info.clone();
        info.compression = Compression::None;
        assert_eq!(info, plain.info, "{}", f.name);
        assert_eq!(
            r.bytes_read,
            gz.len() as u64,
            "{}: compressed bytes counted",
            f.name
        );
    }
}

#[test]
fn concatenated_members_are_one_stream() {
    for f in all_fixtures() {
        let (a, b) = f.bytes.split_at(f.bytes.len() / 2 + 1);
        let mut gz = gzip(a);
        gz.extend_from_slice(&gzip(b));
        let r = read_bytes(&gz).unwrap();
        assert!(r.error.is_none(), "{}: {:?}", f.name, r.error);
        assert_eq!(r.packets, f.packets, "{}", f.name);
    }
}

#[test]
fn detection_is_by_magic_not_name_and_progress_reaches_the_file_size() {
    let dir = TempDir::new("gzip-name");
    for f in all_fixtures() {
        for (name, bytes) in [
            ("plain.gz", f.bytes.clone()),
            ("packed.pcap", gzip(&f.bytes)),
        ] {
            let path = dir.path(name);
            std::fs::write(&path, &bytes).unwrap();
            let mut r = CaptureReader::open(&path).unwrap();
            assert_eq!(r.info().file_size, Some(bytes.len() as u64));
            let progress = r.progress();
            let mut n = 0;
            while let Some(p) = r.next_packet() {
                p.unwrap();
                n += 1;
            }
            assert_eq!(n, f.packets.len(), "{} as {name}", f.name);
            assert_eq!(progress.bytes_read(), bytes.len() as u64);
            assert_eq!(progress.fraction(), Some(1.0));
        }
    }
}

#[test]
fn gzip_of_something_else_says_so() {
    let e = read_bytes(&gzip(b"hello, world")).unwrap_err();
    assert!(
        matches!(
            e,
            ReadError::NotACaptureFile {
                compressed: true,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(e.to_string().contains("after gzip decompression"), "{e}");
    assert!(matches!(
        read_bytes(&gzip(b"")),
        Err(ReadError::Empty { compressed: true })
    ));
}

#[test]
fn cut_gzip_keeps_the_packets_before_the_cut_and_says_truncated() {
    for f in all_fixtures() {
        let full = read_bytes(&f.bytes).unwrap().packets;
        let gz = gzip(&f.bytes);
        for cut in 0..gz.len() {
            match read_bytes(&gz[..cut]) {
                Ok(r) => {
                    assert_eq!(
                        r.packets[..],
                        full[..r.packets.len()],
                        "{} cut at {cut}",
                        f.name
                    );
                    let e = r.error.expect("a cut gzip stream is an error");
                    assert!(e.is_truncation(), "{} cut at {cut}: {e}", f.name);
                }
                // Cut inside the gzip header or before the capture header is complete.
                Err(e) => assert!(
                    e.is_truncation()
                        || matches!(
                            e,
                            ReadError::Empty { .. } | ReadError::NotACaptureFile { .. }
                        ),
                    "{} cut at {cut}: {e}",
                    f.name
                ),
            }
        }
    }
}

#[test]
fn corrupt_gzip_is_an_error_not_a_panic() {
    let f = &all_fixtures()[6];
    let mut gz = gzip(&f.bytes);
    let mid = gz.len() / 2;
    for b in &mut gz[mid..mid + 16] {
        *b ^= 0x55;
    }
    let r = read_bytes(&gz).unwrap();
    assert!(r.error.is_some());
}

//! Plain files are mapped into memory: every packet, error and count must be what reading
//! the same file through a buffer gives, at every length the file could be cut to.

mod common;

use common::{TempDir, all_fixtures, drain, gzip};
use flowsight_pcapfile::CaptureReader;

#[test]
fn a_mapped_file_reads_exactly_as_a_read_one_at_every_cut() {
    let dir = TempDir::new("mapped");
    let mut compared = 0;
    for f in all_fixtures() {
        for cut in 0..=f.bytes.len() {
            let path = dir.path("cut.pcap");
            std::fs::write(&path, &f.bytes[..cut]).unwrap();
            let (mapped, read) = (CaptureReader::open(&path), CaptureReader::open_read(&path));
            let (mapped, read) = match (mapped, read) {
                (Ok(m), Ok(r)) => {
                    // An empty file cannot be mapped; it fails to open either way.
                    assert!(m.is_mapped(), "{} cut at {cut}", f.name);
                    assert!(!r.is_mapped());
                    (drain(m), drain(r))
                }
                (Err(m), Err(r)) => {
                    assert_eq!(
                        format!("{m:?}"),
                        format!("{r:?}"),
                        "{} cut at {cut}",
                        f.name
                    );
                    continue;
                }
                (m, r) => panic!("{} cut at {cut}: {:?} vs {:?}", f.name, m.err(), r.err()),
            };
            assert_eq!(mapped.packets, read.packets, "{} cut at {cut}", f.name);
            assert_eq!(mapped.info, read.info, "{} cut at {cut}", f.name);
            assert_eq!(
                format!("{:?}", mapped.error),
                format!("{:?}", read.error),
                "{} cut at {cut}",
                f.name
            );
            // A mapped file counts as read as far as its records were walked.
            assert!(mapped.bytes_read <= cut as u64);
            if mapped.error.is_none() {
                assert_eq!(mapped.bytes_read, cut as u64, "{} cut at {cut}", f.name);
            }
            compared += 1;
        }
    }
    assert!(compared > 1000, "{compared}");
}

#[test]
fn gzip_files_and_empty_files_are_not_mapped() {
    let dir = TempDir::new("not-mapped");
    let f = &all_fixtures()[0];
    let gz = dir.path("x.pcap.gz");
    std::fs::write(&gz, gzip(&f.bytes)).unwrap();
    let r = CaptureReader::open(&gz).unwrap();
    assert!(!r.is_mapped());
    assert_eq!(drain(r).packets, f.packets);
    let empty = dir.path("empty.pcap");
    std::fs::write(&empty, b"").unwrap();
    assert!(CaptureReader::open(&empty).is_err());
}

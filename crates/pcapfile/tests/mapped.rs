//! Plain files are mapped into memory: every packet, error and count must be what reading
//! the same file through a buffer gives, at every length the file could be cut to.

mod common;

use common::{TempDir, all_fixtures, drain, gzip, long_pcap};
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

/// A file longer than the step at which a mapped file's pages are given back: every packet
/// still reads exactly as through a buffer, the ones lent out after a release included.
#[test]
fn a_long_mapped_file_reads_exactly_after_its_pages_are_given_back() {
    let dir = TempDir::new("mapped-long");
    let (bytes, i) = long_pcap(72 << 20);
    let path = dir.path("long.pcap");
    std::fs::write(&path, &bytes).unwrap();
    let mut mapped = CaptureReader::open(&path).unwrap();
    let mut read = CaptureReader::open_read(&path).unwrap();
    assert!(mapped.is_mapped());
    let mut n = 0;
    loop {
        match (mapped.next_packet(), read.next_packet()) {
            (None, None) => break,
            (Some(Ok(m)), Some(Ok(r))) => {
                assert_eq!((m.ts_ns, m.data), (r.ts_ns, r.data), "packet {n}");
                n += 1;
            }
            (m, r) => panic!(
                "packet {n}: {:?} vs {:?}",
                m.map(|x| x.is_ok()),
                r.map(|x| x.is_ok())
            ),
        }
    }
    assert_eq!(n, i as usize);
    assert_eq!(mapped.bytes_read(), bytes.len() as u64);
}

/// A stream that hands out a few bytes per read (as pipes and decoders may), so that records
/// straddle the reader's buffer and are read by its general path, not the whole-record one.
struct Dribble(Vec<u8>, usize);

impl std::io::Read for Dribble {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(1 + self.1 % 7).min(self.0.len() - self.1);
        buf[..n].copy_from_slice(&self.0[self.1..self.1 + n]);
        self.1 += n;
        Ok(n)
    }
}

#[test]
fn records_cut_by_the_buffer_read_exactly_as_whole_ones_at_every_cut() {
    let dir = TempDir::new("dribble");
    let mut compared = 0;
    for f in all_fixtures() {
        for cut in 1..=f.bytes.len() {
            let path = dir.path("cut.pcap");
            std::fs::write(&path, &f.bytes[..cut]).unwrap();
            let (Ok(mapped), Ok(streamed)) = (
                CaptureReader::open(&path),
                CaptureReader::new(Dribble(f.bytes[..cut].to_vec(), 0)),
            ) else {
                continue;
            };
            let (mapped, streamed) = (drain(mapped), drain(streamed));
            let at = format!("{} cut at {cut}", f.name);
            assert_eq!(mapped.packets, streamed.packets, "{at}");
            assert_eq!(
                format!("{:?}", mapped.error),
                format!("{:?}", streamed.error),
                "{at}"
            );
            compared += 1;
        }
    }
    assert!(compared > 1000, "{compared}");
}

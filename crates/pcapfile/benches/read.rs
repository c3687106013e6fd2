//! Read throughput: `cargo bench -p flowsight-pcapfile [-- FILE...]`.
//!
//! Reads each FILE (default: a synthetic 300,000-packet pcap made here) as classic pcap,
//! as pcapng (converted with the crate's writer) and gzip-compressed, best of five runs
//! from the page cache, touching every packet's bytes; prints packets/s and MB/s of capture
//! bytes. `capinfos -c` on the same files runs alongside as the peer, when installed.
//! Generated files go to the temporary directory and are removed.

use flowsight_pcapfile::{CaptureReader, EnhancedPacket, InterfaceSpec, PcapngWriter};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

fn main() {
    let files: Vec<PathBuf> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .map(PathBuf::from)
        .collect();
    let dir = std::env::temp_dir().join(format!("flowsight-pcapfile-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let inputs = if files.is_empty() {
        let p = dir.join("synthetic.pcap");
        synthesize(&p, 300_000);
        vec![p]
    } else {
        files
    };
    for input in &inputs {
        println!("== {}", input.display());
        let ng = dir.join("converted.pcapng");
        let gz = dir.join("converted.pcap.gz");
        to_pcapng(input, &ng);
        to_gzip(input, &gz);
        for (label, path) in [
            ("as given", input.as_path()),
            ("pcapng", &ng),
            ("gzip", &gz),
        ] {
            bench(label, path);
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Runs per measurement; the best is reported.
const RUNS: usize = 5;

/// Reads `path` [`RUNS`] times and prints the best run.
fn bench(label: &str, path: &Path) {
    let mut best = Duration::MAX;
    let (mut packets, mut bytes) = (0u64, 0u64);
    for _ in 0..RUNS {
        let start = Instant::now();
        let mut r = CaptureReader::open(path).expect("open");
        let (mut n, mut sum) = (0u64, 0u64);
        while let Some(p) = r.next_packet() {
            let p = p.expect("packet");
            n += 1;
            sum += p.data.len() as u64 + u64::from(p.data.first().copied().unwrap_or(0));
        }
        std::hint::black_box(sum);
        best = best.min(start.elapsed());
        packets = n;
        bytes = r.stream_offset();
    }
    let s = best.as_secs_f64();
    let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    println!(
        "{label:>9}: {packets} packets, {:.1} MB ({:.1} MB on disk) in {:.3} s: {:.2} M packets/s, {:.0} MB/s",
        bytes as f64 / 1e6,
        size as f64 / 1e6,
        s,
        packets as f64 / s / 1e6,
        bytes as f64 / s / 1e6
    );
    peer(path);
}

/// `capinfos -c`, which reads every packet through Wireshark's wiretap, timed the same way.
fn peer(path: &Path) {
    let mut best = Duration::MAX;
    for _ in 0..RUNS {
        let start = Instant::now();
        match Command::new("capinfos").arg("-c").arg(path).output() {
            Ok(o) if o.status.success() => best = best.min(start.elapsed()),
            _ => return,
        }
    }
    println!("{:>9}  capinfos -c: {:.3} s", "", best.as_secs_f64());
}

/// A classic pcap of `n` Ethernet/IPv4/UDP-looking frames, 60 to 1514 bytes, mostly small
/// or full-size as on real links.
fn synthesize(path: &Path, n: usize) {
    let mut w = BufWriter::new(std::fs::File::create(path).expect("create"));
    let mut header = 0xa1b2_c3d4u32.to_le_bytes().to_vec();
    header.extend_from_slice(&2u16.to_le_bytes());
    header.extend_from_slice(&4u16.to_le_bytes());
    for v in [0u32, 0, 262_144, 1] {
        header.extend_from_slice(&v.to_le_bytes());
    }
    w.write_all(&header).expect("write");
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let frame = vec![0x45u8; 1514];
    for i in 0..n {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let len = match x % 10 {
            0..=4 => 60 + (x >> 8) as usize % 40,
            5..=6 => 100 + (x >> 8) as usize % 500,
            _ => 1514,
        };
        let ts = 1_700_000_000u64 * 1_000_000 + i as u64 * 37;
        for v in [
            (ts / 1_000_000) as u32,
            (ts % 1_000_000) as u32,
            len as u32,
            len as u32,
        ] {
            w.write_all(&v.to_le_bytes()).expect("write");
        }
        w.write_all(&frame[..len]).expect("write");
    }
    w.flush().expect("flush");
}

/// The same packets as pcapng, through the crate's writer.
fn to_pcapng(input: &Path, out: &Path) {
    let mut r = CaptureReader::open(input).expect("open");
    let file = BufWriter::with_capacity(1 << 20, std::fs::File::create(out).expect("create"));
    let mut w = PcapngWriter::new(file).expect("pcapng");
    let link = r.info().interfaces[0].link;
    w.add_interface(&InterfaceSpec {
        link,
        snaplen: 0,
        name: Some("bench0"),
        description: None,
    })
    .expect("idb");
    while let Some(p) = r.next_packet() {
        let p = p.expect("packet");
        w.write_packet(&EnhancedPacket {
            interface: 0,
            ts_ns: p.ts_ns,
            orig_len: p.orig_len,
            data: p.data,
            options: &[],
        })
        .expect("epb");
    }
    w.into_inner().expect("flush");
}

/// The file gzip-compressed (fast level, as capture tools compress on the fly).
fn to_gzip(input: &Path, out: &Path) {
    let mut src = std::fs::File::open(input).expect("open");
    let dst = std::fs::File::create(out).expect("create");
    let mut e = flate2::write::GzEncoder::new(BufWriter::new(dst), flate2::Compression::fast());
    std::io::copy(&mut src, &mut e).expect("compress");
    e.finish().expect("finish").flush().expect("flush");
}

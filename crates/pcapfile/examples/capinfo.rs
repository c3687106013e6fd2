//! Prints what a capture file says about itself and counts its packets:
//! `cargo run --release -p flowsight-pcapfile --example capinfo -- FILE|-`.

use flowsight_pcapfile::CaptureReader;
use std::time::Instant;

fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: capinfo FILE (or - for standard input)");
        std::process::exit(2);
    };
    let start = Instant::now();
    let mut r = match CaptureReader::open(&path) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{path}: {e}");
            std::process::exit(1);
        }
    };
    let (mut bytes, mut error) = (0u64, None);
    while let Some(p) = r.next_packet() {
        match p {
            Ok(p) => bytes += p.data.len() as u64,
            Err(e) => error = Some(e),
        }
    }
    let secs = start.elapsed().as_secs_f64();
    let info = r.info();
    println!(
        "{path}: {} {:?} {:?}, version {}.{}, {} section(s)",
        info.format.name(),
        info.compression,
        info.byte_order,
        info.version.0,
        info.version.1,
        info.sections
    );
    for (i, iface) in info.interfaces.iter().enumerate() {
        println!(
            "  interface {i}: {} snaplen {} name {:?} tsresol {:#x}",
            iface.link, iface.snaplen, iface.name, iface.tsresol
        );
    }
    println!(
        "  {} packets, {bytes} captured bytes, {} bytes read of {:?}, in {secs:.3} s ({:.2} M packets/s)",
        r.packets_read(),
        r.bytes_read(),
        info.file_size,
        r.packets_read() as f64 / secs / 1e6
    );
    if let Some(e) = error {
        println!(
            "  {}: {e}",
            if e.is_truncation() {
                "warning"
            } else {
                "error"
            }
        );
    }
}

//! `-` reads standard input. The test re-runs its own binary with a capture on stdin, since
//! a test cannot replace its own standard input.

mod common;

use common::{TempDir, gzip, pcapng_two_sections};
use flowsight_pcapfile::CaptureReader;
use std::process::{Command, Stdio};

const CHILD: &str = "FLOWSIGHT_PCAPFILE_STDIN_CHILD";

#[test]
fn dash_reads_standard_input() {
    if std::env::var_os(CHILD).is_some() {
        // The child: read stdin and report what it saw.
        let mut r = CaptureReader::open("-").unwrap();
        let mut n = 0;
        while let Some(p) = r.next_packet() {
            p.unwrap();
            n += 1;
        }
        println!(
            "PACKETS={n} FORMAT={:?} SIZE={:?}",
            r.info().compression,
            r.info().file_size
        );
        return;
    }
    let f = pcapng_two_sections();
    let dir = TempDir::new("stdin");
    for (name, bytes, compression) in [
        ("plain", f.bytes.clone(), "None"),
        ("gz", gzip(&f.bytes), "Gzip"),
    ] {
        let path = dir.path(name);
        std::fs::write(&path, bytes).unwrap();
        let out = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "dash_reads_standard_input",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD, "1")
            .stdin(Stdio::from(std::fs::File::open(&path).unwrap()))
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let want = format!("PACKETS={} FORMAT={compression} SIZE=None", f.packets.len());
        assert!(stdout.contains(&want), "{name}: {stdout}");
    }
}

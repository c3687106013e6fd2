//! `flowsight capture -r IN -w OUT` (no root): packets copied byte for byte into pcapng, each
//! annotated with its flow and, from a `flowsight live` record log, its process; tshark
//! reads the comments back when it is installed (a loud SKIP otherwise).

mod frames;

use flowsight_pcapfile::{CaptureReader, FLOWSIGHT_PEN};
use frames::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A directory removed on drop.
struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> Dir {
        let p = std::env::temp_dir().join(format!("fs-capture-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        Dir(p)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn flowsight(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_flowsight"))
        .args(args)
        .output()
        .expect("run flowsight")
}

fn skip(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// An HTTP exchange (the flow a process will own) and a DNS query (no owner).
fn input() -> Vec<Vec<u8>> {
    vec![
        tcp_frame(true, 100, 0, SYN, b""),
        tcp_frame(false, 500, 101, SYN | ACK, b""),
        tcp_frame(true, 101, 501, ACK, b""),
        tcp_frame(true, 101, 501, PSH_ACK, REQUEST),
        tcp_frame(false, 501, 101 + REQUEST.len() as u32, PSH_ACK, RESPONSE),
        udp_frame(
            [10, 0, 0, 9],
            [10, 0, 0, 53],
            5353,
            53,
            b"\x12\x34\x01\x00\x00\x01",
        ),
        tcp_frame(
            true,
            101 + REQUEST.len() as u32,
            501 + RESPONSE.len() as u32,
            FIN_ACK,
            b"",
        ),
    ]
}

/// The record log `flowsight live` would have written for the input: `flowsight read`'s flow
/// records with the client end owned by pid 4242.
fn record_log(dir: &Path, pcap: &Path) -> PathBuf {
    let out = flowsight(&["read", pcap.to_str().unwrap(), "--no-protocols"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut log = String::new();
    for line in String::from_utf8(out.stdout).unwrap().lines() {
        let mut v: Value = serde_json::from_str(line).unwrap();
        if v["type"] == "flow" && v["network"]["transport"] == "tcp" {
            v["source"]["process"] = serde_json::json!({
                "pid": 4242, "name": "fs-client", "executable": "/usr/bin/fs-client",
                "args": ["fs-client", "--get", "/a/b"]
            });
            v["source"]["user"] = serde_json::json!({"id": "1000", "name": "alice"});
        }
        log.push_str(&v.to_string());
        log.push('\n');
    }
    assert!(log.contains("4242"), "no TCP flow record: {log}");
    let path = dir.join("records.json");
    std::fs::write(&path, log).unwrap();
    path
}

/// One written packet: its bytes, its comment, its custom key=values.
type Written = (Vec<u8>, Option<String>, Vec<(String, String)>);

/// Every packet of a capture.
fn packets(path: &Path) -> Vec<Written> {
    let mut r = CaptureReader::open(path).unwrap();
    let mut out = Vec::new();
    while let Some(p) = r.next_packet() {
        let p = p.unwrap();
        let kv = p
            .options
            .custom()
            .filter(|c| c.pen == FLOWSIGHT_PEN)
            .filter_map(|c| c.key_value())
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        out.push((p.data.to_vec(), p.comment.map(str::to_string), kv));
    }
    out
}

#[test]
fn annotates_a_capture_byte_for_byte_from_a_record_log() {
    let dir = Dir::new("annotate");
    let frames = input();
    let pcap = dir.0.join("in.pcap");
    std::fs::write(&pcap, frames::pcap(&frames)).unwrap();
    let records = record_log(&dir.0, &pcap);
    let out = dir.0.join("out.pcapng");
    let run = flowsight(&[
        "capture",
        "-r",
        pcap.to_str().unwrap(),
        "-w",
        out.to_str().unwrap(),
        "--records",
        records.to_str().unwrap(),
    ]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );

    let got = packets(&out);
    assert_eq!(got.len(), frames.len());
    for (i, ((data, comment, kv), frame)) in got.iter().zip(&frames).enumerate() {
        assert_eq!(data, frame, "packet {i} bytes");
        let comment = comment
            .as_deref()
            .unwrap_or_else(|| panic!("packet {i}: no comment"));
        assert!(comment.contains("CommunityID: 1:"), "{comment}");
        if i == 5 {
            assert!(
                !comment.contains("PID"),
                "the DNS query has no owner: {comment}"
            );
        } else {
            assert!(
                comment.starts_with("PID: 4242\nCmd: /usr/bin/fs-client\nArgs: fs-client --get /a/b\nUser: alice (1000)\n"),
                "packet {i}: {comment}"
            );
            assert!(
                kv.contains(&("process.pid".into(), "4242".into())),
                "{kv:?}"
            );
            assert!(kv.contains(&("user.name".into(), "alice".into())), "{kv:?}");
        }
    }

    // tshark reads the file and shows every comment.
    if Command::new("tshark").arg("-v").output().is_err() {
        skip(
            "SKIP (no tshark): annotates_a_capture_byte_for_byte_from_a_record_log's tshark check",
        );
        return;
    }
    let t = Command::new("tshark")
        .args([
            "-r",
            out.to_str().unwrap(),
            "-T",
            "fields",
            "-e",
            "frame.comment",
            "-e",
            "frame.len",
        ])
        .output()
        .unwrap();
    assert!(t.status.success(), "{}", String::from_utf8_lossy(&t.stderr));
    let text = String::from_utf8(t.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), frames.len(), "{text}");
    for (i, l) in lines.iter().enumerate() {
        assert!(l.contains("CommunityID: 1:"), "{l}");
        assert_eq!(l.contains("PID: 4242"), i != 5, "{l}");
        assert!(l.ends_with(&format!("\t{}", frames[i].len())), "{l}");
    }
}

#[test]
fn filters_by_owner_and_expression() {
    let dir = Dir::new("filters");
    let frames = input();
    let pcap = dir.0.join("in.pcap");
    std::fs::write(&pcap, frames::pcap(&frames)).unwrap();
    let records = record_log(&dir.0, &pcap);
    let out = dir.0.join("out.pcapng");
    let run = |extra: &[&str]| {
        let mut args = vec![
            "capture",
            "-r",
            pcap.to_str().unwrap(),
            "-w",
            out.to_str().unwrap(),
            "--records",
            records.to_str().unwrap(),
        ];
        args.extend(extra);
        flowsight(&args)
    };
    // By owner: the TCP flow only.
    for filter in [
        &["--pid", "4242"][..],
        &["--user", "alice"],
        &["--comm", "fs-client"],
    ] {
        let r = run(filter);
        assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
        let got = packets(&out);
        assert_eq!(got.len(), 6, "{filter:?}");
        assert!(got.iter().all(|(d, _, _)| d[23] == 6), "TCP only");
    }
    let r = run(&["--pid", "1"]);
    assert!(r.status.success());
    assert!(packets(&out).is_empty());
    // Without a log: every packet, with its flow only.
    let r = flowsight(&[
        "capture",
        "-r",
        pcap.to_str().unwrap(),
        "-w",
        out.to_str().unwrap(),
    ]);
    assert!(r.status.success());
    let got = packets(&out);
    assert_eq!(got.len(), frames.len());
    assert!(
        got.iter()
            .all(|(_, c, _)| c.as_deref().unwrap().starts_with("CommunityID: 1:"))
    );
    // A tcpdump expression (libpcap).
    let r = run(&["udp", "and", "dst", "port", "53"]);
    let err = String::from_utf8_lossy(&r.stderr);
    if err.contains("need libpcap") {
        skip("SKIP (no libpcap): filters_by_owner_and_expression's expression check");
        return;
    }
    assert!(r.status.success(), "{err}");
    let got = packets(&out);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].0, frames[5]);
    // A bad expression is one clear line.
    let r = run(&["port", "banana"]);
    assert!(!r.status.success());
    let err = String::from_utf8_lossy(&r.stderr);
    assert!(
        err.starts_with("flowsight: error: bad filter expression \"port banana\""),
        "{err}"
    );
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
}

#[test]
fn writes_to_standard_output() {
    let dir = Dir::new("stdout");
    let frames = input();
    let pcap = dir.0.join("in.pcap");
    std::fs::write(&pcap, frames::pcap(&frames)).unwrap();
    let r = flowsight(&["capture", "-r", pcap.to_str().unwrap(), "-w", "-"]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let mut reader = CaptureReader::new(std::io::Cursor::new(r.stdout)).unwrap();
    let mut n = 0;
    while let Some(p) = reader.next_packet() {
        let p = p.unwrap();
        assert_eq!(p.data, frames[n]);
        assert!(p.comment.unwrap().starts_with("CommunityID: 1:"));
        n += 1;
    }
    assert_eq!(n, frames.len());
    assert!(!dir.0.join("-").exists(), "no file named -");
}

//! `flowsight read` end to end: a capture written here, packet by packet, run through the
//! real binary; every record checked field by field. No root needed.

mod frames;

use frames::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A whole HTTP/1.1 exchange: handshake, request, response, both FINs.
fn http_frames() -> Vec<Vec<u8>> {
    let (c0, s0) = (1000u32, 5000u32);
    let (c1, s1) = (c0 + 1, s0 + 1);
    let c2 = c1 + REQUEST.len() as u32;
    let s2 = s1 + RESPONSE.len() as u32;
    vec![
        tcp_frame(true, c0, 0, SYN, b""),
        tcp_frame(false, s0, c1, SYN | ACK, b""),
        tcp_frame(true, c1, s1, ACK, b""),
        tcp_frame(true, c1, s1, PSH_ACK, REQUEST),
        tcp_frame(false, s1, c2, PSH_ACK, RESPONSE),
        tcp_frame(true, c2, s2, FIN_ACK, b""),
        tcp_frame(false, s2, c2 + 1, FIN_ACK, b""),
        tcp_frame(true, c2 + 1, s2 + 1, ACK, b""),
    ]
}

/// A test's scratch directory, removed when the test's thread ends (libtest runs each test
/// on a thread of its own), failed or not.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

thread_local! {
    static SCRATCH: Scratch = {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir()
            .join(format!("flowsight-read-cli-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    };
}

fn scratch(name: &str) -> PathBuf {
    SCRATCH.with(|s| s.0.join(name))
}

fn read(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_flowsight"))
        .arg("read")
        .args(args)
        .env("RUST_BACKTRACE", "0")
        .output()
        .expect("running flowsight")
}

fn records(stdout: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

fn of_type<'a>(rs: &'a [Value], kind: &str) -> Vec<&'a Value> {
    rs.iter().filter(|r| r["type"] == kind).collect()
}

fn write_capture(name: &str, bytes: &[u8]) -> PathBuf {
    let p = scratch(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn an_http_exchange_gives_exact_flow_http_and_stats_records() {
    let frames = http_frames();
    let file = write_capture("http.pcap", &pcap(&frames));
    let out = read(&[path(&file)]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rs = records(&out.stdout);

    let flows = of_type(&rs, "flow");
    assert_eq!(flows.len(), 1, "{rs:#?}");
    let f = flows[0];
    let bytes = |idx: &[usize]| idx.iter().map(|&i| frames[i].len() as u64).sum::<u64>();
    assert_eq!(f["source"]["ip"], "10.1.2.3");
    assert_eq!(f["source"]["port"], CPORT);
    assert_eq!(f["destination"]["port"], SPORT);
    assert_eq!(f["source"]["packets"], 5);
    assert_eq!(f["destination"]["packets"], 3);
    assert_eq!(f["source"]["bytes"], bytes(&[0, 2, 3, 5, 7]));
    assert_eq!(f["destination"]["bytes"], bytes(&[1, 4, 6]));
    assert_eq!(f["event"]["reason"], "end");
    assert_eq!(f["network"]["transport"], "tcp");

    let http = of_type(&rs, "http");
    assert_eq!(http.len(), 1, "{rs:#?}");
    let h = http[0];
    assert_eq!(h["http"]["request"]["method"], "GET");
    assert_eq!(h["url"]["domain"], "example.test");
    assert_eq!(h["url"]["path"], "/a/b");
    assert_eq!(h["url"]["query"], "x=1");
    assert_eq!(h["user_agent"]["original"], "t/1");
    assert_eq!(h["http"]["response"]["status_code"], 404);
    assert_eq!(h["http"]["response"]["mime_type"], "text/plain");
    assert_eq!(h["http"]["response"]["server"], "s/2");
    assert_eq!(h["http"]["response"]["body"]["bytes"], 5);
    // Request at 30 ms, response at 40 ms.
    assert_eq!(h["event"]["duration"], 10_000_000);
    assert_eq!(h["network"]["community_id"], f["network"]["community_id"]);

    // The final stats record comes last and adds up.
    let last = rs.last().unwrap();
    assert_eq!(last["type"], "stats");
    assert_eq!(last["flowsight"]["final"], true);
    assert_eq!(last["flowsight"]["events_read"]["packets"], frames.len());
    let written = &last["flowsight"]["records_written"];
    assert_eq!(
        (written["flow"].as_u64(), written["http"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(written["stats"], 1);
    assert!(of_type(&rs, "weird").is_empty(), "{rs:#?}");
}

#[test]
fn gzip_threads_and_output_file_give_the_same_records() {
    let bytes = pcap(&http_frames());
    let plain = write_capture("same.pcap", &bytes);
    let gz = scratch("same.pcap.gz");
    let status = Command::new("sh")
        .arg("-c")
        .arg(format!("gzip -c {} > {}", path(&plain), path(&gz)))
        .status()
        .unwrap();
    assert!(status.success());
    // Everything but the stats record's clock fields must match.
    let normalize = |rs: Vec<Value>| -> Vec<String> {
        let mut v: Vec<String> = rs
            .into_iter()
            .filter(|r| r["type"] != "stats")
            .map(|r| r.to_string())
            .collect();
        v.sort();
        v
    };
    let base = normalize(records(&read(&[path(&plain)]).stdout));
    assert_eq!(base.len(), 2);
    assert_eq!(normalize(records(&read(&[path(&gz)]).stdout)), base);
    assert_eq!(
        normalize(records(&read(&["--threads", "2", path(&plain)]).stdout)),
        base
    );
    let out_file = scratch("out.jsonl");
    let out = read(&["-o", path(&out_file), path(&plain)]);
    assert!(out.status.success());
    assert!(out.stdout.is_empty());
    assert_eq!(normalize(records(&std::fs::read(&out_file).unwrap())), base);
}

/// A classic pcap whose packet `i` is at `ts_us[i]` microseconds.
fn pcap_at(frames: &[(u64, Vec<u8>)]) -> Vec<u8> {
    let mut out = pcap(&[]);
    for (us, f) in frames {
        out.extend_from_slice(&((1_700_000_000 + us / 1_000_000) as u32).to_le_bytes());
        out.extend_from_slice(&((us % 1_000_000) as u32).to_le_bytes());
        out.extend_from_slice(&(f.len() as u32).to_le_bytes());
        out.extend_from_slice(&(f.len() as u32).to_le_bytes());
        out.extend_from_slice(f);
    }
    out
}

/// [`pcap_at`]'s packets in a pcapng file (one Ethernet interface).
fn pcapng_at(frames: &[(u64, Vec<u8>)]) -> Vec<u8> {
    use flowsight_pcapfile::{EnhancedPacket, InterfaceSpec, LinkType, PcapngWriter};
    let mut w = PcapngWriter::new(Vec::new()).unwrap();
    let interface = w
        .add_interface(&InterfaceSpec {
            link: LinkType(1),
            snaplen: 0,
            name: None,
            description: None,
        })
        .unwrap();
    for (us, f) in frames {
        w.write_packet(&EnhancedPacket {
            interface,
            ts_ns: (1_700_000_000_000_000 + us) * 1000,
            orig_len: f.len() as u32,
            data: f,
            options: &[],
        })
        .unwrap();
    }
    w.into_inner().unwrap()
}

/// A capture written as a classic pcap file, a pcapng file and a gzip-compressed pcap: the
/// three ways `read --threads` reads one (route.rs): the pcap file mapped and its walk
/// shared by the threads, chunk by chunk; the pcapng file mapped and walked by every
/// thread; the gzip stream read once and its frames copied out to the threads.
fn written_three_ways(name: &str, frames: &[(u64, Vec<u8>)]) -> [(&'static str, PathBuf); 3] {
    let plain = write_capture(&format!("{name}.pcap"), &pcap_at(frames));
    let ng = write_capture(&format!("{name}.pcapng"), &pcapng_at(frames));
    let gz = scratch(&format!("{name}.pcap.gz"));
    let status = Command::new("sh")
        .arg("-c")
        .arg(format!("gzip -c {} > {}", path(&plain), path(&gz)))
        .status()
        .unwrap();
    assert!(status.success());
    [
        ("a plain file", plain),
        ("a pcapng file", ng),
        ("a gzip stream", gz),
    ]
}

/// The records of `read --threads THREADS ARGS FILE` but the stats record, sorted (records
/// of different flows interleave differently with more than one thread).
fn sorted_records(threads: &str, file: &Path, args: &[&str]) -> Vec<String> {
    let mut all = vec!["--threads", threads];
    all.extend_from_slice(args);
    all.push(path(file));
    let out = read(&all);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut v: Vec<String> = records(&out.stdout)
        .into_iter()
        .filter(|r| r["type"] != "stats")
        .map(|r| r.to_string())
        .collect();
    v.sort();
    v
}

/// Each of `files` read with 2, 3 and 8 threads gives `one_thread`'s records. 8: more
/// threads than this machine has cores, walkers contending for the cursor.
fn same_with_threads(files: &[(&str, PathBuf)], args: &[&str], one_thread: &[String]) {
    for threads in ["2", "3", "8"] {
        for (how, file) in files {
            let got = sorted_records(threads, file, args);
            // Only the records that differ: a whole capture's would bury them.
            let only = |a: &[String], b: &[String]| -> Vec<String> {
                a.iter()
                    .filter(|r| !b.contains(r))
                    .take(4)
                    .cloned()
                    .collect()
            };
            assert!(
                got == one_thread,
                "--threads {threads} on {how}: {} records against {}; only with threads: \
                 {:#?}; only with one: {:#?}",
                got.len(),
                one_thread.len(),
                only(&got, one_thread),
                only(one_thread, &got),
            );
        }
    }
}

/// Many flows over a minute of capture time, with pauses longer than the idle timeout and
/// lives longer than the active one: records are written at ageing passes, stamped with
/// their time, and each thread count and input path must age at the same instants.
#[test]
fn threads_age_flows_at_the_same_instants_as_one_engine() {
    let mut frames = Vec::new();
    for i in 0..3000u64 {
        let flow = (i * 7919) % 61;
        // Flows with a multiple of 5 fall silent for a while in the middle.
        if flow % 5 == 0 && (1000..1600).contains(&i) {
            continue;
        }
        let src = [10, 0, (flow / 8) as u8, (flow % 8) as u8 + 1];
        let payload = format!("payload {i}");
        let f = if i % 2 == 0 {
            udp_frame(src, SERVER, 20000 + flow as u16, 5000, payload.as_bytes())
        } else {
            udp_frame(SERVER, src, 5000, 20000 + flow as u16, payload.as_bytes())
        };
        // 20 ms apart, a few microseconds of jitter: 60 s in all.
        frames.push((i * 20_000 + (i * 37) % 11, f));
    }
    let args = ["--idle-timeout", "3", "--active-timeout", "7"];
    let files = written_three_ways("aged", &frames);
    let base = sorted_records("1", &files[0].1, &args);
    let of = |reason: &str| {
        base.iter()
            .filter(|r| r.contains(&format!("\"reason\":\"{reason}\"")))
            .count()
    };
    // Interim records of the long flows, idle ends of the paused ones, and the rest at
    // the end of the input.
    assert!(of("active-timeout") > 50, "{}", of("active-timeout"));
    assert!(of("idle-timeout") >= 12, "{}", of("idle-timeout"));
    assert_eq!(
        sorted_records("1", &files[1].1, &args),
        base,
        "one thread on pcapng"
    );
    same_with_threads(&files, &args, &base);
}

#[test]
fn a_capture_cut_mid_packet_warns_once_and_keeps_what_came_before() {
    let bytes = pcap(&http_frames());
    // Cut inside the last packet's data.
    let file = write_capture("cut.pcap", &bytes[..bytes.len() - 20]);
    // One thread, and several each walking the mapped file (each meets the cut).
    for threads in ["1", "3"] {
        let out = read(&["--threads", threads, path(&file)]);
        assert!(out.status.success());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(stderr.lines().count(), 1, "{threads} threads: {stderr}");
        assert!(
            stderr.contains("warning") && stderr.contains("7 packets"),
            "{threads} threads: {stderr}"
        );
        let rs = records(&out.stdout);
        assert_eq!(of_type(&rs, "http").len(), 1, "{threads} threads");
        assert_eq!(of_type(&rs, "flow").len(), 1, "{threads} threads");
        let last = rs.last().unwrap();
        assert_eq!(last["type"], "stats");
        assert_eq!(last["flowsight"]["events_read"]["packets"], 7);
    }
}

#[test]
fn unreadable_input_is_one_clear_line_and_a_failure_exit() {
    let missing = scratch("does-not-exist.pcap");
    let junk = write_capture("junk.pcap", b"this is not a capture file at all\n");
    for (file, expect) in [
        (path(&missing), "does-not-exist.pcap"),
        (path(&junk), "junk.pcap"),
    ] {
        let out = read(&[file]);
        assert!(!out.status.success(), "{file} was accepted");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
        assert!(stderr.contains(expect), "{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert!(out.stdout.is_empty());
    }
}

/// GTP-U tunnels over IPv4 and IPv4-in-IPv6 tunnels whose outer datagrams come in two
/// fragments: each fragment counts in the tunnel's own flow (as the kernel counts it live) and the datagram rebuilt from the two
/// carries an inner flow. With several threads the tunnel's pair and the inner flow's are
/// often two threads', and the fragment goes to both; the records must be one engine's,
/// with each tunnel's flow in one record.
#[test]
fn a_tunnels_fragments_give_one_engines_records_with_any_threads() {
    const TUNNELS: u8 = 24;
    let sgw = [172, 16, 200, 1];
    let mut frames = Vec::new();
    let mut ident = 0u16;
    // One millisecond apart.
    let at = |frames: &mut Vec<(u64, Vec<u8>)>, f: Vec<u8>| {
        frames.push((frames.len() as u64 * 1000, f));
    };
    for tunnel in 0..TUNNELS {
        let enb = [172, 16, 100, tunnel + 1];
        for inner in 0..3u8 {
            let ue = [10, 45, tunnel, inner + 1];
            for n in 0..4u16 {
                let payload = vec![b'a' + inner; 400 + usize::from(n)];
                let packet =
                    udp_frame(ue, [192, 0, 2, 9], 30000 + u16::from(inner), 7000, &payload);
                let outer = udp_frame(
                    enb,
                    sgw,
                    2152,
                    2152,
                    &gtp_u(u32::from(tunnel), &packet[14..]),
                );
                if n == 0 {
                    ident += 1;
                    for f in fragments(&outer, ident, &[200]) {
                        at(&mut frames, f);
                    }
                } else if n == 2 {
                    // Three fragments, the last before the middle one.
                    ident += 1;
                    let f = fragments(&outer, ident, &[200, 304]);
                    for i in [0, 2, 1] {
                        at(&mut frames, f[i].clone());
                    }
                } else {
                    at(&mut frames, outer);
                }
            }
        }
        // A tunnel packet whose payload is no IP packet: it counts in the tunnel's flow.
        at(
            &mut frames,
            udp_frame(enb, sgw, 2152, 2152, &gtp_u(7, b"\x01\x02")),
        );
    }
    // One more GTP-U tunnel seen through a mirror port that shows every frame twice: the
    // copy of a datagram's last fragment comes after the datagram is whole.
    let mirrored = [172, 16, 150, 1];
    for n in 0..8u16 {
        let packet = udp_frame([10, 99, 0, 1], [192, 0, 2, 10], 31000, 7001, &[b'm'; 500]);
        let outer = udp_frame(mirrored, sgw, 2152, 2152, &gtp_u(99, &packet[14..]));
        ident += 1;
        let copies: Vec<Vec<u8>> = if n % 2 == 0 {
            fragments(&outer, ident, &[200])
        } else {
            vec![outer]
        };
        for f in copies {
            at(&mut frames, f.clone());
            at(&mut frames, f);
        }
    }
    // IPv4 in IPv6 (DS-Lite's tunnel), in IPv6 fragments.
    let aftr = [0x20, 1, 0x0d, 0xb8, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
    for tunnel in 0..TUNNELS {
        let mut b4 = [0x20, 1, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        b4[15] = tunnel + 1;
        for inner in 0..3u8 {
            let host = [192, 168, tunnel, inner + 1];
            for n in 0..4u16 {
                let payload = vec![b'A' + inner; 300 + usize::from(n)];
                let packet = udp_frame(
                    host,
                    [192, 0, 2, 9],
                    40000 + u16::from(inner),
                    7000,
                    &payload,
                );
                if n % 2 == 0 {
                    ident += 1;
                    let mut f = ipv6_fragments(b4, aftr, 4, &packet[14..], u32::from(ident), 160);
                    if n == 2 {
                        // The last fragment first, as Linux once sent them.
                        f.reverse();
                    }
                    for f in f {
                        at(&mut frames, f);
                    }
                } else {
                    at(&mut frames, ipv6_frame(b4, aftr, 4, &packet[14..]));
                }
            }
        }
    }
    let files = written_three_ways("gtp-fragments", &frames);
    let base = sorted_records("1", &files[0].1, &[]);
    let flows: Vec<Value> = base
        .iter()
        .map(|r| serde_json::from_str::<Value>(r).unwrap())
        .filter(|r| r["type"] == "flow")
        .collect();
    // One record per tunnel the filter picks, each of `packets` packets.
    let one_record_each = |tunnel: &dyn Fn(&Value) -> bool, packets: u64| {
        let tunnels: Vec<&Value> = flows.iter().filter(|r| tunnel(r)).collect();
        assert_eq!(tunnels.len(), usize::from(TUNNELS), "{tunnels:#?}");
        for t in &tunnels {
            assert_eq!(t["network"]["packets"], packets, "{t}");
        }
    };
    // GTP-U: the 15 fragments and the packet without IP in it.
    one_record_each(
        &|r| r["source"]["port"] == 2152 && r["source"]["ip"] != "172.16.150.1",
        16,
    );
    // IPv6: the 12 fragments.
    one_record_each(&|r| r["network"]["iana_number"] == "4", 12);
    // Each inner flow: its 4 packets, two of them rebuilt from fragments and counted as the
    // frames that carried each.
    let inner: Vec<&Value> = flows
        .iter()
        .filter(|r| r["destination"]["port"] == 7000)
        .collect();
    assert_eq!(inner.len(), 2 * 3 * usize::from(TUNNELS));
    for f in &inner {
        // GTP-U's inner flows had a datagram in three fragments.
        let gtp = f["source"]["ip"].as_str().unwrap().starts_with("10.45.");
        assert_eq!(f["network"]["packets"], if gtp { 7 } else { 6 }, "{f}");
    }
    same_with_threads(&files, &[], &base);
}

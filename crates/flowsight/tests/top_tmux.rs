//! `flowsight top -r FILE` in a real terminal: the binary runs in a tmux session over a
//! capture written here, keys are sent with `tmux send-keys`, and the screen is read back with
//! `tmux capture-pane`. Skipped, loudly, where tmux is missing. No root needed.

mod common;
mod frames;

use common::flowsight_bin;
use common::tmux::{Tmux, line, process_exists};
use frames::*;
use std::time::{Duration, Instant};

const RESOLVER: [u8; 4] = [10, 5, 5, 5];

/// A DNS query for example.test A, or its answer (10.9.8.7).
fn dns(answer: bool) -> Vec<u8> {
    let mut m = vec![0x12, 0x34];
    m.extend_from_slice(if answer { &[0x81, 0x80] } else { &[0x01, 0x00] });
    m.extend_from_slice(&[0, 1, 0, u8::from(answer), 0, 0, 0, 0]);
    m.extend_from_slice(b"\x07example\x04test\x00\x00\x01\x00\x01");
    if answer {
        m.extend_from_slice(&[0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4]);
        m.extend_from_slice(&SERVER);
    }
    m
}

/// A DNS lookup, then an HTTP/1.1 exchange with the address it gave.
fn frames() -> (Vec<Vec<u8>>, [u64; 2], [u64; 2]) {
    let (c1, s1) = (1001u32, 5001u32);
    let c2 = c1 + REQUEST.len() as u32;
    let s2 = s1 + RESPONSE.len() as u32;
    let lookup = vec![
        udp_frame(CLIENT, RESOLVER, 53000, 53, &dns(false)),
        udp_frame(RESOLVER, CLIENT, 53, 53000, &dns(true)),
    ];
    let http = vec![
        (true, tcp_frame(true, c1 - 1, 0, SYN, b"")),
        (false, tcp_frame(false, s1 - 1, c1, SYN | ACK, b"")),
        (true, tcp_frame(true, c1, s1, ACK, b"")),
        (true, tcp_frame(true, c1, s1, PSH_ACK, REQUEST)),
        (false, tcp_frame(false, s1, c2, PSH_ACK, RESPONSE)),
        (true, tcp_frame(true, c2, s2, FIN_ACK, b"")),
        (false, tcp_frame(false, s2, c2 + 1, FIN_ACK, b"")),
        (true, tcp_frame(true, c2 + 1, s2 + 1, ACK, b"")),
    ];
    let len = |f: &Vec<u8>| f.len() as u64;
    let dns_bytes = [len(&lookup[0]), len(&lookup[1])];
    let mut http_bytes = [0, 0];
    for (from_client, f) in &http {
        http_bytes[usize::from(!from_client)] += len(f);
    }
    let mut all = lookup;
    all.extend(http.into_iter().map(|(_, f)| f));
    (all, http_bytes, dns_bytes)
}

/// Skips loudly without tmux; else writes `frames` as a capture, starts `flowsight top -r` on
/// it in a private tmux session of 120x30, and returns the session. The pane's process is
/// flowsight itself; its stderr is kept ([`Tmux::stderr`]).
fn start_top(test: &str, frames: &[Vec<u8>]) -> Option<Tmux> {
    let mut tmux = Tmux::new(test)?;
    // The header names the file: `top.pcap` for every test, each in its own directory.
    let file = tmux.dir().join("top.pcap");
    std::fs::write(&file, pcap(frames)).unwrap();
    tmux.start(
        120,
        30,
        &format!("{} top -r {}", flowsight_bin(), file.display()),
    );
    Some(tmux)
}

#[test]
fn top_replays_a_capture_in_tmux_switches_grouping_drills_down_and_quits() {
    let (frames, http, dns) = frames();
    let Some(tmux) = start_top("top_replays_a_capture_in_tmux", &frames) else {
        return;
    };

    // A capture has no owners, so top opens on hosts: the web server and the resolver,
    // the busier first, with exact byte totals (each under 1 KiB, so shown in bytes).
    let s = tmux.wait_for("both hosts, all read", |s| {
        s.contains("10.9.8.7") && s.contains("10.5.5.5") && s.contains("done")
    });
    // Replayed at once, rates are averages over the capture's 90 ms.
    assert_eq!(
        s.lines().next().unwrap().trim_end(),
        "flowsight top | host | 2 rows | filter: - | rates over 0.09 s | top.pcap: 10 packets, done",
        "{s}"
    );
    let web = line(&s, "10.9.8.7");
    assert!(web.starts_with("> 10.9.8.7 "), "{s}");
    assert!(
        web.ends_with(&format!("{} B {:>10}", http[0], format!("{} B", http[1]))),
        "{web}"
    );
    let resolver = line(&s, "10.5.5.5");
    assert!(
        resolver.ends_with(&format!("{} B {:>10}", dns[0], format!("{} B", dns[1]))),
        "{resolver}"
    );
    assert!(s.contains("p/u/c/h/f group"), "{s}");
    let web_row = s.lines().position(|l| l.contains("10.9.8.7")).unwrap();
    let resolver_row = s.lines().position(|l| l.contains("10.5.5.5")).unwrap();
    assert!(web_row < resolver_row, "sorted by rate:\n{s}");

    // f: one row per flow, with both ends and ports.
    tmux.keys(&["f"]);
    let s = tmux.wait_for("the flow grouping", |s| s.contains("| flow |"));
    let web = line(&s, "10.9.8.7:80");
    assert!(web.starts_with("> tcp   10.1.2.3:40000"), "{s}");
    assert!(web.contains(" -  ") && web.contains(" end "), "{web}");
    assert!(
        line(&s, "10.5.5.5:53").contains("udp   10.1.2.3:53000"),
        "{s}"
    );

    // Enter: the flow and its HTTP record; Esc: back to the list.
    tmux.keys(&["Enter"]);
    let s = tmux.wait_for("the flow's details", |s| s.contains("> flow |"));
    assert!(s.contains("tcp 10.1.2.3:40000 -> 10.9.8.7:80"), "{s}");
    assert!(
        s.contains(&format!("up        {} B ({} bytes)", http[0], http[0])),
        "{s}"
    );
    assert!(
        s.contains("http  GET example.test/a/b?x=1 -> 404 text/plain (5 B)"),
        "{s}"
    );
    tmux.keys(&["Escape"]);
    tmux.wait_for("the flow list again", |s| s.contains("| flow | 2 rows"));

    // The filter prompt: a port narrows the rows as it is typed.
    tmux.keys(&["/", "53", "Enter"]);
    let s = tmux.wait_for("the filtered list", |s| s.contains("filter: 53 |"));
    assert!(s.contains("| 1 row |") && !s.contains("10.9.8.7"), "{s}");

    // p: without owners, every flow is in the one `-` process row.
    tmux.keys(&["p"]);
    let s = tmux.wait_for("the process grouping", |s| s.contains("| process |"));
    assert!(line(&s, "PID").contains("PROCESS"), "{s}");
    assert!(s.contains("> -       -"), "{s}");

    // q: the program ends, and with it the session.
    tmux.keys(&["q"]);
    tmux.wait_gone();
    let stderr = tmux.stderr();
    assert!(stderr.is_empty(), "{stderr}");
}

/// The terminal goes away (the tmux server or an ssh session dies): `top` must end, not spin
/// on a terminal that only says end-of-file (it once kept a core busy for hours).
#[test]
fn top_ends_when_its_terminal_hangs_up() {
    let (frames, _, _) = frames();
    let Some(tmux) = start_top("top_ends_when_its_terminal_hangs_up", &frames) else {
        return;
    };
    tmux.wait_for("the replay done", |s| s.contains("done"));
    let pid = tmux.pane_pid();
    assert!(tmux.cmd(&["kill-server"]).status.success());
    let deadline = Instant::now() + Duration::from_secs(5);
    while process_exists(pid) {
        if Instant::now() > deadline {
            // Dropping `tmux` does not leave it behind: it sends SIGKILL.
            panic!("flowsight top ({pid}) still runs 5 s after its terminal hung up");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

//! Root test: `flowsight top` capturing live, in a real terminal (tmux), over traffic between
//! processes of known users in the test's own network namespace. Keys go in with
//! `tmux send-keys`; every check reads the screen back with `tmux capture-pane`, polling until
//! a deadline, since a live screen changes once a second.
//!
//! Two TCP connections on the namespace's loopback, all four ends in the test's cgroup and all
//! four processes this test binary re-executed (so they share one process name):
//! - a steady one: a `hold-tcp` client as nobody, fed 8000 bytes every 100 ms, to a server as
//!   daemon; it stays open the whole test;
//! - a short one: a client as bin sends 1000 bytes to a server as sys, which answers 3000.

mod common;

use common::tmux::{Tmux, line};
use common::*;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

#[test]
fn peer_main() {
    common::peer_main();
}

/// What the steady client is asked to send at each tick.
const CHUNK: u64 = 8000;
/// How often.
const PERIOD: Duration = Duration::from_millis(100);

/// A peer started here: killed and reaped on drop (the cgroup's drop kills any left too).
struct Peer(Child);

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Asks a `hold-tcp` peer for CHUNK bytes every PERIOD until dropped, counting what it asked.
struct Feeder {
    stop: Arc<AtomicBool>,
    asked: Arc<AtomicU64>,
    thread: Option<JoinHandle<()>>,
}

impl Feeder {
    fn new(mut stdin: std::process::ChildStdin) -> Feeder {
        let stop = Arc::new(AtomicBool::new(false));
        let asked = Arc::new(AtomicU64::new(0));
        let (s, a) = (Arc::clone(&stop), Arc::clone(&asked));
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                // Counted first: the peer may send it before this thread runs again.
                a.fetch_add(CHUNK, Ordering::SeqCst);
                if writeln!(stdin, "{CHUNK}").is_err() {
                    break;
                }
                std::thread::sleep(PERIOD);
            }
            // Dropping stdin: the peer sees EOF and exits.
        });
        Feeder {
            stop,
            asked,
            thread: Some(thread),
        }
    }

    /// Bytes asked for so far: the most the client can have sent.
    fn asked(&self) -> u64 {
        self.asked.load(Ordering::SeqCst)
    }
}

impl Drop for Feeder {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Starts a `hold-tcp` client to `addr` with its stdin ours; returns it and its local port.
fn hold_tcp(spec: &PeerSpec, addr: &str) -> (Peer, std::process::ChildStdin, u16) {
    let mut child = spec
        .command("hold-tcp", &[addr])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn hold-tcp");
    let stdin = child.stdin.take().unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let peer = Peer(child);
    // Skip the test harness's own lines up to the peer's "ready PORT".
    let mut line = String::new();
    let port = loop {
        line.clear();
        let n = out.read_line(&mut line).unwrap();
        assert!(n > 0, "hold-tcp exited before it was ready");
        if let Some(port) = line.trim().strip_prefix("ready ") {
            break port.parse().unwrap();
        }
    };
    std::thread::spawn(move || {
        let _ = out.read_to_end(&mut Vec::new());
    });
    (peer, stdin, port)
}

/// One row of a table as the screen shows it.
#[derive(Debug)]
struct Row {
    /// Under the cursor (`> `).
    selected: bool,
    /// The key columns (PID PROCESS USER, USER, or PROTO LOCAL REMOTE PROCESS STATE).
    keys: Vec<String>,
    /// The four number columns as shown: UP/s, DOWN/s, UP, DOWN.
    shown: [String; 4],
    /// The same, parsed (bytes per second, bytes; to the precision shown).
    values: [f64; 4],
}

impl Row {
    fn up_rate(&self) -> f64 {
        self.values[0]
    }
    fn down_rate(&self) -> f64 {
        self.values[1]
    }
    fn up(&self) -> f64 {
        self.values[2]
    }
    fn down(&self) -> f64 {
        self.values[3]
    }
}

/// `78.1` `KiB/s` -> 79974.4; `52` `B` -> 52.
fn value(number: &str, unit: &str) -> Option<f64> {
    let scale = match unit.trim_end_matches("/s") {
        "B" => 1.0,
        "KiB" => 1024.0,
        "MiB" => 1024.0 * 1024.0,
        "GiB" => 1024.0 * 1024.0 * 1024.0,
        _ => return None,
    };
    Some(number.parse::<f64>().ok()? * scale)
}

/// A table line: `[> ]KEY... [FLOWS] N UNIT/s N UNIT/s N UNIT N UNIT`; `None` for any other
/// line. Key cells hold no spaces here (names, users, addresses).
fn parse_row(l: &str) -> Option<Row> {
    let selected = l.starts_with("> ");
    let tokens: Vec<&str> = l.split_whitespace().skip(usize::from(selected)).collect();
    let n = tokens.len().checked_sub(8)?;
    let nums = &tokens[n..];
    let mut shown: [String; 4] = Default::default();
    let mut values = [0.0; 4];
    for i in 0..4 {
        shown[i] = format!("{} {}", nums[2 * i], nums[2 * i + 1]);
        values[i] = value(nums[2 * i], nums[2 * i + 1])?;
    }
    // Two rates, then two totals.
    let rate = |i: usize| nums[2 * i + 1].ends_with("/s");
    if !(rate(0) && rate(1)) || rate(2) || rate(3) {
        return None;
    }
    Some(Row {
        selected,
        keys: tokens[..n].iter().map(|s| s.to_string()).collect(),
        shown,
        values,
    })
}

/// The rows of the table on `screen` (between the column titles and the footer).
fn rows(screen: &str) -> Vec<Row> {
    screen.lines().skip(2).filter_map(parse_row).collect()
}

/// The row whose first key column is `key` (a pid, a user), if shown.
fn row(screen: &str, key: &str) -> Option<Row> {
    rows(screen).into_iter().find(|r| r.keys[0] == key)
}

/// The header line.
fn header(screen: &str) -> &str {
    screen.lines().next().unwrap_or("")
}

/// Moves the cursor with j/k until it is on the row whose first key column is `key`.
fn select(tmux: &Tmux, key: &str) -> String {
    for _ in 0..20 {
        let s = tmux.screen();
        let all = rows(&s);
        let at = all.iter().position(|r| r.selected);
        let want = all.iter().position(|r| r.keys[0] == key);
        let (Some(at), Some(want)) = (at, want) else {
            panic!("no selected row or no row {key}:\n{s}");
        };
        if at == want {
            return s;
        }
        let before = all[at].keys.clone();
        tmux.keys(&[if want > at { "j" } else { "k" }]);
        tmux.wait_for("the cursor to move", |s| {
            rows(s).iter().find(|r| r.selected).map(|r| &r.keys) != Some(&before)
        });
    }
    panic!("the cursor never reached {key}:\n{}", tmux.screen());
}

#[test]
fn top_live_in_tmux_groups_filters_drills_down_and_quits() {
    let test = "top_live_in_tmux_groups_filters_drills_down_and_quits";
    if !root_or_skip(test) {
        return;
    }
    // Made first, so dropped last: the view and the peers go before their namespace.
    let ns = NetNs::new();
    let cg = Cgroup::new("top");
    let Some(mut tmux) = Tmux::new(test) else {
        return;
    };
    // A live screen needs a first scan or two, and a debug build under load is slow.
    tmux.timeout = Duration::from_secs(30);
    let spec = |uid| PeerSpec {
        netns: Some(&ns),
        uid: Some(uid),
        cgroup: Some(&cg),
    };
    let name = peer_name();

    // The servers first (listening is no traffic), then the view.
    let (srv1, port1) = spec(1).start("serve-tcp", &["127.0.0.1:0", "1", "100"]);
    let srv1 = Peer(srv1);
    let (srv2, port2) = spec(3).start("serve-tcp", &["127.0.0.1:0", "1", "3000"]);
    let srv2 = Peer(srv2);
    let (s1, s2) = (srv1.0.id().to_string(), srv2.0.id().to_string());
    tmux.start(
        160,
        40,
        &format!("{} top --netns {} -i lo", flowsight_bin(), ns.path()),
    );
    let s = tmux.wait_for("the live view", |s| s.contains("flowsight top | process |"));
    assert!(header(&s).ends_with("| live on lo"), "{s}");

    // The steady connection. Its first rows show that capture runs, so the short one, made
    // only then, is seen from its SYN.
    let (mut client1, stdin, cport) = hold_tcp(&spec(65534), &format!("127.0.0.1:{port1}"));
    let c1 = client1.0.id().to_string();
    let feeder = Feeder::new(stdin);
    tmux.wait_for("the steady client's row", |s| row(s, &c1).is_some());
    let c2 = spec(2)
        .run("connect-tcp", &[&format!("127.0.0.1:{port2}"), "1000"])
        .to_string();

    // p (the live default): one row per process, named and with its user. Waited for: the
    // steady client at its rate, 8000 bytes every 100 ms and the headers, about 78 KiB/s
    // (a window's rate is a window's bytes: far from that is wrong, near it is jitter); the
    // short connection over, all its bytes counted (a window without any).
    let steady = 40_000.0..160_000.0;
    let s = tmux.wait_for(
        "four processes, the steady one at ~78 KiB/s, the short one over",
        |s| {
            header(s).contains("| process | 4 rows |")
                && [&c1, &s1, &s2].iter().all(|p| row(s, p).is_some())
                && row(s, &c1).is_some_and(|r| steady.contains(&r.up_rate()))
                && row(s, &c2).is_some_and(|r| r.up_rate() + r.down_rate() == 0.0 && r.up() > 0.0)
        },
    );
    let asked = feeder.asked();
    let rows_shown = rows(&s);
    let (r_c1, r_s1) = (row(&s, &c1).unwrap(), row(&s, &s1).unwrap());
    let (r_c2, r_s2) = (row(&s, &c2).unwrap(), row(&s, &s2).unwrap());
    for (r, user) in [
        (&r_c1, "nobody"),
        (&r_s1, "daemon"),
        (&r_c2, "bin"),
        (&r_s2, "sys"),
    ] {
        // PID PROCESS USER FLOWS: the process's full name (longer than the kernel's comm).
        assert_eq!(r.keys[1..], [name.as_str(), user, "1"], "{s}");
    }
    assert!(r_c1.down_rate() > 0.0, "the server's ACKs: {r_c1:?}\n{s}");
    // The steady client's total: something, and no more than it was asked to send (plus
    // headers).
    assert!(
        r_c1.up() > 0.0 && r_c1.up() <= asked as f64 * 1.05 + 4096.0,
        "the steady client's total against {asked} bytes asked: {r_c1:?}\n{s}"
    );
    // Each end of a connection is the other's mirror: what one sent the other received.
    fn mirror(r: &Row) -> [&String; 4] {
        [&r.shown[1], &r.shown[0], &r.shown[3], &r.shown[2]]
    }
    assert_eq!(mirror(&r_c1), r_s1.shown.each_ref(), "{s}");
    assert_eq!(mirror(&r_c2), r_s2.shown.each_ref(), "{s}");
    // The short client sent 1000 bytes and got 3000, plus a few headers.
    assert!(
        (1000.0..2000.0).contains(&r_c2.up()) && (3000.0..4500.0).contains(&r_c2.down()),
        "the short client's totals: {r_c2:?}\n{s}"
    );
    // The steady connection's rows above the short one's (sorted by rate, now 0 for it).
    let at = |pid: &str| rows_shown.iter().position(|r| r.keys[0] == pid).unwrap();
    assert!(at(&c1).max(at(&s1)) < at(&c2).min(at(&s2)), "{s}");

    // u: one row per user, the four and nothing else; the short connection is over, its
    // totals as they were.
    tmux.keys(&["u"]);
    let s = tmux.wait_for("the user grouping", |s| {
        header(s).contains("| user | 4 rows |")
    });
    let mut users: Vec<String> = rows(&s).iter().map(|r| r.keys[0].clone()).collect();
    users.sort();
    assert_eq!(users, ["bin", "daemon", "nobody", "sys"], "{s}");
    assert!(line(&s, "USER").contains("FLOWS"), "{s}");
    let bin = row(&s, "bin").unwrap();
    assert_eq!(bin.keys[1], "1", "{s}");
    assert_eq!(bin.shown[2..], r_c2.shown[2..], "{s}");
    assert_eq!(row(&s, "sys").unwrap().shown[2..], r_s2.shown[2..], "{s}");
    assert!(row(&s, "nobody").unwrap().up() >= r_c1.up(), "{s}");

    // /: the prompt; the rows narrow as the filter is typed and it stays after Enter. Only
    // the steady connection has nobody at one end: its two users remain.
    tmux.keys(&["/"]);
    tmux.wait_for("the filter prompt", |s| {
        s.lines().last().is_some_and(|l| l.starts_with("filter: "))
    });
    tmux.keys(&["-l", "nob"]);
    let s = tmux.wait_for("the rows narrowed while typing", |s| {
        header(s).contains("| user | 2 rows | filter: nob |")
    });
    assert!(
        s.contains("filter: nob\u{2588}  (Enter keep, Esc cancel)"),
        "{s}"
    );
    tmux.keys(&["-l", "ody"]);
    tmux.keys(&["Enter"]);
    let s = tmux.wait_for("the filter kept", |s| {
        header(s).contains("| filter: nobody |") && s.contains("p/u/c/h/f group")
    });
    let mut users: Vec<String> = rows(&s).iter().map(|r| r.keys[0].clone()).collect();
    users.sort();
    assert_eq!(users, ["daemon", "nobody"], "{s}");

    // p keeps the filter: the steady connection's two processes.
    tmux.keys(&["p"]);
    let s = tmux.wait_for("the filtered processes", |s| {
        header(s).contains("| process | 2 rows | filter: nobody |")
    });
    let mut pids: Vec<String> = rows(&s).iter().map(|r| r.keys[0].clone()).collect();
    pids.sort();
    let mut want = vec![c1.clone(), s1.clone()];
    want.sort();
    assert_eq!(pids, want, "{s}");

    // Enter on the client: its one flow, to the server's port; Enter again: the flow, from
    // the client's side, with both owners.
    select(&tmux, &c1);
    tmux.keys(&["Enter"]);
    let s = tmux.wait_for("the client's flows", |s| {
        header(s).contains(&format!("| process > {name} ({c1}) > flows | 1 row |"))
    });
    let flows = rows(&s);
    assert_eq!(flows.len(), 1, "{s}");
    let local = format!("127.0.0.1:{cport}");
    let remote = format!("127.0.0.1:{port1}");
    // PROTO LOCAL REMOTE PROCESS (cut to its column) STATE.
    assert_eq!(
        flows[0].keys,
        ["tcp", local.as_str(), remote.as_str(), &name[..12], "open"],
        "{s}"
    );
    tmux.keys(&["Enter"]);
    let s = tmux.wait_for("the client's flow", |s| {
        header(s).contains("> flows > flow | 1 flow |")
    });
    for want in [
        format!("tcp {local} -> {remote} on lo"),
        "state     open".to_string(),
        format!("local     {name} (pid {c1}), user nobody"),
        format!("remote    {name} (pid {s1}), user daemon"),
    ] {
        assert!(s.lines().any(|l| l.trim_end() == want), "{want:?} in\n{s}");
    }
    assert!(!line(&s, "up        ").starts_with("up        0 B"), "{s}");

    // Back twice, then the server's side of the same flow.
    tmux.keys(&["Escape"]);
    tmux.wait_for("the client's flows again", |s| {
        header(s).contains("> flows | 1 row |")
    });
    tmux.keys(&["Escape"]);
    tmux.wait_for("the processes again", |s| {
        header(s).contains("| process | 2 rows | filter: nobody |")
    });
    select(&tmux, &s1);
    tmux.keys(&["Enter"]);
    let s = tmux.wait_for("the server's flows", |s| {
        header(s).contains(&format!("| process > {name} ({s1}) > flows | 1 row |"))
    });
    assert_eq!(
        rows(&s)[0].keys[..3],
        ["tcp", remote.as_str(), local.as_str()],
        "{s}"
    );
    tmux.keys(&["Enter"]);
    let s = tmux.wait_for("the server's flow", |s| {
        header(s).contains("> flows > flow | 1 flow |")
    });
    for want in [
        format!("tcp {remote} <- {local} on lo"),
        format!("local     {name} (pid {s1}), user daemon"),
        format!("remote    {name} (pid {c1}), user nobody"),
    ] {
        assert!(s.lines().any(|l| l.trim_end() == want), "{want:?} in\n{s}");
    }

    assert!(
        client1.0.try_wait().unwrap().is_none(),
        "the steady client ended"
    );
    // q: flowsight ends (it had the terminal, so the session ends with it) while the
    // steady connection still runs.
    tmux.keys(&["q"]);
    tmux.wait_gone();
    let stderr = tmux.stderr();
    assert!(
        !stderr.contains("ERROR") && !stderr.contains("panicked"),
        "{stderr}"
    );
    drop(feeder);
    drop(client1);
}

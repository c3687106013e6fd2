//! Root test: a connection opened before flowsight started is attributed at both ends.

mod common;

use common::*;
use std::io::Write;
use std::process::Stdio;

#[test]
fn peer_main() {
    common::peer_main();
}

#[test]
fn connection_opened_before_start_is_attributed() {
    if !root_or_skip("connection_opened_before_start_is_attributed") {
        return;
    }
    let ns = NetNs::new();
    let cg = Cgroup::new("pre");
    let server = PeerSpec {
        netns: Some(&ns),
        uid: Some(1),
        cgroup: Some(&cg),
    };
    let client = PeerSpec {
        netns: Some(&ns),
        uid: Some(65534),
        cgroup: Some(&cg),
    };
    let (mut srv, port) = server.start("serve-tcp", &["127.0.0.1:0", "1", "100"]);
    let mut hold = client
        .command("hold-tcp", &[&format!("127.0.0.1:{port}")])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    // Skip the test harness's own lines up to the peer's "ready".
    let mut out = std::io::BufReader::new(hold.stdout.take().unwrap());
    let mut line = String::new();
    while !line.starts_with("ready") {
        line.clear();
        let n = std::io::BufRead::read_line(&mut out, &mut line).unwrap();
        assert!(n > 0, "hold-tcp exited before it was ready");
    }

    // The connection is established; only now does flowsight start.
    let fs = Flowsight::start(&[
        "--netns",
        &ns.path(),
        "-i",
        "lo",
        "--scan-interval-ms",
        "100",
    ]);
    let mut stdin = hold.stdin.take().unwrap();
    writeln!(stdin, "5000").unwrap();
    drop(stdin); // the client exits, the server sees EOF, answers and exits
    assert!(hold.wait().unwrap().success());
    assert!(srv.wait().unwrap().success());
    let records = fs.stop();

    let port: u16 = port.parse().unwrap();
    let flows: Vec<_> = records
        .iter()
        .filter(|r| {
            r["type"] == "flow" && (r["destination"]["port"] == port || r["source"]["port"] == port)
        })
        .collect();
    assert_eq!(flows.len(), 1, "{records:#?}");
    let f = flows[0];
    assert_eq!(
        f["destination"]["port"], port,
        "the server is the destination even without a SYN: {f:#}"
    );
    assert_eq!(f["source"]["process"]["pid"], hold.id(), "{f:#}");
    assert_eq!(f["source"]["user"]["name"], "nobody");
    assert_eq!(f["destination"]["process"]["pid"], srv.id(), "{f:#}");
    assert_eq!(f["destination"]["user"]["name"], "daemon");
    assert_eq!(f["source"]["process"]["name"], peer_name());
}

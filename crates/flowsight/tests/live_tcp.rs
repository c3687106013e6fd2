//! Root tests: TCP over IPv4 and IPv6 on loopback, client and server as different processes
//! under different users; both ends attributed, the server end to the accepting process.

mod common;

use common::*;

#[test]
fn peer_main() {
    common::peer_main();
}

/// uids with names on every Debian system: `daemon` and `nobody`.
const SERVER_UID: u32 = 1;
const CLIENT_UID: u32 = 65534;

fn tcp_round_trip(bind: &str, connect_host: &str) {
    let ns = NetNs::new();
    let cg = Cgroup::new("peers");
    let fs = Flowsight::start(&[
        "--netns",
        &ns.path(),
        "-i",
        "lo",
        "--scan-interval-ms",
        "100",
    ]);

    let server = PeerSpec {
        netns: Some(&ns),
        uid: Some(SERVER_UID),
        cgroup: Some(&cg),
    };
    let client = PeerSpec {
        netns: Some(&ns),
        uid: Some(CLIENT_UID),
        cgroup: Some(&cg),
    };
    let (mut srv, port) = server.start("serve-tcp", &[bind, "1", "3000"]);
    let server_pid = srv.id();
    let addr = format!("{connect_host}:{port}");
    let client_pid = client.run("connect-tcp", &[&addr, "1000"]);
    assert!(srv.wait().unwrap().success());

    let records = fs.stop();
    let port: u16 = port.parse().unwrap();
    let flows: Vec<_> = records
        .iter()
        .filter(|r| r["type"] == "flow" && r["destination"]["port"] == port)
        .collect();
    assert_eq!(flows.len(), 1, "one flow to port {port}: {records:#?}");
    let f = flows[0];
    assert_eq!(f["network"]["transport"], "tcp");
    assert_eq!(f["event"]["reason"], "end");
    assert_eq!(f["interface"]["name"], "lo");

    let src = &f["source"];
    assert_eq!(src["process"]["pid"], client_pid, "client end: {f:#}");
    assert_eq!(
        src["process"]["name"],
        peer_name(),
        "untruncated name: {f:#}"
    );
    assert_eq!(
        src["process"]["executable"],
        std::env::current_exe().unwrap().to_str().unwrap()
    );
    assert_eq!(src["user"]["id"], CLIENT_UID.to_string());
    assert_eq!(src["user"]["name"], "nobody");
    assert_eq!(src["process"]["cgroup"]["path"], cg.rel.as_str());

    let dst = &f["destination"];
    assert_eq!(
        dst["process"]["pid"], server_pid,
        "server end is the accepting process: {f:#}"
    );
    assert_eq!(dst["user"]["id"], SERVER_UID.to_string());
    assert_eq!(dst["user"]["name"], "daemon");

    // Payload: 1000 bytes up, 3000 down, plus handshake and teardown.
    assert!(src["bytes"].as_u64().unwrap() > 1000);
    assert!(dst["bytes"].as_u64().unwrap() > 3000);
    assert!(src["tcp_flags"].as_array().unwrap().contains(&"SYN".into()));

    let stats = final_stats(&records);
    assert_eq!(stats["flowsight"]["final"], true);
    assert_eq!(stats["flowsight"]["events_dropped"]["events"], 0);
}

#[test]
fn tcp_ipv4_client_and_server_attributed() {
    if !root_or_skip("tcp_ipv4_client_and_server_attributed") {
        return;
    }
    tcp_round_trip("127.0.0.1:0", "127.0.0.1");
}

#[test]
fn tcp_ipv6_client_and_server_attributed() {
    if !root_or_skip("tcp_ipv6_client_and_server_attributed") {
        return;
    }
    tcp_round_trip("[::1]:0", "[::1]");
}

#[test]
fn reused_four_tuple_gives_one_record_per_connection() {
    if !root_or_skip("reused_four_tuple_gives_one_record_per_connection") {
        return;
    }
    // Loopback reuses TIME_WAIT 4-tuples: each connection below is a new process on the same
    // 4-tuple as the one before. The kernel must hand each finished one over before the next
    // takes its flow entry, and user space must write each once, with its own owner.
    const N: usize = 5;
    let ns = NetNs::new();
    let cg = Cgroup::new("reuse");
    let fs = Flowsight::start(&[
        "--netns",
        &ns.path(),
        "-i",
        "lo",
        "--scan-interval-ms",
        "100",
    ]);
    let spec = PeerSpec {
        netns: Some(&ns),
        uid: None,
        cgroup: Some(&cg),
    };
    let (mut srv, port) = spec.start("serve-tcp", &["127.0.0.1:0", &N.to_string(), "200"]);
    let addr = format!("127.0.0.1:{port}");
    let local_port = 20000 + (std::process::id() % 20000) as u16;
    let mut pids = Vec::new();
    for i in 0..N {
        pids.push(spec.run(
            "connect-tcp-from",
            &[&addr, &local_port.to_string(), &(100 * (i + 1)).to_string()],
        ));
    }
    assert!(srv.wait().unwrap().success());
    let records = fs.stop();
    let port: u16 = port.parse().unwrap();
    let flows: Vec<_> = records
        .iter()
        .filter(|r| r["type"] == "flow" && r["destination"]["port"] == port)
        .collect();
    assert_eq!(flows.len(), N, "one record per connection: {flows:#?}");
    let mut got: Vec<u64> = flows
        .iter()
        .map(|f| f["source"]["process"]["pid"].as_u64().expect("attributed"))
        .collect();
    got.sort();
    let mut want: Vec<u64> = pids.iter().map(|&p| p as u64).collect();
    want.sort();
    assert_eq!(got, want);
    for f in &flows {
        assert_eq!(f["source"]["port"], local_port);
        assert_eq!(f["event"]["reason"], "end");
        // Each connection carried its own payload: 100, 200, ... bytes up.
        let pid = f["source"]["process"]["pid"].as_u64().unwrap() as u32;
        let i = pids.iter().position(|&p| p == pid).unwrap();
        let up = f["source"]["bytes"].as_u64().unwrap();
        assert!(
            up > 100 * (i as u64 + 1) && up < 100 * (i as u64 + 1) + 1000,
            "{f:#}"
        );
    }
}

/// A connection that keeps sending ten small segments a second is one flow, however long it
/// runs: the kernel reads the clock only for every 64th packet of a busy flow, so its
/// `last_ns` stands still for seconds, and a 2 s idle timeout once cut it into a new flow
/// every few seconds. Its growing counters now count as activity.
#[test]
fn a_steady_flow_is_not_cut_by_the_idle_timeout() {
    if !root_or_skip("a_steady_flow_is_not_cut_by_the_idle_timeout") {
        return;
    }
    let ns = NetNs::new();
    let cg = Cgroup::new("steady");
    let fs = Flowsight::start(&[
        "--netns",
        &ns.path(),
        "-i",
        "lo",
        "--scan-interval-ms",
        "100",
        "--idle-timeout",
        "2",
    ]);
    let spec = PeerSpec {
        netns: Some(&ns),
        uid: None,
        cgroup: Some(&cg),
    };
    let (mut srv, port) = spec.start("serve-tcp", &["127.0.0.1:0", "1", "10"]);
    let (mut client, _) = spec.start("stream-tcp", &[&format!("127.0.0.1:{port}"), "100", "100"]);
    // 7 s: over 64 segments past the first 16, three idle timeouts' worth.
    std::thread::sleep(std::time::Duration::from_secs(7));
    client.kill().unwrap();
    client.wait().unwrap();
    assert!(srv.wait().unwrap().success());
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let records = fs.stop();
    let port: u16 = port.parse().unwrap();
    let flows: Vec<_> = records
        .iter()
        .filter(|r| r["type"] == "flow" && r["destination"]["port"] == port)
        .collect();
    assert_eq!(flows.len(), 1, "{flows:#?}");
    assert_eq!(flows[0]["event"]["reason"], "end", "{:#}", flows[0]);
    assert!(
        flows[0]["source"]["packets"].as_u64().unwrap() > 64,
        "{:#}",
        flows[0]
    );
}

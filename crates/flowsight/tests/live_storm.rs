//! Root test: 200 processes that each open one connection and exit at once are all
//! attributed with their name and executable, long after they are gone.

mod common;

use common::*;
use std::collections::HashMap;

#[test]
fn peer_main() {
    common::peer_main();
}

#[test]
fn short_lived_processes_all_attributed() {
    if !root_or_skip("short_lived_processes_all_attributed") {
        return;
    }
    const N: usize = 200;
    let ns = NetNs::new();
    let cg = Cgroup::new("storm");
    let fs = Flowsight::start(&[
        "--netns",
        &ns.path(),
        "-i",
        "lo",
        "--scan-interval-ms",
        "200",
    ]);
    let spec = PeerSpec {
        netns: Some(&ns),
        uid: None,
        cgroup: Some(&cg),
    };
    let (mut srv, port) = spec.start("serve-tcp", &["127.0.0.1:0", &N.to_string(), "10"]);
    let addr = format!("127.0.0.1:{port}");
    let mut pids = HashMap::new();
    for _ in 0..N {
        let pid = spec.run("connect-tcp", &[&addr, "10"]);
        pids.insert(pid, ());
    }
    assert!(srv.wait().unwrap().success());
    let records = fs.stop();
    let port: u16 = port.parse().unwrap();
    let flows: Vec<_> = records
        .iter()
        .filter(|r| r["type"] == "flow" && r["destination"]["port"] == port)
        .collect();
    assert_eq!(flows.len(), N, "one flow per connection");
    let exe = std::env::current_exe().unwrap();
    let mut seen = HashMap::new();
    for f in &flows {
        let p = &f["source"]["process"];
        let pid = p["pid"]
            .as_u64()
            .unwrap_or_else(|| panic!("unattributed client: {f:#}")) as u32;
        assert!(pids.contains_key(&pid), "client pid {pid} is one of ours");
        assert_eq!(p["name"], peer_name());
        assert_eq!(p["executable"], exe.to_str().unwrap());
        assert!(
            seen.insert(pid, ()).is_none(),
            "each process has its own flow"
        );
        assert_eq!(f["destination"]["process"]["pid"], srv.id());
    }
    let stats = final_stats(&records);
    assert_eq!(stats["flowsight"]["events_dropped"]["events"], 0);
}
